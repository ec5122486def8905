"""`roost rules --demand` evaluated by promtool (both Prometheus flavours), no clock.

The demand of docs/capacity.md on synthetic series: the request counter at 10 req/s
(15 s scrapes) and a per-pod in-flight gauge, ``slotsPerReplica: 4``. Each expected
value is the formula's, computed here from the inputs, not read back from Prometheus:

    demand = r + 2 sqrt(r / 60) + max(0, slope of rate[1m]) x 90 + backlog / 120

with r raised, while requests queue, to the last scrape's rate (with a declared service
time S, at least K/S per pod) plus the in-flight growth.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.tools import REPO

pytestmark = pytest.mark.integration

NAMESPACE, NAME = "models", "fraud-scorer"
LABELS = f'namespace="{NAMESPACE}",model_deployment="{NAME}"'
COUNTER = 'model_predictions_total{model="fraud-scorer"}'
GAUGE = 'model_inflight_requests{model="fraud-scorer",pod="%s"}'
STEADY = "0+150x40"  # 10 req/s for 10 minutes


def noise(rate: float) -> float:
    return 2 * math.sqrt(rate / 60)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """The demand rules of examples/modeldeployment.yaml with ``metric: Demand``, its
    service time left to be learned (the rules then raise the rate by ``irate``)."""
    return write_rules(tmp_path, declared=False)


def write_rules(tmp_path: Path, *, declared: bool) -> Path:
    model = yaml.safe_load((REPO / "examples" / "modeldeployment.yaml").read_text())
    model["metadata"]["namespace"] = NAMESPACE
    model["spec"]["autoscaling"]["metric"] = "Demand"
    assert model["spec"]["autoscaling"]["slotsPerReplica"] == 4
    assert model["spec"]["autoscaling"]["serviceTime"] == "50ms"
    if not declared:
        del model["spec"]["autoscaling"]["serviceTime"]
    (tmp_path / "md.yaml").write_text(yaml.safe_dump(model))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "roost",
            "rules",
            "--demand",
            str(tmp_path / "md.yaml"),
            str(REPO / "examples" / "slopolicy.yaml"),
            "--namespace",
            NAMESPACE,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONPATH": str(REPO / "operator")},
    )
    assert done.returncode == 0, done.stderr
    path = tmp_path / "rules.yaml"
    path.write_text(done.stdout)
    return path


def promtool_test(
    promtool: str, rules: Path, series: dict[str, str], checks: list[dict[str, Any]]
) -> None:
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "promql_expr_test": checks,
            }
        ],
    }
    path = rules.parent / "tests.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def sample(record: str, value: float, at: str = "8m") -> dict[str, Any]:
    """``record`` is ``value`` at ``at``, to 1e-9: rate()'s extrapolation and the sums
    round differently in the two flavours, which Prometheus 3's promtool compares exactly."""
    return {
        "expr": f"abs({record} - {value!r}) < bool 1e-9",
        "eval_time": at,
        "exp_samples": [{"labels": f"{{{LABELS}}}", "value": 1}],
    }


def test_a_steady_rate_without_a_queue_is_the_rate_and_its_noise(
    promtool_binary: str, rules: Path
) -> None:
    promtool_test(
        promtool_binary,
        rules,
        {COUNTER: STEADY, GAUGE % "a": "1x40", GAUGE % "b": "3x40"},
        [
            sample("roost:demand_requests:rate1m", 10),
            sample("roost:demand_backlog:sum", 0),
            sample("roost:demand_arrivals:rate", 10),
            sample("roost:demand_rate", 10 + noise(10)),
        ],
    )


def test_a_growing_queue_raises_the_rate_and_is_drained_over_two_minutes(
    promtool_binary: str, rules: Path
) -> None:
    # Pod a's in-flight count grows by one per scrape: 36 at 8m, 32 beyond its 4 slots;
    # arrivals are the 10 req/s counted over the last scrape plus the growth, 1/15 req/s.
    arrivals = 10 + 1 / 15
    promtool_test(
        promtool_binary,
        rules,
        {COUNTER: STEADY, GAUGE % "a": "4+1x40", GAUGE % "b": "2x40"},
        [
            sample("roost:demand_inflight:sum", 38),
            sample("roost:demand_backlog:sum", 32),
            sample("roost:demand_arrivals:rate", arrivals),
            sample("roost:demand_rate", arrivals + noise(arrivals) + 32 / 120),
        ],
    )


def test_with_a_declared_service_time_a_queue_raises_the_rate_to_what_full_pods_serve(
    promtool_binary: str, tmp_path: Path
) -> None:
    # serviceTime 50ms, 4 slots: 80 req/s a full pod; two pods export the gauge and one
    # queues, so the rate is raised to 160 req/s plus the growth (not to the 10 counted).
    rules = write_rules(tmp_path, declared=True)
    arrivals = 2 * 4 / 0.05 + 1 / 15
    promtool_test(
        promtool_binary,
        rules,
        {COUNTER: STEADY, GAUGE % "a": "4+1x40", GAUGE % "b": "2x40"},
        [
            sample("roost:demand_served:rate", 160),
            sample("roost:demand_arrivals:rate", arrivals),
            sample("roost:demand_rate", arrivals + noise(arrivals) + 32 / 120),
        ],
    )
    # Without a queue the served floor is there but does not raise the rate.
    promtool_test(
        promtool_binary,
        rules,
        {COUNTER: STEADY, GAUGE % "a": "1x40", GAUGE % "b": "3x40"},
        [sample("roost:demand_rate", 10 + noise(10))],
    )


def test_a_rising_rate_adds_its_slope_and_a_flat_one_none(
    promtool_binary: str, rules: Path
) -> None:
    # 10 req/s for 5 minutes, then 20 req/s.
    arrivals = "roost:demand_arrivals:rate"
    headroom = f"roost:demand_rate - ({arrivals} + 2 * sqrt({arrivals} / 60))"
    promtool_test(
        promtool_binary,
        rules,
        {COUNTER: "0+150x20 3300+300x40"},
        [
            # While rate[1m] climbs from 10 to 20 the slope (~0.13 req/s per s) adds ~12.
            {
                "expr": f"{headroom} > bool 5",
                "eval_time": "6m",
                "exp_samples": [{"labels": f"{{{LABELS}}}", "value": 1}],
            },
            # Three minutes on, the rate has been flat for two: nothing is added.
            sample("roost:demand_rate", 20 + noise(20), at="9m30s"),
        ],
    )


def test_without_an_inflight_gauge_the_demand_is_the_rate_and_without_requests_none(
    promtool_binary: str, rules: Path
) -> None:
    promtool_test(
        promtool_binary,
        rules,
        {COUNTER: STEADY},
        [sample("roost:demand_backlog:sum", 0), sample("roost:demand_rate", 10 + noise(10))],
    )
    promtool_test(
        promtool_binary,
        rules,
        {GAUGE % "a": "1x40"},
        [{"expr": "roost:demand_rate", "eval_time": "8m", "exp_samples": []}],
    )
