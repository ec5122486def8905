"""How well roost.capacity.learn recovers a service time's CV from histogram buckets.

Seeded draws from four distributions of mean 100 ms, bucketed at Prometheus' default
bounds (5 ms ... 10 s), through ``learn.estimate`` as the operator calls it: per row,
the median fitted CV, the 2.5-97.5 % range of the fits over the seeds, how often the
95 % profile interval covers the true CV, and how often the fit was refused (neither
family fits). Prints a Markdown table for docs/capacity.md.

    python -m bench.autoscale.learn_accuracy [--seeds 40]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from roost.capacity import learn

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MEAN = 0.1

Draw = Callable[[np.random.Generator, float, int], np.ndarray]


def gamma(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    shape = 1 / cv**2
    return rng.gamma(shape, MEAN / shape, size=n)


def lognormal(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    s2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(MEAN) - s2 / 2, math.sqrt(s2), size=n)


def weibull(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    def cv_of(k: float) -> float:
        return math.sqrt(special.gamma(1 + 2 / k) / special.gamma(1 + 1 / k) ** 2 - 1) - cv

    k = optimize.brentq(cv_of, 0.2, 50)
    return MEAN / special.gamma(1 + 1 / k) * rng.weibull(k, size=n)


def mixture(rng: np.random.Generator, cv: float, n: int) -> np.ndarray:
    """80 % fast and 20 % three times slower, each gamma of CV 0.2 (``cv`` unused)."""
    fast = rng.gamma(25, 1 / 25, size=n)
    x = np.where(rng.random(n) < 0.2, 3 * fast, fast)
    return x * MEAN / x.mean()


CASES: list[tuple[str, Draw, float | None]] = [
    *[("gamma", gamma, cv) for cv in (0.3, 0.5, 1.0)],
    *[("lognormal", lognormal, cv) for cv in (0.3, 0.5, 1.0)],
    *[("Weibull", weibull, cv) for cv in (0.3, 0.5, 1.0)],
    ("80/20 mixture", mixture, None),
]


def window(draws: np.ndarray) -> learn.HistogramWindow:
    buckets = [(b, float((draws <= b).sum())) for b in BOUNDS] + [(math.inf, float(len(draws)))]
    return learn.HistogramWindow(
        count=float(len(draws)), total_seconds=float(draws.sum()), buckets=buckets
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args(argv)
    print(
        "| distribution | true CV | requests | fitted CV, median (2.5-97.5 %) "
        "| interval covers | refused |"
    )
    print("|---|---|---|---|---|---|")
    for name, draw, cv in CASES:
        for n in (200, 2000, 20000):
            fits, truths, covered, refused = [], [], 0, 0
            for seed in range(args.seeds):
                draws = draw(np.random.default_rng(seed), cv or 0.0, n)
                truth = cv if cv is not None else float(draws.std() / draws.mean())
                truths.append(truth)
                found = learn.estimate(window(draws))
                if found is None or found.cv is None:
                    refused += 1
                    continue
                fits.append(found.cv)
                assert found.cv_low is not None
                assert found.cv_high is not None
                covered += found.cv_low <= truth <= found.cv_high
            fitted = (
                f"{np.median(fits):.2f} ({np.percentile(fits, 2.5):.2f}-"
                f"{np.percentile(fits, 97.5):.2f})"
                if fits
                else "-"
            )
            print(
                f"| {name} | {np.mean(truths):.2f} | {n:,} | {fitted} | "
                f"{covered}/{len(fits)} | {refused}/{args.seeds} |"
            )


if __name__ == "__main__":
    main()
