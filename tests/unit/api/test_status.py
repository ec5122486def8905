"""Conditions: the one constructor and the transition-time rule of set_condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from roost.api.status import ConditionStatus, new_condition, set_condition

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_a_condition_that_holds_is_true_and_one_that_does_not_is_false() -> None:
    held = new_condition("Ready", True, "Valid", "1 objective(s)", T0, generation=3)
    assert (held.status, held.reason, held.message) == (
        ConditionStatus.TRUE,
        "Valid",
        "1 objective(s)",
    )
    assert (held.last_transition_time, held.observed_generation) == (T0, 3)
    failed = new_condition("Ready", False, "InvalidSpec", "spec.x: bad", T0)
    assert failed.status is ConditionStatus.FALSE
    assert failed.observed_generation is None


def test_the_transition_time_moves_only_when_the_status_changes() -> None:
    first = [new_condition("Ready", True, "Valid", "", T0)]
    later = T0 + timedelta(minutes=5)
    same = set_condition(first, new_condition("Ready", True, "Valid", "again", later))
    assert same[0].last_transition_time == T0
    assert same[0].message == "again"
    flipped = set_condition(first, new_condition("Ready", False, "InvalidSpec", "", later))
    assert flipped[0].last_transition_time == later
