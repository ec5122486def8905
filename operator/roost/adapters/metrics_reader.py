"""Reads analysis windows from Prometheus, one grouped query per SLI for all ModelDeployments.

Each ModelDeployment's timer asks for its own window. The first to ask for a
(Prometheus, window) pair plans one batch for every ModelDeployment the
operator knows that is due for the same window (roost.slo.batch), runs it,
and keeps the answer; the others find it ready. Per tick that is one query per
SLI and count, not one per object. An object that asks while a batch planned
without it is in flight gets a batch of its own, never "not in batch".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from roost.adapters.prometheus import PrometheusClient, QueryResult, QueryStatus, grouped
from roost.analysis.verdict import Measurements
from roost.slo import batch

# Windows older than this many batches are forgotten.
KEEP_WINDOWS = 64


@dataclass(frozen=True)
class DueTarget:
    """A ModelDeployment due for a window on a Prometheus."""

    target: batch.Target
    prometheus: PrometheusClient
    start: datetime
    end: datetime


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


class MetricsReader:
    def __init__(self, due_targets: Callable[[], Iterable[DueTarget]]) -> None:
        self._due_targets = due_targets
        self._batches: dict[
            tuple[str, datetime, datetime], asyncio.Task[dict[str, Measurements]]
        ] = {}
        self.queries_sent = 0

    async def read(self, due: DueTarget) -> Measurements:
        key = (due.prometheus.url, due.start, due.end)
        task = self._batches.get(key)
        if task is None or (task.done() and due.target.key not in task.result()):
            task = self._start(key, due)
        measured = await asyncio.shield(task)
        found = measured.get(due.target.key)
        if found is None:
            # The batch was planned before this object announced the window (another
            # object asked first while this one was due for a different end): ask again
            # with this object in, rather than report it unmeasured. Without this, when
            # queries are slow the same late objects missed every batch of their window
            # and were rolled back at noDataDeadline with data in Prometheus.
            measured = await asyncio.shield(self._start(key, due))
            found = measured.get(due.target.key)
        return found or Measurements(at=due.end, error="not in batch")

    def _start(
        self, key: tuple[str, datetime, datetime], due: DueTarget
    ) -> asyncio.Task[dict[str, Measurements]]:
        task = asyncio.ensure_future(self._run(due))
        self._batches[key] = task
        while len(self._batches) > KEEP_WINDOWS:
            self._batches.pop(next(iter(self._batches)))
        return task

    async def _run(self, asking: DueTarget) -> dict[str, Measurements]:
        same = [
            d.target
            for d in self._due_targets()
            if d.prometheus.url == asking.prometheus.url
            and (d.start, d.end) == (asking.start, asking.end)
            and d.target.key != asking.target.key
        ]
        targets = [asking.target, *same]
        plan = batch.plan(targets, start=asking.start, end=asking.end)
        results = await asking.prometheus.query_many(plan.queries, at=asking.end)
        self.queries_sent += len(plan.queries)
        answers = {query: answer(result, plan.group_by(query)) for query, result in results.items()}
        return plan.measurements(answers)
