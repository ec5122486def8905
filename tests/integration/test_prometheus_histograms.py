"""Classic and native histograms in both Prometheus flavours (Debian's 2.42 and
Prometheus 3): how each spells ``le``, the bucket preflight on what it holds, the
latency SLI's counts through the adapter, a native histogram named as such, and the
service time and its CV learned from what Prometheus holds.

The exporter is a loopback server of Prometheus text whose bucket bounds are written
``0.25`` and ``1`` (Prometheus 3 stores the latter as ``1.0``); each scrape adds ten
requests, one of them slower than 1 s.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from harness.prometheus import PrometheusServer, ScrapeTarget
from roost import selectors
from roost.adapters.prometheus import PrometheusClient, QueryStatus
from roost.api.slopolicy import SLOPolicySpec
from roost.capacity import learn
from roost.slo import preflight, promql

pytestmark = pytest.mark.integration

METRIC = "roost_hist_seconds"


class TextExporter:
    """A loopback server of Prometheus text: ``exposition()`` answers each scrape."""

    def __init__(self, exposition: Callable[[], str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HistogramExporter(TextExporter):
    """Serves a classic histogram that grows by ten requests per scrape."""

    def __init__(self) -> None:
        self.scrapes = 0
        super().__init__(self.exposition)

    def exposition(self) -> str:
        self.scrapes += 1
        n = self.scrapes * 10
        return (
            f"# TYPE {METRIC} histogram\n"
            f'{METRIC}_bucket{{version="v1",le="0.25"}} {6 * n // 10}\n'
            f'{METRIC}_bucket{{version="v1",le="1"}} {9 * n // 10}\n'
            f'{METRIC}_bucket{{version="v1",le="+Inf"}} {n}\n'
            f'{METRIC}_sum{{version="v1"}} {0.4 * n}\n'
            f'{METRIC}_count{{version="v1"}} {n}\n'
        )


@pytest.fixture
def exporter() -> Iterator[HistogramExporter]:
    running = HistogramExporter()
    yield running
    running.stop()


def policy(threshold: str) -> SLOPolicySpec:
    return SLOPolicySpec.model_validate(
        {
            "objectives": [
                {
                    "name": "l",
                    "target": 0.9,
                    "latency": {"histogram": METRIC, "threshold": threshold},
                }
            ]
        }
    )


def query(url: str, expr: str) -> list[dict[str, str]]:
    result = asyncio.run(PrometheusClient(url=url, timeout=5).query(expr, at=datetime.now(UTC)))
    assert result.status in (QueryStatus.OK, QueryStatus.EMPTY), result
    return [dict(s.labels) for s in result.samples]


def until(what: str, probe: Callable[[], object], timeout_s: float = 30) -> object:
    deadline = time.monotonic() + timeout_s
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {timeout_s:.0f} s")
        time.sleep(0.5)
    return value


def test_le_as_each_flavour_stores_it_and_the_preflight_reads_both(
    prometheus_flavour: str,
    prometheus_url: str,
    exporter: HistogramExporter,
    register_scrape_target: Callable[[str, str], None],
) -> None:
    job = f"hist-{secrets.token_hex(3)}"
    register_scrape_target(job, exporter.address)
    scoped = [selectors.equal("job", job)]
    (check,) = preflight.bucket_checks(policy("1s"), scoped)
    found = until("the buckets", lambda: query(prometheus_url, check.query))
    le = sorted(labels["le"] for labels in found)  # type: ignore[attr-defined]
    # Prometheus 3 normalises the exposition's le="1" to "1.0"; 2.42 keeps it.
    assert le == (["+Inf", "0.25", "1.0"] if prometheus_flavour == "3" else ["+Inf", "0.25", "1"])
    assert preflight.problems([check], {check.query: le}) == []
    (between,) = preflight.bucket_checks(policy("300ms"), scoped)
    (message,) = preflight.problems([between], {between.query: le})
    assert (
        "300ms is not a bucket boundary of roost_hist_seconds (its le bounds: 0.25, 1, +Inf)"
        in message
    )
    # Classic buckets: the native query finds nothing.
    assert query(prometheus_url, check.native_query) == []


def test_the_latency_counts_find_the_bound_however_it_is_stored(
    prometheus_url: str,
    exporter: HistogramExporter,
    register_scrape_target: Callable[[str, str], None],
) -> None:
    job = f"hist-{secrets.token_hex(3)}"
    register_scrape_target(job, exporter.address)
    queries = promql.latency_queries(
        histogram=selectors.parse(METRIC),
        threshold_seconds=1.0,
        seconds=30,
        matchers=[selectors.equal("job", job)],
        group_by=("version",),
    )

    def counts() -> tuple[float, float] | None:
        total, bad = (
            query_values(prometheus_url, queries.total),
            query_values(prometheus_url, queries.bad),
        )
        return (total, bad) if total and total >= 30 else None

    total, bad = until("three scrapes of increments", counts)  # type: ignore[misc]
    assert bad / total == pytest.approx(0.1, abs=0.02)


def query_values(url: str, expr: str) -> float | None:
    result = asyncio.run(PrometheusClient(url=url, timeout=5).query(expr, at=datetime.now(UTC)))
    assert result.status in (QueryStatus.OK, QueryStatus.EMPTY), result
    return result.samples[0].value if result.samples else None


def test_a_native_histogram_is_reported_by_the_preflight(
    prometheus_flavour: str, prometheus: PrometheusServer, exporter: HistogramExporter
) -> None:
    if prometheus_flavour != "3":
        pytest.skip("converting classic histograms to native ones needs Prometheus 3")
    job = f"native-{secrets.token_hex(3)}"
    # Prometheus 3 stores the classic histogram as a native one with custom buckets
    # (NHCB) and, without always_scrape_classic_histograms, keeps no _bucket series.
    prometheus.add_scrape_target(
        ScrapeTarget(job, exporter.address, options={"convert_classic_histograms_to_nhcb": True})
    )
    try:
        prometheus.wait_for_target_up(job)
        (check,) = preflight.bucket_checks(policy("1s"), [selectors.equal("job", job)])
        native = until("the native histogram", lambda: query(prometheus.url, check.native_query))
        assert query(prometheus.url, check.query) == []
        answers = {check.query: [], check.native_query: [n["le"] for n in native]}  # type: ignore[attr-defined]
        (message,) = preflight.problems([check], answers)
        assert message.startswith(
            "objectives[0].latency.histogram: roost_hist_seconds is a native histogram"
        )
    finally:
        prometheus.remove_scrape_target(job)


class GammaHistogramExporter(TextExporter):
    """A classic histogram with Prometheus' default bucket bounds, fed 500 requests per
    scrape drawn from a gamma distribution (mean ``MEAN_S``, CV ``CV``)."""

    MEAN_S, CV = 0.08, 0.4
    BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self) -> None:
        self.rng = np.random.default_rng(7)
        self.cumulative = [0] * len(self.BOUNDS)
        self.count, self.total = 0, 0.0
        self.lock = threading.Lock()
        super().__init__(self.exposition)

    def exposition(self) -> str:
        shape = 1 / self.CV**2
        with self.lock:
            draws = self.rng.gamma(shape, self.MEAN_S / shape, size=500)
            for i, bound in enumerate(self.BOUNDS):
                self.cumulative[i] += int((draws <= bound).sum())
            self.count += len(draws)
            self.total += float(draws.sum())
            lines = [f"# TYPE {GAMMA_METRIC} histogram"]
            lines += [
                f'{GAMMA_METRIC}_bucket{{le="{b}"}} {c}'
                for b, c in zip(self.BOUNDS, self.cumulative, strict=True)
            ]
            lines += [
                f'{GAMMA_METRIC}_bucket{{le="+Inf"}} {self.count}',
                f"{GAMMA_METRIC}_sum {self.total}",
                f"{GAMMA_METRIC}_count {self.count}",
            ]
            return "\n".join(lines) + "\n"


GAMMA_METRIC = "roost_gamma_seconds"


def test_the_service_time_and_its_cv_are_learned_from_what_prometheus_holds(
    prometheus_url: str, register_scrape_target: Callable[[str, str], None]
) -> None:
    exporter = GammaHistogramExporter()
    try:
        job = f"gamma-{secrets.token_hex(3)}"
        register_scrape_target(job, exporter.address)
        latency = SLOPolicySpec.model_validate(
            {
                "objectives": [
                    {
                        "name": "l",
                        "target": 0.9,
                        "latency": {"histogram": GAMMA_METRIC, "threshold": "250ms"},
                    }
                ]
            }
        )
        expr = promql.service_time_query(
            latency.objectives, [selectors.equal("job", job)], seconds=120
        )
        assert expr is not None

        def window() -> learn.HistogramWindow | None:
            result = asyncio.run(
                PrometheusClient(url=prometheus_url, timeout=5).query(expr, at=datetime.now(UTC))
            )
            assert result.status in (QueryStatus.OK, QueryStatus.EMPTY), result
            by_le = {s.labels.get("le", ""): s.value for s in result.samples}
            found = learn.histogram_window(by_le, sum_key=promql.SUM_LE)
            return found if found is not None and found.count >= 1500 else None

        found = until("three scrapes' increase", window, timeout_s=60)
        assert isinstance(found, learn.HistogramWindow)
        estimate = learn.estimate(found)
        assert estimate is not None
        # 500 draws a scrape: the sample mean is within 2 % of 80 ms; the fit from the
        # default buckets within 0.06 of the CV (unit tests measure it over seeds).
        assert estimate.mean_seconds == pytest.approx(GammaHistogramExporter.MEAN_S, rel=0.04)
        assert estimate.cv == pytest.approx(GammaHistogramExporter.CV, abs=0.06)
        assert estimate.cv_low is not None
        assert estimate.cv_high is not None
        assert estimate.cv_low <= estimate.cv <= estimate.cv_high
    finally:
        exporter.stop()
