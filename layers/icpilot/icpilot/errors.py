"""One exception per failure the controller distinguishes. Adapters raise these; nothing outside
an adapter inspects AWS error codes or messages."""

from __future__ import annotations


class IcpilotError(Exception):
    """Base class of every icpilot error."""


class PolicyError(IcpilotError):
    """The policy file is invalid; ``problems`` lists each one with its path, value and allowed range."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid policy:\n  " + "\n  ".join(problems))


class PolicyNotDeployedError(PolicyError):
    """The policy store holds no policy yet (AppConfig before the first deployment): icpilot does
    nothing until one is deployed, and a stack deploy does not fail for it."""


class UnknownComponentError(IcpilotError):
    """The inference component does not exist in SageMaker."""


class UnknownEndpointError(IcpilotError):
    """The endpoint does not exist in SageMaker."""


class NotAnInferenceComponentEndpointError(IcpilotError):
    """The endpoint hosts models the classic way (single-model, multi-model or multi-container)."""


class ComponentBusyError(IcpilotError):
    """SageMaker refused a write because the component is being created or updated; retry later."""


class ThrottledError(IcpilotError):
    """An AWS API kept throttling after the SDK's retries."""


class AwsCallError(IcpilotError):
    """Any other AWS API failure, with the service, operation and code."""

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        self.service, self.operation, self.code = service, operation, code
        super().__init__(f"{service}.{operation} failed: {code}: {message}")


class StateConflictError(IcpilotError):
    """Another invocation changed the component's state first (conditional write lost)."""


class CorruptStateError(IcpilotError):
    """A component's state item holds a value icpilot cannot read (names the attribute and value).

    Reported as that component's ActionFailed; the other components of the run go on."""

    def __init__(self, endpoint: str, component: str, attribute: str, value: object, why: str) -> None:
        self.attribute, self.value = attribute, value
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        super().__init__(f"state of {endpoint}/{component}: attribute {attribute!r} = {shown} is unreadable: {why}")
