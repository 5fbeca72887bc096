"""The policy file: what each component may and should run, and when."""

from .loader import load_policy, load_policy_text, policy_json_schema
from .model import ComponentPolicy, EndpointPolicy, Policy, ScheduleRule

__all__ = [
    "ComponentPolicy",
    "EndpointPolicy",
    "Policy",
    "ScheduleRule",
    "load_policy",
    "load_policy_text",
    "policy_json_schema",
]
