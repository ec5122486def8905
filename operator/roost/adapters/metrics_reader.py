"""Reads analysis windows from Prometheus, one grouped query per SLI for all ModelDeployments.

Each ModelDeployment's tick asks for the span it has due, (analyzed until, latest
boundary]. The span is read one aligned interval at a time
(:func:`roost.rollout.schedule.split`), so an object that fell behind asks about
the same windows as those that kept up and shares their answers.

Per window, the first object to ask opens a *flight*: for ``gather_seconds`` any
other object asking for the same (Prometheus, window) joins it, then one batch is
planned (roost.slo.batch) for the members and for every object the operator knows
that will ask for the window (:meth:`DueTarget.covers`), and run. Its answers are
kept for later askers. An object that asks once the flight has left, and is not in
it, opens a new one (with only the objects still missing), never gets "not in
batch". Failed measurements are not kept: the next tick asks again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from roost.adapters.prometheus import PrometheusClient, QueryResult, QueryStatus, grouped
from roost.rollout import schedule
from roost.slo import batch
from roost.slo.readings import Measurements

# Windows older than this many are forgotten (an object this far behind asks again).
# An object behind reads at most schedule.MAX_SPLIT windows one by one, so a few more
# than that is enough; no more, because each kept window holds every object's
# measurements: memory grows with KEEP_WINDOWS x N (B3 in docs/benchmarks.md).
KEEP_WINDOWS = 8
# How long a flight waits for others asking for the same window before it queries.
GATHER_SECONDS = 0.05

WindowKey = tuple[str, datetime, datetime]


@dataclass(frozen=True)
class DueTarget:
    """A ModelDeployment due for a span (start, end] on a Prometheus.

    ``interval_seconds`` cuts the span into the aligned windows batches share; None
    reads the span as one window (a budget period, say).
    """

    target: batch.Target
    prometheus: PrometheusClient
    start: datetime
    end: datetime
    interval_seconds: float | None = None

    def windows(self) -> list[tuple[datetime, datetime]]:
        if self.interval_seconds is None:
            return [(self.start, self.end)] if self.end > self.start else []
        return schedule.split(self.start, self.end, self.interval_seconds)

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether this object will ask for the window (start, end]: a window of its
        span, or any whole interval after the span's start. An object reads every
        closed window after ``start`` one by one (:meth:`windows`), whenever its next
        tick comes; an object whose ticks fall behind the interval (a large N) would
        otherwise miss every batch of windows that closed after it announced, and ask
        alone: one query per object and window instead of one per batch."""
        interval = self.interval_seconds
        if interval is None or start < self.start:
            return False
        if end <= self.end:
            return True
        return (end - start).total_seconds() == interval and schedule.floor_to(
            start, interval
        ) == start


def answer(result: QueryResult, group_by: tuple[str, ...]) -> batch.Answer:
    """A query result as the pure planner reads it: values by group key, or an error."""
    if result.status is QueryStatus.ERROR:
        return result.error or "query failed"
    if result.status is QueryStatus.EMPTY:
        return {}
    try:
        return grouped(result, group_by)
    except ValueError as error:  # series that differ only in labels we do not group by
        return str(error)


def _versions(target: batch.Target) -> tuple[str, str]:
    return target.canary_version, target.stable_version


@dataclass
class _Flight:
    """One batch for one window: open while it gathers members, then in flight."""

    members: dict[str, batch.Target]
    open: bool = True
    task: asyncio.Task[dict[str, Measurements]] | None = field(default=None)


class MetricsReader:
    def __init__(
        self,
        due_targets: Callable[[], Iterable[DueTarget]],
        *,
        gather_seconds: float = GATHER_SECONDS,
        on_sent: Callable[[str, int], None] | None = None,
    ) -> None:
        """``on_sent(prometheus_url, queries)`` is called after each batch is asked."""
        self._due_targets = due_targets
        self._gather_seconds = gather_seconds
        self._on_sent = on_sent
        # Per window, each object's measurements and the (canary, stable) they are of.
        self._kept: dict[WindowKey, dict[str, tuple[tuple[str, str], Measurements]]] = {}
        self._flights: dict[WindowKey, list[_Flight]] = {}
        self.queries_sent = 0
        self.batches_sent = 0

    async def read(self, due: DueTarget) -> Measurements:
        """The due span's measurements: its windows read (or found) one by one, summed."""
        windows = due.windows()
        if not windows:
            return Measurements(at=due.end, error="empty window")
        parts: list[Measurements] = []
        for start, end in windows:
            measured = await self._read_window(due, start, end)
            parts.append(measured)
            if measured.error is not None:
                break
        merged = batch.merge(parts)
        return Measurements(
            at=due.end,
            readings=merged.readings,
            histograms=merged.histograms,
            error=merged.error,
            start=due.start,
        )

    async def _read_window(self, due: DueTarget, start: datetime, end: datetime) -> Measurements:
        key: WindowKey = (due.prometheus.url, start, end)
        name = due.target.key
        kept = self._kept.get(key, {}).get(name)
        if kept is not None and kept[0] == _versions(due.target):
            return kept[1]
        flight = next((f for f in self._flights.get(key, ()) if f.open or name in f.members), None)
        if flight is None:
            flight = self._launch(key, due)
        flight.members.setdefault(name, due.target)
        assert flight.task is not None
        measured = await asyncio.shield(flight.task)
        return measured.get(name) or Measurements(at=end, error="not in batch")

    def _launch(self, key: WindowKey, due: DueTarget) -> _Flight:
        flight = _Flight(members={due.target.key: due.target})
        flight.task = asyncio.ensure_future(self._fly(key, flight, due.prometheus))
        self._flights.setdefault(key, []).append(flight)
        return flight

    async def _fly(
        self, key: WindowKey, flight: _Flight, prometheus: PrometheusClient
    ) -> dict[str, Measurements]:
        url, start, end = key
        try:
            if self._gather_seconds > 0:
                await asyncio.sleep(self._gather_seconds)
            flight.open = False
            kept = self._kept.get(key, {})
            for d in self._due_targets():
                name = d.target.key
                if (
                    d.prometheus.url == url
                    and d.covers(start, end)
                    and name not in kept
                    and name not in flight.members
                ):
                    flight.members[name] = d.target
            plan = batch.plan(list(flight.members.values()), start=start, end=end)
            results = await prometheus.query_many(plan.queries, at=end)
            self.queries_sent += len(plan.queries)
            self.batches_sent += 1
            if self._on_sent is not None:
                self._on_sent(url, len(plan.queries))
            answers = {q: answer(result, plan.group_by(q)) for q, result in results.items()}
            measured = plan.measurements(answers)
            good = {
                name: (_versions(flight.members[name]), m)
                for name, m in measured.items()
                if m.error is None
            }
            if good:
                self._kept.setdefault(key, {}).update(good)
                while len(self._kept) > KEEP_WINDOWS:
                    self._kept.pop(next(iter(self._kept)))
            return measured
        finally:
            flight.open = False
            flights = self._flights.get(key, [])
            if flight in flights:
                flights.remove(flight)
            if not flights:
                self._flights.pop(key, None)
