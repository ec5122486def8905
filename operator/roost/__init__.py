"""Roost: SLO-gated canary rollouts and queueing-based capacity for ML model servers."""

__version__ = "0.1.0"
