"""The service layer: one module per job a Lambda does (watch, configure), built per invocation
around the ports (adapters) and the pure domain; ``controller.Controller`` is their facade."""
