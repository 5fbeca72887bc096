"""The policy stores: template.yaml's AppConfig validator is the policy's own JSON Schema, and a
policy converted for AppConfig (JSON) is the same policy.

After a change to the policy model, rewrite the template's copy with
``ICPILOT_WRITE_SAMPLES=1 pytest tests/unit/test_policy_stores.py``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from cfnlint.decode import decode
from icpilot.policy.loader import load_policy, load_policy_text, policy_json_schema, policy_json_text

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
POLICIES = [ROOT / "layers/icpilot/policy.yaml", ROOT / "tests/policy.yaml"]


def compact_schema() -> str:
    return json.dumps(policy_json_schema(), separators=(",", ":"), sort_keys=True)


def test_the_appconfig_validator_is_the_policys_json_schema() -> None:
    if os.environ.get("ICPILOT_WRITE_SAMPLES") == "1":
        text = TEMPLATE.read_text()
        quoted = compact_schema().replace("'", "''")
        TEMPLATE.write_text(re.sub(r"(\n          Content: ')\{.*\}(')", lambda m: m[1] + quoted + m[2], text, count=1))
    template, _ = decode(str(TEMPLATE))
    validators = template["Resources"]["PolicyProfile"]["Properties"]["Validators"]
    assert [v["Type"] for v in validators] == ["JSON_SCHEMA"]
    assert json.loads(validators[0]["Content"]) == policy_json_schema(), "stale: see this module's docstring"
    assert len(validators[0]["Content"]) <= 32_768  # AppConfig's limit on a validator's content


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.parent.name)
def test_a_policy_converted_for_appconfig_is_the_same_policy_and_passes_the_schema(path: Path) -> None:
    document = policy_json_text(path.read_text(), str(path))
    jsonschema.validate(json.loads(document), policy_json_schema())
    assert load_policy_text(document) == load_policy(path)


def test_holidays_written_as_yaml_dates_convert_for_appconfig() -> None:
    """YAML reads an unquoted 2026-12-24 as a date, which JSON has no type for: it is written as
    the same day in text, passes the schema and loads back to the same policy."""
    text = "version: 1\nendpoints:\n  ep:\n    components:\n      m:\n        max_copies: 4\n"
    text += "        predictive: {holidays: [2026-12-24, '2026-12-25']}\n"
    document = policy_json_text(text)
    assert json.loads(document)["endpoints"]["ep"]["components"]["m"]["predictive"]["holidays"] == [
        "2026-12-24",
        "2026-12-25",
    ]
    jsonschema.validate(json.loads(document), policy_json_schema())
    assert load_policy_text(document) == load_policy_text(text)
