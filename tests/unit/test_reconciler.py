"""Pure parts of the reconciler: the status merge patch and the validation cache
(kept in each object's record)."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from roost.api.modeldeployment import (
    CanaryWeight,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Phase,
)
from roost.api.slopolicy import SLOPolicySpec
from roost.memory import ObjectMemory, SharedSpecs
from roost.reconciler import _validated, status_patch


def test_fields_that_became_none_are_deleted_by_the_merge_patch() -> None:
    status = ModelDeploymentStatus(phase=Phase.SUCCEEDED, stable_version="v2")
    patch = status_patch(status)
    assert patch["canaryRevision"] is None  # removes the promoted canary's revision
    assert patch["canaryVersion"] is None
    assert patch["phase"] == "Succeeded"


def test_nested_nulls_are_dropped_not_sent() -> None:
    status = ModelDeploymentStatus(canary_weight=CanaryWeight(desired=5, applied=0))
    assert status_patch(status)["canaryWeight"] == {
        "desired": 5,
        "applied": 0,
        # Sent as 0 and [], not left out: a merge patch would keep a step's mirror or match.
        "desiredMirror": 0,
        "appliedMirror": 0,
        "desiredMatch": [],
        "appliedMatch": [],
    }


POLICY = {
    "objectives": [
        {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}
    ]
}


def _memory() -> ObjectMemory:
    return ObjectMemory(uid="u", namespace="ns", name="m")


def test_an_unchanged_spec_is_validated_once_and_a_changed_one_again() -> None:
    memory = _memory()
    first = _validated(memory, SLOPolicySpec, POLICY)
    assert _validated(memory, SLOPolicySpec, copy.deepcopy(POLICY)) is first
    changed = copy.deepcopy(POLICY)
    changed["objectives"][0]["target"] = 0.99
    second = _validated(memory, SLOPolicySpec, changed)
    assert second is not first
    assert second.objectives[0].target == 0.99


def test_an_invalid_spec_raises_every_time_and_never_replaces_the_valid_one() -> None:
    memory = _memory()
    valid = _validated(memory, SLOPolicySpec, POLICY)
    broken = {"objectives": [{"name": "availability", "target": 2}]}
    for _ in range(2):
        with pytest.raises(ValidationError):
            _validated(memory, SLOPolicySpec, broken)
    assert _validated(memory, SLOPolicySpec, POLICY) is valid


def test_each_model_has_its_own_slot_in_an_objects_record() -> None:
    memory = _memory()
    policy = _validated(memory, SLOPolicySpec, POLICY)
    with pytest.raises(ValidationError):  # the policy's JSON is not a ModelDeployment spec
        _validated(memory, ModelDeploymentSpec, POLICY)
    assert _validated(memory, SLOPolicySpec, POLICY) is policy
    assert list(memory.validated) == [SLOPolicySpec]


def test_objects_with_the_same_policy_share_one_validated_model() -> None:
    """At N = 1,000 objects on one SLOPolicy, one model and one text in memory, not 1,000."""
    shared = SharedSpecs(size=2)
    first, second = _memory(), ObjectMemory(uid="v", namespace="ns", name="n")
    policy = _validated(first, SLOPolicySpec, POLICY, shared)
    assert _validated(second, SLOPolicySpec, copy.deepcopy(POLICY), shared) is policy
    assert first.validated[SLOPolicySpec][0] is second.validated[SLOPolicySpec][0]
    for target in (0.99, 0.9, 0.5):  # the oldest texts are dropped beyond the size
        changed = copy.deepcopy(POLICY)
        changed["objectives"][0]["target"] = target
        _validated(first, SLOPolicySpec, changed, shared)
    assert len(shared) == 2
    assert _validated(second, SLOPolicySpec, POLICY, shared) is policy  # its own still holds
