"""Pure parts of the reconciler: the status merge patch."""

from __future__ import annotations

from roost.api.modeldeployment import CanaryWeight, ModelDeploymentStatus, Phase
from roost.reconciler import status_patch


def test_fields_that_became_none_are_deleted_by_the_merge_patch() -> None:
    status = ModelDeploymentStatus(phase=Phase.SUCCEEDED, stable_version="v2")
    patch = status_patch(status)
    assert patch["canaryRevision"] is None  # removes the promoted canary's revision
    assert patch["canaryVersion"] is None
    assert patch["phase"] == "Succeeded"


def test_nested_nulls_are_dropped_not_sent() -> None:
    status = ModelDeploymentStatus(canary_weight=CanaryWeight(desired=5, applied=0))
    assert status_patch(status)["canaryWeight"] == {"desired": 5, "applied": 0}
