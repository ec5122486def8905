"""The operator's drift metrics: written per check, removed with their ModelDeployment."""

from __future__ import annotations

import pytest

from roost.adapters.telemetry import Telemetry
from roost.api.modeldeployment import DistributionEvidence, DriftWatchStatus, Phase


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


def test_phase_and_weight_gauges_follow_changes_and_forget() -> None:
    telemetry = Telemetry()
    telemetry.record_phase("ns", "m", Phase.PROGRESSING)
    telemetry.record_weight("ns", "m", 10, 0)
    telemetry.record_phase("ns", "m", Phase.PROGRESSING)  # unchanged: nothing to write
    telemetry.record_weight("ns", "m", 10, 10)
    phases = _samples(telemetry, "roost_rollout_phase")
    assert phases[(("name", "m"), ("namespace", "ns"), ("phase", "Progressing"))] == 1.0
    assert sum(phases.values()) == 1.0
    weights = _samples(telemetry, "roost_canary_weight_percent")
    assert sorted(weights.values()) == [10.0, 10.0]

    telemetry.record_phase("ns", "m", Phase.SUCCEEDED)
    phases = _samples(telemetry, "roost_rollout_phase")
    assert phases[(("name", "m"), ("namespace", "ns"), ("phase", "Succeeded"))] == 1.0
    assert sum(phases.values()) == 1.0

    telemetry.forget("ns", "m")
    assert _samples(telemetry, "roost_rollout_phase") == {}
    assert _samples(telemetry, "roost_canary_weight_percent") == {}
    # A new object of the same name is written again, not taken as unchanged.
    telemetry.record_phase("ns", "m", Phase.SUCCEEDED)
    telemetry.record_weight("ns", "m", 0, 0)
    assert sum(_samples(telemetry, "roost_rollout_phase").values()) == 1.0
    assert len(_samples(telemetry, "roost_canary_weight_percent")) == 2


def test_an_unchanged_phase_or_weight_writes_no_gauge(monkeypatch: pytest.MonkeyPatch) -> None:
    telemetry = Telemetry()
    calls: list[tuple[str, ...]] = []
    for gauge in (telemetry.phase, telemetry.canary_weight):
        real = gauge.labels
        monkeypatch.setattr(gauge, "labels", lambda *a, _real=real: calls.append(a) or _real(*a))
    telemetry.record_phase("ns", "m", Phase.PROGRESSING)
    telemetry.record_weight("ns", "m", 10, 10)
    written = len(calls)
    assert written == len(Phase) + 2
    telemetry.record_phase("ns", "m", Phase.PROGRESSING)
    telemetry.record_weight("ns", "m", 10, 10)
    assert len(calls) == written
    telemetry.record_weight("ns", "other", 10, 10)  # another object is its own
    assert len(calls) == written + 2
