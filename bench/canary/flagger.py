"""A re-implementation of Flagger's DOCUMENTED canary analysis (not Flagger's code).

Semantics from Flagger's docs and ``pkg/controller/scheduler.go`` (``advanceCanary``;
docs/references.md): a ticker at ``interval``; on each tick, roll back
if ``failedChecks >= threshold``; otherwise run the checks; any breach, NaN or empty
result adds one to ``failedChecks`` (cumulative, never reset by a pass) and holds the
weight; a pass advances by ``stepWeight``; a pass at ``maxWeight`` promotes.
Settings are the tutorial's: interval 1m, threshold 5, stepWeight 10, maxWeight 50,
request-success-rate ``thresholdRange.min`` 99.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


@dataclass(frozen=True)
class FlaggerSettings:
    interval_seconds: float = 60.0
    threshold: int = 5
    step_weight: int = 10
    max_weight: int = 50
    min_success_rate_percent: float = 99.0
    max_p99_seconds: float | None = 0.25  # request-duration check at the SLO's threshold
    promotion_ticks: int = 2  # Promoting -> Finalising -> Succeeded after the last pass


@dataclass(frozen=True)
class Check:
    """One tick's query results over ``[interval]``; ``None`` is NaN / no values."""

    success_rate_percent: float | None
    p99_seconds: float | None = None


class Action(StrEnum):
    HOLD = "hold"
    ADVANCE = "advance"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class FlaggerState:
    weight: int = 0
    failed_checks: int = 0


def check_passes(check: Check, settings: FlaggerSettings) -> bool:
    """A breach, a NaN or an empty result is a failed check."""
    if check.success_rate_percent is None:
        return False
    if check.success_rate_percent < settings.min_success_rate_percent:
        return False
    if settings.max_p99_seconds is not None:
        if check.p99_seconds is None:
            return False
        if check.p99_seconds > settings.max_p99_seconds:
            return False
    return True


def tick(
    state: FlaggerState, check: Check, settings: FlaggerSettings
) -> tuple[FlaggerState, Action]:
    """One ``advanceCanary`` tick while Progressing (weight > 0)."""
    if state.failed_checks >= settings.threshold:
        return replace(state, weight=0), Action.ROLLBACK
    if not check_passes(check, settings):
        return replace(state, failed_checks=state.failed_checks + 1), Action.HOLD
    if state.weight >= settings.max_weight:
        return state, Action.PROMOTE
    weight = min(state.weight + settings.step_weight, settings.max_weight)
    return replace(state, weight=weight), Action.ADVANCE
