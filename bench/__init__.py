"""Roost benchmarks (issue 7): canary decision quality and autoscaling efficiency."""
