"""Where the deployed policy comes from: an AppConfig configuration profile or an SSM parameter when
the stack names one, else the bundled file.

Which store when: the bundled file for trying icpilot (a change needs a deploy); SSM Parameter
Store for a few components (a String parameter holds 4 KB, an advanced one 8 KB: about 12
components like the example's); AppConfig for more (a hosted configuration holds 1 MB), with the
policy's JSON Schema checked before a deployment starts and a deployment history.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters import AppConfigProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from ..errors import PolicyError, PolicyNotDeployedError
from .loader import load_policy, load_policy_text
from .model import Policy

# Powertools caches parameters; a changed policy is picked up within this many seconds.
PARAMETER_MAX_AGE_SECONDS = 60


# One provider per (application, environment): Powertools' module-level get_app_config keeps the
# first environment it was called with, and one process may serve two stacks (the emulator).
_APPCONFIG: dict[tuple[str, str], AppConfigProvider] = {}
_NOT_DEPLOYED = "AppConfig {location}: no policy is deployed yet (icpilot deploy-policy FILE --stack STACK)"


def forget_policy_providers() -> None:
    """Drop the AppConfig sessions (a new world, or a test, starts from none)."""
    _APPCONFIG.clear()


def appconfig_policy(location: str, fresh: bool = False) -> Policy:
    """The policy deployed to AppConfig at ``location`` ("application/environment/profile", ids or
    names). Raises PolicyError when it cannot be read, nothing is deployed yet, or it is invalid."""
    application, environment, profile = location.split("/", 2)
    provider = _APPCONFIG.setdefault(
        (application, environment), AppConfigProvider(environment=environment, application=application)
    )
    try:
        content = provider.get(profile, max_age=PARAMETER_MAX_AGE_SECONDS, force_fetch=fresh)
    except GetParameterError as exc:
        if str(exc) == repr(profile):
            # Powertools' provider fails with KeyError(profile) when the session's first answer is
            # empty: nothing has been deployed.
            raise PolicyNotDeployedError([_NOT_DEPLOYED.format(location=location)]) from None
        raise PolicyError([f"AppConfig {location}: cannot read: {exc}"]) from None
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    if not text.strip():
        raise PolicyNotDeployedError([_NOT_DEPLOYED.format(location=location)])
    return load_policy_text(text, f"appconfig:{location}")


def with_default_mode(policy: Policy, mode: str) -> Policy:
    """The policy with the stack's default ``mode`` where the policy sets none at its top level."""
    if "mode" in policy.model_fields_set or mode == policy.mode:
        return policy
    if mode not in ("act", "observe"):
        raise PolicyError([f"the stack's DefaultMode {mode!r} is not act or observe"])
    return policy.model_copy(update={"mode": mode})


def deployed_policy(
    path: str, parameter: str | None, fresh: bool = False, appconfig: str | None = None, default_mode: str = "act"
) -> Policy:
    """The policy in force, with the stack's default mode. ``fresh``: read the store now, past the
    cache (it just changed). Raises PolicyError when it cannot be read or is invalid."""
    return with_default_mode(_stored_policy(path, parameter, fresh, appconfig), default_mode)


def _stored_policy(path: str, parameter: str | None, fresh: bool, appconfig: str | None) -> Policy:
    if appconfig:
        return appconfig_policy(appconfig, fresh)
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
