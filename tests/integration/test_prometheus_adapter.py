"""roost.adapters.prometheus against our own Prometheus (the session fixture in
tests/conftest.py), scraping a prometheus_client exporter on loopback.

Where a behaviour cannot be had from a real Prometheus on demand (a server that
never answers, a gateway error, the headers a request carried, a TLS server
with our own CA), a loopback fake stands in, and its name says it is a fake.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from harness.processes import free_port
from roost import selectors
from roost.adapters.metrics_reader import answer
from roost.adapters.prometheus import PrometheusClient, QueryResult, QueryStatus, grouped
from roost.api.modeldeployment import MetricLabels
from roost.api.slopolicy import SLOPolicySpec
from roost.slo import batch, promql

pytestmark = pytest.mark.integration

T = TypeVar("T")
RegisterScrapeTarget = Callable[[str, str], None]

# Fails a call that hangs instead of hanging the suite; not a latency bound.
HANG_GUARD_S = 60.0


def run(call: Awaitable[T]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(call, HANG_GUARD_S)

    return asyncio.run(guarded())


def now() -> datetime:
    return datetime.now(UTC)


# --- a real Prometheus scraping a loopback exporter ---------------------------------------


@dataclass
class ScrapedExporter:
    job: str
    requests: Counter
    errors: Counter

    def selector(self, metric: str) -> str:
        return f'{metric}{{job="{self.job}"}}'


@pytest.fixture
def exporter(register_scrape_target: RegisterScrapeTarget) -> Iterator[ScrapedExporter]:
    """Request and error counters by ``version``, scraped under a job of this test's own,
    so series of other tests never fall into a window. Both versions' request counters
    and the canary's error counter are scraped at 0 first; stable has no error series."""
    registry = CollectorRegistry()
    requests = Counter("roost_adapter_requests", "Requests served", ["version"], registry=registry)
    errors = Counter("roost_adapter_errors", "Requests failed", ["version"], registry=registry)
    requests.labels(version="stable")
    requests.labels(version="canary")
    errors.labels(version="canary")
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    job = f"roost-adapter-{secrets.token_hex(3)}"
    register_scrape_target(job, f"127.0.0.1:{server.server_port}")
    yield ScrapedExporter(job, requests, errors)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def query_until(
    client: PrometheusClient, expr: str, done: Callable[[QueryResult], bool], timeout_s: float = 30
) -> QueryResult:
    """Query at "now" until the answer satisfies ``done``: a change shows up a scrape later."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await client.query(expr, at=now())
        if done(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{expr} never satisfied the condition; last answer {result}")
        await asyncio.sleep(0.25)


async def scraped_increments(client: PrometheusClient, exporter: ScrapedExporter) -> datetime:
    """Count 30 stable and 3 canary requests (1 failed), wait until Prometheus has
    scraped them, and return the time of that scrape."""
    exporter.requests.labels(version="stable").inc(30)
    exporter.requests.labels(version="canary").inc(3)
    exporter.errors.labels(version="canary").inc(1)
    total = exporter.selector("roost_adapter_requests_total")
    errors = exporter.selector("roost_adapter_errors_total")
    # One scrape that saw all four increments (a scrape may fall between two of them).
    await query_until(
        client,
        f"sum({total}) + sum({errors})",
        lambda r: r.status is QueryStatus.OK and r.samples[0].value == 34,
    )
    stamp = await client.query(f"max(timestamp({total}))", at=now())
    return datetime.fromtimestamp(stamp.samples[0].value, UTC)


def test_counter_increase_grouped_by_version_is_ok_with_one_group_per_version(
    prometheus_url: str, exporter: ScrapedExporter
) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)
    queries = promql.ratio_queries(
        errors=selectors.parse("roost_adapter_errors_total"),
        total=selectors.parse("roost_adapter_requests_total"),
        seconds=300,
        matchers=[selectors.equal("job", exporter.job)],
        group_by=["version"],
    )

    async def scenario() -> dict[str, QueryResult]:
        at = await scraped_increments(client, exporter)
        return await client.query_many([queries.total, queries.bad], at=at)

    results = run(scenario())
    total, bad = results[queries.total], results[queries.bad]

    # Evaluated at the last scrape, over a window that starts before the counters
    # existed at 0: `increase` has nothing to extrapolate, so the counts are exact.
    assert total.status is QueryStatus.OK
    assert total.error is None
    assert grouped(total, ["version"]) == {
        ("stable",): pytest.approx(30),
        ("canary",): pytest.approx(3),
    }
    assert bad.status is QueryStatus.OK
    assert grouped(bad, ["version"]) == {("canary",): pytest.approx(1)}
    assert all(s.labels == {"version": s.labels["version"]} for s in total.samples)

    by_version = {key[0]: value for key, value in grouped(total, ["version"]).items()}
    bad_by_version = {key[0]: value for key, value in grouped(bad, ["version"]).items()}
    stable = promql.arm_counts(total=by_version, bad=bad_by_version, key="stable")
    canary = promql.arm_counts(total=by_version, bad=bad_by_version, key="canary")
    assert stable is not None
    assert canary is not None
    assert stable.bad == 0.0  # no error series: nothing failed
    assert math.isclose(stable.total, 30)
    assert math.isclose(canary.total, 3)
    assert math.isclose(canary.bad, 1)
    assert client.queries_sent >= 4
    assert client.query_errors == 0


def test_one_combined_query_per_sli_reads_both_counts_back_per_version(
    prometheus_url: str, exporter: ScrapedExporter
) -> None:
    """The batch planner's ``label_replace(total) or label_replace(bad)`` on a real
    Prometheus: one query, split back into each version's (total, bad)."""
    client = PrometheusClient(url=prometheus_url, timeout=5)
    policy = SLOPolicySpec.model_validate(
        {
            "objectives": [
                {
                    "name": "availability",
                    "target": 0.99,
                    "ratio": {
                        "errors": "roost_adapter_errors_total",
                        "total": "roost_adapter_requests_total",
                    },
                }
            ]
        }
    )
    target = batch.Target(
        key="ns/m",
        policy=policy,
        metrics=MetricLabels(labels={"job": exporter.job}),
        canary_version="canary",
        stable_version="stable",
    )

    async def scenario() -> tuple[batch.QueryPlan, dict[str, QueryResult]]:
        at = await scraped_increments(client, exporter)
        plan = batch.plan([target], start=at - timedelta(minutes=5), end=at)
        return plan, await client.query_many(plan.queries, at=at)

    plan, results = run(scenario())
    assert len(plan.queries) == 1
    (query,) = plan.queries
    assert results[query].status is QueryStatus.OK
    measured = plan.measurements({query: answer(results[query], plan.group_by(query))})
    reading = measured["ns/m"].reading("availability")
    assert reading is not None
    assert reading.canary is not None
    assert reading.stable is not None
    assert math.isclose(reading.canary.total, 3)
    assert math.isclose(reading.canary.bad, 1)
    assert math.isclose(reading.stable.total, 30)
    assert reading.stable.bad == 0.0  # no error series for stable: nothing failed
    assert client.queries_sent >= 1


def test_query_is_evaluated_at_the_given_time_not_now(
    prometheus_url: str, exporter: ScrapedExporter
) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)
    total = exporter.selector("roost_adapter_requests_total")

    async def scenario() -> tuple[QueryResult, QueryResult]:
        at = await scraped_increments(client, exporter)
        before_the_exporter_existed = await client.query(total, at=at - timedelta(minutes=10))
        at_the_scrape = await client.query(f"sum({total})", at=at)
        return before_the_exporter_existed, at_the_scrape

    before, at_scrape = run(scenario())

    assert before.status is QueryStatus.EMPTY
    assert at_scrape.status is QueryStatus.OK
    assert at_scrape.samples[0].value == 33


def test_selector_matching_nothing_is_empty(prometheus_url: str) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)

    result = run(client.query('roost_adapter_no_such_metric{job="nobody"}', at=now()))

    assert result.status is QueryStatus.EMPTY
    assert result.samples == ()
    assert result.error is None
    assert grouped(result, ["version"]) == {}


def test_zero_divided_by_zero_is_nan(prometheus_url: str) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)

    result = run(client.query("0/0", at=now()))  # a scalar

    assert result.status is QueryStatus.NAN
    assert len(result.samples) == 1
    assert math.isnan(result.samples[0].value)


def test_vector_of_nan_is_nan_and_grouped_keeps_the_nan_for_arm_counts(
    prometheus_url: str,
) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)
    no_traffic = 'label_replace(vector(0), "version", "canary", "", "") / 0'

    result = run(client.query(no_traffic, at=now()))
    values = grouped(result, ["version"])

    assert result.status is QueryStatus.NAN
    assert list(values) == [("canary",)]
    assert math.isnan(values[("canary",)])
    assert promql.arm_counts(total={"canary": values[("canary",)]}, bad={}, key="canary") is None


def test_invalid_promql_is_an_error_with_prometheus_message(prometheus_url: str) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)

    result = run(client.query("sum(rate(roost_adapter_requests_total[5m])", at=now()))

    assert result.status is QueryStatus.ERROR
    assert result.samples == ()
    assert result.error is not None
    assert result.error.startswith("HTTP 400 bad_data: ")
    assert "parse error: unclosed left parenthesis" in result.error
    assert "\n" not in result.error
    assert (client.queries_sent, client.query_errors) == (1, 1)


def test_query_failing_during_execution_is_an_error_with_prometheus_message(
    prometheus_url: str,
) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)

    result = run(client.query('label_replace(vector(1), "a", "$1", "b", "(")', at=now()))

    assert result.status is QueryStatus.ERROR
    assert result.error == ("HTTP 422 execution: invalid regular expression in label_replace(): (")


def test_query_many_sends_each_distinct_expression_once(prometheus_url: str) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)

    results = run(client.query_many(["vector(1)", "vector(2)", "vector(1)"], at=now()))

    assert list(results) == ["vector(1)", "vector(2)"]
    assert [r.samples[0].value for r in results.values()] == [1.0, 2.0]
    assert client.queries_sent == 2


def test_healthy_prometheus_is_healthy(prometheus_url: str) -> None:
    assert run(PrometheusClient(url=prometheus_url, timeout=5).healthy()) is True


def test_naive_evaluation_time_is_refused(prometheus_url: str) -> None:
    client = PrometheusClient(url=prometheus_url, timeout=5)

    with pytest.raises(ValueError, match="timezone-aware"):
        run(client.query("vector(1)", at=datetime(2026, 1, 1)))


# --- unreachable and silent servers --------------------------------------------------------


def test_closed_port_is_an_error_without_hanging() -> None:
    client = PrometheusClient(url=f"http://127.0.0.1:{free_port()}", timeout=2)

    result = run(client.query("vector(1)", at=now()))

    assert result.status is QueryStatus.ERROR
    assert result.error is not None
    assert "Connection refused" in result.error
    assert (client.queries_sent, client.query_errors) == (1, 1)
    assert run(client.healthy()) is False


class SilentListener:
    """Accepts TCP connections on loopback and never writes a byte."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = int(self.socket.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.socket.close()


@pytest.fixture
def silent_listener() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()


def test_server_that_never_answers_is_an_error_after_the_timeout_and_not_retried(
    silent_listener: SilentListener,
) -> None:
    client = PrometheusClient(url=f"http://127.0.0.1:{silent_listener.port}", timeout=0.5)

    result = run(client.query("vector(1)", at=now()))

    assert result.status is QueryStatus.ERROR
    assert result.error is not None
    assert "no answer" in result.error
    # The server may still be evaluating: a read timeout is not sent again.
    assert len(silent_listener.accepted) == 1


# --- loopback fakes of Prometheus's HTTP API -----------------------------------------------

VECTOR_ANSWER = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [{"metric": {"version": "canary"}, "value": [1767225600, "+Inf"]}],
    },
}


@dataclass
class FakePrometheus:
    """A loopback stand-in for Prometheus's /api/v1/query: records every request and
    answers ``status`` with ``body`` after ``delay_s``; counts requests in flight."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: VECTOR_ANSWER)
    delay_s: float = 0.0
    certificate: tuple[Path, Path] | None = None  # (cert, key) to serve HTTPS
    requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        fake = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with lock:
                    fake.requests.append((parts.path, parse_qs(parts.query), dict(self.headers)))
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                time.sleep(fake.delay_s)
                with lock:
                    fake.in_flight -= 1
                payload = json.dumps(fake.body).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if self.certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def fake_prometheus() -> Iterator[Callable[..., FakePrometheus]]:
    started: list[FakePrometheus] = []

    def start(**options: Any) -> FakePrometheus:
        started.append(FakePrometheus(**options))
        return started[-1]

    yield start
    for fake in started:
        fake.close()


def test_bearer_token_is_sent_as_authorization_header_and_never_shown(
    fake_prometheus: Callable[..., FakePrometheus],
) -> None:
    fake = fake_prometheus()
    token = "roost-test-" + secrets.token_hex(8)
    client = PrometheusClient(url=fake.url, bearer_token=token, timeout=2)
    at = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)

    result = run(client.query("sum(up)", at=at))

    path, params, headers = fake.requests[0]
    assert path == "/api/v1/query"
    assert headers["Authorization"] == f"Bearer {token}"
    assert params == {"query": ["sum(up)"], "time": ["1767268830.000"], "timeout": ["2.000"]}
    assert token not in repr(client)
    # The canned answer's "+Inf" is read as a float.
    assert result.status is QueryStatus.OK
    assert grouped(result, ["version"]) == {("canary",): math.inf}


def test_no_authorization_header_without_a_token(
    fake_prometheus: Callable[..., FakePrometheus],
) -> None:
    fake = fake_prometheus()

    run(PrometheusClient(url=fake.url, timeout=2).query("vector(1)", at=now()))

    assert "Authorization" not in fake.requests[0][2]


@pytest.mark.parametrize(
    ("status", "attempts"),
    [(502, 2), (503, 2), (504, 2), (500, 1), (429, 1), (422, 1)],
)
def test_only_gateway_errors_are_retried_once(
    fake_prometheus: Callable[..., FakePrometheus], status: int, attempts: int
) -> None:
    fake = fake_prometheus(
        status=status, body={"status": "error", "errorType": "unavailable", "error": "busy"}
    )
    client = PrometheusClient(url=fake.url, timeout=2)

    result = run(client.query("vector(1)", at=now()))

    assert result.status is QueryStatus.ERROR
    assert result.error == f"HTTP {status} unavailable: busy"
    assert len(fake.requests) == attempts
    assert (client.queries_sent, client.query_errors) == (1, 1)


def test_error_body_with_http_200_is_an_error(
    fake_prometheus: Callable[..., FakePrometheus],
) -> None:
    # Some proxies answer 200 with Prometheus's error envelope.
    fake = fake_prometheus(body={"status": "error", "errorType": "timeout", "error": "slow"})

    result = run(PrometheusClient(url=fake.url, timeout=2).query("vector(1)", at=now()))

    assert result.status is QueryStatus.ERROR
    assert result.error is not None
    assert "unexpected answer" in result.error


def test_query_many_keeps_at_most_max_concurrency_in_flight(
    fake_prometheus: Callable[..., FakePrometheus],
) -> None:
    fake = fake_prometheus(delay_s=0.2)
    client = PrometheusClient(url=fake.url, timeout=2, max_concurrency=2)

    results = run(client.query_many([f"vector({n})" for n in range(6)], at=now()))

    assert len(results) == 6
    assert all(r.status is QueryStatus.OK for r in results.values())
    assert fake.max_in_flight == 2


@pytest.fixture(scope="module")
def self_signed_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "prometheus.crt", folder / "prometheus.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_ca_file_verifies_a_server_certificate_the_system_does_not_trust(
    fake_prometheus: Callable[..., FakePrometheus], self_signed_certificate: tuple[Path, Path]
) -> None:
    fake = fake_prometheus(certificate=self_signed_certificate)
    cert = str(self_signed_certificate[0])

    trusted = run(PrometheusClient(url=fake.url, ca_file=cert, timeout=2).query("up", at=now()))
    untrusted = run(PrometheusClient(url=fake.url, timeout=2).query("up", at=now()))

    assert fake.url.startswith("https://")
    assert trusted.status is QueryStatus.OK
    assert untrusted.status is QueryStatus.ERROR
    assert untrusted.error is not None
    assert "certificate verify failed" in untrusted.error
