"""The drift watch's bookkeeping: reference per stable version, reset, condition, events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from roost.api.modeldeployment import DriftWatchStatus
from roost.api.slopolicy import SLOPolicySpec
from roost.rollout import drift
from roost.slo.readings import HistogramReading

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BOUNDS = (0.25, 0.5, 0.75, math.inf)
SAME = np.array([0.4, 0.3, 0.2, 0.1])
MOVED = np.array([0.05, 0.15, 0.3, 0.5])


def policy(action: str = "alert") -> SLOPolicySpec:
    return SLOPolicySpec.model_validate(
        {
            "objectives": [
                {"name": "availability", "target": 0.99, "ratio": {"errors": "e", "total": "t"}}
            ],
            "distributions": [
                {
                    "name": "watch",
                    "histogram": "score",
                    "compareTo": "reference",
                    "minSamples": 400,
                    "action": action,
                    "meanWindowsToFalseAlarm": 100,
                }
            ],
        }
    )


def reading(shares: np.ndarray, n: int) -> tuple[HistogramReading, ...]:
    cumulative = {b: float(c) for b, c in zip(BOUNDS, np.cumsum(shares * n), strict=True)}
    return (HistogramReading(name="watch", canary=cumulative, stable=cumulative),)


def step(
    current: list[DriftWatchStatus],
    shares: np.ndarray | None,
    minute: int,
    *,
    version: str = "v1",
    reset: bool = False,
    action: str = "alert",
) -> drift.WatchUpdate:
    end = T0 + timedelta(minutes=minute)
    return drift.advance(
        policy(action),
        stable_version=version,
        current=current,
        conditions=[],
        start=end,
        window=(end - timedelta(minutes=1), end) if shares is not None else None,
        histograms=reading(shares, 200) if shares is not None else None,
        reset=reset,
        now=end,
        generation=3,
    )


def test_a_new_stable_version_starts_collecting_at_the_given_start() -> None:
    update = step([], None, 0)
    (entry,) = update.drift
    assert entry.stage == "CollectingReference"
    assert entry.watched_until == T0
    assert update.conditions[0].reason == "CollectingReference"
    assert update.events == []


def test_reference_then_drift_then_reset_with_events_and_condition() -> None:
    current = step([], None, 0).drift
    events = []
    for minute in (1, 2):
        update = step(current, SAME, minute)
        current, events = update.drift, events + update.events
    assert current[0].stage == "Watching"
    assert current[0].reference_taken_at == T0 + timedelta(minutes=2)
    assert [e.reason for e in events] == ["DriftReferenceTaken"]
    assert step(current, SAME, 3).conditions[0].reason == "NoDrift"
    for minute in range(3, 30):
        update = step(current, MOVED, minute)
        current = update.drift
        if current[0].stage == "Drifted":
            break
    assert current[0].stage == "Drifted"
    assert [e.reason for e in update.events] == ["PredictionDrift"]
    assert update.conditions[0].status.value == "True"
    assert update.conditions[0].reason == "PredictionDrift"
    assert current[0].drifted_at == T0 + timedelta(minutes=minute)
    assert drift.holds_rollouts(current) is None  # action alert holds nothing
    reset = step(current, None, minute + 1, reset=True)
    assert [e.reason for e in reset.events] == ["DriftReferenceReset"]
    assert reset.drift[0].stage == "CollectingReference"


def test_a_promoted_version_gets_its_own_reference() -> None:
    current = step([], None, 0).drift
    for minute in (1, 2, 3):
        current = step(current, SAME, minute).drift
    assert current[0].stage == "Watching"
    promoted = step(current, None, 4, version="v2").drift
    assert promoted[0].version == "v2"
    assert promoted[0].stage == "CollectingReference"
    assert promoted[0].reference_samples == 0


def test_a_drifted_pause_check_holds_the_next_rollout_and_says_why() -> None:
    current = step([], None, 0, action="pause").drift
    for minute in range(1, 40):
        current = step(current, SAME if minute < 3 else MOVED, minute, action="pause").drift
    assert current[0].stage == "Drifted"
    message = drift.holds_rollouts(current)
    assert message is not None
    assert "stable v1 drifted from its reference" in message


def test_without_reference_checks_the_watch_and_its_condition_go_away() -> None:
    plain = SLOPolicySpec.model_validate(
        {
            "objectives": [
                {"name": "availability", "target": 0.99, "ratio": {"errors": "e", "total": "t"}}
            ]
        }
    )
    current = step([], SAME, 1).drift
    update = drift.advance(
        plain,
        stable_version="v1",
        current=current,
        conditions=step(current, SAME, 2).conditions,
        start=T0,
        window=None,
        histograms=None,
        reset=False,
        now=T0,
        generation=1,
    )
    assert update.drift == []
    assert all(c.type != "Drifted" for c in update.conditions)
