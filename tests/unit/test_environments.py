"""samconfig.toml's environments cannot fight, and what the stack retains stays readable."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]


def overrides(env: str) -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    text = config[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(re.findall(r'(\w+)="([^"]*)"', text))


def prefix(pattern: str) -> str:
    return pattern.split("*", 1)[0]


def test_dev_and_prod_name_their_own_policy_and_components() -> None:
    dev, prod = overrides("dev"), overrides("prod")
    assert dev["PolicyParameterName"] != prod["PolicyParameterName"]
    for key in ("ComponentNamePattern", "EndpointNamePattern"):
        a, b = prefix(dev[key]), prefix(prod[key])
        # Two IAM name patterns can match one name only when one's literal prefix starts the other's.
        assert a and b and not a.startswith(b) and not b.startswith(a), (key, dev[key], prod[key])


def test_the_key_of_a_retained_table_is_retained_with_it() -> None:
    template, _ = decode(str(ROOT / "template.yaml"))
    resources = template["Resources"]
    for name, resource in resources.items():
        if resource.get("DeletionPolicy") != "Retain" or resource["Type"] != "AWS::DynamoDB::Table":
            continue
        key = resource["Properties"]["SSESpecification"]["KMSMasterKeyId"]["Ref"]
        assert resources[key].get("DeletionPolicy") == "Retain", f"{name} is retained, its key {key} is not"
