"""The Prometheus bearer token never leaves the Authorization header: not in the
client's repr, not in a failed query's message, not in the debug log.

The HTTP layer is replaced by a fake that fails the way an unreachable or
refusing server does (unit tests open no sockets)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from roost.adapters.prometheus import PrometheusClient, QueryStatus

TOKEN = "tok-3f1c9a7be2d54c60"


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("Connection refused"),
        PrometheusApiClientException("HTTP Status Code 401 (b'unauthorized')"),
        requests.Timeout("read timed out"),
    ],
    ids=["refused", "401", "timeout"],
)
def test_the_token_is_in_no_repr_error_message_or_log_line(
    failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    client = PrometheusClient(url="http://prometheus.test:9090", bearer_token=TOKEN)
    assert client._connect.headers == {"Authorization": f"Bearer {TOKEN}"}  # it is sent
    assert TOKEN not in repr(client)

    def fail(*_: Any, **__: Any) -> Any:
        raise failure

    client._connect.custom_query = fail  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG):
        result = asyncio.run(client.query("up", at=datetime.now(UTC)))
    assert result.status is QueryStatus.ERROR
    assert result.error is not None
    assert TOKEN not in result.error
    assert TOKEN not in caplog.text
