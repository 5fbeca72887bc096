"""One interface over the two ways the emulator runs, so each behaviour is tested in both.

``Harness.client(service)`` gives a boto3 client; ``advance``, ``evaluate_alarms``, ``settings``,
``faults`` and ``invoke_bulk`` drive the emulator in-process or through its HTTP control API.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from emulator import EMULATOR, FaultRule, evaluate_alarms, process
from emulator.process import create_state_table  # noqa: F401 - re-exported for the tests
from emulator.seed import ROLE, create_seed  # noqa: F401 - re-exported for the tests
from emulator.server import control
from emulator.world import ComponentSettings
from tests import real_clock

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@dataclass
class Harness:
    mode: str
    url: str | None = None

    def client(self, service: str, config: Config | None = None) -> Any:
        kwargs: dict[str, Any] = {"region_name": REGION, "config": config or NO_RETRY}
        if self.url:
            kwargs.update(endpoint_url=self.url, aws_access_key_id="testing", aws_secret_access_key="testing")
        return boto3.client(service, **kwargs)

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.url is None:
            return control(method, path, body or {})
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def now(self) -> str:
        return self._control("GET", "/_emulator/clock")["now"]

    def advance(self, seconds: float) -> str:
        return self._control("POST", "/_emulator/clock", {"advance": seconds})["now"]

    def evaluate_alarms(self) -> list[dict[str, Any]]:
        if self.url is None:
            return [c.to_dict() for c in evaluate_alarms()]
        return self._control("POST", "/_emulator/alarms/evaluate")["changes"]

    def settings(self, **values: Any) -> dict[str, Any]:
        return self._control("POST", "/_emulator/settings", values)

    def component_settings(self, name: str, **values: Any) -> None:
        if self.url is None:
            EMULATOR.settings.components[name] = ComponentSettings(**values)
        else:
            self._control("POST", "/_emulator/settings", {"components": {name: values}})

    def faults(self, rules: list[FaultRule], seed: int = 0) -> None:
        if self.url is None:
            EMULATOR.faults.configure(rules, seed)
        else:
            self._control("POST", "/_emulator/faults", {"rules": [r.__dict__ for r in rules], "seed": seed})

    def realism(self, enabled: bool = True, limits: dict[str, dict[str, float]] | None = None, seed: int = 0) -> None:
        """AWS-like latency and rate limits (``emulator.realism``); ``limits`` override the defaults."""
        if self.url is None:
            from emulator.realism import ApiLimits

            EMULATOR.realism.configure(enabled, {k: ApiLimits(**v) for k, v in (limits or {}).items()}, seed)
        else:
            self._control("POST", "/_emulator/realism", {"enabled": enabled, "limits": limits or {}, "seed": seed})

    def invoke_bulk(self, component: str, count: int) -> dict[str, int]:
        return self._control("POST", "/_emulator/invocations", {"component": component, "count": count})

    def fail_endpoint(self, endpoint: str, reason: str | None) -> str:
        """Put ``endpoint`` in Failed (``reason``) or back (None); its status after."""
        return str(
            self._control("POST", "/_emulator/endpoints/failure", {"endpoint": endpoint, "reason": reason})["status"]
        )

    def mail(self) -> list[dict[str, Any]]:
        """What SNS e-mail subscriptions received (``GET /_emulator/mail``)."""
        return list(self._control("GET", "/_emulator/mail")["mail"])

    def reset(self) -> None:
        self._control("POST", "/_emulator/reset")


class ServerProcess(process.ServerProcess):
    """The emulator's server process, under the session's real-clock shift when there is one."""

    def __init__(self, *extra: str) -> None:
        super().__init__(*extra, command=real_clock.command("emulator", "--port", "0", *extra))
