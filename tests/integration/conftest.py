"""Integration tests that use Prometheus run against both flavours: Debian's 2.42 and
Prometheus 3 (the version users run), built by hack/tools. One server per flavour for
the session; pytest groups the tests by flavour, so one runs at a time. The test ids
end in [prometheus2] or [prometheus3]; ROOST_TEST_PROMETHEUS=2 or 3 runs one only."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.prometheus import PrometheusServer
from harness.session import PROMETHEUS_FLAVOURS, HarnessSession

FLAVOURS = [f for f in PROMETHEUS_FLAVOURS if os.environ.get("ROOST_TEST_PROMETHEUS", f) == f]


@pytest.fixture(scope="session", params=FLAVOURS, ids=[f"prometheus{f}" for f in FLAVOURS])
def prometheus_flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def prometheus(
    roost_session: HarnessSession, prometheus_flavour: str
) -> Iterator[PrometheusServer]:
    """Our own Prometheus of this flavour on loopback, scraping every 1 s."""
    try:
        yield roost_session.start_prometheus(prometheus_flavour)
    finally:
        roost_session.stop_prometheus(prometheus_flavour)


@pytest.fixture(scope="session")
def promtool_binary(roost_session: HarnessSession, prometheus_flavour: str) -> str:
    return str(roost_session.tools.binary(PROMETHEUS_FLAVOURS[prometheus_flavour][1]))
