"""The seed scenario: the endpoint and two components the project's examples, tests and demo use."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/icpilot-test"


def create_seed(sm: Any, *, min_instances: int = 1, max_instances: int = 2, copies: int = 1) -> None:
    """The seed scenario: ml.g5.24xlarge, ManagedInstanceScaling, LOR routing, flan-t5-xxl + falcon-7b."""
    sm.create_endpoint_config(
        EndpointConfigName="llm-config",
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
    sm.create_endpoint(EndpointName="llm-endpoint", EndpointConfigName="llm-config")
    for model, hub_id, accelerators in (("flan-t5-xxl", "google/flan-t5-xxl", 2), ("falcon-7b", "tiiuae/falcon-7b", 1)):
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
            EndpointName="llm-endpoint",
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
