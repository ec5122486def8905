"""The status write-back policy (roost.writeback): what a tick sends, when, and when a
body is too old to decide from."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import kopf
import pytest
from status_samples import ANALYSING, window

from roost.writeback import (
    DECISION_FIELDS,
    STALE_LIMIT_S,
    Held,
    apply_merge_patch,
    decision_fields,
    is_stale,
    merge_patch_between,
    must_write_now,
    needs_tick_now,
    plain,
    reaction_state,
)

# --- is_stale: a tick must not decide from a body that predates its last decision ----

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
    assert is_stale(BEFORE_START, written, now=100.0 + STALE_LIMIT_S - 1)


def test_decision_fields_are_every_decision_field_absent_ones_as_none() -> None:
    fields = decision_fields({"phase": "Progressing", "lastDataAt": "t", "message": "m"})
    assert list(fields) == list(DECISION_FIELDS)
    assert fields["phase"] == "Progressing"
    assert fields["canaryWeight"] is None
    assert "lastDataAt" not in fields


# --- must_write_now: a decision is written now, evidence waits for the checkpoint ----


def test_evidence_of_another_window_can_wait() -> None:
    after = window(ANALYSING, "2026-12-06T05:00:10Z", 2)
    assert not must_write_now(merge_patch_between(ANALYSING, after))


@pytest.mark.parametrize(
    "change",
    [
        {"currentStep": 1},
        {"canaryWeight": {"desired": 20, "applied": 10}},
        {"phase": "RolledBack"},
        {"failedChecks": 1},
        {"observedGeneration": 3},
        {"conditions": [{"type": "Ready", "status": "False"}]},
        {"lastAnalysis": {"verdict": "pass", "step": 0, "reason": "Healthy"}},
        {"lastAnalysis": {"verdict": "inconclusive", "step": 1, "reason": "TooFewRequests"}},
    ],
)
def test_a_decision_or_a_new_verdict_is_written_now(change: dict[str, Any]) -> None:
    after = {**window(ANALYSING, "2026-12-06T05:00:10Z", 2), **change}
    assert must_write_now(merge_patch_between(ANALYSING, after))


def test_a_removed_last_analysis_is_written_now() -> None:
    assert must_write_now({"lastAnalysis": None})


def test_absent_and_empty_read_the_same() -> None:
    assert not must_write_now(merge_patch_between({**ANALYSING, "drift": []}, {**ANALYSING}))


def test_held_is_frozen() -> None:
    held = Held(due=1.0, base={}, status={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.due = 2.0  # type: ignore[misc]


# --- merge patches (RFC 7386) ---------------------------------------------------------


def test_merge_patch_between_sends_only_what_changed() -> None:
    old = {"a": 1, "b": {"c": 1, "d": 2}, "e": [1, 2], "gone": "x", "empty": {}}
    new = {"a": 1, "b": {"c": 1, "d": 3}, "e": [1, 2, 3], "added": {"f": 1}}
    assert merge_patch_between(old, new) == {
        "b": {"d": 3},
        "e": [1, 2, 3],
        "gone": None,
        "added": {"f": 1},
    }
    assert merge_patch_between(old, old) == {}


@pytest.mark.parametrize("empty", [None, [], {}])
def test_absent_null_and_empty_are_no_change(empty: Any) -> None:
    assert merge_patch_between({"a": 1}, {"a": 1, "x": empty}) == {}
    assert merge_patch_between({"a": 1, "x": empty}, {"a": 1}) == {}
    assert merge_patch_between({"x": {"y": 1}}, {"x": {"y": 1, "z": empty}}) == {}


def test_a_nested_object_equal_but_for_empties_sends_nothing() -> None:
    assert merge_patch_between({"x": {"y": 1, "z": []}}, {"x": {"y": 1}}) == {}


def test_an_object_replaced_by_a_scalar_is_sent_whole() -> None:
    assert merge_patch_between({"x": {"y": 1}}, {"x": 2}) == {"x": 2}
    assert merge_patch_between({"x": 2}, {"x": {"y": 1}}) == {"x": {"y": 1}}


def test_apply_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1]}
    patch = {"a": "z", "c": {"f": None}, "l": [2], "n": {"m": None, "k": 1}}
    assert apply_merge_patch(target, patch) == {
        "a": "z",
        "c": {"d": "e"},
        "l": [2],
        "n": {"k": 1},
    }
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1]}  # not changed
    assert apply_merge_patch({"a": 1}, ["x"]) == ["x"]
    assert apply_merge_patch("scalar", {"a": 1}) == {"a": 1}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ANALYSING, window(ANALYSING, "2026-12-06T05:00:10Z", 2)),
        (STARTED, BEFORE_START),
        ({"a": {"b": {"c": 1}}, "d": 1}, {"a": {"b": {"e": 2}}}),
        ({}, ANALYSING),
    ],
)
def test_the_patch_between_two_statuses_turns_one_into_the_other(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert apply_merge_patch(old, merge_patch_between(old, new)) == new


# --- when react wakes the ticker ------------------------------------------------------


@pytest.mark.parametrize(
    ("generation", "status", "now"),
    [
        (1, {}, True),  # never reconciled
        (2, {"observedGeneration": 1, "phase": "Succeeded"}, True),  # a new spec
        (1, {"observedGeneration": 1, "phase": "Succeeded"}, False),
        (1, {**ANALYSING, "observedGeneration": 1}, False),  # weights applied
        (
            1,
            {**ANALYSING, "observedGeneration": 1, "canaryWeight": {"desired": 20, "applied": 10}},
            True,
        ),
        (
            1,
            {"observedGeneration": 1, "phase": "Paused", "canaryWeight": {"desired": 20}},
            False,
        ),
    ],
)
def test_needs_tick_now(generation: int, status: dict[str, Any], now: bool) -> None:
    assert bool(needs_tick_now({"generation": generation}, status)) is now


def test_reaction_state_is_generation_phase_and_weights_only() -> None:
    meta = {"generation": 2, "name": "m"}
    status = {**ANALYSING, "observedGeneration": 1}
    assert reaction_state(meta, status) == (2, 1, "Progressing", 10, 10)
    assert reaction_state(meta, {**status, "message": "other"}) == reaction_state(meta, status)
    assert reaction_state({}, {}) == (None, None, None, None, None)


# --- plain ----------------------------------------------------------------------------

BODY: dict[str, Any] = {
    "metadata": {"name": "m", "namespace": "ns"},
    "status": {
        "phase": "Progressing",
        "comparison": [{"objective": "a", "test": {"failLogLikelihood": [0.5, -1.25, 3.0]}}],
        "conditions": [{"type": "Ready", "status": "True"}],
    },
}


def test_plain_is_a_deep_copy_of_a_kopf_view() -> None:
    body = kopf.Body(copy.deepcopy(BODY))
    copied = plain(body.status)
    assert copied == BODY["status"]
    assert type(copied) is dict
    copied["comparison"][0]["test"]["failLogLikelihood"].append(9.0)
    copied["conditions"][0]["status"] = "False"
    assert body.status["comparison"][0]["test"]["failLogLikelihood"] == [0.5, -1.25, 3.0]
    assert body.status["conditions"][0]["status"] == "True"


def test_plain_copies_json_values_and_keeps_scalars() -> None:
    value = {"a": [1, {"b": None}], "c": (1, 2), "d": True, "e": 1.5}
    copied = plain(value)
    assert copied == value
    assert copied["a"] is not value["a"]
    assert copied["a"][1] is not value["a"][1]
    assert copied["c"] is value["c"]  # not JSON: kept as it is
