"""`roost rules` output in real Prometheus tooling.

Each runs against both Prometheus flavours (Debian's 2.42 and Prometheus 3, see
tests/integration/conftest.py):

* `promtool check rules` accepts the rules of every shipped policy;
* `promtool test rules` evaluates them on synthetic series with no clock: the
  recorded burn rates have the workbook's values and the page alert fires;
* the session's real Prometheus loads them, and on a synthetic exporter with a
  50 % error rate the page alert fires, while an objective whose series never
  appear raises the no-data alert.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from harness.probes import eventually
from harness.processes import free_port
from harness.tools import REPO

if TYPE_CHECKING:
    from harness.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

POLICIES = sorted((REPO / "examples").glob("slopolicy*.yaml"))
TIMEOUT_S = 120.0


def roost_rules(policy: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "roost", "rules", str(policy), *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONPATH": str(REPO / "operator")},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def promtool(promtool_binary: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The promtool of the flavour under test (tests/integration/conftest.py)."""
    binary = promtool_binary

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), *args], capture_output=True, text=True, check=False, timeout=120
        )

    return run


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
@pytest.mark.parametrize("extra", [[], ["--selector-labels", "model=m", "--group-by", "version"]])
def test_promtool_accepts_the_rules_of_every_example(
    promtool: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
    policy: Path,
    extra: list[str],
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(roost_rules(policy, *extra))
    done = promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


# --- promtool test rules: exact values on synthetic series, no wall clock --------------

WORKBOOK_POLICY = {
    "apiVersion": "roost.dev/v1alpha1",
    "kind": "SLOPolicy",
    "metadata": {"name": "scorer"},
    "spec": {
        "period": "30d",
        "objectives": [
            {
                "name": "availability",
                "target": 0.999,
                "ratio": {
                    "errors": 'model_predictions_total{status="error"}',
                    "total": "model_predictions_total",
                },
            }
        ],
    },
}


def test_promtool_unit_test_the_workbook_page(
    promtool: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """600 requests a minute, 60 of them errors (10 %) at 99.9 %: burn 100 in every
    window, above 14.4 over 1h and 5m, so the page fires (SRE Workbook ch. 5)."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(WORKBOOK_POLICY))
    (tmp_path / "rules.yaml").write_text(roost_rules(policy, "--selector-labels", "model=m"))
    labels = {
        "roost_slo": "scorer",
        "roost_objective": "availability",
        "model": "m",
    }
    selector = "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'model_predictions_total{model="m", status="ok"}',
                        "values": "0+540x180",
                    },
                    {
                        "series": 'model_predictions_total{model="m", status="error"}',
                        "values": "0+60x180",
                    },
                ],
                "promql_expr_test": [
                    {
                        "expr": f"roost_slo:burn_rate:ratio_rate5m{selector}",
                        "eval_time": "30m",
                        "exp_samples": [
                            {"labels": f"roost_slo:burn_rate:ratio_rate5m{selector}", "value": 100}
                        ],
                    },
                    {
                        "expr": f"roost_slo:sli_total:increase1h{selector}",
                        "eval_time": "90m",
                        "exp_samples": [
                            {"labels": f"roost_slo:sli_total:increase1h{selector}", "value": 36000}
                        ],
                    },
                    {
                        "expr": f"roost_slo:sli_error:ratio_rate1h{selector}",
                        "eval_time": "90m",
                        "exp_samples": [
                            {"labels": f"roost_slo:sli_error:ratio_rate1h{selector}", "value": 0.1}
                        ],
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "90m",
                        "alertname": "RoostSLOErrorBudgetBurn",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "page", **labels},
                                "exp_annotations": _annotations("page", 100),
                            },
                            {
                                "exp_labels": {"severity": "ticket", **labels},
                                "exp_annotations": _annotations("ticket", 100),
                            },
                        ],
                    },
                    {"eval_time": "90m", "alertname": "RoostSLONoData", "exp_alerts": []},
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = promtool("test", "rules", str(tmp_path / "tests.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _annotations(severity: str, burn: float) -> dict[str, str]:
    ladder = {
        "page": "1h/5m above 14.4x; 6h/30m above 6x",
        "ticket": "1d/2h above 3x; 3d/6h above 1x",
    }
    return {
        "summary": f"SLO scorer/availability burns its error budget too fast ({severity})",
        "description": (
            f"Objective availability (target 0.999): burn rate {burn:.3g} over the long window; "
            f"fires when both windows of a pair burn faster than: {ladder[severity]}."
        ),
    }


# --- the session's Prometheus: a real alert on a synthetic series -----------------------


class ErroringExporter:
    """A model server stand-in on loopback: every 50 ms one good and one failed request."""

    def __init__(self, model: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, start_http_server

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "model_predictions", "Predictions.", ["model", "status"], registry=self.registry
        )
        self.model = model
        self.port = free_port()
        self.server, self.thread = start_http_server(
            self.port, addr="127.0.0.1", registry=self.registry
        )
        self.stopped = threading.Event()
        self.ticker = threading.Thread(target=self._run, daemon=True)
        self.ticker.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.05):
            self.requests.labels(self.model, "ok").inc()
            self.requests.labels(self.model, "error").inc()

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()


def _api(prometheus_url: str, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{prometheus_url}{path}{query}", timeout=10) as answer:
        return json.load(answer)["data"]


@pytest.fixture
def exporter() -> Iterator[ErroringExporter]:
    running = ErroringExporter(f"fires-{secrets.token_hex(3)}")
    yield running
    running.stop()


@pytest.fixture
def load_rules(prometheus: PrometheusServer) -> Iterator[Callable[[Path], None]]:
    loaded: list[Path] = []

    def load(path: Path) -> None:
        prometheus.add_rule_file(path)
        loaded.append(path)

    yield load
    for path in loaded:
        prometheus.remove_rule_file(path)


def test_an_alert_fires_in_the_real_prometheus(
    exporter: ErroringExporter,
    register_scrape_target: Callable[[str, str], None],
    load_rules: Callable[[Path], None],
    prometheus_url: str,
    tmp_path: Path,
) -> None:
    # Short windows so it fires in seconds: 10s/1m at 10x pages, 30s/5m at 2x tickets.
    policy = {
        "apiVersion": "roost.dev/v1alpha1",
        "kind": "SLOPolicy",
        "metadata": {"name": "fast"},
        "spec": {
            "period": "1h",
            "objectives": [
                {
                    "name": "availability",
                    "target": 0.99,
                    "ratio": {
                        "errors": 'model_predictions_total{status="error"}',
                        "total": "model_predictions_total",
                    },
                },
                {
                    "name": "latency",
                    "target": 0.99,
                    "latency": {"histogram": "never_exported_seconds", "threshold": "250ms"},
                },
            ],
            "burnRateRules": [
                {"longWindow": "1m", "shortWindow": "10s", "burnRate": 10, "severity": "page"},
                {"longWindow": "5m", "shortWindow": "30s", "burnRate": 2, "severity": "ticket"},
            ],
        },
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    rules = tmp_path / "rules.yaml"
    rules.write_text(roost_rules(path, "--selector-labels", f"model={exporter.model}"))
    started = time.monotonic()
    load_rules(rules)
    register_scrape_target(f"rules-{exporter.model}", f"127.0.0.1:{exporter.port}")

    groups = _api(prometheus_url, "/api/v1/rules")["groups"]
    ours = {g["name"]: g for g in groups if g["file"] == str(rules)}
    assert set(ours) == {"roost-slo-fast-sli", "roost-slo-fast-sli-long", "roost-slo-fast-alerts"}
    assert ours["roost-slo-fast-sli-long"]["interval"] == 10

    def alerts() -> list[dict[str, Any]]:
        return [
            a
            for a in _api(prometheus_url, "/api/v1/alerts")["alerts"]
            if a["labels"].get("model") == exporter.model
        ]

    def firing(name: str, **labels: str) -> Callable[[list[dict[str, Any]]], bool]:
        return lambda found: any(
            a["labels"]["alertname"] == name
            and a["state"] == "firing"
            and all(a["labels"].get(k) == v for k, v in labels.items())
            for a in found
        )

    eventually(
        alerts,
        firing("RoostSLOErrorBudgetBurn", severity="page", roost_objective="availability"),
        TIMEOUT_S,
        "the page alert firing",
        every_s=0.5,
    )
    page_after = time.monotonic() - started
    eventually(
        alerts,
        firing("RoostSLONoData", roost_objective="latency"),
        TIMEOUT_S,
        "the no-data alert of the objective without series",
        every_s=0.5,
    )
    no_data_after = time.monotonic() - started

    # 50 % errors at 99 %: burn 50 over the short window, ±extrapolation.
    burn = _api(
        prometheus_url,
        "/api/v1/query",
        query=f'roost_slo:burn_rate:ratio_rate10s{{model="{exporter.model}"}}',
    )["result"]
    assert len(burn) == 1
    assert 30 < float(burn[0]["value"][1]) < 70
    assert not firing("RoostSLONoData", roost_objective="availability")(alerts())
    # The rules never failed to evaluate.
    health = {
        r.get("name") or r.get("alert"): r["health"]
        for g in _api(prometheus_url, "/api/v1/rules")["groups"]
        if g["file"] == str(rules)
        for r in g["rules"]
    }
    assert set(health.values()) == {"ok"}, health
    print(f"\npage alert firing {page_after:.1f} s, no-data {no_data_after:.1f} s after loading")
