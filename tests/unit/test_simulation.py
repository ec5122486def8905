"""roost simulate runs the real core on seeded traffic; shipped scenarios decide as documented."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from roost import simulation

SCENARIOS = Path(__file__).parents[2] / "examples" / "scenarios"


def _run(name: str, **overrides: object) -> simulation.SimulationResult:
    document = yaml.safe_load((SCENARIOS / name).read_text())
    document.update(overrides)
    return simulation.simulate(simulation.load(document))


def test_a_healthy_canary_is_promoted() -> None:
    result = _run("healthy-canary.yaml")
    assert result.outcome == "promoted"
    kinds = [e.kind for e in result.timeline]
    assert kinds.count("StepAdvanced") == 3


def test_an_error_regression_is_rolled_back_with_few_harmed_requests() -> None:
    result = _run("error-regression.yaml")
    assert result.outcome == "rolled_back"
    assert result.reason in {"BurnRateExceeded", "WorseThanStable"}
    # 3 % errors at a 5 % weight: a rollback after tens of errors, not thousands.
    assert result.harmed_requests < 60


def test_low_traffic_is_never_promoted_on_luck() -> None:
    result = _run("low-traffic.yaml")
    assert result.outcome == "held"  # paused at the progress deadline for a person
    assert result.reason == "ProgressDeadlineExceeded"
    assert not any(e.kind == "Promoted" for e in result.timeline)
    assert result.duration_seconds == pytest.approx(2 * 3600, abs=60)


@pytest.mark.parametrize("seed", range(5))
def test_healthy_canaries_are_promoted_across_seeds(seed: int) -> None:
    assert _run("healthy-canary.yaml", seed=seed).outcome == "promoted"


def test_the_same_seed_gives_the_same_timeline() -> None:
    assert _run("error-regression.yaml") == _run("error-regression.yaml")
    assert _run("error-regression.yaml", seed=9) != _run("error-regression.yaml")


def test_a_metrics_outage_holds_then_rolls_back_at_the_no_data_deadline() -> None:
    result = _run(
        "healthy-canary.yaml",
        metricGaps=[{"from": "1m", "to": "4h", "kind": "error"}],
    )
    assert result.outcome == "rolled_back"
    assert result.reason == "NoDataDeadline"


def test_a_canary_that_degrades_after_promotion_starts_is_caught_mid_rollout() -> None:
    document = yaml.safe_load((SCENARIOS / "healthy-canary.yaml").read_text())
    document["canary"]["changes"] = [{"at": "4m", "errorRate": 0.05}]
    result = simulation.simulate(simulation.load(document))
    assert result.outcome == "rolled_back"


def test_the_result_serialises_to_json_keys_the_cli_documents() -> None:
    data = _run("error-regression.yaml").to_dict()
    assert {"outcome", "harmed_requests", "duration_seconds", "timeline"} <= data.keys()


def test_shifted_predictions_are_rolled_back_with_the_statistic() -> None:
    result = _run("prediction-drift.yaml")
    assert result.outcome == "rolled_back"
    assert result.reason == "PredictionDistributionShift"
    rollback = next(e for e in result.timeline if e.kind == "PredictionDistributionShift")
    assert "PSI" in rollback.message
    assert result.harmed_requests == 0  # no errors: only the distribution gate sees it


def test_the_same_predictions_are_promoted() -> None:
    document = yaml.safe_load((SCENARIOS / "prediction-drift.yaml").read_text())
    document["canary"] = {"predictions": document["stable"]["predictions"]}
    result = simulation.simulate(simulation.load(document))
    assert result.outcome == "promoted"


def test_prediction_probabilities_must_match_the_bounds() -> None:
    with pytest.raises(ValueError, match="probabilities needs 3 entries"):
        simulation.Predictions(bounds=[0.5, 1.0], probabilities=[0.5, 0.5])


def test_the_drift_watch_after_promotion_reports_a_later_shift_and_not_a_steady_version() -> None:
    document = yaml.safe_load((SCENARIOS / "drift-after-promotion.yaml").read_text())
    result = simulation.simulate(simulation.load(document))
    assert result.outcome == "promoted"
    (watch,) = result.drift
    assert watch.stage == "Drifted"
    kinds = [e.kind for e in result.timeline]
    assert kinds.index("DriftReferenceTaken") < kinds.index("PredictionDrift")
    drifted_at = next(e.at_seconds for e in result.timeline if e.kind == "PredictionDrift")
    assert drifted_at >= 2 * 3600  # never before the scores moved at 2 h

    del document["canary"]["predictionChanges"]
    steady = simulation.simulate(simulation.load(document))
    assert steady.outcome == "promoted"
    assert steady.drift[0].stage == "Watching"
    assert "PredictionDrift" not in [e.kind for e in steady.timeline]


@pytest.mark.parametrize(
    ("median", "p99", "threshold"), [("50ms", "200ms", "250ms"), ("100ms", "400ms", "80ms")]
)
def test_the_latency_bad_fraction_is_the_lognormal_tail(
    median: str, p99: str, threshold: str
) -> None:
    """The share of requests slower than the threshold, for a lognormal with that median
    and p99 (scipy's lognorm, an independent form of the same distribution)."""
    from scipy import stats

    from roost.api.slopolicy import Objective
    from roost.durations import parse_seconds
    from roost.simulation import Latency, _bad_probability

    objective = Objective.model_validate(
        {"name": "l", "target": 0.99, "latency": {"histogram": "h", "threshold": threshold}}
    )
    m, q = parse_seconds(median), parse_seconds(p99)
    sigma = math.log(q / m) / stats.norm.ppf(0.99)
    expected = stats.lognorm(s=sigma, scale=m).sf(parse_seconds(threshold))
    got = _bad_probability(objective, 0.0, Latency(median=median, p99=p99))
    assert got == pytest.approx(expected, rel=1e-9)


def test_a_shadow_step_rejects_a_regression_before_any_user_is_served_by_it() -> None:
    result = _run("shadow-regression.yaml")
    assert result.outcome == "rolled_back"
    assert result.reason in {"BurnRateExceeded", "WorseThanStable"}
    assert result.canary_requests == 0  # served to users; the copies it answered are not
    assert result.harmed_requests == 0
    weighted = _run("error-regression.yaml")
    assert weighted.harmed_requests > 0


def test_a_healthy_canary_passes_its_shadow_step_and_is_promoted() -> None:
    document = yaml.safe_load((SCENARIOS / "healthy-canary.yaml").read_text())
    spec = document["modelDeployment"]
    spec["traffic"] = {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "fraud-scorer"}}
    spec["rollout"]["steps"].insert(0, {"mirror": 100, "pause": "5m"})
    result = simulation.simulate(simulation.load(document))
    assert result.outcome == "promoted"
    messages = [e.message for e in result.timeline if e.kind == "StepAdvanced"]
    assert messages[0] == "step 1/4: 100% of requests mirrored to the canary"
