"""icpilot's client half of the activator: invoke an inference component and wait through a cold start.

    from icpilot_client import WarmAwareClient
    client = WarmAwareClient(event_bus="icpilot-demand", state_table="icpilot-state")
    response = client.invoke(EndpointName="llm-endpoint", InferenceComponentName="flan-t5-xxl",
                             Body=b'{"inputs": "hi"}', ContentType="application/json")

Only boto3 is needed. See README.md beside this package.
"""

from .client import ColdStartTimeout, WarmAwareClient, is_no_capacity

__all__ = ["ColdStartTimeout", "WarmAwareClient", "is_no_capacity"]
