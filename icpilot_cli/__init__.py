"""The ``icpilot`` operator CLI (not part of the Lambda layer)."""
