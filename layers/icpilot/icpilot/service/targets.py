"""AAS scalable targets as one run reads them: batched per endpoint, each used once."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from ..domain.aws_views import ScalableTarget
from ..errors import IcpilotError
from ..ports import ScalableTargets

logger = Logger(service="icpilot", child=True)


class TargetReads:
    """Made per run (never kept on a long-lived object): a read is a snapshot of that moment."""

    def __init__(self, autoscaling: ScalableTargets) -> None:
        self.autoscaling = autoscaling
        self._read: dict[str, ScalableTarget | None] = {}

    def read(self, components: list[str]) -> None:
        """The targets of these components in a few batched calls; a component left out (the read
        failed) is described on its own when it is needed."""
        try:
            self._read.update(self.autoscaling.describe_targets(components))
        except IcpilotError as exc:
            logger.warning("batched target read failed", extra={"error": str(exc)})

    def target(self, component: str) -> ScalableTarget | None:
        """The component's target from the batched read (used once), or described now."""
        if component in self._read:
            return self._read.pop(component)
        return self.autoscaling.describe_target(component)

    def forget(self, component: str) -> None:
        """Its bounds are changing: the next use must describe it again."""
        self._read.pop(component, None)
