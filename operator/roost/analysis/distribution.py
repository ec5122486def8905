"""Prediction-distribution gate: is the canary's output distribution the stable's?

Data. Per aligned analysis window, the bucket counts of a classic histogram of the
model's output for each version (``increase(<h>_bucket[w])`` differenced over ``le``),
never raw samples.

Test (anytime-valid; Lindon & Malek 2022, docs/decisions.md "The distribution gate").
Condition each window t on its
margins: the canary's total C_t, the stable's S_t and the pooled bucket totals
n_tj = c_tj + s_tj. Under H0 "both versions draw from the same distribution in this
window" (which may change from window to window: diurnal mix, a new traffic source)
the canary's vector c_t is multivariate hypergeometric, whatever the distribution.
The window's e-value is the Lindon & Malek (NeurIPS 2022) Dirichlet-multinomial
Bayes factor of c_t against the window's pooled shares p_tj = n_tj / (C_t + S_t):

    ln BF_t = ln B(k p_t + c_t) - ln B(k p_t) - sum_j c_tj ln p_tj      (buckets with p_tj > 0)

It is a mixture over theta ~ Dirichlet(k p_t) of prod_j (theta_j / p_tj)^c_tj, a convex
function of c_t, so its mean under sampling without replacement (hypergeometric) is at
most its mean under sampling with replacement, Multinomial(C_t, p_t), which is 1
(Hoeffding 1963, Thm 4; its argument carries over to vectors, and the null
simulations in tests/unit/analysis/test_distribution.py agree).

The mixture pays its prior penalty in every window, which is slow at low traffic, so a
second e-value accumulates across windows: a predictable plug-in,
prod_j (q_tj / p_tj)^c_tj with q_tj proportional to p_tj r_j / (rho_t r_j + 1 - rho_t),
r_j the canary/stable share ratio estimated from the windows before t and rho_t the
window's observed canary share (``window_ln_e_plugin``). It is exp-linear in c_t with
mean 1 under the multinomial, so the same argument applies. The gate decides on
E_T = (prod_t BF_t + prod_t PI_t) / 2, an average of test supermartingales: FAIL when
ln E_T >= ln(1/alpha_i) keeps the false-rollback rate <= alpha_i however often it is
checked. Windows are never pooled: each is conditioned on its own observed split
(pooling across a change of split is Simpson's paradox: vector V9 of the comparison
test). Windows where either version saw nothing carry no evidence; nor does
the mixture where only one bucket is non-empty.

Effect sizes (reported, and required for a FAIL so that a statistically clear but tiny
shift at high traffic does not roll back): on the cumulative counts since the canary
started, PSI = sum_j (q_j - p_j) ln(q_j / p_j) (empty shares floored at 1e-4), KS = the
largest distance between the two cumulative shares over the bucket bounds, and the 2 x K
chi-squared statistic of homogeneity with Cohen's w = sqrt(chi2 / N).

State (restart-safe, kept in status like ``twosample``): ln E_T, the number of
informative windows, the bounds and the cumulative per-bucket counts of both versions.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

DEFAULT_CONCENTRATION = 100.0
"""k: the Dirichlet prior's total pseudo-count (savvi's ``Multinomial(k=100)``)."""

SHARE_FLOOR = 1e-4
"""Empty shares are floored here in PSI, so ln(q/p) stays finite."""


def bucket_counts(cumulative: Mapping[float, float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(bounds, per-bucket counts) from a classic histogram's cumulative ``le`` counts.

    Bounds are sorted (``+Inf`` last); counts are differences of consecutive cumulative
    values, clamped at 0 (``increase()`` extrapolation can make them dip) and rounded to
    whole observations (the test is on counts).
    """
    bounds = tuple(sorted(cumulative))
    counts: list[float] = []
    below = 0.0
    for bound in bounds:
        value = max(0.0, cumulative[bound])
        counts.append(float(round(max(0.0, value - below))))
        below = max(below, value)
    return bounds, tuple(counts)


def ln_dirichlet_multinomial(
    counts: ArrayLike, null_shares: ArrayLike, concentration: float = DEFAULT_CONCENTRATION
) -> NDArray[np.float64]:
    """ln BF of counts against H0: shares = null_shares, Dirichlet(k * null_shares) mixture.

    Lindon & Malek (2022): ln B(a0 + x) - ln B(a0) - sum_i x_i ln theta0_i with
    a0 = k theta0 and B the multivariate Beta. Broadcasts over leading axes (the last
    axis is the buckets); buckets with a null share of 0 must have 0 counts and are
    left out. Vectors: V5 (docs/references.md, "Test vectors").
    """
    x = np.asarray(counts, dtype=np.float64)
    theta = np.asarray(null_shares, dtype=np.float64)
    theta, x = np.broadcast_arrays(theta, x)
    used = theta > 0
    safe = np.where(used, theta, 1.0)
    a0 = concentration * safe
    term = special.gammaln(a0 + x) - special.gammaln(a0) - x * np.log(safe)
    per_bucket = np.where(used, term, 0.0)
    total_a0 = np.where(used, a0, 0.0).sum(axis=-1)
    total_x = np.where(used, x, 0.0).sum(axis=-1)
    result: NDArray[np.float64] = (
        per_bucket.sum(axis=-1) - special.gammaln(total_a0 + total_x) + special.gammaln(total_a0)
    )
    return result


def window_ln_e(
    canary: ArrayLike, stable: ArrayLike, concentration: float = DEFAULT_CONCENTRATION
) -> NDArray[np.float64]:
    """One window's ln e-value: the canary's counts against the window's pooled shares.

    Broadcasts over leading axes (runs x looks in a simulation). 0 when either version
    saw nothing or only one bucket is non-empty in the window.
    """
    c = np.asarray(canary, dtype=np.float64)
    s = np.asarray(stable, dtype=np.float64)
    pooled = c + s
    total = pooled.sum(axis=-1, keepdims=True)
    shares = np.where(total > 0, pooled / np.where(total > 0, total, 1.0), 0.0)
    ln_e = ln_dirichlet_multinomial(c, shares, concentration)
    informative = (c.sum(axis=-1) > 0) & (s.sum(axis=-1) > 0) & ((pooled > 0).sum(axis=-1) > 1)
    result: NDArray[np.float64] = np.where(informative, ln_e, 0.0)
    return result


PLUGIN_PSEUDO_COUNT = 1.0
"""Pseudo-count per bucket when the plug-in alternative is estimated from past windows."""


def plugin_tilt(canary: ArrayLike, stable: ArrayLike) -> NDArray[np.float64]:
    """r_j: the canary/stable share ratio per bucket estimated from earlier windows.

    (c_j + a) / (C + K a) over (s_j + a) / (S + K a) with a = 1: predictable (it uses
    only windows before the one it is applied to), 1 everywhere before any data.
    """
    c = np.asarray(canary, dtype=np.float64)
    s = np.asarray(stable, dtype=np.float64)
    a = PLUGIN_PSEUDO_COUNT
    k = c.shape[-1]
    q = (c + a) / (c.sum(axis=-1, keepdims=True) + k * a)
    p = (s + a) / (s.sum(axis=-1, keepdims=True) + k * a)
    result: NDArray[np.float64] = q / p
    return result


def window_ln_e_plugin(
    canary: ArrayLike, stable: ArrayLike, tilt: ArrayLike
) -> NDArray[np.float64]:
    """One window's plug-in ln e-value: prod_j (q_j / p_j)^c_j, q_j ∝ p_j r_j / (rho r_j + 1 - rho).

    p is the window's pooled shares and r the tilt learned from earlier windows
    (``plugin_tilt``). Under Multinomial(C, p) its mean is (sum_j q_j)^C = 1, and it
    is exp-linear in c (convex), so the Hoeffding argument makes it an e-value under
    the hypergeometric null too. It accumulates evidence across windows without the
    per-window prior penalty of the Dirichlet mixture, which matters at low traffic.
    """
    c = np.asarray(canary, dtype=np.float64)
    s = np.asarray(stable, dtype=np.float64)
    r = np.asarray(tilt, dtype=np.float64)
    pooled = c + s
    total = pooled.sum(axis=-1, keepdims=True)
    p = np.where(total > 0, pooled / np.where(total > 0, total, 1.0), 0.0)
    # Pooled shares mix both versions: with canary share rho of the window's observations,
    # p_j = rho pi_c,j + (1 - rho) pi_s,j and pi_c,j = r_j pi_s,j, so the canary's share
    # relative to the pooled one is r_j / (rho r_j + 1 - rho).
    n_c = c.sum(axis=-1, keepdims=True)
    rho = np.where(total > 0, n_c / np.where(total > 0, total, 1.0), 0.0)
    relative = r / (rho * r + 1.0 - rho)
    norm = (p * relative).sum(axis=-1, keepdims=True)
    log_ratio = np.log(relative) - np.log(np.where(norm > 0, norm, 1.0))
    ln_e = np.where(c > 0, c * log_ratio, 0.0).sum(axis=-1)
    informative = (c.sum(axis=-1) > 0) & (s.sum(axis=-1) > 0)
    result: NDArray[np.float64] = np.where(informative, ln_e, 0.0)
    return result


def combined_ln_e(ln_e_mixture: ArrayLike, ln_e_plugin: ArrayLike) -> NDArray[np.float64]:
    """ln(E_DM / 2 + E_PI / 2): the average of two e-processes is one (Ramdas et al. 2023)."""
    result: NDArray[np.float64] = np.logaddexp(
        np.asarray(ln_e_mixture, dtype=np.float64), np.asarray(ln_e_plugin, dtype=np.float64)
    ) - math.log(2.0)
    return result


def _shares(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    total = counts.sum()
    return counts / total if total > 0 else np.zeros_like(counts)


def psi(canary: Sequence[float], stable: Sequence[float]) -> float | None:
    """Population stability index, sum_j (q_j - p_j) ln(q_j / p_j), q canary, p stable.

    Buckets empty in both are left out; an empty share in one is floored at 1e-4.
    None when either version has no observations.
    """
    c, s = np.asarray(canary, dtype=np.float64), np.asarray(stable, dtype=np.float64)
    if c.sum() <= 0 or s.sum() <= 0:
        return None
    keep = (c + s) > 0
    q = np.maximum(_shares(c)[keep], SHARE_FLOOR)
    p = np.maximum(_shares(s)[keep], SHARE_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def ks_distance(canary: Sequence[float], stable: Sequence[float]) -> float | None:
    """max_j |Q_j - P_j| over the bucket bounds: the KS distance of the binned samples."""
    c, s = np.asarray(canary, dtype=np.float64), np.asarray(stable, dtype=np.float64)
    if c.sum() <= 0 or s.sum() <= 0:
        return None
    return float(np.max(np.abs(np.cumsum(_shares(c)) - np.cumsum(_shares(s)))))


def chi_squared(canary: Sequence[float], stable: Sequence[float]) -> float | None:
    """Pearson's chi-squared statistic of homogeneity on the 2 x K table (no correction)."""
    c, s = np.asarray(canary, dtype=np.float64), np.asarray(stable, dtype=np.float64)
    if c.sum() <= 0 or s.sum() <= 0:
        return None
    table = np.vstack([c, s])[:, (c + s) > 0]
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    return float(np.sum((table - expected) ** 2 / expected))


def cohens_w(canary: Sequence[float], stable: Sequence[float]) -> float | None:
    """sqrt(chi2 / N): chi-squared as an effect size that does not grow with N (Cohen 1988)."""
    chi2 = chi_squared(canary, stable)
    if chi2 is None:
        return None
    return math.sqrt(chi2 / (sum(canary) + sum(stable)))


KS_NULL_MEAN = math.sqrt(math.pi / 2.0) * math.log(2.0)
"""E[sup |B(t)|] of a Brownian bridge (0.8687): the KS distance's mean under no shift, scaled."""


def judged(statistic: str, canary: Sequence[float], stable: Sequence[float]) -> float | None:
    """The effect size a decision compares with its threshold: noise-corrected.

    With few observations every effect size is large from sampling noise alone (PSI of
    two samples of 15 and 45 from one distribution averages 1.2 over 8 buckets, far above
    the 0.25 band), so a threshold on the raw value stops protecting small shifts at low
    traffic. Each statistic here is reduced by its mean under "no shift" at these counts:

    * psi: on shares smoothed by half a count per bucket (no 1e-4 floor exploding on
      empty buckets), minus (k - 1)(1/n_c + 1/n_s), the J-divergence's null mean;
    * chi2: Cohen's w from max(0, chi2 - (k - 1)) / N, the statistic's exact null mean;
    * ks: minus 0.8687 sqrt(1/n_c + 1/n_s), the Brownian bridge's mean sup, which binning
      only lowers, so the correction errs towards judging a shift smaller.

    k is the number of buckets with observations in either version; floored at 0.
    None when either version has no observations.
    """
    c, s = np.asarray(canary, dtype=np.float64), np.asarray(stable, dtype=np.float64)
    n_c, n_s = float(c.sum()), float(s.sum())
    if n_c <= 0 or n_s <= 0:
        return None
    keep = (c + s) > 0
    k = int(keep.sum())
    spread = 1.0 / n_c + 1.0 / n_s
    if statistic == "psi":
        q = (c[keep] + 0.5) / (n_c + 0.5 * k)
        p = (s[keep] + 0.5) / (n_s + 0.5 * k)
        return max(0.0, float(np.sum((q - p) * np.log(q / p))) - (k - 1) * spread)
    if statistic == "ks":
        raw = ks_distance(canary, stable)
        assert raw is not None
        return max(0.0, raw - KS_NULL_MEAN * math.sqrt(spread))
    chi2 = chi_squared(canary, stable)
    assert chi2 is not None
    return math.sqrt(max(0.0, chi2 - (k - 1)) / (n_c + n_s))


class DistributionStateDict(TypedDict):
    """``DistributionState`` as stored in status: camelCase keys, full-precision floats."""

    concentration: float
    lnE: float
    lnEPlugin: float
    windows: int
    bounds: list[float]
    canary: list[float]
    stable: list[float]


@dataclass(frozen=True)
class DistributionState:
    """Accumulated evidence of one distribution check for one canary revision."""

    concentration: float = DEFAULT_CONCENTRATION
    ln_e: float = 0.0
    """ln E_DM = sum over informative windows of ln BF_t (Dirichlet mixture)."""
    ln_e_plugin: float = 0.0
    """ln E_PI = sum over informative windows of the plug-in ln e-values."""
    windows: int = 0
    """Informative windows so far."""
    bounds: tuple[float, ...] = ()
    canary: tuple[float, ...] = ()
    """Cumulative canary counts per bucket since the canary started (for effect sizes)."""
    stable: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.concentration) and self.concentration > 0):
            raise ValueError(f"concentration must be positive, got {self.concentration}")
        if len(self.canary) != len(self.bounds) or len(self.stable) != len(self.bounds):
            raise ValueError("bounds, canary and stable must have the same length")
        if not (math.isfinite(self.ln_e) and math.isfinite(self.ln_e_plugin)):
            raise ValueError(f"ln_e must be finite, got {self.ln_e}, {self.ln_e_plugin}")

    @property
    def ln_e_combined(self) -> float:
        """ln(E_DM / 2 + E_PI / 2), the e-process the gate decides on."""
        return float(combined_ln_e(self.ln_e, self.ln_e_plugin))

    @property
    def canary_total(self) -> float:
        return float(sum(self.canary))

    @property
    def stable_total(self) -> float:
        return float(sum(self.stable))

    def to_dict(self) -> DistributionStateDict:
        # +Inf is not JSON: the last bound is always +Inf and is stored as 1e308.
        return DistributionStateDict(
            concentration=self.concentration,
            lnE=self.ln_e,
            lnEPlugin=self.ln_e_plugin,
            windows=self.windows,
            bounds=[b if math.isfinite(b) else 1e308 for b in self.bounds],
            canary=list(self.canary),
            stable=list(self.stable),
        )

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> "DistributionState":
        return cls(
            concentration=float(stored["concentration"]),
            ln_e=float(stored["lnE"]),
            ln_e_plugin=float(stored.get("lnEPlugin", 0.0)),
            windows=int(stored["windows"]),
            bounds=tuple(math.inf if float(b) >= 1e308 else float(b) for b in stored["bounds"]),
            canary=tuple(float(v) for v in stored["canary"]),
            stable=tuple(float(v) for v in stored["stable"]),
        )


def align(
    bounds: tuple[float, ...], counts: Sequence[float], onto: tuple[float, ...]
) -> tuple[float, ...]:
    """Merge per-bucket counts onto coarser bounds (a subset of ``bounds``, +Inf last)."""
    merged: list[float] = []
    index = 0
    for bound in onto:
        total = 0.0
        while index < len(bounds) and bounds[index] <= bound:
            total += counts[index]
            index += 1
        merged.append(total)
    return tuple(merged)


def update(
    state: DistributionState,
    canary: Mapping[float, float] | None,
    stable: Mapping[float, float] | None,
) -> DistributionState:
    """Add one window's cumulative ``le`` counts per version (None = no data).

    Only the bounds both versions export (and the first window's) are used: a canary
    that exports other buckets is compared on the coarser common ones.
    """
    if canary is None or stable is None:
        return state
    bounds = set(canary) & set(stable)
    if state.bounds:
        bounds &= set(state.bounds)
    if not bounds:
        return state
    common = tuple(sorted(bounds))
    c_bounds, c_counts = bucket_counts(canary)
    s_bounds, s_counts = bucket_counts(stable)
    c = align(c_bounds, c_counts, common)
    s = align(s_bounds, s_counts, common)
    old_c = align(state.bounds, state.canary, common) if state.bounds else (0.0,) * len(common)
    old_s = align(state.bounds, state.stable, common) if state.bounds else (0.0,) * len(common)
    ln_bf = float(window_ln_e(c, s, state.concentration))
    ln_plugin = float(window_ln_e_plugin(c, s, plugin_tilt(old_c, old_s)))
    informative = sum(c) > 0 and sum(s) > 0
    return replace(
        state,
        ln_e=state.ln_e + ln_bf,
        ln_e_plugin=state.ln_e_plugin + ln_plugin,
        windows=state.windows + int(informative),
        bounds=common,
        canary=tuple(a + b for a, b in zip(old_c, c, strict=True)),
        stable=tuple(a + b for a, b in zip(old_s, s, strict=True)),
    )


@dataclass(frozen=True)
class Comparison:
    """Two histograms side by side, as ``roost drift`` prints them (b is judged against a)."""

    bounds: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    psi: float | None
    ks: float | None
    chi2: float | None
    cohens_w: float | None
    ln_e: float
    """ln of the one-window conditional e-value (b's counts against the pooled shares)."""

    @property
    def p_value(self) -> float:
        """Its e-value as a p-value bound, min(1, 1/e)."""
        return min(1.0, math.exp(-self.ln_e))

    def statistic(self, name: str) -> float | None:
        return {"psi": self.psi, "ks": self.ks, "chi2": self.cohens_w}[name]


def compare(a: Mapping[float, float], b: Mapping[float, float]) -> Comparison:
    """Effect sizes and the conditional multinomial test of b against a, on common bounds.

    ``a`` and ``b`` are cumulative counts per ``le`` bound. Raises ValueError when the
    two share no bound or either has no observations.
    """
    common = tuple(sorted(set(a) & set(b)))
    if not common:
        raise ValueError("the two histograms share no bucket bound (le)")
    a_bounds, a_counts = bucket_counts(a)
    b_bounds, b_counts = bucket_counts(b)
    x = align(a_bounds, a_counts, common)
    y = align(b_bounds, b_counts, common)
    if sum(x) <= 0 or sum(y) <= 0:
        raise ValueError("a histogram has no observations")
    return Comparison(
        bounds=common,
        a=x,
        b=y,
        psi=psi(y, x),
        ks=ks_distance(y, x),
        chi2=chi_squared(y, x),
        cohens_w=cohens_w(y, x),
        ln_e=float(window_ln_e(y, x)),
    )
