"""Instance types an IC endpoint can run on: accelerators, vCPUs, memory and an hourly price.

Figures follow the AWS instance pages (accelerator devices as SageMaker counts them for
``NumberOfAcceleratorDevicesRequired``; Neuron devices for inf2). Prices are on-demand SageMaker
real-time inference in us-east-1, USD per hour, rounded; they feed cost estimates only and can be
overridden where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where the built-in prices come from; a policy's cost block (``price_per_hour``) overrides them for
# another region, a Savings Plan or a negotiated rate.
PRICE_SOURCE = "SageMaker real-time inference on-demand, us-east-1, USD per instance-hour"


@dataclass(frozen=True)
class InstanceType:
    name: str
    accelerators: int
    vcpus: int
    memory_mb: int
    price_per_hour: float


def _gib(n: int) -> int:
    return n * 1024


_TABLE: tuple[InstanceType, ...] = (
    # NVIDIA A10G
    InstanceType("ml.g5.xlarge", 1, 4, _gib(16), 1.408),
    InstanceType("ml.g5.2xlarge", 1, 8, _gib(32), 1.515),
    InstanceType("ml.g5.4xlarge", 1, 16, _gib(64), 2.03),
    InstanceType("ml.g5.8xlarge", 1, 32, _gib(128), 3.06),
    InstanceType("ml.g5.12xlarge", 4, 48, _gib(192), 7.09),
    InstanceType("ml.g5.16xlarge", 1, 64, _gib(256), 5.12),
    InstanceType("ml.g5.24xlarge", 4, 96, _gib(384), 10.18),
    InstanceType("ml.g5.48xlarge", 8, 192, _gib(768), 20.36),
    # NVIDIA L4
    InstanceType("ml.g6.xlarge", 1, 4, _gib(16), 1.01),
    InstanceType("ml.g6.2xlarge", 1, 8, _gib(32), 1.22),
    InstanceType("ml.g6.4xlarge", 1, 16, _gib(64), 1.66),
    InstanceType("ml.g6.8xlarge", 1, 32, _gib(128), 2.51),
    InstanceType("ml.g6.12xlarge", 4, 48, _gib(192), 5.75),
    InstanceType("ml.g6.16xlarge", 1, 64, _gib(256), 4.22),
    InstanceType("ml.g6.24xlarge", 4, 96, _gib(384), 8.34),
    InstanceType("ml.g6.48xlarge", 8, 192, _gib(768), 16.7),
    # NVIDIA L40S
    InstanceType("ml.g6e.xlarge", 1, 4, _gib(32), 2.34),
    InstanceType("ml.g6e.2xlarge", 1, 8, _gib(64), 2.83),
    InstanceType("ml.g6e.4xlarge", 1, 16, _gib(128), 3.82),
    InstanceType("ml.g6e.8xlarge", 1, 32, _gib(256), 5.79),
    InstanceType("ml.g6e.12xlarge", 4, 48, _gib(384), 13.12),
    InstanceType("ml.g6e.16xlarge", 1, 64, _gib(512), 9.73),
    InstanceType("ml.g6e.24xlarge", 4, 96, _gib(768), 16.87),
    InstanceType("ml.g6e.48xlarge", 8, 192, _gib(1536), 37.79),
    # NVIDIA A100 / H100
    InstanceType("ml.p4d.24xlarge", 8, 96, _gib(1152), 37.69),
    InstanceType("ml.p4de.24xlarge", 8, 96, _gib(1152), 47.11),
    InstanceType("ml.p5.48xlarge", 8, 192, _gib(2048), 113.07),
    # AWS Inferentia2 (Neuron devices)
    InstanceType("ml.inf2.xlarge", 1, 4, _gib(16), 0.99),
    InstanceType("ml.inf2.8xlarge", 1, 32, _gib(128), 2.36),
    InstanceType("ml.inf2.24xlarge", 6, 96, _gib(384), 7.79),
    InstanceType("ml.inf2.48xlarge", 12, 192, _gib(768), 15.58),
    # CPU-only, for small models and tests
    InstanceType("ml.m5.large", 0, 2, _gib(8), 0.115),
    InstanceType("ml.m5.xlarge", 0, 4, _gib(16), 0.23),
    InstanceType("ml.m5.2xlarge", 0, 8, _gib(32), 0.461),
    InstanceType("ml.m5.4xlarge", 0, 16, _gib(64), 0.922),
    InstanceType("ml.c5.xlarge", 0, 4, _gib(8), 0.204),
    InstanceType("ml.c5.2xlarge", 0, 8, _gib(16), 0.408),
)

INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in _TABLE}


class UnknownInstanceType(KeyError):
    """The instance type is not in icpilot's table."""


def instance_type(name: str) -> InstanceType:
    """Look an instance type up; raises UnknownInstanceType naming the known ones."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        raise UnknownInstanceType(
            f"instance type {name!r} is not modelled; known: {', '.join(sorted(INSTANCE_TYPES))}"
        ) from None
