"""Session fixtures for integration and e2e tests: a real cluster and Prometheus.

Nothing here starts unless a test asks for it, so unit tests stay free of
processes. The machinery lives in tests/harness (shared with hack/cluster);
see docs/control-plane.md.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.cluster import ClusterInfo
from harness.localcluster import LocalCluster
from harness.metrics_adapter import USER as METRICS_ADAPTER_USER
from harness.metrics_adapter import MetricsAdapter
from harness.probes import Kubectl
from harness.prometheus import PrometheusServer, ScrapeTarget
from harness.session import HarnessSession

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

RegisterScrapeTarget = Callable[[str, str], None]
SERVICE_ACCOUNT_WAIT_S = 120.0


@pytest.fixture(scope="session")
def roost_session(request: pytest.FixtureRequest) -> Iterator[HarnessSession]:
    session = HarnessSession.create()
    yield session
    failed = request.session.testsfailed > 0
    session.clean_up(keep_logs=failed)
    if failed:
        print(f"\nlogs of the test cluster and Prometheus kept in {session.root}")


@pytest.fixture(scope="session")
def cluster(roost_session: HarnessSession) -> Iterator[ClusterInfo]:
    """A running cluster (local binaries by default), stopped at session end."""
    try:
        yield roost_session.start_cluster()
    finally:
        roost_session.stop_cluster()


@pytest.fixture(scope="session")
def kubeconfig(cluster: ClusterInfo) -> Path:
    return cluster.kubeconfig


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> Iterator[ApiClient]:
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(kubeconfig))
    yield client
    client.close()


@pytest.fixture(scope="session")
def kubectl(roost_session: HarnessSession, kubeconfig: Path) -> Kubectl:
    return Kubectl(roost_session.tools.binary("kubectl"), kubeconfig)


@pytest.fixture(scope="session")
def prometheus(roost_session: HarnessSession) -> Iterator[PrometheusServer]:
    """Our own Prometheus on loopback, scraping every 1 s."""
    try:
        yield roost_session.start_prometheus()
    finally:
        roost_session.stop_prometheus()


@pytest.fixture
def prometheus_url(prometheus: PrometheusServer) -> str:
    """The URL of the test's own ``prometheus``. Function-scoped on purpose: a session
    value would keep the first flavour's URL (the e2e tests' server) for the integration
    tests' Prometheus 3, whose fixture overrides ``prometheus`` but not this one."""
    return prometheus.url


@pytest.fixture
def register_scrape_target(prometheus: PrometheusServer) -> Iterator[RegisterScrapeTarget]:
    """``register(job, "127.0.0.1:PORT")`` adds a scrape job, reloads Prometheus and
    waits for a first successful scrape; the jobs are removed after the test."""
    jobs: list[str] = []

    def register(job: str, address: str) -> None:
        prometheus.add_scrape_target(ScrapeTarget(job, address))
        jobs.append(job)
        prometheus.wait_for_target_up(job)

    yield register
    for job in jobs:
        prometheus.remove_scrape_target(job)


@pytest.fixture
def metrics_adapter(
    roost_session: HarnessSession,
    cluster: ClusterInfo,
    kubectl: Kubectl,
    prometheus: PrometheusServer,
) -> Iterator[MetricsAdapter]:
    """prometheus-adapter on loopback, serving custom.metrics.k8s.io and
    external.metrics.k8s.io from the session's Prometheus with the rules
    `roost rules --prometheus-adapter` writes, registered as APIServices; unregistered
    and stopped after the test, so tests that do not ask for it see no metrics API."""
    local = roost_session.cluster
    if not isinstance(local, LocalCluster):
        pytest.skip(
            "the metrics adapter runs as a process on 127.0.0.1, which only the local "
            "control plane's apiserver can reach"
        )
    rules = subprocess.run(
        [sys.executable, "-m", "roost", "rules", "--prometheus-adapter"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    adapter = MetricsAdapter(
        roost_session.root / "metrics-adapter",
        roost_session.tools.binary("prometheus-adapter"),
        kubectl=kubectl,
        kubeconfig=local.user_kubeconfig("metrics-adapter", METRICS_ADAPTER_USER),
        prometheus_url=prometheus.url,
        config=rules,
    )
    adapter.up()
    try:
        yield adapter
    finally:
        adapter.down()


@pytest.fixture
def namespace(api_client: ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test, deleted afterwards."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(api_client)
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:48].strip("-")
    name = f"{stem}-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods are refused until the namespace's default ServiceAccount exists. The
    # controller-manager creates it; after a test restarted the apiserver it can take
    # well over 30 s to resync (seen in CI), so allow two minutes.
    deadline = time.monotonic() + SERVICE_ACCOUNT_WAIT_S
    while not core.list_namespaced_service_account(
        name, field_selector="metadata.name=default"
    ).items:
        if time.monotonic() > deadline:
            pytest.fail(
                f"namespace {name} got no default ServiceAccount within "
                f"{SERVICE_ACCOUNT_WAIT_S:.0f} s"
            )
        time.sleep(0.1)
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise
