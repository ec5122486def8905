"""The service time and its coefficient of variation, learned from a latency histogram.

A Prometheus histogram gives, over a window, the requests counted (``_count``), the
seconds they took in all (``_sum``) and how many took at most each bucket bound
(``_bucket{le=...}``, cumulative). The mean is exact: ``_sum / _count``. The CV is
the one parameter left of a distribution with that mean, fitted to the bucket counts
by maximum likelihood (the counts are multinomial over the buckets, the durations
interval-censored by them). Two families are fitted, gamma and lognormal, the usual
shapes of inference times; the one that fits the counts better gives the CV, and the
95 % profile-likelihood interval of its CV (the values whose log-likelihood is within
chi2(1, 0.95)/2 of the best) tells how well the buckets pin it down.

Neither family may fit: a mixture of fast and slow requests, say. The fit is then
refused, and no CV learned, when the counted and the fitted share of requests at
some bucket bound differ by more than ``MISFIT_GAP + MISFIT_KS / sqrt(n)`` (a margin
plus the Kolmogorov-Smirnov 99 % critical value for ``n`` requests): 20 % of requests
three times slower than the rest (CV 0.61) fits at 0.45 and is refused at every ``n``;
a Weibull of CV 0.3, fitted at 0.36 (on the side of more replicas), is kept.

Spreading each bucket's requests uniformly over it instead (the textbook moment
estimate) invents a spread the service does not have wherever the bounds are far
apart: with Prometheus' default buckets it reads 0.89 for a CV of 0.3 at 100 ms.
docs/capacity.md ("Learning the service time") gives the fit's accuracy, and its
bias: a request's duration includes any wait inside the server, so the learned time
is at least the service time, an error on the side of more replicas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

# The window learned over, and how often it is learned again: an hour of the stable
# version's requests follows a new model within the hour, and changes slowly enough
# that asking every five minutes costs one query per object per 300 s.
LEARN_WINDOW_SECONDS = 3600.0
LEARN_EVERY_SECONDS = 300.0
# Fewer requests than this in the window: nothing is learned (the mean of 200
# exponential service times is within +-14 % of the true mean 95 % of the time).
MIN_REQUESTS = 200.0
# The CVs the fit searches, as the API bounds autoscaling.serviceTimeCv above.
MIN_CV, MAX_CV = 0.02, 4.0
# Half the 95 % quantile of chi-squared with one degree of freedom.
PROFILE_DROP = 0.5 * 3.841458820694124
# The largest gap allowed between the counted and the fitted share of requests at a
# bucket bound: this margin plus MISFIT_KS / sqrt(requests).
MISFIT_GAP = 0.05
MISFIT_KS = 1.628  # Kolmogorov-Smirnov's 99 % critical value, times sqrt(n)


@dataclass(frozen=True)
class HistogramWindow:
    """One window of a histogram: increases over it, summed over the series selected."""

    count: float
    total_seconds: float
    # (upper bound, cumulative count); +Inf may be one of them.
    buckets: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class ServiceTimeEstimate:
    mean_seconds: float
    requests: float
    # The CV's maximum-likelihood value and its 95 % profile interval; None when the
    # histogram has no finite bucket bound to fit to.
    cv: float | None = None
    cv_low: float | None = None
    cv_high: float | None = None
    family: str | None = None  # "gamma" or "lognormal", the better fit
    # Why no CV was learned although there are buckets: neither family fits them.
    misfit: str | None = None


@dataclass(frozen=True)
class Learned:
    """What learning found for one ModelDeployment: an estimate, or why there is none."""

    window: str  # the window learned over, as Prometheus writes durations
    estimate: ServiceTimeEstimate | None = None
    note: str | None = None


def estimate(window: HistogramWindow) -> ServiceTimeEstimate | None:
    """The mean duration and its CV over ``window``; None with too few requests."""
    count, total = window.count, window.total_seconds
    if not (math.isfinite(count) and math.isfinite(total)) or count < MIN_REQUESTS:
        return None
    if total <= 0:
        return None
    mean = total / count
    fitted = _fit_cv(window, mean)
    if fitted is None:
        return ServiceTimeEstimate(mean_seconds=mean, requests=count)
    cv, low, high, family, gap = fitted
    allowed = MISFIT_GAP + MISFIT_KS / math.sqrt(count)
    if gap > allowed:
        return ServiceTimeEstimate(
            mean_seconds=mean,
            requests=count,
            family=family,
            misfit=f"the buckets fit neither a gamma nor a lognormal distribution (the "
            f"{family} fit, CV {cv:.2f}, misses the counted share of requests at a bucket "
            f"bound by {gap:.2f}, more than {allowed:.2f}): the CV is not learned",
        )
    return ServiceTimeEstimate(
        mean_seconds=mean, requests=count, cv=cv, cv_low=low, cv_high=high, family=family
    )


def _bucket_counts(window: HistogramWindow) -> tuple[np.ndarray, np.ndarray] | None:
    """Finite upper bounds and the requests in each bucket, the last one above them."""
    finite = sorted(
        (le, c) for le, c in window.buckets if math.isfinite(le) and math.isfinite(c) and le > 0
    )
    if not finite:
        return None
    bounds = np.array([le for le, _ in finite])
    # Counters read a moment apart can dip by a request; cumulative counts never fall.
    cumulative = np.maximum.accumulate(np.array([c for _, c in finite]))
    cumulative = np.minimum(cumulative, window.count)
    counts = np.diff(np.concatenate(([0.0], cumulative, [window.count])))
    return bounds, np.maximum(counts, 0.0)


def _cdf(cv: float, family: str, mean: float, bounds: np.ndarray) -> np.ndarray:
    """The share of requests at most each bound, for the family of this mean and CV."""
    if family == "gamma":
        shape = 1.0 / (cv * cv)
        return np.asarray(special.gammainc(shape, bounds * shape / mean))
    s2 = math.log1p(cv * cv)
    mu = math.log(mean) - s2 / 2.0
    return np.asarray(0.5 * special.erfc(-(np.log(bounds) - mu) / math.sqrt(2.0 * s2)))


def _log_likelihood(
    cv: float, family: str, mean: float, bounds: np.ndarray, counts: np.ndarray
) -> float:
    cdf = _cdf(cv, family, mean, bounds)
    p = np.diff(np.concatenate(([0.0], cdf, [1.0])))
    p = np.maximum(p, 1e-300)
    return float(np.dot(counts, np.log(p)))


def _fit_cv(window: HistogramWindow, mean: float) -> tuple[float, float, float, str, float] | None:
    """(CV, its 95 % interval's ends, the family, the largest gap between the counted
    and the fitted share of requests at a bound); None without a finite bound."""
    found = _bucket_counts(window)
    if found is None:
        return None
    bounds, counts = found
    lo, hi = math.log(MIN_CV), math.log(MAX_CV)
    best: tuple[float, float, str] | None = None
    for family in ("gamma", "lognormal"):

        def negative(log_cv: float, family: str = family) -> float:
            return -_log_likelihood(math.exp(log_cv), family, mean, bounds, counts)

        found_min = optimize.minimize_scalar(
            negative, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4}
        )
        value = -float(found_min.fun)
        if best is None or value > best[1]:
            best = (float(found_min.x), value, family)
    assert best is not None
    log_cv, peak, family = best

    def above_cut(log_cv: float) -> float:
        return _log_likelihood(math.exp(log_cv), family, mean, bounds, counts) - (
            peak - PROFILE_DROP
        )

    low = lo if above_cut(lo) >= 0 else optimize.brentq(above_cut, lo, log_cv, xtol=1e-4)
    high = hi if above_cut(hi) >= 0 else optimize.brentq(above_cut, log_cv, hi, xtol=1e-4)
    counted = np.cumsum(counts)[:-1] / window.count
    gap = float(np.max(np.abs(counted - _cdf(math.exp(log_cv), family, mean, bounds))))
    return math.exp(log_cv), math.exp(low), math.exp(high), family, gap


def rounded(value: float, digits: int = 2) -> float:
    """``value`` to ``digits`` significant digits: a learned value that moves by less
    leaves the plan, and the HPA written from it, unchanged."""
    if value <= 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(value)))


def learned(by_le: dict[str, float], window: str, *, sum_key: str = "sum") -> Learned:
    """What one answer by ``le`` teaches (see :func:`histogram_window`), or why nothing."""
    found = histogram_window(by_le, sum_key)
    if found is None:
        return Learned(
            window=window, note="no classic histogram buckets with requests in " + window
        )
    estimated = estimate(found)
    if estimated is None:
        return Learned(
            window=window,
            note=f"{found.count:.0f} requests in {window}; learning needs {MIN_REQUESTS:.0f}",
        )
    return Learned(window=window, estimate=estimated)


def histogram_window(by_le: dict[str, float], sum_key: str = "sum") -> HistogramWindow | None:
    """A window from one query's answer by ``le`` (roost.slo.promql.service_time_query):
    the buckets' increases by bound, ``+Inf`` the count, ``sum_key`` the ``_sum``. None
    without a count or a sum (no classic buckets: a native histogram, or no series)."""
    count = by_le.get("+Inf")
    total = by_le.get(sum_key)
    if count is None or total is None:
        return None
    buckets = []
    for le, value in by_le.items():
        if le == sum_key:
            continue
        try:
            bound = float(le)
        except ValueError:
            continue
        buckets.append((bound, value))
    return HistogramWindow(count=count, total_seconds=total, buckets=buckets)
