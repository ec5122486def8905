"""The Argo Rollouts re-implementation follows assessMetricStatus on hand-made measurements."""

from __future__ import annotations

from bench.canary import argo

S = argo.ArgoSettings()


def _measure(results: list[bool | None]) -> tuple[argo.MetricState, list[float]]:
    state = argo.MetricState()
    delays = []
    for passed in results:
        state, delay = argo.measure(state, passed, S)
        delays.append(delay)
    return state, delays


def test_failure_limit_three_fails_on_the_fourth_failed_measurement() -> None:
    state, _ = _measure([False, False, False])
    assert state.phase is argo.Phase.RUNNING
    state, _ = _measure([False, True, False, True, False, False])
    assert state.phase is argo.Phase.FAILED


def test_errors_retry_after_ten_seconds_and_the_fifth_consecutive_error_errors() -> None:
    state, delays = _measure([None] * 4)
    assert state.phase is argo.Phase.RUNNING
    assert delays == [10.0] * 4
    state, _ = _measure([None] * 5)
    assert state.phase is argo.Phase.ERROR


def test_a_measurement_resets_the_consecutive_error_count() -> None:
    state, delays = _measure([None, None, None, None, True, None, None])
    assert state.phase is argo.Phase.RUNNING
    assert delays[4] == 300.0


def test_docs_example_steps_start_analysis_at_forty_percent_and_finish_at_forty_minutes() -> None:
    assert argo.weight_at(0, S) == 20
    assert argo.weight_at(600, S) == 40
    assert argo.analysis_start(S) == 600
    assert argo.rollout_end(S) == 2400
    assert argo.weight_at(2400, S) == 100
