"""How close Roost's promotion test is to the limit: requests and time to promote.

For a null H0 "the canary burns at least k times its budget" (k = promotionBurnRate)
and a healthy canary whose true bad ratio is known, three numbers of canary
requests until H0 is rejected at level alpha:

- Wald's bound: no level-alpha sequential test can stop sooner on average than
  ln(1/alpha) / KL(p_true || k·B) (Wald 1945; its expected sample size);
- the known-rate test: Wald's SPRT of k·B against the true ratio, the best any test
  can do knowing the canary's rate in advance; its median over seeded runs;
- Roost: the beta-binomial mixture of ``roost.analysis.onesample`` (what the
  operator runs, which does not know the rate); its median over the same runs.

Both medians come from one stream of requests per run: errors arrive after
geometric gaps, and between errors each test's log e-value grows with every
clean request, so the crossing is found between consecutive errors
(``onesample.requests_to_pass`` for the mixture, a division for the SPRT).

Time: the requests a test needs, at a traffic level, along the B1 spec's steps
(10 / 25 / 50 % with 2 m pauses), each step advancing when its pause is over: the
fastest any rule could promote with those steps. B1's healthy canary is stepped on
the promotion test's own evidence and also waits for its pauses and analysis
windows, so Roost's measured time lies above this line.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from bench.canary import cases
from roost.analysis import onesample

ALPHA = 0.01
AVAILABILITY_BUDGET = 0.001  # B1's 99.9 % availability objective: the binding one
STEPS = ((10, 120.0), (25, 120.0), (50, 120.0))  # (weight %, pause): B1's spec
NULLS = (2.0, 3.0, 5.0)  # promotionBurnRate values shown; 5 is the default


@dataclass(frozen=True)
class Frontier:
    burn_rate: float  # k of H0 "burn >= k"
    true_bad_ratio: float
    wald_bound: float
    known_rate_median: float
    roost_median: float
    runs: int


def _kl(p: float, q: float) -> float:
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def _sprt_requests(gaps: list[int], p0: float, p1: float, threshold: float) -> float:
    """Requests until sum of ln(p1/p0) per bad, ln((1-p1)/(1-p0)) per clean reaches
    ``threshold``; ``gaps`` are the clean requests before each bad one."""
    clean, bad = math.log((1 - p1) / (1 - p0)), math.log(p1 / p0)
    llr, n = 0.0, 0
    for gap in gaps:
        if llr + gap * clean >= threshold:
            return n + math.ceil((threshold - llr) / clean)
        llr += gap * clean + bad
        n += gap + 1
    return math.inf


def _mixture_requests(gaps: list[int], p0: float, threshold: float) -> float:
    n = x = 0
    for gap in gaps:
        more = onesample.requests_to_pass(n, x, p0, threshold, bad_ratio=0.0)
        if more is not None and more <= gap:
            return n + more
        n, x = n + gap + 1, x + 1
    return math.inf


def frontier(
    burn_rate: float,
    *,
    true_bad_ratio: float = cases.STABLE_ERROR_RATE,
    budget: float = AVAILABILITY_BUDGET,
    runs: int = 2000,
    seed: int = 20_261_207,
) -> Frontier:
    p0 = burn_rate * budget
    threshold = math.log(1 / ALPHA)
    rng = np.random.default_rng(seed)
    # Enough gaps that every run crosses: each gap averages 1/p_true clean requests.
    gaps = rng.geometric(true_bad_ratio, size=(runs, 40)) - 1
    sprt, mixture = [], []
    for row in gaps.tolist():
        sprt.append(_sprt_requests(row, p0, true_bad_ratio, threshold))
        mixture.append(_mixture_requests(row, p0, threshold))
    return Frontier(
        burn_rate=burn_rate,
        true_bad_ratio=true_bad_ratio,
        wald_bound=threshold / _kl(true_bad_ratio, p0),
        known_rate_median=statistics.median(sprt),
        roost_median=statistics.median(mixture),
        runs=runs,
    )


def seconds_to_collect(requests: float, rps: float) -> float:
    """Wall time for the canary to see ``requests`` along ``STEPS`` at ``rps``, each step
    advancing at the end of its pause; the last step's pause also has to pass."""
    elapsed, seen = 0.0, 0.0
    for weight, pause in STEPS[:-1]:
        seen += rps * weight / 100 * pause
        elapsed += pause
    weight, pause = STEPS[-1]
    return elapsed + max(pause, max(requests - seen, 0.0) / (rps * weight / 100))


def table(rows: list[Frontier]) -> str:
    out = [
        "| H0: canary burns ≥ | healthy canary's burn | Wald's bound (mean requests) "
        "| known-rate test (median) | Roost's mixture (median) | Roost / known-rate |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for f in rows:
        out.append(
            f"| {f.burn_rate:g} | {f.true_bad_ratio / AVAILABILITY_BUDGET:g} "
            f"| {f.wald_bound:,.0f} | {f.known_rate_median:,.0f} | {f.roost_median:,.0f} "
            f"| {f.roost_median / f.known_rate_median:.2f} |"
        )
    return "\n".join(out)
