"""Backtest of a policy on request traces: icpilot (the real decide()) against AAS-only,
always-on and the oracle. Dev tooling, not part of the Lambda layer."""
