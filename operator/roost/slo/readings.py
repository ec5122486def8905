"""What Prometheus said about one analysis window, as plain data.

The types every layer of the core reads: ``roost.slo`` builds them from query answers
(``batch``), ``roost.analysis`` judges them (``verdict``), ``roost.simulation`` and the
benchmarks make them from simulated traffic. They hold numbers and timestamps only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Counts:
    total: float
    bad: float

    @property
    def ratio(self) -> float:
        """Bad share; NaN when there was no traffic."""
        return math.nan if self.total <= 0 else self.bad / self.total


@dataclass(frozen=True, slots=True)
class SLIReading:
    """Counts of one objective's SLI in one analysis window, per version; None = no data.

    Windows never overlap: each request is counted in exactly one window, so
    evidence is not inflated: ``increase(x[5m])`` read every 30 s would count each
    request about ten times (docs/decisions.md, "The canary gate").
    """

    objective: str
    canary: Counts | None
    stable: Counts | None


@dataclass(frozen=True, slots=True)
class HistogramReading:
    """One distribution check's histogram in one window: cumulative count per ``le``.

    Keys are bucket upper bounds (``math.inf`` for ``+Inf``), values the window's
    ``increase`` of ``<histogram>_bucket``; None = no data for that version.
    """

    name: str
    canary: Mapping[float, float] | None
    stable: Mapping[float, float] | None


@dataclass(frozen=True, slots=True)
class Measurements:
    """What Prometheus said about the window (``start``, ``at``]; ``error`` when it could not.

    ``start`` is None when the caller does not know it; the canary's request rate (and so
    the promotion forecast) is then left out.
    """

    at: datetime
    readings: tuple[SLIReading, ...] = ()
    error: str | None = None
    histograms: tuple[HistogramReading, ...] = ()
    start: datetime | None = None

    @property
    def seconds(self) -> float:
        return 0.0 if self.start is None else max((self.at - self.start).total_seconds(), 0.0)

    def reading(self, objective: str) -> SLIReading | None:
        return next((r for r in self.readings if r.objective == objective), None)

    def histogram(self, name: str) -> HistogramReading | None:
        return next((h for h in self.histograms if h.name == name), None)
