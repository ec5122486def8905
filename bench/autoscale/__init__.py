"""B2: autoscaling efficiency on a request-level queue simulator."""
