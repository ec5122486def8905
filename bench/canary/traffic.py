"""Seeded per-10-second traffic for the re-implemented peers (vectorised per advance)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from bench.canary.cases import MEDIAN_SECONDS, Case

BIN_SECONDS = 10.0


class Bins:
    """Canary requests and errors per 10 s bin; windows are sums of whole bins."""

    def __init__(self, case: Case, rng: np.random.Generator) -> None:
        self.case = case
        self.rng = rng
        self.now = 0.0
        self.ends: list[float] = []
        self.requests: list[int] = []
        self.errors: list[int] = []

    def advance(self, until: float, weight: Callable[[float], int] | int) -> None:
        """Draw the bins in (now, until] with the weight in force at each bin's start."""
        count = round((until - self.now) / BIN_SECONDS)
        if count <= 0:
            return
        starts = self.now + BIN_SECONDS * np.arange(count)
        if isinstance(weight, int):
            weights = np.full(count, weight / 100.0)
        else:
            weights = np.array([weight(float(s)) for s in starts]) / 100.0
        arrivals = self.rng.poisson(self.case.rps * BIN_SECONDS, size=count)
        canary = self.rng.binomial(arrivals, weights)
        errors = self.rng.binomial(canary, self.case.canary_error_rate)
        self.ends.extend((starts + BIN_SECONDS).tolist())
        self.requests.extend(canary.tolist())
        self.errors.extend(errors.tolist())
        self.now = float(starts[-1] + BIN_SECONDS)

    def window(self, end: float, seconds: float) -> tuple[int, int]:
        """(canary requests, canary errors) over (end - seconds, end]."""
        n = round(seconds / BIN_SECONDS)
        last = round(end / BIN_SECONDS)
        first = max(0, last - n)
        return sum(self.requests[first:last]), sum(self.errors[first:last])

    def p99(self, n: int) -> float | None:
        """The empirical p99 of ``n`` log-normal latencies, drawn by its order statistic."""
        if n <= 0:
            return None
        k = math.ceil(0.99 * n)
        u = float(self.rng.beta(k, n - k + 1))
        return math.exp(math.log(MEDIAN_SECONDS) + self.case.sigma * float(special.ndtri(u)))

    @property
    def canary_requests(self) -> int:
        return sum(self.requests)
