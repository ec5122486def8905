"""A tick must not decide from a body that predates the last decision it wrote."""

from __future__ import annotations

from roost.handlers import STALE_LIMIT_S, decision_fields, is_stale

STARTED = {
    "phase": "Progressing",
    "stableRevision": "r1",
    "canaryRevision": "r2",
    "rolloutStartedAt": "2026-11-25T16:26:44.803977Z",
    "currentStep": -1,
    "canaryWeight": {"desired": 25, "applied": 0},
    "lastDataAt": "2026-11-25T16:26:40Z",
}
BEFORE_START = {
    "phase": "Succeeded",
    "stableRevision": "r1",
    "canaryWeight": {"desired": 0, "applied": 0},
    "lastDataAt": "2026-11-25T16:26:44Z",  # an older tick's patch landed meanwhile
}


def test_a_body_without_the_written_decision_is_stale_even_if_other_fields_moved() -> None:
    written = (100.0, decision_fields(STARTED))
    assert is_stale(BEFORE_START, written, now=101.0)


def test_a_body_with_the_written_decision_is_fresh() -> None:
    written = (100.0, decision_fields(STARTED))
    assert not is_stale({**STARTED, "lastDataAt": "later"}, written, now=101.0)
    assert not is_stale(BEFORE_START, None, now=101.0)


def test_a_write_that_never_shows_stops_holding_ticks_back() -> None:
    written = (100.0, decision_fields(STARTED))
    assert not is_stale(BEFORE_START, written, now=100.0 + STALE_LIMIT_S + 1)
