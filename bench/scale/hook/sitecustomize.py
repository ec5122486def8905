"""Loaded by the operator process of the scale benchmark only (its PYTHONPATH has this folder).

- ``ROOST_BENCH_CLIENT_PORT``: count every HTTP request the process sends, by
  library (``urllib3``: the kube adapter's kubernetes client and the Prometheus
  client; ``aiohttp``: kopf's lists, watches, status patches and events), method and
  host, and serve the counts as ``roost_bench_client_requests_total{client,method,host}``
  on that port.
- ``ROOST_BENCH_PROFILE``: run cProfile over the main thread (kopf's event loop) and
  write the stats to that path when the process exits.
- ``ROOST_BENCH_TRACEMALLOC``: trace Python allocations (tracemalloc, 16 frames) and
  write a snapshot to that path each time the traced total reaches a new peak (checked
  every 10 s), for ``python -m bench.scale.memory``. Tracing slows the process down;
  its times are not comparable with an untraced run.

- ``ROOST_BENCH_CENSUS``: on SIGUSR2 (``kill -USR2 PID``), append a census of the live
  Python objects to that path: the container objects by type and the coroutines by
  name (written within the second of the signal at N = 1,000; a deep size of each of
  the operator's stores took minutes there, and was dropped).

- ``ROOST_BENCH_SOURCE``: a folder with a ``roost`` package that takes precedence over
  the checkout's operator/ (the benchmark runs one commit's code while the tree changes).

Nothing here changes what the requests do.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_source = os.environ.get("ROOST_BENCH_SOURCE")
if _source:
    sys.path.insert(0, _source)

_port = os.environ.get("ROOST_BENCH_CLIENT_PORT")
if _port:
    from urllib.parse import urlsplit

    import aiohttp
    import urllib3
    from prometheus_client import CollectorRegistry, Counter, start_http_server

    _registry = CollectorRegistry()
    _requests = Counter(
        "roost_bench_client_requests",
        "HTTP requests sent by the operator process.",
        ["client", "method", "host"],
        registry=_registry,
    )
    _conn_urlopen = urllib3.HTTPConnectionPool.urlopen

    def _pool_urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        host = f"{getattr(self, 'host', '')}:{getattr(self, 'port', '')}"
        _requests.labels("urllib3", method.upper(), host).inc()
        return _conn_urlopen(self, method, url, *args, **kwargs)

    urllib3.HTTPConnectionPool.urlopen = _pool_urlopen  # type: ignore[method-assign]

    _request = aiohttp.ClientSession._request

    async def _session_request(self: Any, method: str, str_or_url: Any, **kwargs: Any) -> Any:
        parts = urlsplit(str(str_or_url))
        _requests.labels("aiohttp", method.upper(), parts.netloc).inc()
        return await _request(self, method, str_or_url, **kwargs)

    aiohttp.ClientSession._request = _session_request  # type: ignore[method-assign]
    start_http_server(int(_port), addr="127.0.0.1", registry=_registry)

_profile = os.environ.get("ROOST_BENCH_PROFILE")
if _profile:
    import atexit
    import cProfile

    _profiler = cProfile.Profile()
    _profiler.enable()

    def _dump() -> None:
        _profiler.disable()
        _profiler.dump_stats(_profile)

    atexit.register(_dump)

_trace = os.environ.get("ROOST_BENCH_TRACEMALLOC")
if _trace:
    import threading
    import tracemalloc

    tracemalloc.start(16)

    def _snapshots() -> None:
        peak = 0
        while True:
            threading.Event().wait(10.0)
            current, _ = tracemalloc.get_traced_memory()
            if current > peak * 1.05:
                peak = current
                tracemalloc.take_snapshot().dump(_trace)

    threading.Thread(target=_snapshots, name="roost-bench-tracemalloc", daemon=True).start()

_census = os.environ.get("ROOST_BENCH_CENSUS")
if _census:
    import signal

    def _take_census(signum: int, frame: Any) -> None:
        import collections
        import gc
        import time

        objects = gc.get_objects()
        lines = [
            f"=== {time.strftime('%T')} gc objects {len(objects)}, "
            f"allocated blocks {sys.getallocatedblocks()}"
        ]
        kinds = collections.Counter(type(o).__qualname__ for o in objects)
        lines += [f"{count:9d} {kind}" for kind, count in kinds.most_common(40)]
        coroutines = collections.Counter(
            getattr(o, "__qualname__", "?") for o in objects if type(o).__name__ == "coroutine"
        )
        lines += [f"{count:9d} coroutine {name}" for name, count in coroutines.most_common(15)]
        with open(_census, "a") as out:
            out.write("\n".join(lines) + "\n")

    signal.signal(signal.SIGUSR2, _take_census)
