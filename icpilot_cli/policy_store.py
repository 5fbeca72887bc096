"""``icpilot deploy-policy``: put a policy file into the stack's AWS AppConfig profile and deploy it.

The stack makes the AppConfig application, environment, profile (with the policy's JSON Schema as
its validator) and an all-at-once deployment strategy when ``AppConfigPolicy=Enabled``; this is the
operator's side: check the file as the functions will read it, store it as a new hosted version (as
JSON, which the schema validator needs), and start a deployment. AppConfig checks the schema again
before the deployment starts, and refuses it if it fails; the policy in force then stays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from icpilot.errors import IcpilotError
from icpilot.policy.loader import policy_json_text

# The stack outputs this command needs (template.yaml, Condition HasAppConfig).
OUTPUTS = ("PolicyApplicationId", "PolicyEnvironmentId", "PolicyProfileId", "PolicyDeploymentStrategyId")
MAX_DESCRIPTION = 1024  # CreateHostedConfigurationVersion's Description limit


def appconfig_ids(stack: str, outputs: dict[str, str]) -> dict[str, str]:
    """The stack's AppConfig ids from its outputs; a clear error when it keeps its policy elsewhere."""
    missing = [name for name in OUTPUTS if name not in outputs]
    if missing:
        raise IcpilotError(
            f"stack {stack!r} does not keep its policy in AppConfig (no {', '.join(missing)} output): "
            "deploy it with AppConfigPolicy=Enabled, or put the policy in its SSM parameter"
        )
    return {name: outputs[name] for name in OUTPUTS}


def deploy(
    client: Callable[[str], Any], stack: str, outputs: dict[str, str], file: str, description: str
) -> dict[str, str]:
    """Store ``file`` as a new hosted version and deploy it; the version and deployment made.
    ``outputs``: the stack's, as ``--stack`` read them (one DescribeStacks per command)."""
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{file}: cannot read: {exc.strerror}") from None
    document = policy_json_text(text, file)  # PolicyError: every problem, before anything is written
    ids = appconfig_ids(stack, outputs)
    appconfig = client("appconfig")
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=ids["PolicyApplicationId"],
        ConfigurationProfileId=ids["PolicyProfileId"],
        Content=document.encode("utf-8"),
        ContentType="application/json",
        Description=(description or f"icpilot deploy-policy {path.name}")[:MAX_DESCRIPTION],
    )
    deployment = appconfig.start_deployment(
        ApplicationId=ids["PolicyApplicationId"],
        EnvironmentId=ids["PolicyEnvironmentId"],
        DeploymentStrategyId=ids["PolicyDeploymentStrategyId"],
        ConfigurationProfileId=ids["PolicyProfileId"],
        ConfigurationVersion=str(version["VersionNumber"]),
        Description=f"{path.name}",
    )
    return {
        "version": str(version["VersionNumber"]),
        "deployment": str(deployment["DeploymentNumber"]),
        "state": str(deployment["State"]),
        "bytes": str(len(document.encode("utf-8"))),
    }
