"""Gate 2: canary against stable on bad-request counts, a conditional-binomial grid mixture.

Model (the Lindon & Malek 2022 reduction, with the exposure observed per tick;
docs/decisions.md, "The canary gate"). In tick t the canary's bad requests are
Poisson(r*lambda_t*dn_c) and the stable's Poisson(lambda_t*dn_s); the base rate
lambda_t is arbitrary. Given the tick's bad total E_t = dx_c + dx_s,
dx_c ~ Binomial(E_t, theta_t(r)) with

    rho_t = dn_c / (dn_c + dn_s)
    theta_t(r) = r*rho_t / (r*rho_t + 1 - rho_t)

so lambda_t drops out: common-mode changes (diurnal load, a shared downstream outage)
cancel. The per-tick log-likelihood ratio of rate ratio r against r0 is

    l_t(r; r0) = dx_c*ln(r/r0) - E_t*ln[(r*rho_t + 1 - rho_t) / (r0*rho_t + 1 - rho_t)]

and L_T(r; r0) = sum over informative ticks (dn_c > 0, dn_s > 0, E_t > 0) of l_t.
The e-values mix L_T over a fixed grid of log rate ratios lambda_j = j*delta, j = 1..J,
with half-normal weights w_j proportional to exp(-lambda_j^2 / (2 sigma^2)):

    fail: E_F = sum_j w_j exp(L_T(r_F e^{+lambda_j}; r_F))      H0_F: r <= r_F
    pass: E_P,rel = sum_j w_j exp(L_T(r_P e^{-lambda_j}; r_P))  H0_P: r >= r_P

Each grid term is a test supermartingale under its one-sided null (its factors have
conditional mean <= 1 for every theta in the null), so any fixed mixture is (Robbins
1970), and Ville's inequality bounds the false-alarm rate under continuous monitoring.
At r_F = 1 the test is exact-to-conservative under Bernoulli sampling too (Hoeffding
1963, Thm 4: the hypergeometric is smaller in convex order than the binomial).

Never pool ticks: the share must be the one observed in each tick. Pooling across a
change of split is Simpson's paradox and rolls healthy canaries back (vector V9).

The evidence is restart-safe: ``TwoSampleState`` holds L_T on both grids (2 x J
floats) plus the arm totals, updates purely, and round-trips through a JSON-safe dict
at full float precision, so it can live in a Kubernetes status. Latency needs nothing
special: feed the "slow" counts (total - bucket{le=T}) as the bad counts.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, NotRequired, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from roost.analysis import onesample


@dataclass(frozen=True)
class RateRatioGrid:
    """The fixed mixture over the canary/stable rate ratio.

    Fixing it before the rollout is part of the test's validity: the evidence stored
    in status is only meaningful with the grid that produced it, so the state
    carries it. The defaults reach rate ratios of about 100x (fail) and 0.015*r_P
    (pass); sigma = 0.5-2 changes decision times by up to about 25 %.
    """

    fail_tolerance: float = 1.0
    """r_F: the fail-null is r <= r_F; r_F = 1 keeps validity exact (Hoeffding 1963)."""
    pass_tolerance: float = 1.5
    """r_P: the non-inferiority margin; the pass-null is r >= r_P."""
    step: float = 0.05
    """delta: spacing of the grid of log rate ratios."""
    size: int = 92
    """J: number of grid points on each side."""
    sigma: float = 1.0
    """Scale of the half-normal prior on |ln(r / r0)|."""

    def __post_init__(self) -> None:
        for name in ("fail_tolerance", "pass_tolerance", "step", "sigma"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be positive and finite, got {value}")
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")

    def log_offsets(self) -> NDArray[np.float64]:
        """lambda_j = j*delta for j = 1..J."""
        return self.step * np.arange(1, self.size + 1, dtype=np.float64)

    def log_weights(self) -> NDArray[np.float64]:
        """ln w_j with w_j = exp(-lambda_j^2/(2 sigma^2)) / sum_i exp(-lambda_i^2/(2 sigma^2))."""
        return _derived(self)[0].copy()

    def fail_ratios(self) -> NDArray[np.float64]:
        """The alternatives of the fail test, r_F*e^{lambda_j} (all worse than r_F)."""
        return _derived(self)[1].copy()

    def pass_ratios(self) -> NDArray[np.float64]:
        """The alternatives of the pass test, r_P*e^{-lambda_j} (all better than r_P)."""
        return _derived(self)[2].copy()


@lru_cache(maxsize=64)
def _derived(
    grid: RateRatioGrid,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """A grid's log weights, fail ratios and pass ratios, computed once per grid.

    Every window of every canary used them (two logsumexps and two exps over J points);
    a grid is frozen and hashable, and the arrays are read-only so no caller can
    change the cached values."""
    offsets = grid.log_offsets()
    unnormalized = -0.5 * (offsets / grid.sigma) ** 2
    arrays = (
        unnormalized - float(special.logsumexp(unnormalized)),
        grid.fail_tolerance * np.exp(offsets),
        grid.pass_tolerance * np.exp(-offsets),
    )
    for array in arrays:
        array.flags.writeable = False
    return arrays


DEFAULT_GRID = RateRatioGrid()


@dataclass(frozen=True)
class Tick:
    """Non-overlapping per-tick increments of both arms, read at the same timestamp.

    For latency the bad counts are slow requests, total - bucket{le=T}. Use
    ``roost.analysis.counters.increments`` to build them from cumulative counters.
    """

    canary_requests: float
    canary_bad: float
    stable_requests: float
    stable_bad: float

    def __post_init__(self) -> None:
        for arm, requests, bad in (
            ("canary", self.canary_requests, self.canary_bad),
            ("stable", self.stable_requests, self.stable_bad),
        ):
            if not (math.isfinite(requests) and math.isfinite(bad)):
                raise ValueError(f"{arm} increments must be finite, got {requests}, {bad}")
            if not 0 <= bad <= requests:
                raise ValueError(f"{arm} needs 0 <= bad <= requests, got {bad} of {requests}")

    @property
    def is_informative(self) -> bool:
        """False when the tick carries no evidence and is skipped (no requests or no bad)."""
        return (
            self.canary_requests > 0
            and self.stable_requests > 0
            and self.canary_bad + self.stable_bad > 0
        )

    @property
    def canary_share(self) -> float | None:
        """rho_t = dn_c / (dn_c + dn_s), or None when an arm saw no requests."""
        if self.canary_requests <= 0 or self.stable_requests <= 0:
            return None
        return self.canary_requests / (self.canary_requests + self.stable_requests)


def tick_log_likelihood(
    ratios: ArrayLike,
    reference: float,
    canary_bad: ArrayLike,
    bad: ArrayLike,
    canary_share: ArrayLike,
) -> NDArray[np.float64]:
    """l_t(r; r0) = dx_c*ln(r/r0) - E_t*ln[(r*rho + 1 - rho)/(r0*rho + 1 - rho)].

    Broadcasts, so a simulation can evaluate runs x looks x grid at once with the
    same code the operator runs. The caller skips uninformative ticks.
    """
    r = np.asarray(ratios, dtype=np.float64)
    rho = np.asarray(canary_share, dtype=np.float64)
    log_odds_shift = np.log1p(rho * (r - 1.0)) - np.log1p(rho * (reference - 1.0))
    result: NDArray[np.float64] = (
        np.asarray(canary_bad, dtype=np.float64) * np.log(r / reference)
        - np.asarray(bad, dtype=np.float64) * log_odds_shift
    )
    return result


class GridDict(TypedDict):
    failTolerance: float
    passTolerance: float
    step: float
    size: int
    sigma: float


class TwoSampleStateDict(TypedDict):
    """``TwoSampleState`` as stored in status: camelCase keys, full-precision floats."""

    grid: GridDict
    failLogLikelihood: list[float]
    passLogLikelihood: list[float]
    canaryRequests: float
    canaryBad: float
    stableRequests: float
    stableBad: float
    informativeTicks: int
    lastCanaryShare: NotRequired[float]


@dataclass(frozen=True)
class TwoSampleState:
    """Accumulated two-sample evidence for one SLI of one canary revision.

    Everything a restarted operator needs to continue the same test: L_T on the
    fail grid and on the pass grid, the arm totals since the canary started (the
    canary's feed the absolute floor of the pass test), the number of informative
    ticks and the last observed canary share. Reset only for a new revision: a test
    restarted without its earlier evidence would spend its alpha again.
    """

    grid: RateRatioGrid = DEFAULT_GRID
    fail_log_likelihood: tuple[float, ...] = field(default=())
    """L_T(r_F e^{lambda_j}; r_F) for j = 1..J."""
    pass_log_likelihood: tuple[float, ...] = field(default=())
    """L_T(r_P e^{-lambda_j}; r_P) for j = 1..J."""
    canary_requests: float = 0.0
    canary_bad: float = 0.0
    stable_requests: float = 0.0
    stable_bad: float = 0.0
    informative_ticks: int = 0
    last_canary_share: float | None = None

    def __post_init__(self) -> None:
        for name in ("canary_requests", "canary_bad", "stable_requests", "stable_bad"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        if self.informative_ticks < 0:
            raise ValueError(f"informative_ticks must be >= 0, got {self.informative_ticks}")
        # An empty vector means "no evidence yet": expand it so both are always J long.
        for name in ("fail_log_likelihood", "pass_log_likelihood"):
            vector = getattr(self, name)
            if not vector:
                object.__setattr__(self, name, (0.0,) * self.grid.size)
            elif len(vector) != self.grid.size:
                raise ValueError(f"{name} has {len(vector)} entries, the grid {self.grid.size}")
            elif not all(map(math.isfinite, vector)):
                raise ValueError(f"{name} must be finite")

    def to_dict(self) -> TwoSampleStateDict:
        """A JSON-safe dict for status; floats keep full precision (JSON round-trips repr)."""
        stored = TwoSampleStateDict(
            grid=GridDict(
                failTolerance=self.grid.fail_tolerance,
                passTolerance=self.grid.pass_tolerance,
                step=self.grid.step,
                size=self.grid.size,
                sigma=self.grid.sigma,
            ),
            failLogLikelihood=list(self.fail_log_likelihood),
            passLogLikelihood=list(self.pass_log_likelihood),
            canaryRequests=self.canary_requests,
            canaryBad=self.canary_bad,
            stableRequests=self.stable_requests,
            stableBad=self.stable_bad,
            informativeTicks=self.informative_ticks,
        )
        # Omitted rather than null: a JSON merge patch treats null as "delete".
        if self.last_canary_share is not None:
            stored["lastCanaryShare"] = self.last_canary_share
        return stored

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "TwoSampleState":
        """Inverse of ``to_dict``; accepts integers where floats were written."""
        grid = stored["grid"]
        share = stored.get("lastCanaryShare")
        return cls(
            grid=RateRatioGrid(
                fail_tolerance=float(grid["failTolerance"]),
                pass_tolerance=float(grid["passTolerance"]),
                step=float(grid["step"]),
                size=int(grid["size"]),
                sigma=float(grid["sigma"]),
            ),
            fail_log_likelihood=tuple(map(float, stored["failLogLikelihood"])),
            pass_log_likelihood=tuple(map(float, stored["passLogLikelihood"])),
            canary_requests=float(stored["canaryRequests"]),
            canary_bad=float(stored["canaryBad"]),
            stable_requests=float(stored["stableRequests"]),
            stable_bad=float(stored["stableBad"]),
            informative_ticks=int(stored["informativeTicks"]),
            last_canary_share=None if share is None else float(share),
        )


def start(grid: RateRatioGrid = DEFAULT_GRID) -> TwoSampleState:
    """The state of a new canary revision: no evidence, E_F = E_P,rel = 1."""
    return TwoSampleState(grid=grid)


def update(state: TwoSampleState, tick: Tick) -> TwoSampleState:
    """Add one tick's increments; uninformative ticks only move the arm totals."""
    share = tick.canary_share
    totals = replace(
        state,
        canary_requests=state.canary_requests + tick.canary_requests,
        canary_bad=state.canary_bad + tick.canary_bad,
        stable_requests=state.stable_requests + tick.stable_requests,
        stable_bad=state.stable_bad + tick.stable_bad,
        last_canary_share=state.last_canary_share if share is None else share,
    )
    if share is None or not tick.is_informative:
        return totals
    bad = tick.canary_bad + tick.stable_bad
    grid = state.grid
    _, fail_ratios, pass_ratios = _derived(grid)
    fail_step = tick_log_likelihood(fail_ratios, grid.fail_tolerance, tick.canary_bad, bad, share)
    pass_step = tick_log_likelihood(pass_ratios, grid.pass_tolerance, tick.canary_bad, bad, share)
    return replace(
        totals,
        fail_log_likelihood=tuple((np.asarray(state.fail_log_likelihood) + fail_step).tolist()),
        pass_log_likelihood=tuple((np.asarray(state.pass_log_likelihood) + pass_step).tolist()),
        informative_ticks=state.informative_ticks + 1,
    )


def ln_e_fail(state: TwoSampleState) -> float:
    """ln E_F = ln sum_j w_j exp(L_T(r_F e^{lambda_j}; r_F)): canary worse than r_F times stable."""
    if state.informative_ticks == 0:
        return 0.0
    return _ln_mixture(state.grid, state.fail_log_likelihood)


def ln_e_pass_relative(state: TwoSampleState) -> float:
    """ln E_P,rel = ln sum_j w_j exp(L_T(r_P e^{-lambda_j}; r_P)): canary within r_P of stable."""
    if state.informative_ticks == 0:
        return 0.0
    return _ln_mixture(state.grid, state.pass_log_likelihood)


def ln_e_pass_absolute(
    state: TwoSampleState, *, floor_bad_ratio: float, a0: float = onesample.DEFAULT_PRIOR_BAD
) -> float:
    """ln E_P,abs: the Gate-1 pass e-value on the canary's cumulative (n, x) at p = kappa*eps."""
    return onesample.ln_e_pass(state.canary_requests, state.canary_bad, floor_bad_ratio, a0=a0)


def ln_e_pass(
    state: TwoSampleState, *, floor_bad_ratio: float, a0: float = onesample.DEFAULT_PRIOR_BAD
) -> float:
    """ln E_P = ln(E_P,rel/2 + E_P,abs/2): canary within r_P of stable, or below kappa*eps.

    The pass-null is "materially worse": r >= r_P and p_c >= kappa*eps. Both
    e-values are valid under it, so their average is too (Ramdas et al.
    2023). ``floor_bad_ratio`` is kappa*eps (kappa = 1 by default in the policy).
    """
    relative = ln_e_pass_relative(state)
    absolute = ln_e_pass_absolute(state, floor_bad_ratio=floor_bad_ratio, a0=a0)
    return float(np.logaddexp(relative, absolute) - math.log(2.0))


def _ln_mixture(grid: RateRatioGrid, log_likelihood: tuple[float, ...]) -> float:
    return logsumexp(_derived(grid)[0] + np.asarray(log_likelihood, dtype=np.float64))


def logsumexp(values: NDArray[np.float64]) -> float:
    """``scipy.special.logsumexp`` of a 1-D float64 vector, bit for bit, without the
    array-API dispatch, which costs far more than the sum itself on J = 92 points.

    The same operations in the same order as scipy's ``_logsumexp`` (1.15-1.17): the
    maxima are taken out of the sum, the rest shifted by the maximum, exponentiated and
    summed, divided by the number of maxima, and ``log1p(s) + log(m) + max``; a
    non-finite result falls back to ``log(sum(exp(a)))`` as scipy's does. With a finite
    maximum every sign scipy tracks is positive, so that case runs on scalars; the
    others take scipy's full sequence. The tests compare it with scipy on random and
    edge-case vectors."""
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return -math.inf
    a_max = a.max()
    if math.isfinite(a_max):
        at_max = a == a_max
        m = np.float64(np.count_nonzero(at_max))
        shifted = np.exp(a - a_max)
        shifted[at_max] = 0.0  # scipy's exp(-inf - max)
        s = shifted.sum(dtype=np.float64)
        if s != 0:
            s = s / m
        out = float(np.log1p(s) + np.log(m) + a_max)
        if math.isfinite(out):
            return out
    return _logsumexp_general(a)


def _logsumexp_general(a: NDArray[np.float64]) -> float:
    """scipy's sequence step by step, for vectors with an infinite or NaN maximum."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a_max = np.max(a, keepdims=True)
        at_max = a == a_max
        m = np.sum(at_max.astype(np.float64), keepdims=True, dtype=np.float64)
        rest = np.where(at_max, -np.inf, a)
        s = np.sum(np.exp(rest - a_max), keepdims=True, dtype=np.float64)
        s = np.where(s == 0, s, s / m)
        sign = np.sign(s + 1) * np.sign(m)
        s = np.where(s < -1, -s - 2, s)
        out = np.log1p(s) + np.log(np.abs(m)) + a_max
        out[sign < 0] = np.nan
    if math.isfinite(out[0]):
        return float(out[0])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return float(np.log(np.sum(np.exp(a), keepdims=True))[0])
