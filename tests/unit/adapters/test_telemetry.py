"""The operator's drift metrics: written per check, removed with their ModelDeployment."""

from __future__ import annotations

from roost.adapters.telemetry import Telemetry
from roost.api.modeldeployment import DistributionEvidence, DriftWatchStatus


def _samples(telemetry: Telemetry, metric: str) -> dict[tuple[str, ...], float]:
    found = {}
    for family in telemetry.registry.collect():
        for sample in family.samples:
            if sample.name == metric:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_drift_metrics_are_written_and_forgotten_with_the_object() -> None:
    telemetry = Telemetry()
    watch = DriftWatchStatus(
        name="score-watch",
        version="v1",
        stage="Drifted",
        statistic="psi",
        value=0.7,
        threshold=0.25,
        warn_threshold=0.1,
        action="alert",
        ln_alarm=9.21,
        state={},
    )
    gate = DistributionEvidence(
        statistic="ks",
        value=0.2,
        threshold=0.1,
        warn_threshold=0.05,
        action="rollback",
        min_samples=10,
        windows=3,
    )
    telemetry.record_watch("ns", "m", [watch])
    telemetry.record_drift("ns", "m", "score", gate)
    telemetry.record_watch("ns", "other", [watch])
    values = _samples(telemetry, "roost_prediction_drift")
    assert sorted(v for v in values.values()) == [0.2, 0.7, 0.7]
    assert list(_samples(telemetry, "roost_drifted").values()) == [1.0, 1.0]

    telemetry.forget("ns", "m")
    left = _samples(telemetry, "roost_prediction_drift")
    assert len(left) == 1
    assert ("name", "other") in next(iter(left))
    assert len(_samples(telemetry, "roost_drifted")) == 1
