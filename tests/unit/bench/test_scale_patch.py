"""The operator's status patch (roost.writeback): only what changed, measured by B3."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from roost.writeback import apply_merge_patch, merge_patch_between


def test_unchanged_status_gives_an_empty_patch() -> None:
    status = {"phase": "Progressing", "canaryWeight": {"desired": 10, "applied": 10}}
    patch = {"phase": "Progressing", "canaryWeight": {"desired": 10, "applied": 10}, "x": None}
    assert merge_patch_between(status, apply_merge_patch(status, patch)) == {}


def test_only_changed_leaves_are_sent_and_deleted_top_level_fields_are_null() -> None:
    status = {
        "phase": "Progressing",
        "canaryVersion": "v2",
        "canaryWeight": {"desired": 10, "applied": 10, "effective": 10},
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    # as reconciler.status_patch writes it: explicit null for deleted top-level fields
    patch = {
        "phase": "Succeeded",
        "canaryVersion": None,
        "canaryWeight": {"desired": 0, "applied": 0, "effective": 10},
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    assert merge_patch_between(status, apply_merge_patch(status, patch)) == {
        "phase": "Succeeded",
        "canaryVersion": None,
        "canaryWeight": {"desired": 0, "applied": 0},
    }


def test_empty_and_absent_are_the_same() -> None:
    assert merge_patch_between({"drift": []}, {}) == {}
    assert merge_patch_between({}, {"drift": [], "capacity": None}) == {}
    assert merge_patch_between({"a": {"b": {}}}, {"a": {}}) == {}


json_leaf = st.one_of(st.integers(-5, 5), st.text("ab", max_size=2), st.booleans())
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from("pqrs"), inner, min_size=1, max_size=3),
    ),
    max_leaves=12,
)
json_object = st.dictionaries(st.sampled_from("abcdef"), json_value, max_size=5)


@given(json_object, json_object)
def test_the_patch_turns_old_into_new(old: dict[str, Any], new: dict[str, Any]) -> None:
    patch = merge_patch_between(old, new)
    assert apply_merge_patch(old, patch) == new
    assert (patch == {}) == (old == new)


def test_a_new_spec_or_a_pending_weight_needs_a_tick_now() -> None:
    from roost.writeback import needs_tick_now

    weighted = {"desired": 10, "applied": 10}
    assert needs_tick_now({"generation": 1}, {})  # never reconciled
    assert needs_tick_now({"generation": 3}, {"observedGeneration": 2, "phase": "Succeeded"})
    assert not needs_tick_now(
        {"generation": 2},
        {"observedGeneration": 2, "phase": "Progressing", "canaryWeight": weighted},
    )
    pending = {"desired": 10, "applied": 0}
    assert needs_tick_now(
        {"generation": 2},
        {"observedGeneration": 2, "phase": "Progressing", "canaryWeight": pending},
    )
    # a paused rollout waits for a person, not for a tick
    assert not needs_tick_now(
        {"generation": 2}, {"observedGeneration": 2, "phase": "Paused", "canaryWeight": pending}
    )


def test_react_ticks_once_per_generation_phase_and_weights() -> None:
    from roost.writeback import reaction_state

    meta = {"generation": 2}
    started = {"observedGeneration": 2, "phase": "Progressing", "canaryWeight": {"desired": 10}}
    # a tick that changed only a message or a timestamp: the same state, no second tick
    same = {**started, "message": "waiting for the canary", "lastDataAt": "2026-11-25T16:00:00Z"}
    assert reaction_state(meta, started) == reaction_state(meta, same)
    applied = {**started, "canaryWeight": {"desired": 10, "applied": 10}}
    assert reaction_state(meta, started) != reaction_state(meta, applied)
    assert reaction_state({"generation": 3}, started) != reaction_state(meta, started)
