"""One synthetic exporter for every model and version of the scale benchmark.

Serves, on 127.0.0.1, the series the e2e data plane exports
(tests/harness/dataplane.py): ``model_predictions_total{model,version,status}``
and the histogram ``model_request_duration_seconds{model,version}`` with the
same buckets, for ``--models`` models (``m0000``, ``m0001``, ...) times the
``--versions`` given. Values are a pure function of the time since start: each
series grows at ``--rps`` requests per second with a fixed error share and a
fixed latency distribution, so the exporter keeps no state and one scrape of
32,000 series costs one pass of string formatting.

    python -m bench.scale.exporter --models 1000 --port 9100
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# As tests/harness/dataplane.py: includes the 250ms threshold SLOPolicies use.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A tenth of a 99.9 % objective's budget: the rollout guard (minBudgetRemaining) lets
# rollouts start, and canary and stable look alike (every canary stays at its step).
ERROR_SHARE = 0.0001
LATENCY_MEDIAN_S = 0.06
LATENCY_P99_S = 0.2
Z_P99 = 2.3263478740408408


def model_name(index: int) -> str:
    return f"m{index:04d}"


def latency_cdf(
    bound: float, median_s: float = LATENCY_MEDIAN_S, p99_s: float = LATENCY_P99_S
) -> float:
    """P(latency <= bound) for the log-normal with that median and p99."""
    sigma = math.log(p99_s / median_s) / Z_P99
    return 0.5 * (1 + math.erf(math.log(bound / median_s) / (sigma * math.sqrt(2))))


def _le(bound: float) -> str:
    return repr(float(bound))


def exposition(models: Sequence[str], versions: Sequence[str], elapsed_s: float, rps: float) -> str:
    """The Prometheus text format for every (model, version) after ``elapsed_s`` seconds."""
    total = math.floor(rps * elapsed_s)
    errors = math.floor(total * ERROR_SHARE)
    buckets = [(_le(b), math.floor(total * latency_cdf(b))) for b in LATENCY_BUCKETS]
    duration_sum = total * LATENCY_MEDIAN_S * 1.1
    predictions = [
        "# HELP model_predictions_total Predictions served, by outcome",
        "# TYPE model_predictions_total counter",
    ]
    histogram = [
        "# HELP model_request_duration_seconds Time to answer a prediction request",
        "# TYPE model_request_duration_seconds histogram",
    ]
    for model in models:
        for version in versions:
            labels = f'model="{model}",version="{version}"'
            predictions.append(f'model_predictions_total{{{labels},status="ok"}} {total - errors}')
            predictions.append(f'model_predictions_total{{{labels},status="error"}} {errors}')
            for le, count in buckets:
                histogram.append(
                    f'model_request_duration_seconds_bucket{{{labels},le="{le}"}} {count}'
                )
            histogram.append(f'model_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}')
            histogram.append(f"model_request_duration_seconds_count{{{labels}}} {total}")
            histogram.append(f"model_request_duration_seconds_sum{{{labels}}} {duration_sum:.3f}")
    return "\n".join([*predictions, *histogram]) + "\n"


def serve(models: Sequence[str], versions: Sequence[str], rps: float, port: int) -> None:
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = exposition(models, versions, time.monotonic() - started, rps).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"serving {len(models)} models x {len(versions)} versions on :{port}", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, required=True)
    parser.add_argument("--versions", default="v1,v2")
    parser.add_argument("--rps", type=float, default=20.0, help="requests/s per model version")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    models = [model_name(i) for i in range(args.models)]
    serve(models, args.versions.split(","), args.rps, args.port)


if __name__ == "__main__":
    main()
