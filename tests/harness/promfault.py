"""An HTTP proxy in front of a real Prometheus that can misbehave on demand.

``PromFault(upstream_url).start()`` listens on 127.0.0.1; ``mode`` says what the
next requests get:

- ``"pass"``: the upstream's answer, unchanged;
- ``"slow"``: the upstream's answer after ``delay_s`` seconds (set it beyond the
  client's timeout to play a Prometheus that is up but too slow);
- ``"error"``: HTTP 503 with Prometheus's error envelope, as an overloaded
  Prometheus or a proxy in front of it answers;
- ``"nan"``: the upstream's answer with every sample value replaced by ``"NaN"``
  (a valid ``success`` body: what a query of a broken recording rule, or 0/0,
  returns).

Only the query API is touched: any other path is passed through in every mode.
``requests`` counts the requests that reached each mode, so a test can tell the
fault was exercised; ``authorizations`` keeps the ``Authorization`` headers the
client sent (a credentials test checks the token arrived, then that it was not
logged anywhere).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Mode = Literal["pass", "slow", "error", "nan"]
QUERY_PATHS = ("/api/v1/query", "/api/v1/query_range")


def nan_body(body: bytes) -> bytes:
    """A Prometheus query answer with every sample value set to "NaN"."""
    envelope: dict[str, Any] = json.loads(body)
    data = envelope.get("data") or {}
    result = data.get("result")
    kind = data.get("resultType")
    if kind == "scalar" and isinstance(result, list):
        data["result"] = [result[0], "NaN"]
    elif kind == "vector":
        for series in result or []:
            series["value"] = [series["value"][0], "NaN"]
    elif kind == "matrix":
        for series in result or []:
            series["values"] = [[t, "NaN"] for t, _ in series["values"]]
    return json.dumps(envelope).encode()


class PromFault:
    def __init__(self, upstream_url: str, *, delay_s: float = 30.0) -> None:
        self.upstream = upstream_url.rstrip("/")
        self.mode: Mode = "pass"
        self.delay_s = delay_s
        self.requests: Counter[str] = Counter()
        self.authorizations: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def set(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode

    def start(self) -> PromFault:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fault = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._serve(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length))

            def _serve(self, body: bytes | None) -> None:
                with fault._lock:
                    mode = fault.mode
                is_query = self.path.split("?", 1)[0] in QUERY_PATHS
                if not is_query:
                    mode = "pass"
                fault.requests[mode] += 1
                if authorization := self.headers.get("Authorization"):
                    fault.authorizations.add(authorization)
                if mode == "error":
                    self._send(
                        503,
                        b'{"status":"error","errorType":"unavailable",'
                        b'"error":"injected by PromFault"}',
                    )
                    return
                if mode == "slow":
                    time.sleep(fault.delay_s)
                status, payload = self._forward(body)
                if mode == "nan" and status == 200:
                    payload = nan_body(payload)
                self._send(status, payload)

            def _forward(self, body: bytes | None) -> tuple[int, bytes]:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type", "accept")
                }
                request = urllib.request.Request(
                    fault.upstream + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        return int(answer.status), bytes(answer.read())
                except urllib.error.HTTPError as error:
                    return int(error.code), bytes(error.read())

            def _send(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (its timeout): nothing to answer

        return Handler
