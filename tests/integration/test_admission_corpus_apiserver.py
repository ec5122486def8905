"""The bad-input corpus on a real apiserver: it and ``roost validate`` give every case
the same verdict.

Each case goes the way a user's manifest goes, ``kubectl apply --dry-run=server``
(kubectl's YAML reader, strict field validation, then the apiserver's schema and
CEL rules), and, when it is one Roost document, also straight to the apiserver as
the JSON text it would receive from a client that keeps every key
(``?dryRun=All&fieldValidation=Strict``, POSTed as those bytes over the test's own
connection: a kubectl process per case cost more than the apiserver's answers).
Nothing is stored.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from admission_corpus import CASES, Case, raw_json
from harness.probes import Kubectl
from harness.tools import REPO
from roost.cli import main

pytestmark = pytest.mark.integration

NAMESPACE = "admission-corpus"
PLURALS = {"md": "modeldeployments", "slo": "slopolicies"}

Verdicts = dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", REPO / "crds")
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/modeldeployments.roost.dev",
        "crd/slopolicies.roost.dev",
    )
    kubectl("create", "namespace", NAMESPACE)


def _run(kubectl: Kubectl, *args: str) -> tuple[str, str]:
    argv = [str(kubectl.binary), f"--kubeconfig={kubectl.kubeconfig}", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return ("accept" if done.returncode == 0 else "reject"), (done.stdout + done.stderr).strip()


def _post(api_client: ApiClient, url: str, body: str) -> tuple[str, str]:
    """POST ``body`` as it is (the client's own serializer would re-encode it)."""
    config = api_client.configuration
    reply = api_client.rest_client.pool_manager.request(
        "POST",
        config.host + url,
        body=body.encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=60,
    )
    text = reply.data.decode(errors="replace")
    if 200 <= reply.status < 300:
        return "accept", text
    try:
        said = json.loads(text).get("message", text)
    except ValueError:
        said = text
    return "reject", f"HTTP {reply.status}: {said}"


@pytest.fixture(scope="module")
def verdicts(
    crds: None, kubectl: Kubectl, api_client: ApiClient, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Verdicts, Verdicts]:
    """case id -> (verdict, what was said), by kubectl apply and by the apiserver alone."""
    folder = tmp_path_factory.mktemp("corpus")

    def by_kubectl(case: Case) -> tuple[str, tuple[str, str]]:
        path = folder / f"{case.id}.yaml"
        path.write_text(case.text)
        return case.id, _run(kubectl, "apply", "--dry-run=server", "-n", NAMESPACE, "-f", str(path))

    def by_apiserver(case: Case) -> tuple[str, tuple[str, str]] | None:
        body = raw_json(case.text)
        plural = PLURALS.get(case.id.split("-", 1)[0])
        if body is None or plural is None or '"apiVersion": "v1"' in body:
            return None  # not one Roost document: only kubectl can send it
        url = f"/apis/roost.dev/v1alpha1/namespaces/{NAMESPACE}/{plural}"
        url += "?dryRun=All&fieldValidation=Strict"
        return case.id, _post(api_client, url, body)

    with ThreadPoolExecutor(max_workers=4) as pool:
        applied = dict(pool.map(by_kubectl, CASES))
        raw = dict(found for found in pool.map(by_apiserver, CASES) if found is not None)
    return applied, raw


def test_most_cases_also_go_to_the_apiserver_directly(
    verdicts: tuple[Verdicts, Verdicts],
) -> None:
    assert len(verdicts[1]) >= 180


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_apiserver_and_validate_agree(
    case: Case,
    verdicts: tuple[Verdicts, Verdicts],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    applied, raw = verdicts
    if case.id in raw:
        verdict, said = raw[case.id]
        assert verdict == case.verdict, f"apiserver: {said}"
    verdict, said = applied[case.id]
    if case.kubectl_differs:
        assert verdict != case.verdict, f"kubectl apply now agrees ({said}): {case.kubectl_differs}"
    else:
        assert verdict == case.verdict, f"kubectl apply: {said}"
    path = tmp_path / f"{case.id}.yaml"
    path.write_text(case.text)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == (0 if case.verdict == "accept" else 2), err
