"""The instance types the emulator's SageMaker hosts: accelerator devices (as SageMaker counts them
for ``NumberOfAcceleratorDevicesRequired``; Neuron devices for inf2), vCPUs and memory, from the AWS
instance pages. The emulator's own table, not icpilot's (``icpilot.domain.instance_types``): a
stand-in for AWS must not share its facts with the code it checks, so a wrong figure in icpilot's
table shows up as a disagreement, not as two agreeing mistakes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    name: str
    accelerators: int
    vcpus: int
    memory_mb: int


_TABLE: tuple[InstanceType, ...] = (
    # NVIDIA A10G
    InstanceType("ml.g5.xlarge", 1, 4, 16 * 1024),
    InstanceType("ml.g5.2xlarge", 1, 8, 32 * 1024),
    InstanceType("ml.g5.4xlarge", 1, 16, 64 * 1024),
    InstanceType("ml.g5.8xlarge", 1, 32, 128 * 1024),
    InstanceType("ml.g5.12xlarge", 4, 48, 192 * 1024),
    InstanceType("ml.g5.16xlarge", 1, 64, 256 * 1024),
    InstanceType("ml.g5.24xlarge", 4, 96, 384 * 1024),
    InstanceType("ml.g5.48xlarge", 8, 192, 768 * 1024),
    # NVIDIA L4
    InstanceType("ml.g6.xlarge", 1, 4, 16 * 1024),
    InstanceType("ml.g6.2xlarge", 1, 8, 32 * 1024),
    InstanceType("ml.g6.4xlarge", 1, 16, 64 * 1024),
    InstanceType("ml.g6.8xlarge", 1, 32, 128 * 1024),
    InstanceType("ml.g6.12xlarge", 4, 48, 192 * 1024),
    InstanceType("ml.g6.16xlarge", 1, 64, 256 * 1024),
    InstanceType("ml.g6.24xlarge", 4, 96, 384 * 1024),
    InstanceType("ml.g6.48xlarge", 8, 192, 768 * 1024),
    # NVIDIA L40S
    InstanceType("ml.g6e.xlarge", 1, 4, 32 * 1024),
    InstanceType("ml.g6e.2xlarge", 1, 8, 64 * 1024),
    InstanceType("ml.g6e.4xlarge", 1, 16, 128 * 1024),
    InstanceType("ml.g6e.8xlarge", 1, 32, 256 * 1024),
    InstanceType("ml.g6e.12xlarge", 4, 48, 384 * 1024),
    InstanceType("ml.g6e.16xlarge", 1, 64, 512 * 1024),
    InstanceType("ml.g6e.24xlarge", 4, 96, 768 * 1024),
    InstanceType("ml.g6e.48xlarge", 8, 192, 1536 * 1024),
    # NVIDIA A100 / H100
    InstanceType("ml.p4d.24xlarge", 8, 96, 1152 * 1024),
    InstanceType("ml.p4de.24xlarge", 8, 96, 1152 * 1024),
    InstanceType("ml.p5.48xlarge", 8, 192, 2048 * 1024),
    # AWS Inferentia2 (Neuron devices)
    InstanceType("ml.inf2.xlarge", 1, 4, 16 * 1024),
    InstanceType("ml.inf2.8xlarge", 1, 32, 128 * 1024),
    InstanceType("ml.inf2.24xlarge", 6, 96, 384 * 1024),
    InstanceType("ml.inf2.48xlarge", 12, 192, 768 * 1024),
    # CPU-only, for small models and tests
    InstanceType("ml.m5.large", 0, 2, 8 * 1024),
    InstanceType("ml.m5.xlarge", 0, 4, 16 * 1024),
    InstanceType("ml.m5.2xlarge", 0, 8, 32 * 1024),
    InstanceType("ml.m5.4xlarge", 0, 16, 64 * 1024),
    InstanceType("ml.c5.xlarge", 0, 4, 8 * 1024),
    InstanceType("ml.c5.2xlarge", 0, 8, 16 * 1024),
)

INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in _TABLE}


class UnknownInstanceType(KeyError):
    """The instance type is not in the emulator's table."""


def instance_type(name: str) -> InstanceType:
    """Look an instance type up; raises UnknownInstanceType naming the known ones."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        raise UnknownInstanceType(
            f"instance type {name!r} is not modelled by the emulator; known: {', '.join(sorted(INSTANCE_TYPES))}"
        ) from None
