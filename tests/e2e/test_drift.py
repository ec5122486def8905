"""The prediction-distribution gate end to end (issue 9): same errors, same latency.

A canary that answers as fast and as reliably as the stable version but whose
prediction scores moved is rolled back with ``PredictionDistributionShift``, and the
status says why with the statistic; a canary with the same score distribution is
promoted. The simulators export ``model_prediction_score`` (Beta(a, b) scores on
[0, 1], tests/harness/dataplane.py); Prometheus scrapes them; the operator asks one
bucket query per window.
"""

from __future__ import annotations

from typing import Any

from test_rollouts import (  # the same fixtures and helpers as the other rollouts
    NAME,
    Cluster,
    k8s,  # noqa: F401 - fixture
    operator,  # noqa: F401 - fixture
    progressing_reason,
    roll_out,
    start_stable,
)

from harness.dataplane import Dataplane
from harness.operator_process import OperatorProcess

DISTRIBUTIONS = [
    {
        "name": "score",
        "histogram": "model_prediction_score",
        "compareTo": "stable",
        "statistic": "psi",
        "threshold": 0.25,
        "action": "rollback",
        "minSamples": 500,
    }
]


def test_a_canary_with_shifted_predictions_is_rolled_back_with_the_statistic(
    operator: OperatorProcess,  # noqa: F811
    k8s: Cluster,  # noqa: F811
    dataplane: Dataplane,
    load_generator: Any,
) -> None:
    for simulator in dataplane.simulators:
        simulator.set_error_rate(0.0)
    dataplane.stable.set_predictions(2.0, 5.0)
    dataplane.canary.set_predictions(3.0, 4.0)  # PSI about 0.7 on the decile buckets
    start_stable(k8s, dataplane, distributions=DISTRIBUTIONS)
    load_generator(NAME, rps=100)
    roll_out(k8s)
    status = k8s.wait("the rollback", lambda s: s.get("phase") == "RolledBack")
    assert progressing_reason(status) == "PredictionDistributionShift"
    condition = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert "psi" in condition["message"]
    assert "PSI" in condition["message"]
    assert status["canaryWeight"]["applied"] == 0
    gate = next(g for g in status["lastAnalysis"]["gates"] if g["gate"] == "distribution")
    assert gate["outcome"] == "fail"
    assert gate["lnEFail"] >= gate["failThreshold"]
    assert gate["distribution"]["psi"] >= 0.25
    assert gate["distribution"]["bounds"][-1] == "+Inf"
    # The other gates saw nothing wrong: no errors in either version.
    for other in (g for g in status["lastAnalysis"]["gates"] if g["gate"] != "distribution"):
        assert other["outcome"] != "fail"
    assert any(e.reason == "PredictionDistributionShift" for e in k8s.events())


def test_a_canary_with_the_same_predictions_is_promoted(
    operator: OperatorProcess,  # noqa: F811
    k8s: Cluster,  # noqa: F811
    dataplane: Dataplane,
    load_generator: Any,
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.001)
    for simulator in dataplane.simulators:
        simulator.set_predictions(2.0, 5.0)
    start_stable(k8s, dataplane, distributions=DISTRIBUTIONS)
    load_generator(NAME, rps=150)
    roll_out(k8s)
    status = k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "Promoted"
    gate = next(g for g in status["lastAnalysis"]["gates"] if g["gate"] == "distribution")
    assert gate["outcome"] == "pass"
    assert gate["canary"]["total"] >= 500


WATCH = {
    "name": "score-watch",
    "histogram": "model_prediction_score",
    "compareTo": "reference",
    "statistic": "psi",
    "threshold": 0.25,
    "minSamples": 300,
    "meanWindowsToFalseAlarm": 1000,
}


def _watch(status: dict[str, Any]) -> dict[str, Any]:
    return next((d for d in status.get("drift", []) if d["name"] == "score-watch"), {})


def _drifted(status: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c["type"] == "Drifted"), {})


def test_after_promotion_the_stable_is_watched_against_its_reference_and_drift_is_reported(
    operator: OperatorProcess,  # noqa: F811
    k8s: Cluster,  # noqa: F811
    dataplane: Dataplane,
    load_generator: Any,
) -> None:
    for simulator in dataplane.simulators:
        simulator.set_error_rate(0.0)
        simulator.set_predictions(2.0, 5.0)
    start_stable(k8s, dataplane, distributions=[*DISTRIBUTIONS, WATCH])
    load_generator(NAME, rps=100)
    status = k8s.wait("the reference of v1", lambda s: _watch(s).get("stage") == "Watching")
    assert _watch(status)["version"] == "v1"
    assert _drifted(status)["status"] == "False"

    roll_out(k8s)
    k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    status = k8s.wait(
        "the reference of the promoted version",
        lambda s: _watch(s).get("version") == "v2" and _watch(s).get("stage") == "Watching",
    )
    watch = _watch(status)
    assert watch["referenceSamples"] >= 300
    assert watch["referenceTakenAt"] is not None
    assert _drifted(status)["reason"] == "NoDrift"

    dataplane.simulator("v2").set_predictions(5.0, 2.0)  # the stable's scores move: PSI > 1
    status = k8s.wait("the drift", lambda s: _drifted(s).get("status") == "True", timeout_s=180)
    watch = _watch(status)
    assert watch["stage"] == "Drifted"
    assert watch["psi"] >= 0.25
    assert watch["lnM"] >= watch["lnAlarm"]
    assert _drifted(status)["reason"] == "PredictionDrift"
    assert "psi" in _drifted(status)["message"]
    reasons = {e.reason for e in k8s.events()}
    assert {"DriftReferenceTaken", "PredictionDrift"} <= reasons
    assert status["phase"] == "Succeeded"  # action alert: nothing else changes

    # A person accepts the new behaviour: the reference is collected again, from now.
    k8s.custom.patch_namespaced_custom_object(
        "roost.dev",
        "v1alpha1",
        k8s.ns,
        "modeldeployments",
        NAME,
        {"metadata": {"annotations": {"roost.dev/command": "reset-reference"}}},
    )
    status = k8s.wait(
        "a new reference", lambda s: _watch(s).get("stage") in ("CollectingReference", "Watching")
    )
    status = k8s.wait("watching again", lambda s: _watch(s).get("stage") == "Watching")
    assert _drifted(status)["status"] == "False"
    assert "DriftReferenceReset" in {e.reason for e in k8s.events()}
