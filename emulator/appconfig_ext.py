"""AWS AppConfig additions to moto: environments, deployment strategies, deployments, and the
AppConfig Data API that applications (Powertools' AppConfig provider) read configurations with.

moto 5.2 stores applications, configuration profiles and hosted configuration versions only. Added
here, as the AppConfig API reference describes them:

- ``CreateEnvironment``/``GetEnvironment``, ``CreateDeploymentStrategy``, ``StartDeployment``/
  ``GetDeployment``. A deployment first runs the profile's JSON Schema validators on the version's
  content; a failed validation refuses the deployment (BadRequestException, the validator's message)
  and the configuration in force stays. A deployment completes at once: the emulator does not play
  out a strategy's duration, growth or bake time (nor roll back on alarms).
- AppConfig Data's ``StartConfigurationSession`` and ``GetLatestConfiguration`` (identifiers by id
  or name). A session's first call returns the deployed configuration; later calls return an empty
  body until a new deployment, as AWS does; nothing deployed yet is an empty body too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from moto import backend_index
from moto.appconfig import urls as appconfig_urls
from moto.appconfig.models import AppConfigBackend, Application, ConfigurationProfile, appconfig_backends
from moto.appconfig.responses import AppConfigResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from .core import EMULATOR


class BadRequestException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("BadRequestException", message)


class ResourceNotFoundException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


@dataclass
class _Deployed:
    """The version in force per (application, environment, profile), and the deployments made."""

    environments: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {Id, Name, ApplicationId}
    strategies: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)  # (app, env)
    in_force: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (app, env, profile) -> version
    sessions: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)  # token -> key + version seen


def _state(backend: AppConfigBackend) -> _Deployed:
    if not hasattr(backend, "icpilot_deployed"):
        backend.icpilot_deployed = _Deployed()  # type: ignore[attr-defined]
    return backend.icpilot_deployed  # type: ignore[attr-defined,no-any-return]


def _new_id() -> str:
    return uuid.uuid4().hex[:7]


# --------------------------------------------------------------------------- control plane
def _create_environment(self: AppConfigResponse) -> str:
    app = self.appconfig_backend.get_application(self._get_param("ApplicationId"))
    environment = {
        "Id": _new_id(),
        "ApplicationId": app.id,
        "Name": self._get_param("Name"),
        "Description": self._get_param("Description") or "",
        "State": "READY_FOR_DEPLOYMENT",
        "Monitors": self._get_param("Monitors") or [],
    }
    _state(self.appconfig_backend).environments[environment["Id"]] = environment
    return json.dumps(environment)


def _environment(backend: AppConfigBackend, app: Application, identifier: str) -> dict[str, Any]:
    for environment in _state(backend).environments.values():
        if environment["ApplicationId"] == app.id and identifier in (environment["Id"], environment["Name"]):
            return environment
    raise ResourceNotFoundException(f"Environment {identifier} not found")


def _get_environment(self: AppConfigResponse) -> str:
    app = self.appconfig_backend.get_application(self._get_param("ApplicationId"))
    return json.dumps(_environment(self.appconfig_backend, app, self._get_param("EnvironmentId")))


def _create_deployment_strategy(self: AppConfigResponse) -> str:
    strategy = {
        "Id": _new_id(),
        "Name": self._get_param("Name"),
        "DeploymentDurationInMinutes": self._get_param("DeploymentDurationInMinutes"),
        "GrowthFactor": self._get_param("GrowthFactor"),
        "GrowthType": self._get_param("GrowthType") or "LINEAR",
        "FinalBakeTimeInMinutes": self._get_param("FinalBakeTimeInMinutes") or 0,
        "ReplicateTo": self._get_param("ReplicateTo") or "NONE",
    }
    _state(self.appconfig_backend).strategies[strategy["Id"]] = strategy
    return json.dumps(strategy)


def _validate(profile: ConfigurationProfile, content: bytes) -> None:
    """The profile's JSON Schema validators, as AppConfig runs them before a deployment."""
    for validator in profile.validators or []:
        if validator.get("Type") != "JSON_SCHEMA":
            raise BadRequestException(f"validator type {validator.get('Type')} is not emulated")
        try:
            document = json.loads(content)
        except ValueError as exc:
            raise BadRequestException(f"Configuration is not valid JSON: {exc}") from None
        try:
            jsonschema.validate(document, json.loads(validator["Content"]))
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise BadRequestException(f"JSON Schema validation failed at {where}: {exc.message}") from None


def _start_deployment(self: AppConfigResponse) -> str:
    backend = self.appconfig_backend
    app = backend.get_application(self._get_param("ApplicationId"))
    environment = _environment(backend, app, self._get_param("EnvironmentId"))
    strategy_id = self._get_param("DeploymentStrategyId")
    if strategy_id not in _state(backend).strategies and not str(strategy_id).startswith("AppConfig."):
        raise ResourceNotFoundException(f"Deployment strategy {strategy_id} not found")
    profile = backend.get_configuration_profile(app.id, self._get_param("ConfigurationProfileId"))
    version = int(self._get_param("ConfigurationVersion"))
    content = profile.get_version(version).content
    _validate(profile, content if isinstance(content, bytes) else str(content).encode())
    deployments = _state(backend).deployments.setdefault((app.id, environment["Id"]), [])
    deployment = {
        "ApplicationId": app.id,
        "EnvironmentId": environment["Id"],
        "DeploymentStrategyId": strategy_id,
        "ConfigurationProfileId": profile.id,
        "DeploymentNumber": len(deployments) + 1,
        "ConfigurationName": profile.name,
        "ConfigurationVersion": str(version),
        "Description": self._get_param("Description") or "",
        "State": "COMPLETE",
        "PercentageComplete": 100.0,
        "StartedAt": EMULATOR.now().isoformat(),
        "CompletedAt": EMULATOR.now().isoformat(),
    }
    deployments.append(deployment)
    _state(backend).in_force[(app.id, environment["Id"], profile.id)] = version
    return json.dumps(deployment)


def _get_deployment(self: AppConfigResponse) -> str:
    app = self.appconfig_backend.get_application(self._get_param("ApplicationId"))
    environment = _environment(self.appconfig_backend, app, self._get_param("EnvironmentId"))
    number = int(self._get_param("DeploymentNumber"))
    deployments = _state(self.appconfig_backend).deployments.get((app.id, environment["Id"]), [])
    if not 1 <= number <= len(deployments):
        raise ResourceNotFoundException(f"Deployment {number} not found")
    return json.dumps(deployments[number - 1])


# ------------------------------------------------------------------------------ data plane
def _application(backend: AppConfigBackend, identifier: str) -> Application:
    for app in backend.applications.values():
        if identifier in (app.id, app.name):
            return app
    raise ResourceNotFoundException(f"Application {identifier} not found")


def _profile(app: Application, identifier: str) -> ConfigurationProfile:
    for profile in app.config_profiles.values():
        if identifier in (profile.id, profile.name):
            return profile
    raise ResourceNotFoundException(f"Configuration profile {identifier} not found")


class AppConfigDataResponse(BaseResponse):
    """AppConfig Data (``appconfigdata``): sessions and the latest configuration."""

    def __init__(self) -> None:
        super().__init__(service_name="appconfigdata")

    @property
    def backend(self) -> AppConfigBackend:
        return appconfig_backends[self.current_account][self.region]

    def start_configuration_session(self) -> str:
        app = _application(self.backend, self._get_param("ApplicationIdentifier"))
        environment = _environment(self.backend, app, self._get_param("EnvironmentIdentifier"))
        profile = _profile(app, self._get_param("ConfigurationProfileIdentifier"))
        token = uuid.uuid4().hex
        _state(self.backend).sessions[token] = (app.id, environment["Id"], profile.id, 0)
        return json.dumps({"InitialConfigurationToken": token})

    def get_latest_configuration(self) -> tuple[int, dict[str, str], bytes]:
        token = self.querystring.get("configuration_token", [""])[0]
        state = _state(self.backend)
        if token not in state.sessions:
            raise BadRequestException("Invalid or expired configuration token")
        app_id, environment_id, profile_id, seen = state.sessions.pop(token)
        version = state.in_force.get((app_id, environment_id, profile_id), 0)
        body = b""
        content_type = "application/octet-stream"
        if version and version != seen:
            hosted = self.backend.get_configuration_profile(app_id, profile_id).get_version(version)
            body = hosted.content if isinstance(hosted.content, bytes) else str(hosted.content).encode()
            content_type = hosted.content_type or content_type
        following = uuid.uuid4().hex
        state.sessions[following] = (app_id, environment_id, profile_id, version)
        headers = {
            "Next-Poll-Configuration-Token": following,
            "Next-Poll-Interval-In-Seconds": "60",
            "Content-Type": content_type,
        }
        return 200, headers, body


_DATA = AppConfigDataResponse.dispatch


def install() -> None:
    operations = {
        "create_environment": _create_environment,
        "get_environment": _get_environment,
        "create_deployment_strategy": _create_deployment_strategy,
        "start_deployment": _start_deployment,
        "get_deployment": _get_deployment,
    }
    for name, fn in operations.items():
        if not hasattr(AppConfigResponse, name):
            setattr(AppConfigResponse, name, fn)
    app = "{0}/applications/(?P<app_id>[^/]+)"
    paths = {
        app + "/environments$": AppConfigResponse.dispatch,
        app + "/environments/(?P<environment_id>[^/]+)$": AppConfigResponse.dispatch,
        app + "/environments/(?P<environment_id>[^/]+)/deployments$": AppConfigResponse.dispatch,
        app + "/environments/(?P<environment_id>[^/]+)/deployments/(?P<number>[^/]+)$": AppConfigResponse.dispatch,
        "{0}/deploymentstrategies$": AppConfigResponse.dispatch,
        "{0}/configurationsessions$": _DATA,
        "{0}/configuration$": _DATA,
    }
    for path, handler in paths.items():
        appconfig_urls.url_paths.setdefault(path, handler)
    data_base = r"https?://appconfigdata\.(.+)\.amazonaws\.com"
    if data_base not in appconfig_urls.url_bases:
        appconfig_urls.url_bases.append(data_base)
        # AppConfig Data signs as "appconfig"; its host routes to the same backend.
        backend_index.backend_url_patterns.insert(0, ("appconfig", backend_index.re.compile(data_base)))
