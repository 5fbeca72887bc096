"""Where the deployed policy comes from: an SSM parameter when configured, else the bundled file."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from ..errors import PolicyError
from .loader import load_policy, load_policy_text
from .model import Policy

# Powertools caches parameters; a changed policy is picked up within this many seconds.
PARAMETER_MAX_AGE_SECONDS = 60


def deployed_policy(path: str, parameter: str | None, fresh: bool = False) -> Policy:
    """The policy in force. ``fresh``: read the parameter now, past the cache (it just changed).
    Raises PolicyError when it cannot be read or is invalid."""
    if parameter:
        try:
            text = parameters.get_parameter(parameter, max_age=PARAMETER_MAX_AGE_SECONDS, force_fetch=fresh)
        except GetParameterError as exc:
            raise PolicyError([f"SSM parameter {parameter}: cannot read: {exc}"]) from None
        return load_policy_text(str(text), f"ssm:{parameter}")
    return load_policy(path)


def is_policy_change(event: Any) -> bool:
    """A Systems Manager ``Parameter Store Change`` event: the policy parameter was created or
    updated (template.yaml's PolicyChangeRule matches only that parameter)."""
    return (
        isinstance(event, dict)
        and event.get("source") == "aws.ssm"
        and event.get("detail-type") == "Parameter Store Change"
    )
