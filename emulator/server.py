"""Server mode: all of moto plus the emulator, with a small control API under ``/_emulator``.

Control API (JSON in, JSON out):
  GET  /_emulator/clock                 -> {"now": ISO-8601, "mode": "virtual"|"wall"}
  POST /_emulator/clock {"advance": s}  -> {"now": ...}       (or {"set": ISO-8601})
  POST /_emulator/alarms/evaluate       -> {"changes": [{AlarmName, OldState, NewState, Value}]}
  POST /_emulator/invocations {"component", "count", ["account", "region"]} -> {"served", "refused"}
  POST /_emulator/settings {EmulatorSettings fields, "components": {name: ComponentSettings}}
  POST /_emulator/faults {"rules": [{"service", "operation", "rate", "kind"}], "seed": n}
  POST /_emulator/realism {"enabled", ["limits": {"service:Operation": {median_ms, p99_ms, rate, burst}}],
                           ["seed"]}   -> AWS-like latency and rate limits (emulator.realism)
  POST /_emulator/reset                 -> {} (moto state, clock, settings, faults, realism)
  POST /_emulator/endpoints/failure {"endpoint", "reason" (null: recovered), ["account", "region"]}
                                        -> {"status"}  (the endpoint is Failed with that reason)
  GET  /_emulator/mail                  -> {"mail": [{to, protocol, subject, body, topic_arn, time}]}
                                           (what SNS e-mail subscriptions received; emulator.sns_ext)
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from . import evaluate_alarms, install
from .core import EMULATOR
from .faults import FaultRule
from .world import ComponentSettings, EmulatorSettings

StartResponse = Callable[..., Any]


class ControlError(ValueError):
    """A control request was malformed; answered with HTTP 400 and the message."""


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(EmulatorSettings)}
    unknown = set(body) - known - {"components"}
    if unknown:
        raise ControlError(f"unknown settings {sorted(unknown)}; known: {sorted(known)} and 'components'")
    for key in known & set(body):
        setattr(EMULATOR.settings, key, body[key])
    for name, values in (body.get("components") or {}).items():
        try:
            EMULATOR.settings.components[name] = ComponentSettings(**values)
        except TypeError as exc:
            raise ControlError(f"component {name}: {exc}") from None
    return dataclasses.asdict(EMULATOR.settings)


def control(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Answer one control request (shared by the WSGI app and tests)."""
    with EMULATOR.lock:
        if path == "/_emulator/clock" and method == "GET":
            return {"now": EMULATOR.now().isoformat(), "mode": EMULATOR.clock.mode}
        if path == "/_emulator/clock" and method == "POST":
            if "advance" in body:
                try:
                    seconds = float(body["advance"])
                except (TypeError, ValueError):
                    raise ControlError("'advance' must be a number of seconds") from None
                if seconds < 0:
                    raise ControlError("'advance' must not be negative")
                EMULATOR.advance(seconds)
            elif "set" in body:
                when = datetime.fromisoformat(str(body["set"]))
                if when.tzinfo is None:
                    raise ControlError("'set' needs a time zone offset")
                if when < EMULATOR.now():
                    raise ControlError("the clock moves forward only")
                EMULATOR.advance((when - EMULATOR.now()).total_seconds())
            else:
                raise ControlError("POST /_emulator/clock takes {'advance': seconds} or {'set': ISO-8601}")
            return {"now": EMULATOR.now().isoformat()}
        if path == "/_emulator/alarms/evaluate" and method == "POST":
            return {"changes": [c.to_dict() for c in evaluate_alarms()]}
        if path == "/_emulator/invocations" and method == "POST":
            from .sagemaker_ext import invoke_component

            try:
                served, refused = invoke_component(
                    body.get("account", DEFAULT_ACCOUNT_ID),
                    body.get("region", "us-east-1"),
                    str(body["component"]),
                    int(body.get("count", 1)),
                )
            except KeyError as exc:
                raise ControlError(str(exc)) from None
            return {"served": served, "refused": refused}
        if path == "/_emulator/mail" and method == "GET":
            from .sns_ext import mailbox_json

            return {"mail": mailbox_json(body.get("account", DEFAULT_ACCOUNT_ID), body.get("region", "us-east-1"))}
        if path == "/_emulator/settings" and method == "POST":
            return _settings(body)
        if path == "/_emulator/endpoints/failure" and method == "POST":
            world = EMULATOR.world_for(body.get("account", DEFAULT_ACCOUNT_ID), body.get("region", "us-east-1"))
            name = str(body.get("endpoint"))
            if name not in world.endpoints:
                raise ControlError(f"no endpoint {name!r}")
            reason = body.get("reason")
            world.fail_endpoint(name, None if reason is None else str(reason))
            return {"status": world.endpoints[name].status(EMULATOR.now())}
        if path == "/_emulator/realism" and method == "POST":
            from .realism import ApiLimits

            try:
                limits = {k: ApiLimits(**v) for k, v in (body.get("limits") or {}).items()}
                EMULATOR.realism.configure(bool(body.get("enabled", True)), limits, int(body.get("seed", 0)))
            except (TypeError, ValueError) as exc:
                raise ControlError(str(exc)) from None
            return {"enabled": EMULATOR.realism.enabled, "limits": len(EMULATOR.realism.limits)}
        if path == "/_emulator/faults" and method == "POST":
            try:
                rules = [FaultRule(**r) for r in body.get("rules", [])]
                EMULATOR.faults.configure(rules, int(body.get("seed", 0)))
            except (TypeError, ValueError) as exc:
                raise ControlError(str(exc)) from None
            return {"rules": len(rules)}
        if path == "/_emulator/reset" and method == "POST":
            from moto.core.base_backend import BackendDict

            BackendDict.reset()
            EMULATOR.reset(EMULATOR.clock.mode)
            return {}
    raise ControlError(f"unknown control request {method} {path}")


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, which sends SageMaker's streaming invoke to the runtime (moto's routes only
    paths ending in ``invocations`` there, and both services sign as ``sagemaker``)."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_by_host: dict[str, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        """moto's answer, kept per host: moto lists its package's directories and tries some 300
        URL patterns on every request (about 3 ms of the emulator's CPU per call at fleet scale)."""
        if host is None:
            return None
        if host not in self._backend_by_host:
            self._backend_by_host[host] = super().get_backend_for_host(host)
        return self._backend_by_host[host]

    def infer_service_region_host(self, environ: dict[str, Any], path: str) -> str | None:
        host = super().infer_service_region_host(environ, path)
        if host and host.startswith("api.sagemaker.") and path.endswith("/invocations-response-stream"):
            return "runtime." + host.removeprefix("api.")
        return host


class EmulatorApp:
    """WSGI app: ``/_emulator/*`` answered here, everything else by moto."""

    def __init__(self) -> None:
        install()
        self.moto = _Dispatcher(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_emulator/"):
            with EMULATOR.lock:  # one request at a time: the model is not concurrent
                return list(self.moto(environ, start_response))
        try:
            answer = control(environ["REQUEST_METHOD"], path, _json_body(environ))
            status = "200 OK"
        except ControlError as exc:
            answer, status = {"error": str(exc)}, "400 Bad Request"
        payload = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


class EmulatorServer:
    """The emulator on a port, in a thread; ``stop()`` shuts it down cleanly."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, wall_tick_seconds: float = 1.0) -> None:
        self.app = EmulatorApp()
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, args=(wall_tick_seconds,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> EmulatorServer:
        self._thread.start()
        self._ticker.start()
        return self

    def _tick(self, every: float) -> None:
        # In wall-clock mode nothing else moves time forward: fire what falls due.
        while not self._stop.wait(every):
            if EMULATOR.clock.mode == "wall":
                EMULATOR.tick()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
