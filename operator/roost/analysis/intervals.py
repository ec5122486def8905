"""An always-valid confidence interval on the canary's burn rate, for display.

It inverts the two-sided beta-binomial mixture of Gate 1 (Howard et al. 2021; the
same construction as ``confseq.boundaries.bernoulli_confidence_interval``):

    C_n = { q : M_n(q) < 1/alpha },   ln M_n(q) = ln B(a+x, b+n-x) - ln B(a, b)
                                                 - x ln q - (n-x) ln(1-q)

with the Gate-1 prior a = a0, b = a0*(1-q)/q for each candidate q. Each
M_n(q) is a test martingale when the bad ratio is q, so by Ville's inequality
P(exists n: p not in C_n) <= alpha: the interval may be looked at every tick.

It is shown, not decided on: verdicts come from the one-sided e-values, whose
thresholds and alpha split differ. Burn rate = bad ratio / eps (SRE Workbook).
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special

from roost.analysis import onesample

# Candidate bad ratios on a logit scale, fine near 0 where SLO allowances live.
_CANDIDATES = special.expit(np.linspace(-27.0, 27.0, 1081))


@dataclass(frozen=True)
class BurnRateInterval:
    """Inputs and the interval [lower, upper] on the burn rate (bad ratio / eps)."""

    n: float
    x: float
    allowed_bad_ratio: float
    alpha: float
    lower: float
    upper: float


def burn_rate_interval(
    n: float,
    x: float,
    *,
    allowed_bad_ratio: float,
    alpha: float = 0.01,
    a0: float = onesample.DEFAULT_PRIOR_BAD,
) -> BurnRateInterval:
    """The hull of {q/eps : M_n(q) < 1/alpha}, found on a logit grid and refined by brentq.

    ``allowed_bad_ratio`` is eps = 1 - SLO target. With no data the interval is
    [0, 1/eps]. A lower end of 0 means rates near zero cannot be excluded yet: with
    a0 = 0.5 a handful of bad requests is never evidence against a tiny rate.
    """
    if not 0 < allowed_bad_ratio < 1:
        raise ValueError(f"allowed_bad_ratio must lie in (0, 1), got {allowed_bad_ratio}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    # Validates the counts and a0 with the same rules as Gate 1.
    onesample.ln_e_two_sided(n, x, 0.5, a0=a0)
    lower, upper = 0.0, 1.0
    if n > 0:
        threshold = math.log(1.0 / alpha)
        # The estimate x/n is always inside: there M_n <= 1 < 1/alpha.
        estimate = min(max(x / n, float(_CANDIDATES[0])), float(_CANDIDATES[-1]))
        candidates = np.unique(np.append(_CANDIDATES, estimate))
        excess = _ln_two_sided_mixture(n, x, candidates, a0) - threshold
        inside = np.flatnonzero(excess < 0)
        first, last = int(inside[0]), int(inside[-1])

        def boundary(q: float) -> float:
            return float(_ln_two_sided_mixture(n, x, np.array([q]), a0)[0]) - threshold

        if first > 0:
            lower = float(optimize.brentq(boundary, candidates[first - 1], candidates[first]))
        if last < len(candidates) - 1:
            upper = float(optimize.brentq(boundary, candidates[last], candidates[last + 1]))
    return BurnRateInterval(
        n=n,
        x=x,
        allowed_bad_ratio=allowed_bad_ratio,
        alpha=alpha,
        lower=lower / allowed_bad_ratio,
        upper=upper / allowed_bad_ratio,
    )


def _ln_two_sided_mixture(
    n: float, x: float, q: NDArray[np.float64], a0: float
) -> NDArray[np.float64]:
    """``onesample.ln_e_two_sided`` vectorized over the candidate bad ratio q."""
    b = a0 * (1.0 - q) / q
    result: NDArray[np.float64] = (
        special.betaln(a0 + x, b + n - x)
        - special.betaln(a0, b)
        - special.xlogy(x, q)
        - special.xlog1py(n - x, -q)
    )
    return result
