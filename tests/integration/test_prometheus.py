"""Our own Prometheus scrapes an exporter on loopback, and prometheus-api-client
(the client Roost's Prometheus adapter uses) reads the exported value back."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_api_client import PrometheusConnect
from prometheus_client import CollectorRegistry, Gauge, start_http_server

pytestmark = pytest.mark.integration


def query_until(
    prometheus: PrometheusConnect, promql: str, timeout_s: float = 30
) -> list[dict[str, Any]]:
    """The first non-empty answer: a fresh target shows up a scrape later."""
    deadline = time.monotonic() + timeout_s
    while not (result := prometheus.custom_query(promql)):
        if time.monotonic() > deadline:
            pytest.fail(f"{promql} stayed empty for {timeout_s:.0f} s")
        time.sleep(0.25)
    return list(result)


@pytest.fixture
def exporter() -> Iterator[tuple[Gauge, int]]:
    """A prometheus_client exporter on 127.0.0.1 and a free port."""
    registry = CollectorRegistry()
    gauge = Gauge("roost_test_queue_depth", "A value the test sets", registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield gauge, int(server.server_port)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_prometheus_is_up_and_scrapes_itself(prometheus_url: str) -> None:
    result = query_until(PrometheusConnect(url=prometheus_url), 'up{job="prometheus"}')
    assert result[0]["value"][1] == "1"


def test_the_url_is_the_flavour_under_test(prometheus_url: str, prometheus_flavour: str) -> None:
    with urllib.request.urlopen(f"{prometheus_url}/api/v1/status/buildinfo", timeout=10) as r:
        version = json.load(r)["data"]["version"]
    assert version.split(".")[0] == prometheus_flavour, (prometheus_url, version)


def test_loopback_exporter_value_is_queryable_through_prometheus_api_client(
    prometheus_url: str,
    register_scrape_target: Callable[[str, str], None],
    exporter: tuple[Gauge, int],
) -> None:
    gauge, port = exporter
    gauge.set(42.5)
    register_scrape_target("roost-test-exporter", f"127.0.0.1:{port}")

    result = query_until(
        PrometheusConnect(url=prometheus_url),
        'roost_test_queue_depth{job="roost-test-exporter"}',
    )
    assert float(result[0]["value"][1]) == 42.5
