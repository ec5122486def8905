"""Fixtures for e2e tests: the stand-in data plane and the operator as a process.

Builds on the session fixtures of tests/conftest.py (cluster, Prometheus,
scrape-target registration, per-test namespaces). Every test in this folder
is marked ``e2e``.
"""

from __future__ import annotations

import secrets
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from harness.dataplane import (
    Dataplane,
    LoadGenerator,
    MakeDataplane,
    Mode,
    ModelServerSimulator,
    StartLoad,
)
from harness.operator_process import MakeOperator, OperatorProcess
from harness.probes import Kubectl
from harness.prometheus import PrometheusServer, ScrapeTarget
from harness.tools import REPO

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from harness.session import HarnessSession

HERE = Path(__file__).resolve().parent
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Called with every collected item of the session, not only this folder's.
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report, so a fixture's teardown can tell a failed test.
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _test_failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(REPORTS, {})
    return any(r.failed for r in reports.values())


# -- the operator ----------------------------------------------------------------


@pytest.fixture(scope="session")
def roost_crds(kubectl: Kubectl) -> list[str]:
    """Roost's CRDs from crds/, applied as a user would and Established."""
    crds = sorted((REPO / "crds").glob("*.yaml"))
    if not crds:
        pytest.fail("crds/ has no CRD YAML: run `roost crds` to generate it")
    names = [
        doc["metadata"]["name"]
        for path in crds
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    ]
    # --force-conflicts: the chart tests share this cluster and leave the CRDs owned by
    # "helm"; the e2e suite takes the repository's CRDs as they are.
    kubectl.apply_files(crds, server_side=True, force_conflicts=True)
    kubectl("wait", "--for=condition=Established", *(f"crd/{n}" for n in names), "--timeout=60s")
    return names


@pytest.fixture
def make_operator(
    kubeconfig: Path,
    prometheus_url: str,
    namespace: str,
    roost_crds: list[str],
    roost_session: HarnessSession,
    request: pytest.FixtureRequest,
) -> Iterator[MakeOperator]:
    """``make_operator(*extra_args, env=None)``: the operator as a process watching this
    test's namespace (``roost run`` with ``extra_args``, the environment plus ``env``),
    healthy when returned and stopped after the test; its log tail is printed if the
    test failed (the log itself is in <session>/operator/logs/)."""
    started: list[OperatorProcess] = []

    def make(*extra_args: str, env: Mapping[str, str] | None = None) -> OperatorProcess:
        operator = OperatorProcess(
            kubeconfig=kubeconfig,
            namespace=namespace,
            prometheus_url=prometheus_url,
            state_dir=roost_session.root / "operator",
            extra_args=extra_args,
            env=env,
        )
        started.append(operator)
        operator.start()
        return operator

    try:
        yield make
    finally:
        for operator in started:
            operator.stop()
            if _test_failed(request):
                print(f"\n--- {operator.log} (last lines) ---\n{operator.log_tail()}")


@pytest.fixture
def roost_operator(make_operator: MakeOperator) -> OperatorProcess:
    """The operator with its default settings (see make_operator)."""
    return make_operator()


# -- the data plane --------------------------------------------------------------


@pytest.fixture
def make_dataplane(prometheus: PrometheusServer) -> Iterator[MakeDataplane]:
    """``make_dataplane(model=None, stable_version="v1", canary_version="v2")``:
    two simulators, scraped by the session's Prometheus (every 1 s, the
    harness's global interval) before it returns; stopped and unregistered
    after the test.

    Both scrape jobs are added before waiting for either: Prometheus applies
    new targets at most every 5 s, so waiting job by job (as
    ``register_scrape_target`` does) would cost that twice.

    The model label defaults to ``demo-<random>``: Prometheus keeps a finished
    test's samples, and range queries over the same labels would count them."""
    made: list[ModelServerSimulator] = []
    jobs: list[str] = []

    def make(
        model: str | None = None, stable_version: str = "v1", canary_version: str = "v2"
    ) -> Dataplane:
        model = model or f"demo-{secrets.token_hex(3)}"
        stable = ModelServerSimulator(model, stable_version)
        made.append(stable)
        canary = ModelServerSimulator(model, canary_version)
        made.append(canary)
        by_version = {s.version: f"dataplane-{model}-{s.version}" for s in (stable, canary)}
        for simulator in (stable, canary):
            prometheus.add_scrape_target(
                ScrapeTarget(by_version[simulator.version], simulator.address)
            )
            jobs.append(by_version[simulator.version])
        for job in by_version.values():
            prometheus.wait_for_target_up(job)
        return Dataplane(model, stable, canary, by_version)

    yield make
    for job in jobs:
        prometheus.remove_scrape_target(job)
    for simulator in made:
        simulator.stop()


@pytest.fixture
def dataplane(make_dataplane: MakeDataplane) -> Dataplane:
    """Versions v1 (stable) and v2 (canary) of a model ``demo-<random>``."""
    return make_dataplane()


@pytest.fixture
def load_generator(
    api_client: ApiClient, namespace: str, request: pytest.FixtureRequest
) -> Iterator[StartLoad]:
    """``load_generator(name, mode=..., ...)``: a started LoadGenerator for
    ``<name>`` in this test's namespace, over the ``dataplane`` fixture's
    simulators unless another Dataplane is given; stopped after the test."""
    started: list[LoadGenerator] = []

    def start(
        name: str,
        *,
        mode: Mode = "httproute",
        dataplane: Dataplane | None = None,
        route: str | None = None,
        versions: Mapping[str, str] | None = None,
        rps: float = 50.0,
        tick_s: float = 1.0,
        max_duration_s: float = 600.0,
        seed: int = 0,
        tagged: tuple[Mapping[str, str], float] | None = None,
    ) -> LoadGenerator:
        plane: Dataplane = dataplane or request.getfixturevalue("dataplane")
        generator = LoadGenerator(
            api_client,
            namespace,
            name,
            plane.simulators,
            mode=mode,
            route=route,
            versions=versions,
            rps=rps,
            tick_s=tick_s,
            max_duration_s=max_duration_s,
            seed=seed,
            tagged=tagged,
        )
        started.append(generator.start())
        return generator

    yield start
    for generator in started:
        generator.stop()
