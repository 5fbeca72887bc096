"""SageMaker: observe endpoints and inference components, write copy counts."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Collection
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ..domain.capacity import Reservation
from ..domain.decision_types import ComponentObservation, EndpointObservation
from ..errors import (
    ComponentBusyError,
    IcpilotError,
    NotAnInferenceComponentEndpointError,
    UnknownComponentError,
    UnknownEndpointError,
)
from .aws import aws_call, error_code, error_message, make_client
from .pacing import pacer

logger = Logger(service="icpilot", child=True)
COPY_COUNT_WRITE = "UpdateInferenceComponentRuntimeConfig"
# A pass over this many endpoints lists the account's inference components once (100 a page) rather
# than each endpoint's: fewer calls whenever most of the account's components are on them.
LIST_ACCOUNT_FROM = 5
# Endpoint configs described, per client (a client lives as long as the execution environment, and
# the emulator's reset drops its clients with their account), oldest dropped first.
CONFIGS_KEPT = 1000
_configs: weakref.WeakKeyDictionary[Any, dict[tuple[object, str, str], dict[str, Any]]] = weakref.WeakKeyDictionary()
_configs_lock = threading.Lock()


def _reservation(spec: dict[str, Any]) -> Reservation:
    crr = spec.get("ComputeResourceRequirements") or {}
    return Reservation(
        accelerators=float(crr.get("NumberOfAcceleratorDevicesRequired") or 0),
        cores=float(crr.get("NumberOfCpuCoresRequired") or 0),
        memory_mb=int(crr.get("MinMemoryRequiredInMb") or 0),
    )


class SageMakerAdapter:
    def __init__(self, client: Any | None = None) -> None:
        self.client = make_client("sagemaker", client)

    def describe_component(self, name: str) -> ComponentObservation:
        with aws_call("sagemaker", "DescribeInferenceComponent", _missing_component(name)):
            d = self.client.describe_inference_component(InferenceComponentName=name)
        runtime = d.get("RuntimeConfig") or {}
        return ComponentObservation(
            name=name,
            status=d["InferenceComponentStatus"],
            desired=int(runtime.get("DesiredCopyCount", 0)),
            current=int(runtime.get("CurrentCopyCount", 0)),
            reservation=_reservation(d.get("Specification") or {}),
            failure_reason=d.get("FailureReason"),
        )

    def endpoint_names(self) -> list[str]:
        """Every endpoint in the account and region (any kind; ``observe_endpoint`` tells them apart)."""
        names: list[str] = []
        with aws_call("sagemaker", "ListEndpoints"):
            for page in self.client.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100}):
                names += [e["EndpointName"] for e in page["Endpoints"]]
        return sorted(names)

    def component_names(self, endpoint: str) -> list[str]:
        names: list[str] = []
        with aws_call("sagemaker", "ListInferenceComponents"):
            for page in self.client.get_paginator("list_inference_components").paginate(
                EndpointNameEquals=endpoint, PaginationConfig={"PageSize": 100}
            ):
                names += [c["InferenceComponentName"] for c in page["InferenceComponents"]]
        return names

    def components_by_endpoint(self) -> dict[str, list[str]]:
        """Every inference component of the account and region by endpoint, 100 a page: a few
        calls for a fleet instead of one listing per endpoint."""
        found: dict[str, list[str]] = {}
        with aws_call("sagemaker", "ListInferenceComponents"):
            for page in self.client.get_paginator("list_inference_components").paginate(
                PaginationConfig={"PageSize": 100}
            ):
                for c in page["InferenceComponents"]:
                    found.setdefault(c["EndpointName"], []).append(c["InferenceComponentName"])
        return found

    def listing_for(self, endpoints: int) -> dict[str, list[str]] | None:
        """For a pass over ``endpoints`` endpoints, the account's components by endpoint when one
        listing is cheaper than one per endpoint (``LIST_ACCOUNT_FROM`` or more); None otherwise,
        or when the listing failed (each endpoint is then listed on its own)."""
        if endpoints < LIST_ACCOUNT_FROM:
            return None
        try:
            return self.components_by_endpoint()
        except IcpilotError as exc:
            logger.warning("account-wide listing failed; listing per endpoint", extra={"error": str(exc)})
            return None

    def _endpoint_config(self, endpoint: dict[str, Any]) -> dict[str, Any]:
        """The endpoint's config. Endpoint configs are immutable, and a config name given anew (a
        deleted one made again) reaches the endpoint only through UpdateEndpoint, which moves its
        LastModifiedTime: so a config is described once per (endpoint, config, last modified)."""
        key = (endpoint.get("EndpointArn"), endpoint["EndpointConfigName"], str(endpoint.get("LastModifiedTime")))
        with _configs_lock:
            known = _configs.setdefault(self.client, {})
            cached = known.get(key)
        if cached is None:
            cached = self.client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            with _configs_lock:
                if len(known) >= CONFIGS_KEPT:
                    known.pop(next(iter(known)))
                known[key] = cached
        return cached

    def observe_endpoint(
        self, name: str, owned: Collection[str] | None = None, listed: list[str] | None = None
    ) -> EndpointObservation:
        """The endpoint's instance type, instance ceiling and every component on it.

        A component outside ``owned`` (the policy's) that cannot be described is left out and named
        in ``unobserved``: someone else's component must not stop icpilot's (its capacity then goes
        uncounted, which SageMaker's own placement still enforces). Raises
        NotAnInferenceComponentEndpointError for classic endpoints (variants naming a model).
        ``listed``: the endpoint's components as a run listed them already (else listed here).
        """
        missing = UnknownEndpointError(f"endpoint {name!r} does not exist")
        with aws_call("sagemaker", "DescribeEndpoint", lambda exc: missing if _not_found(exc) else None):
            endpoint = self.client.describe_endpoint(EndpointName=name)
            config = self._endpoint_config(endpoint)
        variants = config.get("ProductionVariants") or []
        hosting = [v for v in variants if "InstanceType" in v and "ModelName" not in v]
        if not hosting:
            kind = (
                "serverless"
                if any("ServerlessConfig" in v for v in variants)
                else "single-model, multi-model or multi-container"
            )
            raise NotAnInferenceComponentEndpointError(
                f"endpoint {name!r} hosts no inference components: it is a {kind} endpoint "
                "(its production variants name a ModelName). icpilot manages inference-component endpoints only."
            )
        variant = hosting[0]
        live: dict[str, Any] = next(
            (v for v in endpoint.get("ProductionVariants", []) if v.get("VariantName") == variant["VariantName"]), {}
        )
        scaling = live.get("ManagedInstanceScaling") or variant.get("ManagedInstanceScaling") or {}
        strategy: str | None = None
        if str(scaling.get("Status", "")).upper() == "ENABLED":
            max_instances = int(scaling.get("MaxInstanceCount", 1))
            strategy = str((scaling.get("ScaleInPolicy") or {}).get("Strategy") or "IDLE_RELEASE")
        else:
            max_instances = int(live.get("CurrentInstanceCount") or variant.get("InitialInstanceCount") or 1)
        components: list[ComponentObservation] = []
        unobserved: list[str] = []
        for component in listed if listed is not None else self.component_names(name):
            try:
                components.append(self.describe_component(component))
            except IcpilotError:
                if owned is None or component in owned:
                    raise
                unobserved.append(component)
        return EndpointObservation(
            name=name,
            instance_type=variant["InstanceType"],
            max_instances=max_instances,
            components=tuple(components),
            current_instances=int(live["CurrentInstanceCount"]) if "CurrentInstanceCount" in live else None,
            unobserved=tuple(unobserved),
            status=str(endpoint.get("EndpointStatus") or "InService"),
            failure_reason=endpoint.get("FailureReason"),
            scale_in_strategy=strategy,
        )

    @staticmethod
    def write_budget_free() -> bool:
        """Whether copy-count writes are not short of their paced budget (``pacing``): at least
        half the burst is there. A write that can wait a tick (a scale-in) waits when it is not."""
        return pacer().has_room(f"sagemaker:{COPY_COUNT_WRITE}")

    @staticmethod
    def write_rate() -> float | None:
        """Copy-count writes a second the pacer allows (None: not paced)."""
        return pacer().rate(f"sagemaker:{COPY_COUNT_WRITE}")

    def set_copy_count(self, name: str, copies: int) -> None:
        """Write the desired copy count; ComponentBusyError while the component is Creating or
        Updating. A busy answer to an SDK retry, with the component already wanting ``copies``,
        means the first attempt took effect and only its answer was lost: that is a success."""
        missing = _missing_component(name)

        def known(exc: ClientError) -> Exception | None:
            return ComponentBusyError(error_message(exc)) if _busy(exc) else missing(exc)

        with aws_call("sagemaker", COPY_COUNT_WRITE, known):
            try:
                self.client.update_inference_component_runtime_config(
                    InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": copies}
                )
            except ClientError as exc:
                retried = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) > 0
                if _busy(exc) and retried and self._wants(name, copies):
                    return
                raise

    def _wants(self, name: str, copies: int) -> bool:
        try:
            return self.describe_component(name).desired == copies
        except IcpilotError:
            return False  # cannot tell: report the refusal as it came


def _busy(exc: ClientError) -> bool:
    """The component, or its endpoint (being updated, deleted, or failed), refuses the write for now."""
    message = error_message(exc)
    refused = "while it is in state" in message or "while its endpoint" in message  # the latter: the emulator's words
    return error_code(exc) == "ValidationException" and refused


def _not_found(exc: ClientError) -> bool:
    """SageMaker says a resource is missing with a ValidationException, not a 404."""
    return error_code(exc) == "ValidationException" and "Could not find" in error_message(exc)


def _missing_component(name: str) -> Callable[[ClientError], Exception | None]:
    return lambda exc: (
        UnknownComponentError(f"inference component {name!r} does not exist") if _not_found(exc) else None
    )
