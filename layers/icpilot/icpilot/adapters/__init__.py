"""One adapter per AWS service. Each takes an optional boto3 client (tests and the CLI inject
one), uses adaptive retries, and turns AWS errors into icpilot's own exceptions."""
