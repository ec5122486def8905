"""Instant PromQL queries through prometheus-api-client, as typed results.

The only importer of ``prometheus_api_client``. The client is synchronous
(``requests``), so every call runs in a thread (``asyncio.to_thread``) under a
semaphore. Sharp edges of prometheus-api-client 0.7.2 (its
``prometheus_connect.py``; docs/references.md) handled here:

* ``timeout=None`` by default: a hung server blocks forever. Every request
  carries a client timeout AND the server-side ``timeout`` parameter; the
  client waits a little longer than the server so that Prometheus's own
  "query timed out" answer arrives first.
* Its default ``Retry`` retries 408/429/500 too and, for POST, nothing at all
  (POST is not in urllib3's default ``allowed_methods``; the library also sends
  POST parameters in the URL, so POST buys nothing). We query with GET and
  retry only connection failures and 502/503/504, never a read timeout (the
  server may still be evaluating the query).
* Only ``data.result`` comes back, so the result type is inferred from its
  shape, values are strings (``"NaN"``, ``"+Inf"``) and errors are a message
  string ``HTTP Status Code 422 (b'{...}')`` whose body is parsed here.

Nothing here judges: empty, NaN and failed queries are reported as such
(:class:`QueryStatus`) and ``roost.slo.promql.arm_counts`` and the analysis
decide what they mean.
"""

from __future__ import annotations

import ast
import asyncio
import enum
import json
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

_log = logging.getLogger(__name__)

# The client waits this much longer than the server-side query timeout.
_CLIENT_GRACE_SECONDS = 1.0
_CONNECT_TIMEOUT_SECONDS = 5.0
# Connection failures and gateway errors: retried twice (0 s, then ~0.5 s apart).
# A 503 is also what Prometheus answers to a query that timed out; one retry at
# most keeps that from multiplying the load.
_CONNECT_RETRIES = 2
_STATUS_RETRIES = 1
_RETRY_STATUSES = frozenset({502, 503, 504})
_MESSAGE_LIMIT = 300
_API_ERROR = re.compile(r"^HTTP Status Code (\d+) \((b(['\"]).*\3)\)$", re.DOTALL)


class QueryStatus(enum.StrEnum):
    OK = "OK"
    EMPTY = "EMPTY"  # no series: no data, or nothing matched the selector
    NAN = "NAN"  # every value is NaN, e.g. 0/0 when there was no traffic
    ERROR = "ERROR"  # bad PromQL, HTTP error, timeout, unreachable, unreadable answer


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (or a scalar, with no labels)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class QueryResult:
    query: str
    status: QueryStatus
    samples: tuple[Sample, ...]
    error: str | None
    duration_seconds: float


def grouped(result: QueryResult, labels: Sequence[str]) -> dict[tuple[str, ...], float]:
    """Values keyed by the given labels' values ("" for a missing label).

    NaN values are kept, so ``promql.arm_counts`` can tell no traffic from no
    series. An ERROR or EMPTY result gives ``{}``: check ``status`` first.
    Raises ValueError when two series share a key (the query groups by labels
    that ``labels`` does not name).
    """
    values: dict[tuple[str, ...], float] = {}
    for sample in result.samples:
        key = tuple(sample.labels.get(name, "") for name in labels)
        if key in values:
            raise ValueError(
                f"two series of {result.query!r} share {dict(zip(labels, key, strict=True))}: "
                "group by every label the query keeps"
            )
        values[key] = sample.value
    return values


class _MalformedAnswerError(ValueError):
    """The answer parsed as JSON but is not an instant vector or a scalar."""


def _samples(raw: Any) -> tuple[Sample, ...]:
    """Parse ``data.result`` (the library drops ``resultType``: infer it from the shape)."""
    if not isinstance(raw, list):
        raise _MalformedAnswerError(f"result is a {type(raw).__name__}, not a list")
    # scalar (and string) results: [unix_time, "value"]
    if len(raw) == 2 and isinstance(raw[0], int | float) and isinstance(raw[1], str):
        return (Sample(labels={}, value=_value(raw[1])),)
    samples = []
    for series in raw:
        if not isinstance(series, dict) or "value" not in series:
            if isinstance(series, dict) and "values" in series:
                raise _MalformedAnswerError(
                    "a range vector (matrix) came back; ask an instant vector"
                )
            raise _MalformedAnswerError(f"unexpected series {str(series)[:80]}")
        labels = {str(k): str(v) for k, v in series.get("metric", {}).items()}
        samples.append(Sample(labels=labels, value=_value(series["value"][1])))
    return tuple(samples)


def _value(text: object) -> float:
    # float() reads Prometheus's "NaN", "+Inf" and "-Inf" as they are.
    try:
        return float(str(text))
    except ValueError:
        raise _MalformedAnswerError(f"non-numeric value {str(text)[:40]!r}") from None


def _status(samples: tuple[Sample, ...]) -> QueryStatus:
    if not samples:
        return QueryStatus.EMPTY
    if all(math.isnan(s.value) for s in samples):
        return QueryStatus.NAN
    return QueryStatus.OK


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 1] + "…"


def _api_error_message(error: PrometheusApiClientException) -> str:
    """``HTTP 400 bad_data: 1:5: parse error: ...`` from the library's message string."""
    text = str(error)
    match = _API_ERROR.match(text)
    if match is None:
        return _one_line(text)
    code = match.group(1)
    try:
        body = ast.literal_eval(match.group(2)).decode("utf-8", "replace")
    except (ValueError, SyntaxError):
        return _one_line(text)
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and "error" in envelope:
        kind = envelope.get("errorType", "error")
        return _one_line(f"HTTP {code} {kind}: {envelope['error']}")
    return _one_line(f"HTTP {code}: {body}" if body.strip() else f"HTTP {code}")


def _root_cause(error: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused") under requests' wrappers."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        elif current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__
    for cause in reversed(seen):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
    return _one_line(str(seen[-1]))


def _epoch(at: datetime) -> float:
    if at.tzinfo is None:
        # A naive datetime would be read as local time: a silently shifted window.
        raise ValueError("the evaluation time must be timezone-aware (UTC)")
    return at.timestamp()


class PrometheusClient:
    """Instant queries against one Prometheus (or a compatible API: Thanos, Mimir).

    ``timeout`` is the server-side evaluation limit in seconds; the client gives
    up a second later. ``bearer_token`` is sent as an ``Authorization`` header
    and ``ca_file`` (a PEM bundle path) verifies TLS; both are read from Secrets
    by the caller. ``queries_sent`` and ``query_errors`` count requests (health
    checks included) for export as metrics. One instance serves one event loop
    (its semaphore binds to the loop it first waits on).
    """

    def __init__(
        self,
        *,
        url: str,
        bearer_token: str | None = None,
        ca_file: str | None = None,
        timeout: float = 10.0,
        max_concurrency: int = 8,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.queries_sent = 0
        self.query_errors = 0
        self._semaphore = asyncio.Semaphore(max_concurrency)
        # (connect, read): a connection to a reachable Prometheus takes milliseconds.
        self._client_timeout = (
            min(timeout, _CONNECT_TIMEOUT_SECONDS),
            timeout + _CLIENT_GRACE_SECONDS,
        )

        retry = Retry(
            total=_CONNECT_RETRIES + _STATUS_RETRIES,
            connect=_CONNECT_RETRIES,
            read=False,  # a read timeout is raised at once, not retried
            other=0,
            redirect=False,
            status=_STATUS_RETRIES,
            status_forcelist=_RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0.25,
            backoff_jitter=0.1,
            # A proxy's Retry-After could park a thread for minutes.
            respect_retry_after_header=False,
            # After the last retry return the answer, so its body becomes the message.
            raise_on_status=False,
        )
        session = requests.Session()
        session.verify = ca_file if ca_file is not None else True
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else None
        self._connect = PrometheusConnect(
            url=self.url,
            headers=headers,
            disable_ssl=False,
            retry=retry,
            session=session,
            method="GET",
        )
        # The library mounts HTTPAdapter(max_retries=retry) with urllib3's default pool of
        # 10 connections; size the pool to the concurrency so connections are reused.
        session.mount(
            self.url,
            HTTPAdapter(max_retries=retry, pool_maxsize=max(10, max_concurrency)),
        )

    def __repr__(self) -> str:
        # Never the headers: they hold the token.
        return f"PrometheusClient(url={self.url!r}, timeout={self.timeout})"

    async def query(self, expr: str, *, at: datetime) -> QueryResult:
        """The instant query ``expr`` evaluated at ``at`` (timezone-aware); never raises
        for a failed query: the failure is a result with status ERROR."""
        return await self._query(expr, _epoch(at))

    async def query_many(self, exprs: Sequence[str], *, at: datetime) -> dict[str, QueryResult]:
        """Each distinct expression once, all at the same evaluation time, at most
        ``max_concurrency`` in flight; keyed by expression in first-seen order."""
        when = _epoch(at)
        unique = list(dict.fromkeys(exprs))
        results = await asyncio.gather(*(self._query(expr, when) for expr in unique))
        return dict(zip(unique, results, strict=True))

    async def healthy(self) -> bool:
        """True when the query API answers a trivial query (and so accepts our credentials)."""
        result = await self._query("vector(1)", None)
        return result.status is QueryStatus.OK

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._connect.close()

    async def _query(self, expr: str, when: float | None) -> QueryResult:
        params = {"timeout": f"{self.timeout:.3f}"}
        if when is not None:
            params["time"] = f"{when:.3f}"
        async with self._semaphore:
            self.queries_sent += 1
            started = time.monotonic()
            result = await asyncio.to_thread(self._send, expr, params)
            duration = time.monotonic() - started
        if isinstance(result, str):
            self.query_errors += 1
            _log.debug("prometheus query failed: %s: %s", expr, result)
            return QueryResult(expr, QueryStatus.ERROR, (), result, duration)
        return QueryResult(expr, _status(result), result, None, duration)

    def _send(self, expr: str, params: dict[str, str]) -> tuple[Sample, ...] | str:
        """Runs in a worker thread: the samples, or a one-line error message."""
        try:
            raw = self._connect.custom_query(expr, params=params, timeout=self._client_timeout)
            return _samples(raw)
        except PrometheusApiClientException as error:
            return _api_error_message(error)
        except requests.ConnectTimeout:
            return f"cannot reach {self.url}: no connection within {self._client_timeout[0]:g} s"
        except requests.Timeout:
            return f"no answer from {self.url} within {self._client_timeout[1]:g} s"
        except requests.ConnectionError as error:
            return f"cannot reach {self.url}: {_root_cause(error)}"
        except requests.RequestException as error:
            return f"request to {self.url} failed: {_root_cause(error)}"
        except KeyError as error:
            # HTTP 200 without data.result, e.g. a proxy's {"status": "error"} body.
            return f"unexpected answer from {self.url}: no {error} in the body"
        except ValueError as error:
            # Not JSON (an HTML login page), or not an instant vector or a scalar.
            return _one_line(f"unreadable answer from {self.url}: {error}")
