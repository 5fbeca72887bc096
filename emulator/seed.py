"""The seed scenario: the endpoint and two components the project's examples, tests and demo use."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/icpilot-test"


def create_seed(sm: Any, *, min_instances: int = 1, max_instances: int = 2, copies: int = 1) -> None:
    """The seed scenario: ml.g5.24xlarge, ManagedInstanceScaling, LOR routing, flan-t5-xxl + falcon-7b."""
    create_endpoint(
        sm,
        "llm-endpoint",
        {"flan-t5-xxl": ("google/flan-t5-xxl", 2), "falcon-7b": ("tiiuae/falcon-7b", 1)},
        min_instances=min_instances,
        max_instances=max_instances,
        copies=copies,
        config="llm-config",
    )


def create_endpoint(
    sm: Any,
    endpoint: str,
    components: dict[str, tuple[str, int]],
    *,
    min_instances: int = 1,
    max_instances: int = 2,
    copies: int = 1,
    config: str | None = None,
) -> None:
    """An ml.g5.24xlarge endpoint (ManagedInstanceScaling, LOR routing) hosting ``components``
    (name → (Hugging Face model id, accelerators per copy)), each at ``copies``."""
    config = config or f"{endpoint}-config"
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ExecutionRoleArn=ROLE,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.24xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": min_instances,
                    "MaxInstanceCount": max_instances,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    for model, (hub_id, accelerators) in components.items():
        sm.create_model(
            ModelName=f"{model}-model",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.1.1-tgi1.4.0-gpu-py310-cu121-ubuntu20.04",
                "Environment": {"HF_MODEL_ID": hub_id, "SM_NUM_GPUS": str(accelerators)},
            },
        )
        sm.create_inference_component(
            InferenceComponentName=model,
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification={
                "ModelName": f"{model}-model",
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": accelerators,
                    "NumberOfCpuCoresRequired": 2,
                    "MinMemoryRequiredInMb": 8192,
                },
            },
            RuntimeConfig={"CopyCount": copies},
        )
