"""Pure parts of the reconciler: the status merge patch and the validation cache."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from roost.api.modeldeployment import CanaryWeight, ModelDeploymentStatus, Phase
from roost.api.slopolicy import SLOPolicySpec
from roost.reconciler import Reconciler, Runtime, status_patch


def test_fields_that_became_none_are_deleted_by_the_merge_patch() -> None:
    status = ModelDeploymentStatus(phase=Phase.SUCCEEDED, stable_version="v2")
    patch = status_patch(status)
    assert patch["canaryRevision"] is None  # removes the promoted canary's revision
    assert patch["canaryVersion"] is None
    assert patch["phase"] == "Succeeded"


def test_nested_nulls_are_dropped_not_sent() -> None:
    status = ModelDeploymentStatus(canary_weight=CanaryWeight(desired=5, applied=0))
    assert status_patch(status)["canaryWeight"] == {"desired": 5, "applied": 0}


def _reconciler() -> Reconciler:
    # The validation cache touches no client: a Runtime without kube or telemetry.
    runtime = Runtime(kube=None, telemetry=None, default_prometheus_url=None)  # type: ignore[arg-type]
    return Reconciler(runtime)


POLICY = {
    "objectives": [
        {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}
    ]
}


def test_an_unchanged_spec_is_validated_once_and_a_changed_one_again() -> None:
    reconciler = _reconciler()
    first = reconciler._validated(("ns", "p"), SLOPolicySpec, POLICY)
    assert reconciler._validated(("ns", "p"), SLOPolicySpec, copy.deepcopy(POLICY)) is first
    changed = copy.deepcopy(POLICY)
    changed["objectives"][0]["target"] = 0.99
    second = reconciler._validated(("ns", "p"), SLOPolicySpec, changed)
    assert second is not first
    assert second.objectives[0].target == 0.99


def test_an_invalid_spec_raises_every_time_and_never_replaces_the_valid_one() -> None:
    reconciler = _reconciler()
    valid = reconciler._validated(("ns", "p"), SLOPolicySpec, POLICY)
    broken = {"objectives": [{"name": "availability", "target": 2}]}
    for _ in range(2):
        with pytest.raises(ValidationError):
            reconciler._validated(("ns", "p"), SLOPolicySpec, broken)
    assert reconciler._validated(("ns", "p"), SLOPolicySpec, POLICY) is valid
