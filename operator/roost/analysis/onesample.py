"""Gate 1: one-sample beta-binomial mixture e-values on a canary's bad ratio.

The canary's requests are Bernoulli trials, "bad" with probability p_t that may
change from tick to tick. Two one-sided nulls are tested against a threshold p:

- fail-null H0_F: p_t <= p at every tick (canary burns at most k_F, p = k_F*eps);
- pass-null H0_P: p_t >= p at every tick (canary burns at least k_P, p = k_P*eps).

Each e-value is a Robbins (1970) mixture of likelihood ratios over a Beta(a, b)
prior with mean p, a = a0 and b = a0*(1 - p)/p, truncated to q > p (fail) or
q < p (pass). It equals the one-sided beta-binomial mixture of Howard, Ramdas,
McAuliffe & Sekhon (2021, Annals of Statistics 49(2)) with g = p, h = 1 - p.
docs/decisions.md ("The canary gate") explains the tests; vectors V1 and V2
(docs/references.md) check them.

Truncation is what makes the composite null safe: every likelihood-ratio factor
with q > p has conditional mean <= 1 whenever p_t <= p, so the mixture is
a test supermartingale under the whole fail-null, including time-varying p_t,
and Ville's inequality bounds P(ever E >= 1/alpha) by alpha.

The statistic depends only on the cumulative counts (n, x) since the canary
started, so it is restart-safe: two counters in status are the whole state.
Counts may be real-valued (e.g. from PromQL ``increase()``): every formula is
continuous in (n, x).

Latency needs nothing special: pass the "slow" counts, ``total - bucket{le=T}``
with T an exact bucket boundary, as x and the latency allowance as eps.
"""

import math
from functools import lru_cache

from scipy import optimize, special

DEFAULT_PRIOR_BAD = 0.5
"""a0, the prior's pseudo-count of bad requests: puts the tightest boundary near
a few thousand requests at p = 0.002, where a canary's evidence lies."""

# Below this a regularized incomplete beta from scipy is subnormal or zero, and
# its log is recomputed from the continued fraction instead of returning -inf.
_SCIPY_TAIL_FLOOR = 1e-280
_CF_MAX_ITERATIONS = 10_000
_CF_TOLERANCE = 1e-15
_CF_TINY = 1e-300


def ln_e_fail(n: float, x: float, p: float, *, a0: float = DEFAULT_PRIOR_BAD) -> float:
    """ln E_F: evidence that the canary's bad ratio exceeds p (H0_F: p_t <= p).

    With a = a0, b = a0*(1 - p)/p (Howard et al. 2021, one-sided beta-binomial):

        ln E_F = ln B(a+x, b+n-x) - ln B(a, b)
               + ln Q_p(a+x, b+n-x) - ln Q_p(a, b)
               - x*ln p - (n-x)*ln(1-p)

    where Q_p = 1 - I_p is the upper tail of the regularized incomplete beta.
    FAIL when ln E_F >= ln(1/alpha_i). Returns 0.0 for n = 0 (no data, E = 1);
    fewer than about 5 bad requests can never reach E_F = 400, whatever n.
    For latency, n and x are total and slow (total - bucket{le=T}) requests.
    """
    return _ln_e_one_sided(n, x, p, a0=a0, upper=True)


def ln_e_pass(n: float, x: float, p: float, *, a0: float = DEFAULT_PRIOR_BAD) -> float:
    """ln E_P: evidence that the canary's bad ratio is below p (H0_P: p_t >= p).

    With a = a0, b = a0*(1 - p)/p (Howard et al. 2021, one-sided beta-binomial):

        ln E_P = ln B(a+x, b+n-x) - ln B(a, b)
               + ln I_p(a+x, b+n-x) - ln I_p(a, b)
               - x*ln p - (n-x)*ln(1-p)

    PASS when ln E_P >= ln(1/beta). Returns 0.0 for n = 0 (no data, E = 1).
    At p = 0.002 the first clean n to reach E_P = 100 is 2,730 (vector V1).
    For latency, n and x are total and slow (total - bucket{le=T}) requests.
    """
    return _ln_e_one_sided(n, x, p, a0=a0, upper=False)


def ln_e_two_sided(n: float, x: float, p: float, *, a0: float = DEFAULT_PRIOR_BAD) -> float:
    """ln M_n(p): the untruncated beta-binomial mixture against the point null p_t = p.

        ln M = ln B(a+x, b+n-x) - ln B(a, b) - x*ln p - (n-x)*ln(1-p)

    with a = a0, b = a0*(1 - p)/p (Howard et al. 2021). It satisfies
    M = E_F*Q_p(a, b) + E_P*I_p(a, b) (the two truncations split the prior); inverting it over p
    gives the always-valid burn-rate interval in ``roost.analysis.intervals``.
    """
    _check_counts(n, x, p, a0)
    if n == 0:
        return 0.0
    a, b = _prior(p, a0)
    return _ln_mixture_likelihood_ratio(n, x, p, a, b)


def ln_regularized_beta(z: float, a: float, b: float, *, upper: bool) -> float:
    """ln I_z(a, b) (lower tail) or ln Q_z(a, b) = ln(1 - I_z(a, b)) (upper tail).

    Uses scipy's ``betainc``/``betaincc``; a tail close to 1 goes through log1p of
    its complement, and a tail that scipy underflows (< 1e-280) is recomputed in
    log space from the continued fraction of Numerical Recipes, section 6.4 (modified
    Lentz), so that long clean runs give a finite, accurate ln E rather than
    -inf. Returns -inf only if even that underflows.
    """
    tail, other = (
        (special.betaincc, special.betainc) if upper else (special.betainc, special.betaincc)
    )
    value = float(tail(a, b, z))
    if value > 0.5:
        return math.log1p(-float(other(a, b, z)))  # the complement only when it is used
    if value > _SCIPY_TAIL_FLOOR:
        return math.log(value)
    # Q_z(a, b) = I_{1-z}(b, a): the continued fraction always runs on a lower tail.
    if upper:
        return _ln_lower_tail_continued_fraction(b, a, math.log1p(-z), math.log(z), 1.0 - z)
    return _ln_lower_tail_continued_fraction(a, b, math.log(z), math.log1p(-z), z)


def _ln_e_one_sided(n: float, x: float, p: float, *, a0: float, upper: bool) -> float:
    _check_counts(n, x, p, a0)
    if n == 0:
        return 0.0
    a, b = _prior(p, a0)
    posterior_tail = ln_regularized_beta(p, a + x, b + n - x, upper=upper)
    if posterior_tail == -math.inf:
        # No posterior mass on this side: no evidence for it.
        return -math.inf
    prior_tail = _prior_tail(p, a, b, upper)
    return _ln_mixture_likelihood_ratio(n, x, p, a, b) + posterior_tail - prior_tail


@lru_cache(maxsize=256)
def _prior_tail(p: float, a: float, b: float, upper: bool) -> float:
    """The prior's tail at p: the same for every window of an objective, so computed once."""
    return ln_regularized_beta(p, a, b, upper=upper)


def _ln_mixture_likelihood_ratio(n: float, x: float, p: float, a: float, b: float) -> float:
    # xlogy/xlog1py make 0*ln(.) exactly 0 and keep ln(1-p) accurate for small p.
    return float(
        special.betaln(a + x, b + n - x)
        - special.betaln(a, b)
        - special.xlogy(x, p)
        - special.xlog1py(n - x, -p)
    )


def _prior(p: float, a0: float) -> tuple[float, float]:
    """Beta(a, b) with mean p and a0 pseudo-bad requests."""
    return a0, a0 * (1.0 - p) / p


def _check_counts(n: float, x: float, p: float, a0: float) -> None:
    if not (math.isfinite(n) and math.isfinite(x)):
        raise ValueError(f"counts must be finite, got n={n}, x={x}")
    if not 0 <= x <= n:
        raise ValueError(f"need 0 <= bad <= requests, got n={n}, x={x}")
    if not 0 < p < 1:
        raise ValueError(f"the bad-ratio threshold must lie in (0, 1), got p={p}")
    if not (math.isfinite(a0) and a0 > 0):
        raise ValueError(f"the prior pseudo-count a0 must be positive, got a0={a0}")


def _ln_lower_tail_continued_fraction(
    a: float, b: float, ln_z: float, ln_1mz: float, z: float
) -> float:
    """ln I_z(a, b) = a ln z + b ln(1-z) - ln a - ln B(a, b) + ln cf(a, b, z).

    The continued fraction converges fast for z < (a+1)/(a+b+2), which is where a
    tail small enough to underflow lies (Numerical Recipes, 3rd ed., section 6.4).
    """
    if z >= (a + 1.0) / (a + b + 2.0):
        return -math.inf  # not a far tail: scipy's zero is not an underflow we can mend
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * z / qap
    d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
    fraction = d
    for m in range(1, _CF_MAX_ITERATIONS + 1):
        m2 = 2 * m
        for coefficient in (
            m * (b - m) * z / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * z / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + coefficient * d
            d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
            c = 1.0 + coefficient / c
            c = c if abs(c) > _CF_TINY else _CF_TINY
            fraction *= d * c
        if abs(d * c - 1.0) < _CF_TOLERANCE:
            break
    if not fraction > 0:
        return -math.inf
    return float(a * ln_z + b * ln_1mz - math.log(a) - special.betaln(a, b) + math.log(fraction))


# A forecast of more than this many requests is reported as unreachable.
_MAX_FORECAST_REQUESTS = 1e10


def requests_to_pass(
    n: float,
    x: float,
    p: float,
    ln_threshold: float,
    *,
    bad_ratio: float,
    a0: float = DEFAULT_PRIOR_BAD,
) -> float | None:
    """More requests m until ln E_P(n + m, x + m·bad_ratio) reaches ``ln_threshold``.

    A forecast, not a test: it assumes each further request is bad with probability
    ``bad_ratio`` and adds its expectation. Returns 0.0 when the test already passes and
    None when it cannot pass at that ratio (``bad_ratio >= p``, or more than 1e10
    requests). Each request moves ln E_P by about KL(bad_ratio || p) once the prior is
    paid for, so the root is bracketed from that guess and found by Brent's method to a
    relative 1e-2 (a forecast needs no more): about ten evaluations of ln E_P.
    """
    _check_counts(n, x, p, a0)
    if not 0 <= bad_ratio < 1:
        raise ValueError(f"the bad ratio must lie in [0, 1), got {bad_ratio}")
    short = ln_threshold - ln_e_pass(n, x, p, a0=a0)
    if short <= 0:
        return 0.0
    if bad_ratio >= p:
        return None

    def gap(m: float) -> float:
        return ln_e_pass(n + m, x + m * bad_ratio, p, a0=a0) - ln_threshold

    drift = float(special.rel_entr(bad_ratio, p) + special.rel_entr(1.0 - bad_ratio, 1.0 - p))
    low, high = 0.0, max(short / drift, 8.0)
    while gap(high) < 0:
        low, high = high, high * 2.0
        if high > _MAX_FORECAST_REQUESTS:
            return None
    if low == 0.0:
        low = high / 2.0
        while low > 1.0 and gap(low) >= 0:
            high, low = low, low / 2.0
        if gap(low) >= 0:
            return low
    return float(optimize.brentq(gap, low, high, rtol=1e-2))
