"""What AWS should hold, derived from the policy: the autoscaling configuration and its drift."""
