"""The batching metrics reader: a ModelDeployment that asks for a window while a
batch planned without it is in flight still gets its measurements.

``FakePrometheus`` stands in for PrometheusClient (answers every query with the same
counts after a delay, and records the queries); the reader and the batch planner are
the real code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from roost.adapters.metrics_reader import DueTarget, MetricsReader
from roost.adapters.prometheus import QueryResult, QueryStatus, Sample
from roost.api.modeldeployment import MetricLabels
from roost.api.slopolicy import SLOPolicySpec
from roost.slo import batch

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

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.batches: list[Sequence[str]] = []

    async def query_many(self, exprs: Sequence[str], *, at: datetime) -> dict[str, QueryResult]:
        self.batches.append(exprs)
        await asyncio.sleep(self.delay_s)
        samples = tuple(
            Sample({"model": model, "version": version}, 100.0)
            for model in ("a", "b")
            for version in ("v1", "v2")
        )
        return {e: QueryResult(e, QueryStatus.OK, samples, None, self.delay_s) for e in exprs}


def _due(model: str, prometheus: FakePrometheus) -> DueTarget:
    target = batch.Target(
        key=f"ns/{model}",
        policy=POLICY,
        metrics=MetricLabels(labels={"model": model}),
        canary_version="v2",
        stable_version="v1",
    )
    return DueTarget(target=target, prometheus=prometheus, start=START, end=END)  # type: ignore[arg-type]


def test_a_target_missing_from_the_batch_in_flight_is_measured_not_dropped() -> None:
    prometheus = FakePrometheus(delay_s=0.05)
    a, b = _due("a", prometheus), _due("b", prometheus)
    announced: list[DueTarget] = [a]  # b has not announced this window yet
    reader = MetricsReader(lambda: announced)

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
    reader = MetricsReader(lambda: [a, b])

    async def both() -> None:
        await asyncio.gather(reader.read(a), reader.read(b))

    asyncio.run(both())
    assert len(prometheus.batches) == 1
