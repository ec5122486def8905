"""The post-promotion drift watch: reference collection, the e-detector, the effect floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roost.analysis import distribution, watch

BOUNDS = (0.1, 0.2, 0.4, 0.6, 0.8, math.inf)
SHARES = np.array([0.1, 0.2, 0.3, 0.2, 0.15, 0.05])


def cumulative(counts: np.ndarray) -> dict[float, float]:
    return {b: float(c) for b, c in zip(BOUNDS, np.cumsum(counts), strict=True)}


def observe(state: watch.WatchState, counts: np.ndarray, **overrides: float) -> watch.WatchState:
    settings = {
        "min_samples": 1000,
        "ln_alarm": math.log(1000),
        "statistic": "psi",
        "threshold": 0.25,
    }
    settings.update(overrides)
    return watch.observe(
        state,
        cumulative(counts),
        min_samples=int(settings["min_samples"]),
        ln_alarm=float(settings["ln_alarm"]),
        statistic=str(settings["statistic"]),
        threshold=float(settings["threshold"]),
    )


def shifted(amount: float) -> np.ndarray:
    """SHARES with ``amount`` of mass moved from the lowest buckets to the highest."""
    q = SHARES.copy()
    q[:2] *= 1 - amount
    q[-2:] += SHARES[:2].sum() * amount * np.array([0.5, 0.5])
    return q / q.sum()


def test_the_reference_collects_windows_until_it_holds_min_samples_then_freezes() -> None:
    state = watch.WatchState()
    assert state.stage is watch.WatchStage.COLLECTING
    for _ in range(3):
        state = observe(state, SHARES * 300)
    assert state.stage is watch.WatchStage.COLLECTING
    assert state.reference_total == pytest.approx(900)
    state = observe(state, SHARES * 300)
    assert state.stage is watch.WatchStage.WATCHING
    assert state.reference_windows == 4
    frozen = state.reference
    state = observe(state, SHARES * 300)
    assert state.reference == frozen
    assert state.windows == 1


def test_no_data_and_empty_windows_change_nothing() -> None:
    state = observe(watch.WatchState(), SHARES * 2000)
    assert (
        watch.observe(state, None, min_samples=1000, ln_alarm=5.0, statistic="psi", threshold=0.25)
        == state
    )
    assert observe(state, SHARES * 0) == state


def test_the_state_survives_a_round_trip_through_status() -> None:
    state = observe(observe(watch.WatchState(), SHARES * 2000), shifted(0.5) * 400)
    again = watch.WatchState.from_dict(state.to_dict())
    assert again == state
    assert again.bounds[-1] == math.inf


def test_a_large_shift_is_found_and_stays_found() -> None:
    rng = np.random.default_rng(3)
    state = observe(watch.WatchState(), rng.multinomial(5000, SHARES).astype(float))
    q = shifted(0.8)
    assert distribution.psi(q * 1e6, SHARES * 1e6) > 0.25
    found_after = None
    for window in range(1, 60):
        state = observe(state, rng.multinomial(200, q).astype(float))
        if state.drifted:
            found_after = window
            break
    assert found_after is not None
    assert found_after <= 10
    # Sticky: back to the reference distribution, still drifted until a reset.
    for _ in range(20):
        state = observe(state, rng.multinomial(200, SHARES).astype(float))
    assert state.stage is watch.WatchStage.DRIFTED


def test_a_proven_but_tiny_shift_is_not_reported() -> None:
    rng = np.random.default_rng(4)
    q = shifted(0.1)
    assert distribution.psi(q * 1e6, SHARES * 1e6) < 0.05
    state = observe(watch.WatchState(), rng.multinomial(200_000, SHARES).astype(float))
    for _ in range(30):
        state = observe(state, rng.multinomial(50_000, q).astype(float))
    assert state.ln_m > math.log(1000)  # the detector is sure something changed ...
    assert not state.drifted  # ... but PSI stays far below the 0.25 threshold


def test_a_run_needs_min_samples_before_it_can_alarm() -> None:
    state = observe(watch.WatchState(), SHARES * 5000)
    q = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0])  # everything in the top bucket
    state = observe(state, q * 20, min_samples=100)
    assert state.run_total == 20
    assert not state.drifted
    for _ in range(4):
        state = observe(state, q * 20, min_samples=100)
    assert state.run_total == 100
    assert state.drifted


def test_buckets_dropped_by_the_exporter_are_merged_not_fatal() -> None:
    state = observe(watch.WatchState(), SHARES * 2000)
    coarse = {0.2: 600.0, 0.6: 1400.0, math.inf: 2000.0}
    state = watch.observe(
        state, coarse, min_samples=1000, ln_alarm=5.0, statistic="psi", threshold=0.25
    )
    assert state.bounds == (0.2, 0.6, math.inf)
    assert state.reference == pytest.approx((600.0, 1000.0, 400.0))
    assert state.windows == 1


def _run_lengths(ln_lambda: np.ndarray, ln_alarm: float) -> np.ndarray:
    """Windows until the CUSUM e-detector alarms, per run (cap = number of windows)."""
    runs, cap = ln_lambda.shape
    ln_m = np.zeros(runs)
    stopped = np.full(runs, cap)
    for t in range(cap):
        ln_m = ln_lambda[:, t] + np.maximum(ln_m, 0.0)
        fresh = (stopped == cap) & (ln_m >= ln_alarm)
        stopped[fresh] = t + 1
    return stopped


@pytest.mark.parametrize(("reference", "window"), [(1000, 30), (1000, 1000), (1000, 10_000)])
def test_without_a_change_the_mean_time_to_a_false_alarm_is_at_least_the_target(
    reference: int, window: int
) -> None:
    """E-detector guarantee: E[windows to a false alarm] >= A, with an estimated reference.

    Measured without the effect-size floor (that only makes alarms rarer). The naive
    detector that takes the reference shares as the population fails the same check
    when windows are larger than the reference: the reason for the predictive null.
    """
    target, runs, cap = 20.0, 300, 400
    rng = np.random.default_rng(reference + window)
    refs = rng.multinomial(reference, SHARES, size=runs).astype(float)
    windows = rng.multinomial(window, SHARES, size=(cap, runs)).transpose(1, 0, 2).astype(float)
    ln_lambda = watch.window_ln_lambda(windows, refs[:, None, :])
    run_lengths = _run_lengths(ln_lambda, math.log(target))
    # Censored at the cap, so the mean is an underestimate of the true mean.
    assert run_lengths.mean() >= target
    if window > reference:
        naive = distribution.ln_dirichlet_multinomial(
            windows, (refs + 0.5)[:, None, :] / (refs + 0.5).sum(axis=1)[:, None, None]
        )
        assert _run_lengths(naive, math.log(target)).mean() < target


def test_detection_is_faster_for_larger_shifts() -> None:
    rng = np.random.default_rng(9)
    runs, cap = 100, 200
    refs = rng.multinomial(5000, SHARES, size=runs).astype(float)
    means = []
    for amount in (0.3, 0.6, 0.9):
        windows = (
            rng.multinomial(100, shifted(amount), size=(cap, runs)).transpose(1, 0, 2).astype(float)
        )
        ln_lambda = watch.window_ln_lambda(windows, refs[:, None, :])
        means.append(_run_lengths(ln_lambda, math.log(1000)).mean())
    assert means[0] > means[1] > means[2]
    assert means[2] < 10
