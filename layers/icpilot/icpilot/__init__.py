"""icpilot: autoscaling and lifecycle controller for SageMaker inference components."""

__version__ = "0.1.0"
