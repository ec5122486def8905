"""The status write-back policy: what a tick's new status sends, when, and when a body
is too old to decide from. Pure: no kopf, no clock (``now`` is passed in), no I/O.

A tick turns the status it decided from into a new one (:func:`apply_merge_patch`)
and sends only the difference (:func:`merge_patch_between`). A difference that holds
a decision is sent at once (:func:`must_write_now`); one that is only analysis
evidence waits in memory (:class:`Held`) for the checkpoint. A body that does not yet
show the decision fields the last sent patch wrote is stale (:func:`is_stale`), and
the ticker is woken at once only for a state that needs it (:func:`needs_tick_now`,
once per :func:`reaction_state`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The status fields a decision is made from; a body whose values differ from the ones
# the last changing tick wrote is stale (only Roost writes this status).
DECISION_FIELDS = (
    "phase",
    "stableRevision",
    "canaryRevision",
    "rolloutStartedAt",
    "currentStep",
    "canaryWeight",
    "analyzedUntil",
    "promotion",
    "appliedServing",
)
# A patch that never shows (it failed) stops holding ticks back after this long.
STALE_LIMIT_S = 30.0
# What an analysis window changes when it decides nothing: written at least every
# checkpoint (roost run --checkpoint), not after every window. At 1,000 canaries in
# analysis, a patch per object per 10 s window is 100 patches a second, more than the
# apiserver of B3's local control plane takes (docs/benchmarks.md, "Before and after
# the fixes"); every other request, a new version's spec included, queues behind them.
EVIDENCE_FIELDS = frozenset(
    {
        "lastAnalysis",
        "comparison",
        "canaryBurnRate",
        "lastDataAt",
        "analyzedUntil",
        "inconclusiveChecks",
        "message",
        "capacity",
    }
)
# Parts of lastAnalysis a person waits for: a new verdict, a new step's first one.
_VERDICT_KEYS = ("verdict", "promotable", "reason", "step", "canaryWeight")


@dataclass(frozen=True)
class Held:
    """A status a tick computed and did not write yet: only evidence changed.

    ``base`` is the status as the apiserver has it, ``status`` the newer one the next
    tick decides from, ``due`` (monotonic) when it is written at the latest: within
    the checkpoint (``roost run --checkpoint``) of the oldest unwritten change.
    Losing it (a restart) loses no decision: the status written last has the end of
    the last window it consumed, and the windows since are read again from Prometheus
    (rollout/schedule.split)."""

    due: float
    base: Mapping[str, Any]
    status: dict[str, Any]


def must_write_now(changes: Mapping[str, Any]) -> bool:
    """Whether the status patch ``changes`` (merge_patch_between) holds more than analysis
    evidence: a decision (phase, step, weights, revisions, conditions, counters of
    failures) or a new verdict."""
    if any(key not in EVIDENCE_FIELDS for key in changes):
        return True
    analysis = changes.get("lastAnalysis", {})
    if not isinstance(analysis, Mapping):  # removed
        return True
    return any(key in analysis for key in _VERDICT_KEYS)


def decision_fields(status: Mapping[str, Any]) -> dict[str, Any]:
    return {key: status.get(key) for key in DECISION_FIELDS}


def is_stale(
    status: Mapping[str, Any], written: tuple[float, dict[str, Any]] | None, now: float
) -> bool:
    """Whether ``status`` predates the decision fields the last changing tick wrote."""
    if written is None:
        return False
    at, fields = written
    return now - at < STALE_LIMIT_S and decision_fields(status) != fields


def reaction_state(meta: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[Any, ...]:
    """What react ticks at most once for: the generation, phase and weights."""
    weight = status.get("canaryWeight") or {}
    return (
        meta.get("generation"),
        status.get("observedGeneration"),
        status.get("phase"),
        weight.get("desired"),
        weight.get("applied"),
    )


def needs_tick_now(meta: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """A spec change the status has not seen, or a desired weight not yet applied."""
    observed = status.get("observedGeneration")
    if observed is None or int(meta.get("generation") or 0) > int(observed):
        return True
    weight = status.get("canaryWeight") or {}
    return status.get("phase") == "Progressing" and weight.get("desired") != weight.get("applied")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A deep copy of a kopf view (or JSON value) as plain dicts and lists.

    Scalars are tested by exact type before any recursion: a canary's status holds
    hundreds of floats, and a call (and an ABC isinstance) per float would cost far
    more than copying it."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the document ``target`` becomes after the JSON merge patch ``patch``."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _empty(value: Any) -> bool:
    """Absent, null and an empty list or object read the same (the apiserver drops some)."""
    return value is None or value == [] or value == {}


def merge_patch_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest JSON merge patch that turns ``old`` into ``new``; empty if equal.

    Objects are compared key by key (a key gone from ``new`` is an explicit null);
    anything else, lists included, is sent whole when it differs. A key that is
    absent on one side and null or empty on the other is no change."""
    out: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        if not _empty(old[key]):
            out[key] = None
    for key, value in new.items():
        if key not in old:
            if not _empty(value):
                out[key] = value
        elif old[key] != value:
            if isinstance(old[key], Mapping) and isinstance(value, Mapping):
                if nested := merge_patch_between(old[key], value):
                    out[key] = nested
            else:
                out[key] = value
    return out
