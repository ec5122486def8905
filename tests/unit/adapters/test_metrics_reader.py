"""The batching metrics reader: windows shared between ModelDeployments, one batch per
window, and a ModelDeployment that asks while a batch planned without it is in flight
still gets its measurements.

``FakePrometheus`` stands in for PrometheusClient (answers every query with the same
counts after a delay, or fails, and records the queries); the reader and the batch
planner are the real code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from roost.adapters.metrics_reader import DueTarget, MetricsReader
from roost.adapters.prometheus import QueryResult, QueryStatus, Sample
from roost.api.modeldeployment import MetricLabels
from roost.api.slopolicy import SLOPolicySpec
from roost.slo import batch
from roost.slo.readings import Measurements

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
END = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
POLICY = SLOPolicySpec.model_validate(
    {
        "objectives": [
            {
                "name": "availability",
                "target": 0.99,
                "ratio": {"errors": 'preds_total{status="error"}', "total": "preds_total"},
            }
        ]
    }
)


class FakePrometheus:
    url = "http://prometheus.test"

    def __init__(self, delay_s: float, *, fail: bool = False) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.batches: list[Sequence[str]] = []
        self.windows: list[str] = []

    async def query_many(self, exprs: Sequence[str], *, at: datetime) -> dict[str, QueryResult]:
        self.batches.append(exprs)
        self.windows.append(f"{exprs[0].split('[')[1].split(']')[0]} to {at:%M:%S}")
        await asyncio.sleep(self.delay_s)
        if self.fail:
            return {e: QueryResult(e, QueryStatus.ERROR, (), "down", self.delay_s) for e in exprs}
        samples = tuple(
            Sample({"model": model, "version": version, "roost_count": part}, value)
            for model in ("a", "b", "c")
            for version in ("v1", "v2")
            for part, value in (("total", 100.0), ("bad", 1.0))
        )
        return {e: QueryResult(e, QueryStatus.OK, samples, None, self.delay_s) for e in exprs}


def _due(
    model: str,
    prometheus: FakePrometheus,
    start: datetime = START,
    end: datetime = END,
    *,
    interval: float | None = 30.0,
    canary: str = "v2",
) -> DueTarget:
    target = batch.Target(
        key=f"ns/{model}",
        policy=POLICY,
        metrics=MetricLabels(labels={"model": model}),
        canary_version=canary,
        stable_version="v1",
    )
    return DueTarget(
        target=target,
        prometheus=prometheus,  # type: ignore[arg-type]
        start=start,
        end=end,
        interval_seconds=interval,
    )


def _at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def test_a_target_missing_from_the_batch_in_flight_is_measured_not_dropped() -> None:
    prometheus = FakePrometheus(delay_s=0.05)
    a, b = _due("a", prometheus), _due("b", prometheus)
    announced: list[DueTarget] = [a]  # b has not announced this window yet
    reader = MetricsReader(lambda: announced, gather_seconds=0.0)

    async def both() -> tuple[object, object]:
        first = asyncio.ensure_future(reader.read(a))
        await asyncio.sleep(0.01)  # a's batch (without b) is in flight
        second = asyncio.ensure_future(reader.read(b))
        return await first, await second

    measured_a, measured_b = asyncio.run(both())
    assert measured_a.error is None  # type: ignore[attr-defined]
    assert measured_b.error is None  # type: ignore[attr-defined]
    assert measured_b.reading("availability") is not None  # type: ignore[attr-defined]
    assert len(prometheus.batches) == 2  # a's batch, then one with b in it


def test_targets_that_announced_the_window_share_one_batch() -> None:
    prometheus = FakePrometheus(delay_s=0.01)
    a, b = _due("a", prometheus), _due("b", prometheus)
    sent: list[tuple[str, int]] = []
    reader = MetricsReader(lambda: [a, b], on_sent=lambda url, n: sent.append((url, n)))

    async def both() -> None:
        await asyncio.gather(reader.read(a), reader.read(b))

    asyncio.run(both())
    assert len(prometheus.batches) == 1
    # Reported once per batch (roost_prometheus_queries_total): its queries, not per object.
    assert sent == [(prometheus.url, len(prometheus.batches[0]))]
    assert reader.queries_sent == len(prometheus.batches[0])


def test_objects_asking_within_the_gather_time_share_one_batch_unannounced() -> None:
    prometheus = FakePrometheus(delay_s=0.01)
    dues = [_due(m, prometheus, interval=None) for m in ("a", "b", "c")]
    reader = MetricsReader(list, gather_seconds=0.05)  # nobody announced anything

    async def staggered() -> list[Measurements]:
        async def late(due: DueTarget, after: float) -> Measurements:
            await asyncio.sleep(after)
            return await reader.read(due)

        return await asyncio.gather(*(late(d, 0.01 * i) for i, d in enumerate(dues)))

    measured = asyncio.run(staggered())
    assert all(m.error is None for m in measured)
    assert len(prometheus.batches) == 1
    assert reader.queries_sent == 1  # one combined query for the one SLI


def test_a_late_object_reads_its_span_one_shared_window_at_a_time() -> None:
    prometheus = FakePrometheus(delay_s=0.0)
    on_time = [_due(m, prometheus, _at(30 * i), _at(30 * (i + 1))) for i, m in enumerate("ab")]
    reader = MetricsReader(list, gather_seconds=0.0)

    async def scenario() -> Measurements:
        for due in on_time:  # a read 0-30 s, b read 30-60 s as they kept up
            await reader.read(due)
        # c fell behind: its span 0-90 s is three windows, two of them known
        return await reader.read(_due("c", prometheus, _at(0), _at(90)))

    merged = asyncio.run(scenario())
    assert merged.at == _at(90)
    reading = merged.reading("availability")
    assert reading is not None
    assert reading.canary is not None
    assert reading.canary.total == 300.0  # three windows of 100
    # c was not in a's or b's batches (nobody announced it): it asks for each window once,
    # each exactly one interval long, never one query over its whole span
    assert prometheus.windows == [
        "30s to 00:30",
        "30s to 01:00",
        "30s to 00:30",
        "30s to 01:00",
        "30s to 01:30",
    ]


def test_an_announced_late_object_is_answered_by_the_batches_of_those_that_kept_up() -> None:
    prometheus = FakePrometheus(delay_s=0.0)
    late = _due("c", prometheus, _at(0), _at(90))
    reader = MetricsReader(lambda: [late], gather_seconds=0.0)

    async def scenario() -> Measurements:
        await reader.read(_due("a", prometheus, _at(0), _at(30)))
        await reader.read(_due("b", prometheus, _at(30), _at(60)))
        return await reader.read(late)

    merged = asyncio.run(scenario())
    assert merged.error is None
    assert prometheus.windows == ["30s to 00:30", "30s to 01:00", "30s to 01:30"]


def test_a_failed_window_is_not_kept_and_is_asked_again() -> None:
    prometheus = FakePrometheus(delay_s=0.0, fail=True)
    due = _due("a", prometheus)
    reader = MetricsReader(list, gather_seconds=0.0)
    assert asyncio.run(reader.read(due)).error == "availability: down"
    prometheus.fail = False
    assert asyncio.run(reader.read(due)).error is None
    assert len(prometheus.batches) == 2


def test_a_kept_window_is_not_served_for_other_versions() -> None:
    prometheus = FakePrometheus(delay_s=0.0)
    reader = MetricsReader(list, gather_seconds=0.0)
    asyncio.run(reader.read(_due("a", prometheus)))
    asyncio.run(reader.read(_due("a", prometheus)))
    assert len(prometheus.batches) == 1  # the same object, versions and window: kept
    asyncio.run(reader.read(_due("a", prometheus, canary="v3")))
    assert len(prometheus.batches) == 2


def test_an_object_behind_its_interval_is_in_the_batches_of_windows_after_its_span() -> None:
    # c announced (0, 30] at its last tick, then its ticks fell behind the interval: the
    # batches for (0, 30] and for the whole intervals after it, which others read first,
    # include it, so its next tick finds both windows kept and asks for none.
    prometheus = FakePrometheus(delay_s=0.0)
    c = _due("c", prometheus, _at(0), _at(30))
    reader = MetricsReader(lambda: [c], gather_seconds=0.0)

    async def scenario() -> Measurements:
        await reader.read(_due("a", prometheus, _at(0), _at(30)))
        await reader.read(_due("a", prometheus, _at(30), _at(60)))
        return await reader.read(_due("c", prometheus, _at(0), _at(60)))

    merged = asyncio.run(scenario())
    assert merged.error is None
    assert prometheus.windows == ["30s to 00:30", "30s to 01:00"]


def test_a_window_before_the_span_or_off_its_grid_is_not_covered() -> None:
    due = _due("c", FakePrometheus(delay_s=0.0), _at(30), _at(60))
    assert due.covers(_at(30), _at(60))
    assert due.covers(_at(90), _at(120))  # a whole interval after the span
    assert not due.covers(_at(0), _at(30))  # before the span: already read
    assert not due.covers(_at(75), _at(105))  # another grid (an interval of 30 s at 15 s)
    assert not due.covers(_at(60), _at(70))  # not a whole interval
    assert not _due("d", FakePrometheus(delay_s=0.0), interval=None).covers(_at(30), _at(60))
