"""After promotion: has the stable version's output distribution drifted from its reference?

A distribution check with ``compareTo: reference`` watches the stable version once no
rollout is running. It has two stages, both kept in status (restart-safe):

1. **Reference.** The first analysis windows after a version became stable are
   added up until they hold ``minSamples`` observations; those bucket counts r are
   the reference. It is stored, never recomputed, until a person resets it or a new
   version is promoted.
2. **Watch.** Every later window's bucket counts x_t are weighed by a Bayes factor
   of two Dirichlet-multinomial marginal likelihoods (Lindon & Malek 2022 use the
   same family in the rollout gate):

       Λ_t = DM(x_t; k·p) / DM(x_t; r + 1/2)

   The denominator is the null "x_t comes from the distribution that produced the
   reference": the posterior predictive given r under a Jeffreys prior, so the
   reference's own sampling noise is part of the null. The numerator is the
   alternative, a Dirichlet(k·p) spread around the reference shares p = (r + 1/2) /
   (R + K/2) with the rollout gate's concentration k = 100: distributions near the
   reference but not it. Averaged over the reference's posterior, E[Λ_t] = 1 under
   the null; treating r as the known population (the plain one-sample test against
   p) alarmed far sooner than its target once windows held more observations than
   the reference, as the null simulations in tests/unit/analysis/test_watch.py show.

A watch runs for days, so "never a false alarm" is the wrong promise: any test
looked at forever eventually fires. The right one for a monitor is the average run
length to a false alarm, and the e-detector of Shin, Ramdas & Rinaldo (2024,
"E-detectors: a nonparametric framework for sequential change detection") gives
it. The CUSUM e-detector

    M_t = Λ_t · max(M_{t-1}, 1),    alarm when M_t ≥ A

is at most the Shiryaev-Roberts one, Σ_j Π_{i=j..t} Λ_i, whose expectation under no
change is t; optional stopping gives E[time to a false alarm] ≥ A windows. A is the
check's ``meanWindowsToFalseAlarm``.

An alarm is also an effect size: the detector's current *run* (the windows since M
last stood at or below 1, i.e. since the evidence for a change began) must hold
``minSamples`` observations and its PSI / KS / Cohen's w (the goodness-of-fit form)
against the reference must reach ``threshold``. Shifts too small to matter are never
reported however much traffic proves them, and the reference's own sampling noise
(PSI of order K / R for K buckets and R reference observations) stays far below the
conventional bands when R ≥ ``minSamples``.

The guarantee is exact for Λ_t with mean 1; with the predictive null it holds on
average over the reference, and the null simulations measure it per setting
(reference size R against window size n from 1/30 to 10). Drift, once found, is
sticky: it stays until the reference is reset (``roost reset-reference``) or a new
version is promoted.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from roost.analysis import distribution

REFERENCE_SMOOTHING = 0.5
"""Pseudo-count added to every reference bucket (Jeffreys) before taking shares."""


class WatchStage(StrEnum):
    COLLECTING = "CollectingReference"
    WATCHING = "Watching"
    DRIFTED = "Drifted"


@dataclass(frozen=True)
class WatchState:
    """One reference check's reference and detector for one stable version."""

    bounds: tuple[float, ...] = ()
    reference: tuple[float, ...] = ()
    """Bucket counts of the reference (while collecting: so far)."""
    reference_windows: int = 0
    complete: bool = False
    """The reference holds ``minSamples`` observations and is frozen."""
    ln_m: float = 0.0
    """ln M_t of the CUSUM e-detector (≤ 0 means no evidence of a change)."""
    run: tuple[float, ...] = ()
    """Bucket counts of the detector's current run (the windows since ln M last was ≤ 0)."""
    run_windows: int = 0
    windows: int = 0
    """Windows watched against the complete reference."""
    drifted: bool = False

    def __post_init__(self) -> None:
        if len(self.reference) != len(self.bounds):
            raise ValueError("bounds and reference must have the same length")
        if self.run and len(self.run) != len(self.bounds):
            raise ValueError("bounds and run must have the same length")
        if not math.isfinite(self.ln_m):
            raise ValueError(f"ln_m must be finite, got {self.ln_m}")

    @property
    def stage(self) -> WatchStage:
        if not self.complete:
            return WatchStage.COLLECTING
        return WatchStage.DRIFTED if self.drifted else WatchStage.WATCHING

    @property
    def reference_total(self) -> float:
        return float(sum(self.reference))

    @property
    def run_total(self) -> float:
        return float(sum(self.run))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bounds": [b if math.isfinite(b) else 1e308 for b in self.bounds],
            "reference": list(self.reference),
            "referenceWindows": self.reference_windows,
            "complete": self.complete,
            "lnM": self.ln_m,
            "run": list(self.run),
            "runWindows": self.run_windows,
            "windows": self.windows,
            "drifted": self.drifted,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "WatchState":
        return cls(
            bounds=tuple(math.inf if float(b) >= 1e308 else float(b) for b in stored["bounds"]),
            reference=tuple(float(v) for v in stored["reference"]),
            reference_windows=int(stored.get("referenceWindows", 0)),
            complete=bool(stored.get("complete", False)),
            ln_m=float(stored.get("lnM", 0.0)),
            run=tuple(float(v) for v in stored.get("run", ())),
            run_windows=int(stored.get("runWindows", 0)),
            windows=int(stored.get("windows", 0)),
            drifted=bool(stored.get("drifted", False)),
        )


def _ln_dm(counts: NDArray[np.float64], alpha: NDArray[np.float64]) -> NDArray[np.float64]:
    """ln of the Dirichlet-multinomial likelihood without the multinomial coefficient."""
    result: NDArray[np.float64] = (
        special.gammaln(alpha + counts).sum(axis=-1)
        - special.gammaln(alpha.sum(axis=-1) + counts.sum(axis=-1))
        - special.gammaln(alpha).sum(axis=-1)
        + special.gammaln(alpha.sum(axis=-1))
    )
    return result


def window_ln_lambda(
    counts: ArrayLike,
    reference: ArrayLike,
    concentration: float = distribution.DEFAULT_CONCENTRATION,
) -> NDArray[np.float64]:
    """ln Λ_t = ln DM(x; k·p) − ln DM(x; r + 1/2); broadcasts over leading axes of ``counts``.

    0 for a window without observations.
    """
    x = np.asarray(counts, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64) + REFERENCE_SMOOTHING
    shares = r / r.sum(axis=-1, keepdims=True)
    r, x = np.broadcast_arrays(r, x)
    shares = np.broadcast_to(shares, x.shape)
    ln = _ln_dm(x, concentration * shares) - _ln_dm(x, r)
    result: NDArray[np.float64] = np.where(x.sum(axis=-1) > 0, ln, 0.0)
    return result


def cohens_w_goodness_of_fit(run: Sequence[float], reference: Sequence[float]) -> float | None:
    """Cohen's w of the run against the reference shares: sqrt(sum_j (q_j - p_j)^2 / p_j).

    The one-sample form (Cohen 1988, section 7.2): unlike sqrt(chi2 / N) of the 2 x K table, it
    does not shrink when the run holds many more observations than the reference.
    """
    q = np.asarray(run, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if q.sum() <= 0 or r.sum() <= 0:
        return None
    p = (r + REFERENCE_SMOOTHING) / (r + REFERENCE_SMOOTHING).sum()
    return float(np.sqrt(np.sum((q / q.sum() - p) ** 2 / p)))


def effect(statistic: str, run: Sequence[float], reference: Sequence[float]) -> float | None:
    """The check's statistic of the run against the reference (chi2 as Cohen's w), as shown."""
    if statistic == "psi":
        return distribution.psi(run, reference)
    if statistic == "ks":
        return distribution.ks_distance(run, reference)
    return cohens_w_goodness_of_fit(run, reference)


def judged_effect(statistic: str, run: Sequence[float], reference: Sequence[float]) -> float | None:
    """The statistic an alarm compares with ``threshold``: less its mean under no change.

    psi and ks as ``distribution.judged`` (the reference is the second sample); chi2 as
    the goodness-of-fit w with w^2 reduced by (k - 1)(1/n + 1/R), its null mean when
    the reference shares are themselves estimated from R observations.
    """
    if statistic != "chi2":
        return distribution.judged(statistic, run, reference)
    w = cohens_w_goodness_of_fit(run, reference)
    if w is None:
        return None
    q, r = np.asarray(run, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    k = int(((q + r) > 0).sum())
    return math.sqrt(max(0.0, w * w - (k - 1) * (1.0 / q.sum() + 1.0 / r.sum())))


def observe(
    state: WatchState,
    cumulative: Mapping[float, float] | None,
    *,
    min_samples: int,
    ln_alarm: float,
    statistic: str,
    threshold: float,
) -> WatchState:
    """Add one window's cumulative ``le`` counts of the stable version (None = no data).

    While collecting, the counts go into the reference. Once it is complete, the window
    updates the detector; ``drifted`` becomes true when ln M reaches ``ln_alarm`` and
    the run holds ``min_samples`` observations whose ``statistic`` reaches ``threshold``.
    Buckets the reference does not have are merged into the next bound it has.
    """
    if cumulative is None:
        return state
    bounds, counts = distribution.bucket_counts(cumulative)
    if not state.bounds:
        if sum(counts) <= 0:
            return state
        state = replace(
            state, bounds=bounds, reference=(0.0,) * len(bounds), run=(), ln_m=0.0, run_windows=0
        )
    common = tuple(b for b in state.bounds if b in set(bounds))
    if not common:
        return state
    if common != state.bounds:
        # The exporter dropped buckets: compare on the bounds both have from now on.
        state = replace(
            state,
            bounds=common,
            reference=distribution.align(state.bounds, state.reference, common),
            run=distribution.align(state.bounds, state.run, common) if state.run else (),
        )
    x = distribution.align(bounds, counts, common)
    if sum(x) <= 0:
        return state
    if not state.complete:
        reference = tuple(a + b for a, b in zip(state.reference, x, strict=True))
        return replace(
            state,
            reference=reference,
            reference_windows=state.reference_windows + 1,
            complete=sum(reference) >= min_samples,
        )
    ln_lambda = float(window_ln_lambda(x, state.reference))
    fresh = state.ln_m <= 0.0 or not state.run
    ln_m = ln_lambda + max(state.ln_m, 0.0)
    run = x if fresh else tuple(a + b for a, b in zip(state.run, x, strict=True))
    run_windows = 1 if fresh else state.run_windows + 1
    value = judged_effect(statistic, run, state.reference)
    alarm = (
        ln_m >= ln_alarm and sum(run) >= min_samples and value is not None and value >= threshold
    )
    return replace(
        state,
        ln_m=ln_m,
        run=run,
        run_windows=run_windows,
        windows=state.windows + 1,
        drifted=state.drifted or alarm,
    )
