"""A re-implementation of Argo Rollouts' DOCUMENTED AnalysisRun semantics (not Argo's code).

Semantics from the Argo Rollouts docs and ``analysis/analysis.go``
(``assessMetricStatus``; docs/references.md): measurements every ``interval`` (the first
at run start); a measurement that fails ``successCondition`` counts as failed and the
metric fails when ``failed > failureLimit``; a query error (here: an empty result, which
``result[0]`` cannot index) is retried after 10 s and the metric errors when
``consecutiveError > consecutiveErrorLimit`` (default 4); a Failed or Error run aborts
the rollout at once. Settings follow the docs' background-analysis example: steps
setWeight 20/40/60/80 with 10 m pauses, ``startingStep: 2``, a ``success-rate`` metric
with ``interval: 5m``, ``successCondition: result[0] >= 0.95``, ``failureLimit: 3``; we
add a p99 latency metric at the SLO's threshold with the same interval and limit so
latency regressions can be caught at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


@dataclass(frozen=True)
class ArgoSettings:
    steps: tuple[tuple[int, float], ...] = ((20, 600.0), (40, 600.0), (60, 600.0), (80, 600.0))
    starting_step: int = 1  # index into ``steps`` (the docs' startingStep 2 = setWeight 40)
    interval_seconds: float = 300.0
    failure_limit: int = 3
    consecutive_error_limit: int = 4
    error_retry_seconds: float = 10.0
    min_success_ratio: float = 0.95
    max_p99_seconds: float | None = 0.25


class Phase(StrEnum):
    RUNNING = "Running"
    FAILED = "Failed"
    ERROR = "Error"


@dataclass(frozen=True)
class MetricState:
    failed: int = 0
    consecutive_error: int = 0
    phase: Phase = Phase.RUNNING


def measure(
    state: MetricState, passed: bool | None, settings: ArgoSettings
) -> tuple[MetricState, float]:
    """Record one measurement (``None`` = query error); return the state and next delay."""
    if passed is None:
        errors = state.consecutive_error + 1
        phase = Phase.ERROR if errors > settings.consecutive_error_limit else state.phase
        return replace(state, consecutive_error=errors, phase=phase), settings.error_retry_seconds
    if passed:
        return replace(state, consecutive_error=0), settings.interval_seconds
    failed = state.failed + 1
    phase = Phase.FAILED if failed > settings.failure_limit else state.phase
    return replace(
        state, failed=failed, consecutive_error=0, phase=phase
    ), settings.interval_seconds


def weight_at(elapsed: float, settings: ArgoSettings) -> int:
    """The canary weight ``elapsed`` seconds into the rollout (100 once the steps are done)."""
    start = 0.0
    for weight, pause in settings.steps:
        if elapsed < start + pause:
            return weight
        start += pause
    return 100


def analysis_start(settings: ArgoSettings) -> float:
    return sum(pause for _, pause in settings.steps[: settings.starting_step])


def rollout_end(settings: ArgoSettings) -> float:
    return sum(pause for _, pause in settings.steps)
