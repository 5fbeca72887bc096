"""SageMaker additions to moto: the inference-component API and IC-style endpoints.

moto's dispatch looks methods up on ``SageMakerResponse`` by action name, so the IC operations are
added to that class (a subclass would never be called). Each is added only when moto lacks it, so
native support wins if it ever lands. Endpoint config/endpoint handling is widened where moto
refuses or drops what IC endpoints use (variants without ModelName, ml.g5/g6/p4d/p5/inf2 instance
types, ManagedInstanceScaling, RoutingConfig, ExecutionRoleArn).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, cloudwatch_backends
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter
from moto.sagemakerruntime import urls as runtime_urls
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from .core import EMULATOR
from .instances import INSTANCE_TYPES, UnknownInstanceType
from .world import Component, Requirements, World, placement_status

_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_STATES = {"Creating": "CREATE_IN_PROGRESS", "Updating": "UPDATE_RC_IN_PROGRESS", "Deleting": "DELETE_IN_PROGRESS"}


class RuntimeValidationError(ServiceException):
    """sagemaker-runtime's ValidationError (its error code differs from sagemaker's)."""

    code = "ValidationError"


def _world(resp: Any) -> World:
    return EMULATOR.world(resp.sagemaker_backend)


def _check_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(
            message=f"1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must not be null"
        )
    if len(value) > 63 or not _NAME.match(value):
        raise ValidationError(
            message=f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: [a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?"
        )
    return value


def _not_found(name: str, resp: Any) -> ValidationError:
    arn = arn_formatter("inference-component", name, resp.current_account, resp.region)
    return ValidationError(message=f'Could not find inference component "{arn}".')


def _component(resp: Any, name: str) -> Component:
    world = _world(resp)
    component = world.components.get(name)
    if component is None:
        raise _not_found(name, resp)
    return component


def _copy_count(runtime_config: Any, field: str) -> int:
    if not isinstance(runtime_config, dict) or "CopyCount" not in runtime_config:
        raise ValidationError(
            message=f"1 validation error detected: Value null at '{field}.copyCount' failed to satisfy constraint: Member must not be null"
        )
    count = runtime_config["CopyCount"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValidationError(
            message=f"1 validation error detected: Value '{count}' at '{field}.copyCount' failed to satisfy constraint: "
            "Member must have value greater than or equal to 0"
        )
    return count


def _validate_specification(spec: Any) -> Requirements:
    if not isinstance(spec, dict):
        raise ValidationError(
            message="1 validation error detected: Value null at 'specification' failed to satisfy constraint: Member must not be null"
        )
    if not spec.get("ModelName") and not spec.get("Container") and not spec.get("BaseInferenceComponentName"):
        raise ValidationError(message="Specification must contain ModelName, Container or BaseInferenceComponentName.")
    crr = spec.get("ComputeResourceRequirements")
    if not isinstance(crr, dict) or "MinMemoryRequiredInMb" not in crr:
        raise ValidationError(
            message="1 validation error detected: Value null at 'specification.computeResourceRequirements.minMemoryRequiredInMb' "
            "failed to satisfy constraint: Member must not be null"
        )
    if int(crr["MinMemoryRequiredInMb"]) < 128:
        raise ValidationError(
            message=f"Value '{crr['MinMemoryRequiredInMb']}' at 'specification.computeResourceRequirements.minMemoryRequiredInMb' failed to satisfy constraint: Member must have value greater than or equal to 128"
        )
    cores = crr.get("NumberOfCpuCoresRequired")
    if cores is not None and float(cores) < 0.25:
        raise ValidationError(
            message=f"Value '{cores}' at 'specification.computeResourceRequirements.numberOfCpuCoresRequired' failed to satisfy constraint: Member must have value greater than or equal to 0.25"
        )
    acc = crr.get("NumberOfAcceleratorDevicesRequired")
    if acc is not None and float(acc) < 1:
        raise ValidationError(
            message=f"Value '{acc}' at 'specification.computeResourceRequirements.numberOfAcceleratorDevicesRequired' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    return Requirements.from_spec(spec)


def _describe(c: Component, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {
        "InferenceComponentName": c.name,
        "InferenceComponentArn": c.arn,
        "EndpointName": c.endpoint.name,
        "EndpointArn": c.endpoint.arn,
        "VariantName": c.variant_name,
        "Specification": c.specification,
        "RuntimeConfig": {
            "DesiredCopyCount": c.desired,
            "CurrentCopyCount": c.current(now),
            "PlacementStatus": placement_status(c, now),
        },
        "CreationTime": c.created_at,
        "LastModifiedTime": c.last_modified or c.created_at,
        "InferenceComponentStatus": c.status,
    }
    if c.failure_reason:
        out["FailureReason"] = c.failure_reason
    if c.deployment_config:
        out["LastDeploymentConfig"] = c.deployment_config
    return out


def _summary(c: Component) -> dict[str, Any]:
    return {
        "CreationTime": c.created_at,
        "InferenceComponentArn": c.arn,
        "InferenceComponentName": c.name,
        "EndpointArn": c.endpoint.arn,
        "EndpointName": c.endpoint.name,
        "VariantName": c.variant_name,
        "InferenceComponentStatus": c.status,
        "LastModifiedTime": c.last_modified or c.created_at,
    }


# --------------------------------------------------------------- IC operations
def create_inference_component(self: Any) -> ActionResult:
    name = _check_name(self._get_param("InferenceComponentName"), "inferenceComponentName")
    endpoint_name = _check_name(self._get_param("EndpointName"), "endpointName")
    spec = self._get_param("Specification")
    req = _validate_specification(spec)
    copies = _copy_count(self._get_param("RuntimeConfig"), "runtimeConfig")
    now = EMULATOR.now()
    world = _world(self)
    if name in world.components:
        raise ValidationError(
            message=f'Cannot create already existing inference component "{world.components[name].arn}".'
        )
    endpoint = world.endpoints.get(endpoint_name)
    if endpoint is None:
        arn = arn_formatter("endpoint", endpoint_name, self.current_account, self.region)
        raise ValidationError(message=f'Could not find endpoint "{arn}".')
    if not endpoint.ic_capable:
        raise ValidationError(
            message=f"Endpoint {endpoint_name} does not support inference components: its production variant "
            "names a ModelName. Create the endpoint from an endpoint config with ExecutionRoleArn and "
            "variants without ModelName."
        )
    variant = self._get_param("VariantName") or endpoint.variant_name
    if variant != endpoint.variant_name:
        raise ValidationError(message=f"Variant {variant} not found on endpoint {endpoint_name}.")
    model = spec.get("ModelName")
    if model and model not in sm_models.sagemaker_backends[self.current_account][self.region]._models:
        arn = arn_formatter("model", model, self.current_account, self.region)
        raise ValidationError(message=f'Could not find model "{arn}".')
    component = Component(
        name=name,
        arn=arn_formatter("inference-component", name, self.current_account, self.region),
        endpoint=endpoint,
        variant_name=variant,
        specification=spec,
        req=req,
        created_at=now,
        desired=copies,
        last_modified=now,
        tags=self._get_param("Tags") or [],
    )
    world.add_component(component, now)
    return ActionResult({"InferenceComponentArn": component.arn})


def describe_inference_component(self: Any) -> ActionResult:
    name = self._get_param("InferenceComponentName")
    component = _component(self, name)
    return ActionResult(_describe(component, EMULATOR.now()))


def list_inference_components(self: Any) -> ActionResult:
    world = _world(self)
    items = list(world.components.values())
    if v := self._get_param("EndpointNameEquals"):
        items = [c for c in items if c.endpoint.name == v]
    if v := self._get_param("VariantNameEquals"):
        items = [c for c in items if c.variant_name == v]
    if v := self._get_param("StatusEquals"):
        items = [c for c in items if c.status == v]
    if v := self._get_param("NameContains"):
        items = [c for c in items if v in c.name]
    for param, test in (
        ("CreationTimeBefore", lambda c, t: c.created_at < t),
        ("CreationTimeAfter", lambda c, t: c.created_at > t),
        ("LastModifiedTimeBefore", lambda c, t: (c.last_modified or c.created_at) < t),
        ("LastModifiedTimeAfter", lambda c, t: (c.last_modified or c.created_at) > t),
    ):
        if (v := self._get_param(param)) is not None:
            when = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
            items = [c for c in items if test(c, when)]
    sort_by = self._get_param("SortBy") or "CreationTime"
    key = {"Name": lambda c: c.name, "Status": lambda c: c.status}.get(sort_by, lambda c: c.created_at)
    items.sort(key=key, reverse=(self._get_param("SortOrder") or "Descending") == "Descending")
    max_results = int(self._get_param("MaxResults") or 10)
    if not 1 <= max_results <= 100:
        raise ValidationError(
            message=f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
        )
    token = self._get_param("NextToken")
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token).decode())
        except Exception:
            raise ValidationError(message="Invalid pagination token.") from None
    page = items[start : start + max_results]
    out: dict[str, Any] = {"InferenceComponents": [_summary(c) for c in page]}
    if start + max_results < len(items):
        out["NextToken"] = base64.b64encode(str(start + max_results).encode()).decode()
    return ActionResult(out)


def _refuse_if_busy(c: Component) -> None:
    endpoint = c.endpoint.status(EMULATOR.now())
    if endpoint != "InService":  # an endpoint being updated, deleted or failed takes no component change
        raise ValidationError(
            message=f"Cannot update inference component {c.arn} while its endpoint {c.endpoint.arn} "
            f"is in state {endpoint}."
        )
    if c.status in _STATES:
        raise ValidationError(
            message=f"Cannot update inference component {c.arn} while it is in state "
            f"{_STATES[c.status] if c.status != 'Updating' else c.update_kind}."
        )


def update_inference_component_runtime_config(self: Any) -> ActionResult:
    name = _check_name(self._get_param("InferenceComponentName"), "inferenceComponentName")
    copies = _copy_count(self._get_param("DesiredRuntimeConfig"), "desiredRuntimeConfig")
    component = _component(self, name)
    _refuse_if_busy(component)
    _world(self).set_copy_count(component, copies, EMULATOR.now(), "UPDATE_RC_IN_PROGRESS")
    return ActionResult({"InferenceComponentArn": component.arn})


def _rolling_policy(config: Any) -> dict[str, Any] | None:
    """The RollingUpdatePolicy of a DeploymentConfig, checked as the API reference bounds it."""
    if not config:
        return None
    policy = config.get("RollingUpdatePolicy") if isinstance(config, dict) else None
    if not isinstance(policy, dict):
        raise ValidationError(message="DeploymentConfig.RollingUpdatePolicy must not be null.")
    size = policy.get("MaximumBatchSize")
    if not isinstance(size, dict) or size.get("Type") not in ("COPY_COUNT", "CAPACITY_PERCENT"):
        raise ValidationError(
            message="Value at 'deploymentConfig.rollingUpdatePolicy.maximumBatchSize.type' failed to satisfy "
            "constraint: Member must satisfy enum value set: [COPY_COUNT, CAPACITY_PERCENT]"
        )
    if not isinstance(size.get("Value"), int) or size["Value"] < 1:  # boto3 checks this before sending
        raise ValidationError(
            message="Value at 'deploymentConfig.rollingUpdatePolicy.maximumBatchSize.value' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1"
        )
    wait = policy.get("WaitIntervalInSeconds")
    if not isinstance(wait, int) or not 0 <= wait <= 3600:
        raise ValidationError(
            message=f"Value '{wait}' at 'deploymentConfig.rollingUpdatePolicy.waitIntervalInSeconds' failed to "
            "satisfy constraint: Member must have value between 0 and 3600"
        )
    return policy


def update_inference_component(self: Any) -> ActionResult:
    name = _check_name(self._get_param("InferenceComponentName"), "inferenceComponentName")
    component = _component(self, name)
    _refuse_if_busy(component)
    world = _world(self)
    now = EMULATOR.now()
    spec = self._get_param("Specification")
    runtime = self._get_param("RuntimeConfig")
    if spec is None and runtime is None:
        raise ValidationError(message="At least one of Specification or RuntimeConfig must be provided.")
    copies = component.desired if runtime is None else _copy_count(runtime, "runtimeConfig")
    config = self._get_param("DeploymentConfig")
    rolling = _rolling_policy(config)
    if config:
        component.deployment_config = config
    if spec is None:
        world.set_copy_count(component, copies, now, "UPDATE_IN_PROGRESS")
        return ActionResult({"InferenceComponentArn": component.arn})
    merged = {**component.specification, **spec}
    world.update_specification(component, merged, _validate_specification(merged), copies, now, rolling)
    return ActionResult({"InferenceComponentArn": component.arn})


def delete_inference_component(self: Any) -> EmptyResult:
    name = _check_name(self._get_param("InferenceComponentName"), "inferenceComponentName")
    component = _component(self, name)
    if component.status == "Deleting":
        _refuse_if_busy(component)
    _world(self).delete_component(component, EMULATOR.now())
    return EmptyResult()


def _tagged_component(resp: Any) -> Component | None:
    """The component a tagging call names by ARN, or None for any other SageMaker resource."""
    arn = resp._get_param("ResourceArn") or ""
    if ":inference-component/" not in arn:
        return None
    name = arn.rsplit("/", 1)[-1]
    component = _world(resp).components.get(name)
    if component is None or component.arn != arn:
        raise ValidationError(message=f'Could not find inference component "{arn}".')
    return component


def _add_tags(self: Any) -> ActionResult:
    component = _tagged_component(self)
    if component is None:
        return _original["add_tags"](self)
    tags = self._get_param("Tags") or []
    keys = {t["Key"] for t in tags}
    component.tags = [t for t in component.tags if t["Key"] not in keys] + list(tags)
    return ActionResult({"Tags": component.tags})


def _list_tags(self: Any) -> ActionResult:
    component = _tagged_component(self)
    if component is None:
        return _original["list_tags"](self)
    return ActionResult({"Tags": component.tags})


def _delete_tags(self: Any) -> EmptyResult:
    component = _tagged_component(self)
    if component is None:
        return _original["delete_tags"](self)
    keys = set(self._get_param("TagKeys") or [])
    component.tags = [t for t in component.tags if t["Key"] not in keys]
    return EmptyResult()


_IC_OPERATIONS = {
    "create_inference_component": create_inference_component,
    "describe_inference_component": describe_inference_component,
    "list_inference_components": list_inference_components,
    "update_inference_component": update_inference_component,
    "update_inference_component_runtime_config": update_inference_component_runtime_config,
    "delete_inference_component": delete_inference_component,
}


# ----------------------------------------------------------------- endpoints
_original: dict[str, Any] = {
    "validate_instance_type": sm_models.FakeEndpointConfig.validate_instance_type,
    "backend_validate_variants": sm_models.SageMakerModelBackend.validate_production_variants,
    "create_endpoint_config": SageMakerResponse.create_endpoint_config,
    "create_endpoint": SageMakerResponse.create_endpoint,
    "describe_endpoint": SageMakerResponse.describe_endpoint,
    "delete_endpoint": SageMakerResponse.delete_endpoint,
    "invoke_endpoint": SageMakerRuntimeResponse.invoke_endpoint,
    "add_tags": SageMakerResponse.add_tags,
    "list_tags": SageMakerResponse.list_tags,
    "delete_tags": SageMakerResponse.delete_tags,
}


def _validate_instance_type(self: Any, instance_type: str) -> None:
    if instance_type in INSTANCE_TYPES:
        return
    _original["validate_instance_type"](self, instance_type)


def _backend_validate_variants(self: Any, production_variants: list[dict[str, Any]]) -> None:
    # Variants without ModelName host inference components; only classic ones name a model.
    _original["backend_validate_variants"](self, [v for v in production_variants if "ModelName" in v])


def _create_endpoint_config(self: Any) -> ActionResult:
    variants = self._get_param("ProductionVariants") or []
    if any("ModelName" not in v for v in variants) and not self._get_param("ExecutionRoleArn"):
        raise ValidationError(
            message="ExecutionRoleArn is required when a production variant does not specify ModelName (inference components)."
        )
    for v in variants:
        mis = v.get("ManagedInstanceScaling")
        if mis and int(mis.get("MinInstanceCount", 0)) > int(mis.get("MaxInstanceCount", 1)):
            raise ValidationError(message="ManagedInstanceScaling MinInstanceCount must not exceed MaxInstanceCount.")
        _check_scale_in_policy((mis or {}).get("ScaleInPolicy"))
    result = _original["create_endpoint_config"](self)
    config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
    if role := self._get_param("ExecutionRoleArn"):
        config.execution_role_arn = role  # surfaces as ExecutionRoleArn in DescribeEndpointConfig
    return result


def _create_endpoint(self: Any) -> ActionResult:
    result = _original["create_endpoint"](self)
    name = self._get_param("EndpointName")
    backend = self.sagemaker_backend
    config = backend.endpoint_configs[self._get_param("EndpointConfigName")]
    world = _world(self)
    for variant in config.production_variants:
        if "InstanceType" in variant:
            try:
                world.add_endpoint(name=name, arn=backend.endpoints[name].arn, variant=variant, now=EMULATOR.now())
            except UnknownInstanceType as exc:
                raise ValidationError(message=str(exc)) from None
            break  # the emulator models one instance-backed variant per endpoint
    return result


def _describe_endpoint(self: Any) -> ActionResult:
    name = self._get_param("EndpointName")
    world = _world(self)
    world.sync(EMULATOR.now())
    if name in world.deleted_endpoints:  # its Deleting time is over: gone from the API too
        self.sagemaker_backend.endpoints.pop(name, None)
        world.deleted_endpoints.discard(name)
    result = _original["describe_endpoint"](self)
    endpoint = world.endpoints.get(name)
    if endpoint is None:
        return result
    body = dict(result.result)  # type: ignore[arg-type]
    now = EMULATOR.now()
    world.sync(now)
    body["EndpointStatus"] = endpoint.status(now)
    if endpoint.failure_reason is not None:
        body["FailureReason"] = endpoint.failure_reason
    variants = []
    for variant in body.get("ProductionVariants", []):
        variant = dict(variant)
        if variant.get("VariantName") == endpoint.variant_name:
            variant["CurrentInstanceCount"] = endpoint.ready_instances(now)
            variant["DesiredInstanceCount"] = len(endpoint.instances)
            if endpoint.managed_scaling:
                variant["ManagedInstanceScaling"] = endpoint.managed_scaling
            if endpoint.routing_config:
                variant["RoutingConfig"] = endpoint.routing_config
            variant["VariantStatus"] = (
                [
                    {
                        "Status": "Updating"
                        if len(endpoint.instances) != endpoint.ready_instances(now)
                        else "ActivatingTraffic",
                        "StartTime": now,
                    }
                ]
                if len(endpoint.instances) != endpoint.ready_instances(now)
                else []
            )
        variants.append(variant)
    body["ProductionVariants"] = variants
    return ActionResult(body)


def update_endpoint(self: Any) -> ActionResult:
    """UpdateEndpoint to a new endpoint config: on an IC endpoint, the variant's ManagedInstanceScaling
    and RoutingConfig change; the endpoint is Updating for ``endpoint_update_seconds``, and refuses
    another update meanwhile. A different instance type or variant name is refused (not modelled)."""
    name = _check_name(self._get_param("EndpointName"), "endpointName")
    config_name = _check_name(self._get_param("EndpointConfigName"), "endpointConfigName")
    backend = self.sagemaker_backend
    fake = backend.endpoints.get(name)
    if fake is None:
        arn = arn_formatter("endpoint", name, self.current_account, self.region)
        raise ValidationError(message=f'Could not find endpoint "{arn}".')
    config = backend.endpoint_configs.get(config_name)
    if config is None:
        arn = arn_formatter("endpoint-config", config_name, self.current_account, self.region)
        raise ValidationError(message=f'Could not find endpoint configuration "{arn}".')
    world = _world(self)
    now = EMULATOR.now()
    world.sync(now)
    endpoint = world.endpoints.get(name)
    if endpoint is not None:
        if endpoint.updating_until and endpoint.updating_until > now:
            raise ValidationError(message=f'Cannot update in-progress endpoint "{fake.arn}".')
        variant = next((v for v in config.production_variants if "InstanceType" in v), None)
        if variant is None or variant.get("VariantName") != endpoint.variant_name:
            raise ValidationError(
                message=f"The emulator updates an inference-component endpoint within its variant "
                f"{endpoint.variant_name}; endpoint config {config_name} names another variant."
            )
        if variant["InstanceType"] != endpoint.itype.name:
            raise ValidationError(
                message=f"The emulator does not change the instance type of an inference-component endpoint "
                f"({endpoint.itype.name} -> {variant['InstanceType']})."
            )
        world.update_endpoint(endpoint, variant, now)
    fake.endpoint_config_name = config_name
    fake.production_variants = fake._process_production_variants(config.production_variants)
    fake.last_modified_time = now.astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC
    return ActionResult({"EndpointArn": fake.arn})


def _delete_endpoint(self: Any) -> EmptyResult:
    """DeleteEndpoint: gone at once, or Deleting for ``endpoint_delete_seconds`` first (its components
    refuse writes meanwhile; the world removes it when the time is up)."""
    name = self._get_param("EndpointName")
    world = _world(self)
    endpoint = world.endpoints.get(name)
    delay = world.settings.endpoint_delete_seconds
    if endpoint is not None and delay > 0:
        if endpoint.deleting_until is None:
            endpoint.deleting_until = EMULATOR.now() + timedelta(seconds=delay)
        return EmptyResult()
    result = _original["delete_endpoint"](self)
    world.remove_endpoint(name)
    return result


# ---------------------------------------------------------------- invocations
def record_invocations(
    account_id: str, region: str, component: Component, served: int, refused: int, latency_ms: float, when: datetime
) -> None:
    """Record the AWS/SageMaker metrics of ``served`` + ``refused`` requests at ``when``."""
    cw = cloudwatch_backends[account_id][region]
    ic_dim = [{"Name": "InferenceComponentName", "Value": component.name}]
    ep_dims = [
        {"Name": "EndpointName", "Value": component.endpoint.name},
        {"Name": "VariantName", "Value": component.variant_name},
    ]
    loaded = max(component.current(when), 1)
    stamp = when.astimezone(UTC).replace(tzinfo=None)  # moto keeps metric timestamps as naive UTC

    def put(name: str, dims: list[dict[str, str]], total: float, count: int, value: float) -> None:
        if count == 1:
            cw.metric_data.append(MetricDatum("AWS/SageMaker", name, value, dims, stamp))
        elif count > 1:
            cw.metric_data.append(MetricAggregatedDatum("AWS/SageMaker", name, value, value, count, total, dims, stamp))

    if served:
        put("Invocations", ic_dim, served, served, 1.0)
        put("Invocations", ep_dims, served, served, 1.0)
        put("InvocationsPerCopy", ic_dim, served / loaded, served, 1.0 / loaded)
        put("ModelLatency", ic_dim, served * latency_ms * 1000, served, latency_ms * 1000)
    if refused:
        put("NoCapacityInvocationFailures", ic_dim, refused, refused, 1.0)


def invoke_component(
    account_id: str, region: str, component_name: str, count: int, when: datetime | None = None
) -> tuple[int, int]:
    """Admit ``count`` requests for a component at ``when`` (bulk API): returns (served, refused)."""
    when = when or EMULATOR.now()
    world = EMULATOR.world_for(account_id, region)
    component = world.components.get(component_name)
    if component is None:
        raise KeyError(f"unknown inference component {component_name!r}")
    served, refused = world.admit(component, when, count)
    _, latency_ms, _ = world.settings_for(component.name)
    record_invocations(account_id, region, component, served, refused, latency_ms, when)
    return served, refused


def _serve_one(self: Any) -> tuple[Component, float, str] | None:
    """Admit one request from an InvokeEndpoint-shaped call: (component, latency ms, prompt), or
    None for a classic endpoint (moto answers). Raises SageMaker's error where it would refuse."""
    component_name = self.headers.get("X-Amzn-SageMaker-Inference-Component")
    endpoint_name = self.path.split("/")[2] if self.path.count("/") >= 2 else self._get_param("EndpointName")
    world = EMULATOR.world_for(self.current_account, self.region)
    if not component_name:
        if endpoint_name in world.endpoints:  # an IC endpoint: SageMaker refuses a call without a component
            raise RuntimeValidationError(
                "Inference Component Name header is required for endpoints to which you plan to deploy inference "
                "components. Please include Inference Component Name header or consider using SageMaker models."
            )
        return None
    component = world.components.get(component_name)
    if component is None or component.endpoint.name != endpoint_name:
        raise RuntimeValidationError(f"Inference Component {component_name} not found for endpoint {endpoint_name}.")
    now = EMULATOR.now()
    served, _refused = invoke_component(self.current_account, self.region, component_name, 1, now)
    if not served:
        if component.current(now) == 0:
            raise RuntimeValidationError(
                "Inference Component has no capacity to process this request. ApplicationAutoScaling may be "
                "in-progress (if configured) or try to increase the capacity by invoking "
                "UpdateInferenceComponentRuntimeConfig API."
            )
        raise RuntimeValidationError(
            "Inference Component has no capacity to process this request: every copy is at its concurrency limit."
        )
    _, latency_ms, _ = world.settings_for(component_name)
    if world.settings.sleep_latency:
        time.sleep(latency_ms / 1000)
    try:
        prompt = json.loads(self.body or b"{}").get("inputs", "")
    except (ValueError, AttributeError):
        prompt = ""
    return component, latency_ms, f"[{component_name}] {str(prompt)[:64]}"


def _invoke_endpoint(self: Any) -> Any:
    served = _serve_one(self)
    if served is None:
        return _original["invoke_endpoint"](self)
    component, latency_ms, text = served
    answer = [{"generated_text": text, "latency_ms": latency_ms}]
    headers = {"Content-Type": "application/json", "x-Amzn-Invoked-Production-Variant": component.variant_name}
    return 200, headers, json.dumps(answer)


def event_stream_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of the AWS event-stream encoding that botocore parses: prelude (total and header
    lengths, CRC32), string-typed headers, payload, CRC32 of the whole. Written by hand because no
    library here encodes it (botocore only decodes)."""
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def invoke_endpoint_with_response_stream(self: Any) -> Any:
    """InvokeEndpointWithResponseStream: the same admission as InvokeEndpoint, the answer as
    PayloadPart events (a few words each) on an event stream."""
    served = _serve_one(self)
    if served is None:
        raise RuntimeValidationError("The emulator streams responses from inference components only.")
    component, latency_ms, text = served
    words = json.dumps({"generated_text": text, "latency_ms": latency_ms}).split(" ")
    parts = [" ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "") for i in range(0, len(words), 3)]
    event = {":message-type": "event", ":event-type": "PayloadPart", ":content-type": "application/octet-stream"}
    body = b"".join(event_stream_message(event, part.encode()) for part in parts)
    headers = {
        "Content-Type": "application/vnd.amazon.eventstream",
        "X-Amzn-SageMaker-Content-Type": "application/json",
        "x-Amzn-Invoked-Production-Variant": component.variant_name,
    }
    return 200, headers, body


def install() -> None:
    for name, fn in _IC_OPERATIONS.items():
        if not hasattr(SageMakerResponse, name):
            setattr(SageMakerResponse, name, fn)
    sm_models.FakeEndpointConfig.validate_instance_type = _validate_instance_type  # type: ignore[method-assign]
    sm_models.SageMakerModelBackend.validate_production_variants = _backend_validate_variants  # type: ignore[method-assign]
    SageMakerResponse.create_endpoint_config = _create_endpoint_config  # type: ignore[method-assign]
    SageMakerResponse.create_endpoint = _create_endpoint  # type: ignore[method-assign]
    SageMakerResponse.describe_endpoint = _describe_endpoint  # type: ignore[method-assign]
    SageMakerResponse.delete_endpoint = _delete_endpoint  # type: ignore[method-assign]
    SageMakerRuntimeResponse.invoke_endpoint = _invoke_endpoint  # type: ignore[method-assign]
    SageMakerRuntimeResponse.invoke_endpoint_with_response_stream = invoke_endpoint_with_response_stream  # type: ignore[attr-defined]
    runtime_urls.url_paths.setdefault(
        "{0}/endpoints/(?P<name>[^/]+)/invocations-response-stream$", runtime_urls.response.dispatch
    )
    if not hasattr(SageMakerResponse, "update_endpoint"):
        SageMakerResponse.update_endpoint = update_endpoint  # type: ignore[attr-defined]
    SageMakerResponse.add_tags = _add_tags  # type: ignore[method-assign]
    SageMakerResponse.list_tags = _list_tags  # type: ignore[method-assign]
    SageMakerResponse.delete_tags = _delete_tags  # type: ignore[method-assign]


def _check_scale_in_policy(policy: dict[str, Any] | None) -> None:
    """ProductionVariantManagedInstanceScalingScaleInPolicy's documented values and ranges."""
    if not policy:
        return
    if policy.get("Strategy") not in ("IDLE_RELEASE", "CONSOLIDATION"):
        raise ValidationError(
            message=f"ScaleInPolicy.Strategy {policy.get('Strategy')!r} is not one of IDLE_RELEASE, CONSOLIDATION."
        )
    if "CooldownInMinutes" in policy and not 5 <= int(policy["CooldownInMinutes"]) <= 1440:
        raise ValidationError(message="ScaleInPolicy.CooldownInMinutes must be between 5 and 1440.")
    if "MaximumStepSize" in policy and not 1 <= int(policy["MaximumStepSize"]) <= 100:
        raise ValidationError(message="ScaleInPolicy.MaximumStepSize must be between 1 and 100.")
