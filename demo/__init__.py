"""``make demo``: icpilot on the local emulator for a simulated day."""
