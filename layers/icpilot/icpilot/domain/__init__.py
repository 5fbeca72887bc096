"""The model and the pure rules: decide(), its inputs, windows, capacity, readiness, cost, forecast, events. No AWS, no clock."""
