"""Rollouts end to end: the operator as a process, the local control plane, a real Prometheus.

The data plane is the test harness's (tests/harness/dataplane.py): simulated
model servers scraped by Prometheus, and a load generator that splits requests
the way the HTTPRoute (or the replica counts) in the apiserver says. Policies
use a 99 % target and short intervals so decisions come in tens of seconds;
the statistics are the same as in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from harness import manifests
from harness.dataplane import Dataplane
from harness.manifests import gateway_traffic
from harness.operator_process import MakeOperator, OperatorProcess

GROUP, VERSION = "roost.dev", "v1alpha1"
NAME = "scorer"
TIMEOUT_S = 240.0


# --- fixtures and helpers ---------------------------------------------------------


@pytest.fixture
def operator(make_operator: MakeOperator) -> OperatorProcess:
    return make_operator("--tick", "2s")


class Cluster:
    """Small helpers over the API for one test namespace."""

    def __init__(self, api: ApiClient, namespace: str) -> None:
        self.ns = namespace
        self.custom = client.CustomObjectsApi(api)
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)

    def create(self, group: str, version: str, plural: str, body: dict[str, Any]) -> None:
        self.custom.create_namespaced_custom_object(group, version, self.ns, plural, body)

    def md(self) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(  # type: ignore[no-any-return]
            GROUP, VERSION, self.ns, "modeldeployments", NAME
        )

    def status(self) -> dict[str, Any]:
        return self.md().get("status") or {}

    def patch_md(self, body: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.ns, "modeldeployments", NAME, body
        )

    def route_weights(self) -> dict[str, int]:
        route = self.custom.get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", self.ns, "httproutes", NAME
        )
        refs = route["spec"]["rules"][0]["backendRefs"]
        return {ref["name"]: int(ref.get("weight", 1)) for ref in refs}

    def route_filters(self) -> list[dict[str, Any]]:
        route = self.custom.get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", self.ns, "httproutes", NAME
        )
        return list(route["spec"]["rules"][0].get("filters") or [])

    def deployments(self) -> list[Any]:
        selector = f"roost.dev/model-deployment={NAME}"
        return list(self.apps.list_namespaced_deployment(self.ns, label_selector=selector).items)

    def pods(self, version: str) -> set[str]:
        selector = f"roost.dev/model-deployment={NAME},roost.dev/version={version}"
        return {
            p.metadata.uid
            for p in self.core.list_namespaced_pod(self.ns, label_selector=selector).items
        }

    def events(self) -> list[Any]:
        return [
            e
            for e in self.core.list_namespaced_event(self.ns).items
            if e.involved_object.kind == "ModelDeployment"
        ]

    def wait(
        self, what: str, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = TIMEOUT_S
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.status()
            if predicate(status):
                return status
            time.sleep(0.25)
        pytest.fail(f"timed out waiting for {what}; status: {status}")


@pytest.fixture
def k8s(api_client: ApiClient, namespace: str) -> Cluster:
    return Cluster(api_client, namespace)


def policy(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "objectives": [
            {
                "name": "availability",
                "target": 0.99,
                "ratio": {
                    "errors": 'model_predictions_total{status="error"}',
                    "total": "model_predictions_total",
                },
            }
        ],
        "canary": {"maxBurnRate": 2, "minRequests": 50},
    }
    spec.update(overrides)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SLOPolicy",
        "metadata": {"name": NAME},
        "spec": spec,
    }


def model_deployment(
    model: str, version: str, *, provider: str = "gatewayAPI", **rollout: Any
) -> dict[str, Any]:
    traffic = gateway_traffic(NAME) if provider == "gatewayAPI" else {"provider": provider}
    return manifests.model_deployment(
        NAME,
        model,
        version,
        policy=NAME,
        replicas=2,
        traffic=traffic,
        rollout={
            "steps": [{"weight": 25, "pause": "5s"}, {"weight": 50, "pause": "5s"}],
            "analysisInterval": "5s",
            "noDataDeadline": "2m",
            "progressDeadline": "10m",
            **rollout,
        },
    )


def http_route() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": NAME},
        "spec": {
            "parentRefs": [{"name": "gateway"}],
            "rules": [{"backendRefs": [{"name": f"{NAME}-stable", "port": 8080, "weight": 100}]}],
        },
    }


def start_stable(
    k8s: Cluster,
    dataplane: Dataplane,
    *,
    steps: list[dict[str, Any]] | None = None,
    **policy_overrides: Any,
) -> None:
    k8s.create("gateway.networking.k8s.io", "v1", "httproutes", http_route())
    k8s.create(GROUP, VERSION, "slopolicies", policy(**policy_overrides))
    rollout = {} if steps is None else {"steps": steps}
    k8s.create(
        GROUP, VERSION, "modeldeployments", model_deployment(dataplane.model, "v1", **rollout)
    )
    k8s.wait("the first version to become stable", lambda s: s.get("stableVersion") == "v1")


def roll_out(k8s: Cluster, version: str = "v2") -> None:
    k8s.patch_md({"spec": {"model": {"version": version}}})


def progressing_reason(status: dict[str, Any]) -> str:
    return next(c["reason"] for c in status.get("conditions", []) if c["type"] == "Progressing")


# --- scenarios --------------------------------------------------------------------


def test_a_healthy_canary_steps_through_every_weight_and_is_promoted_without_restarts(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.001)
    start_stable(k8s, dataplane)
    load = load_generator(NAME, rps=150)
    roll_out(k8s)
    k8s.wait(
        "the canary at its first step", lambda s: s.get("canaryWeight", {}).get("applied") == 25
    )
    canary_pods = k8s.pods("v2")
    assert canary_pods
    status = k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "Promoted"
    # Traffic went through both steps, then all to the promoted version.
    shares = {round(100 * t.share("canary")) for t in load.history() if sum(t.weights.values()) > 0}
    assert {25, 50} <= shares
    assert k8s.route_weights() == {f"{NAME}-stable": 100, f"{NAME}-canary": 0}
    # The promoted pods are the canary's pods: no restart. The old version is gone.
    deployments = k8s.deployments()
    assert [d.metadata.labels["roost.dev/version"] for d in deployments] == ["v2"]
    assert canary_pods <= k8s.pods("v2")
    assert status["lastAnalysis"]["promotable"] is True
    reasons = {e.reason for e in k8s.events()}
    assert {"RolloutStarted", "StepAdvanced", "Promoted"} <= reasons


def test_an_error_regression_is_rolled_back_with_its_numbers(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.2)
    start_stable(k8s, dataplane)
    load = load_generator(NAME, rps=100)
    roll_out(k8s)
    status = k8s.wait("the rollback", lambda s: s.get("phase") == "RolledBack")
    assert progressing_reason(status) in {"BurnRateExceeded", "WorseThanStable"}
    assert status["canaryWeight"]["applied"] == 0
    assert k8s.route_weights()[f"{NAME}-canary"] == 0
    analysis = status["lastAnalysis"]
    assert analysis["verdict"] == "fail"
    failing = [g for g in analysis["gates"] if g["outcome"] == "fail"]
    assert failing
    assert failing[0]["lnEFail"] >= failing[0]["failThreshold"]
    assert "bad of" in status["message"]
    assert any(e.reason in {"BurnRateExceeded", "WorseThanStable"} for e in k8s.events())
    # No request reaches the canary once the route says 0.
    load.wait_for(lambda t: t.share("canary") == 0, timeout_s=30)
    since = time.time()
    load.wait_ticks(3)
    assert load.requests("v2", since=since) == 0


SHADOW_STEPS = [{"mirror": 100, "pause": "10s"}, {"weight": 50, "pause": "5s"}]
TESTERS = {"headers": [{"name": "x-tester", "value": "1"}]}


def test_a_shadow_step_rejects_a_bad_model_that_no_user_was_served_by(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.2)
    start_stable(k8s, dataplane, steps=SHADOW_STEPS)
    load = load_generator(NAME, rps=100)
    roll_out(k8s)
    k8s.wait("the shadow step", lambda s: s.get("canaryWeight", {}).get("appliedMirror") == 100)
    status = k8s.wait("the rollback", lambda s: s.get("phase") == "RolledBack")
    assert progressing_reason(status) in {"BurnRateExceeded", "WorseThanStable"}
    assert status["lastAnalysis"]["step"] == 0
    # The canary answered copies only: no client was ever answered by it.
    assert load.mirrored("v2") > 0
    assert load.requests("v2") == 0
    assert status["canaryWeight"]["appliedMirror"] == 0
    assert k8s.route_filters() == []
    messages = [e.message for e in k8s.events() if e.reason == "StepAdvanced"]
    assert messages == ["step 1/2: 100% of requests mirrored to the canary"]
    since = time.time()
    load.wait_ticks(3)
    assert load.mirrored("v2", since=since) == 0


def test_a_healthy_canary_passes_a_shadow_and_a_testers_step_then_is_promoted(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.001)
    steps = [
        {"mirror": 100, "pause": "10s"},
        {"match": TESTERS, "pause": "10s"},
        {"weight": 50, "pause": "5s"},
    ]
    start_stable(k8s, dataplane, steps=steps)
    # A fifth of the requests come from testers, with the header.
    load = load_generator(NAME, rps=150, tagged=({"X-Tester": "1"}, 0.2))
    roll_out(k8s)
    k8s.wait("the shadow step", lambda s: s.get("canaryWeight", {}).get("appliedMirror") == 100)
    filters = k8s.route_filters()
    assert [f["requestMirror"]["percent"] for f in filters] == [100]
    status = k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "Promoted"
    ticks = load.history()
    shadow = [t for t in ticks if t.mirrors]
    matched = [
        t
        for t in ticks
        if t.share("canary") == 0
        and any(b.role == "canary" and b.weight > 0 for b in t.tagged_backends)
    ]
    weighted = [t for t in ticks if round(100 * t.share("canary")) == 50]
    assert shadow, "no tick saw the shadow step"
    assert matched, "no tick saw the testers' step"
    assert weighted, "no tick saw the weighted step"
    # The mirror first, then the testers, then users at large.
    assert shadow[-1].at < matched[0].at
    assert matched[-1].at < weighted[0].at
    assert sum(t.requests.get("v2", 0) for t in shadow) == 0
    assert sum(t.mirrored.get("v2", 0) for t in shadow) > 0
    served = sum(t.requests.get("v2", 0) for t in matched)
    assert served > 0
    assert served == sum(t.tagged.get("v2", 0) for t in matched)  # the testers' only
    messages = {e.message for e in k8s.events() if e.reason == "StepAdvanced"}
    assert messages == {
        "step 1/3: 100% of requests mirrored to the canary",
        "step 2/3: requests with x-tester: 1 sent to the canary",
        "step 3/3: canary at 50%",
    }
    assert k8s.route_filters() == []
    assert k8s.route_weights() == {f"{NAME}-stable": 100, f"{NAME}-canary": 0}
    rules = k8s.custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", k8s.ns, "httproutes", NAME
    )["spec"]["rules"]
    assert [r.get("name") for r in rules] == [None]  # Roost's match rule is gone


class Receiver:
    """A local HTTP receiver of notifications and webhooks (the test's own Slack and
    endpoints): records each POST's path and JSON body, answers ``codes[path]`` (204 by
    default); ``/hang`` answers only when closed."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.got: list[tuple[str, dict[str, Any]]] = []
        self.codes: dict[str, int] = {}  # path -> status code to answer (default 204)
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/hang":
                    outer.release.wait(120)
                outer.got.append((self.path, body))
                self.send_response(outer.codes.get(self.path, 204))
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in list(self.got) if p == path]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_confirm_webhook_holds_the_promotion_and_notifications_go_out_anyway(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    """A confirmPromotion webhook holds until it answers 200, then postRollout is told;
    notifications reach a webhook and Slack (URL from a Secret) in the Event's words
    while one receiver never answers and one is down."""
    receiver = Receiver()
    receiver.codes["/confirm"] = 403
    try:
        k8s.core.create_namespaced_secret(
            k8s.ns,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="slack"),
                string_data={"url": f"{receiver.url}/slack"},
            ),
        )
        dataplane.stable.set_error_rate(0.001)
        dataplane.canary.set_error_rate(0.001)
        start_stable(k8s, dataplane)
        hooks = [
            {
                "name": "release-manager",
                "type": "confirmPromotion",
                "url": f"{receiver.url}/confirm",
            },
            {"name": "announce", "type": "postRollout", "url": f"{receiver.url}/post"},
        ]
        notifications = [
            {"type": "webhook", "url": f"{receiver.url}/hang"},
            {"type": "webhook", "url": "http://127.0.0.1:9/nobody"},
            {"type": "slack", "urlSecretRef": {"name": "slack", "key": "url"}},
            {"type": "webhook", "url": f"{receiver.url}/hook"},
        ]
        k8s.patch_md({"spec": {"rollout": {"webhooks": hooks}, "notifications": notifications}})
        load_generator(NAME, rps=150)
        roll_out(k8s)
        held = k8s.wait(
            "the promotion held by its webhook",
            lambda s: "confirmPromotion" in s.get("message", ""),
        )
        assert held["promotion"] == "Promoted"
        asked = eventually_list(lambda: receiver.bodies("/confirm"), 3)
        assert len(asked) >= 3  # asked again every tick while it says no
        status = k8s.status()
        assert status["phase"] == "Progressing"
        assert status["stableVersion"] == "v1"
        assert receiver.bodies("/post") == []
        receiver.codes["/confirm"] = 200
        done = k8s.wait(
            "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
        )
        assert progressing_reason(done) == "Promoted"
        results = {r["name"]: r for r in done["webhooks"]}
        assert (results["release-manager"]["passed"], results["release-manager"]["code"]) == (
            True,
            200,
        )
        posted = eventually_list(lambda: receiver.bodies("/post"), 1)
        assert posted[0]["phase"] == "Succeeded"
        assert posted[0]["stableVersion"] == "v2"
        notices = eventually_list(lambda: receiver.bodies("/hook"), 4)
        assert [h["notice"] for h in notices] == [
            "started",
            "stepAdvanced",
            "stepAdvanced",
            "promoted",
        ]
        assert notices[0]["canaryVersion"] == "v2"
        promoted = next(e for e in k8s.events() if e.reason == "Promoted")
        assert notices[-1]["message"] == promoted.message  # the Event's own words
        slack = eventually_list(lambda: receiver.bodies("/slack"), 4)
        assert slack[-1]["text"].startswith(f"*{k8s.ns}/{NAME}: promoted*")
        # The receiver that never answers held up nothing above; it got none yet.
        assert receiver.bodies("/hang") == []
    finally:
        receiver.close()


def test_a_failing_pre_rollout_webhook_stops_the_rollout_before_any_traffic(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    receiver = Receiver()
    receiver.codes["/eval"] = 500
    try:
        start_stable(k8s, dataplane)
        hooks = [
            {"name": "offline-eval", "type": "preRollout", "url": f"{receiver.url}/eval"},
            {"name": "cleanup", "type": "rollback", "url": f"{receiver.url}/undo"},
        ]
        k8s.patch_md({"spec": {"rollout": {"webhooks": hooks}}})
        load = load_generator(NAME, rps=100)
        roll_out(k8s)
        status = k8s.wait("the rollback", lambda s: s.get("phase") == "RolledBack")
        assert progressing_reason(status) == "PreRolloutWebhookFailed"
        assert "offline-eval said HTTP 500" in status["message"]
        results = {r["name"]: r for r in status["webhooks"]}
        assert results["offline-eval"]["code"] == 500
        assert results["offline-eval"]["passed"] is False
        assert results["offline-eval"]["revision"] == status["canaryRevision"]
        assert results["cleanup"]["passed"] is True
        # Nothing was ever routed to the canary: no tick saw it weighted, no request.
        assert all(t.share("canary") == 0 for t in load.history())
        assert load.requests("v2") == 0
        calls = [body for path, body in receiver.got if path == "/eval"]
        assert len(calls) == 1
        assert (calls[0]["canaryVersion"], calls[0]["step"]) == ("v2", -1)
        reasons = [e.reason for e in k8s.events()]
        assert "WebhookFailed" in reasons
    finally:
        receiver.close()


def eventually_list(read: Callable[[], list[Any]], count: int) -> list[Any]:
    deadline = time.monotonic() + 30
    while True:
        found = read()
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_with_istio_a_shadow_step_then_a_weighted_one_promote_through_a_virtualservice(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    """The Istio provider against Istio's own VirtualService schema (the CRD from
    istio.io/api); the data plane reads the VirtualService as Istio's proxies would."""
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.001)
    service = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": NAME},
        "spec": {
            "hosts": [NAME],
            "http": [
                {
                    "name": "predict",
                    "route": [
                        {"destination": {"host": f"{NAME}-stable", "port": {"number": 8080}}}
                    ],
                }
            ],
        },
    }
    k8s.create("networking.istio.io", "v1", "virtualservices", service)
    k8s.create(GROUP, VERSION, "slopolicies", policy())
    md = model_deployment(dataplane.model, "v1")
    md["spec"]["traffic"] = {"provider": "istio", "istio": {"virtualService": NAME}}
    md["spec"]["rollout"]["steps"] = SHADOW_STEPS
    k8s.create(GROUP, VERSION, "modeldeployments", md)
    k8s.wait("the first version to become stable", lambda s: s.get("stableVersion") == "v1")
    load = load_generator(NAME, mode="istio", rps=150)
    roll_out(k8s)
    k8s.wait("the shadow step", lambda s: s.get("canaryWeight", {}).get("appliedMirror") == 100)
    live = k8s.custom.get_namespaced_custom_object(
        "networking.istio.io", "v1", k8s.ns, "virtualservices", NAME
    )
    http = live["spec"]["http"][0]
    assert http["mirror"]["host"] == f"{NAME}-canary"
    assert http["mirrorPercentage"] == {"value": 100.0}
    status = k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "Promoted"
    ticks = load.history()
    shadow = [t for t in ticks if t.mirrors]
    weighted = [t for t in ticks if round(100 * t.share("canary")) == 50]
    assert shadow, "no tick saw the shadow step"
    assert weighted, "no tick saw the weighted step"
    assert sum(t.requests.get("v2", 0) for t in shadow) == 0
    assert sum(t.mirrored.get("v2", 0) for t in shadow) > 0
    final = k8s.custom.get_namespaced_custom_object(
        "networking.istio.io", "v1", k8s.ns, "virtualservices", NAME
    )["spec"]["http"][0]
    assert "mirror" not in final
    assert [(d["destination"]["host"], d["weight"]) for d in final["route"]] == [
        (f"{NAME}-stable", 100),
        (f"{NAME}-canary", 0),
    ]


def test_a_latency_regression_is_rolled_back(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    latency = {
        "name": "latency",
        "target": 0.99,
        "latency": {"histogram": "model_request_duration_seconds", "threshold": "250ms"},
    }
    dataplane.stable.set_latency(0.05, 0.2)
    dataplane.canary.set_latency(0.3, 1.0)
    start_stable(k8s, dataplane, objectives=[latency])
    load_generator(NAME, rps=100)
    roll_out(k8s)
    status = k8s.wait("the rollback", lambda s: s.get("phase") == "RolledBack")
    gates = status["lastAnalysis"]["gates"]
    assert all(g["objective"] == "latency" for g in gates)
    assert any(g["outcome"] == "fail" for g in gates)


def test_without_any_traffic_the_weight_holds_then_rolls_back_at_the_no_data_deadline(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane
) -> None:
    start_stable(k8s, dataplane)
    k8s.patch_md({"spec": {"rollout": {"noDataDeadline": "30s"}}})
    roll_out(k8s)
    held = k8s.wait(
        "an inconclusive verdict",
        lambda s: (s.get("lastAnalysis") or {}).get("verdict") == "inconclusive",
    )
    assert held["phase"] == "Progressing"
    assert held["canaryWeight"]["applied"] == 25
    status = k8s.wait("the no-data rollback", lambda s: s.get("phase") == "RolledBack")
    assert progressing_reason(status) == "NoDataDeadline"


def test_low_traffic_holds_the_weight_until_there_is_evidence(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    # 1 req/s, 25 %: the first 45 s bring about 11 canary requests, fewer than the 29 the
    # step rule needs at a 99 % target (and than minRequests 50): nothing moves.
    start_stable(k8s, dataplane)
    load_generator(NAME, rps=1)
    roll_out(k8s)
    k8s.wait("the first step", lambda s: s.get("canaryWeight", {}).get("applied") == 25)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        status = k8s.status()
        assert status.get("phase") == "Progressing", status.get("message")
        assert status["canaryWeight"]["applied"] == 25
        time.sleep(3)
    assert status["lastAnalysis"]["verdict"] == "inconclusive"


def _low_traffic_policy() -> dict[str, Any]:
    # A 98 % target (2 % budget): the promotion test against a burn of 5 (10 % bad)
    # passes on about 52 clean canary requests, the step rule (E >= 3) on about 14:
    # minutes at 1 req/s in 5 s windows, where a 99.9 % target would take an hour.
    availability = {
        "name": "availability",
        "target": 0.98,
        "ratio": {
            "errors": 'model_predictions_total{status="error"}',
            "total": "model_predictions_total",
        },
    }
    return {"objectives": [availability], "canary": {"maxBurnRate": 2, "minRequests": 10}}


def test_a_healthy_canary_at_one_request_a_second_is_promoted_with_a_forecast(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.001)
    start_stable(k8s, dataplane, **_low_traffic_policy())
    load = load_generator(NAME, rps=1)
    roll_out(k8s)
    told = k8s.wait(
        "a promotion forecast",
        lambda s: bool(((s.get("lastAnalysis") or {}).get("forecast") or {}).get("canaryRate")),
    )
    forecast = told["lastAnalysis"]["forecast"]
    assert forecast["reachable"] is True
    assert forecast["atLeastSeconds"] <= forecast["deadlineInSeconds"]
    status = k8s.wait(
        "promotion",
        lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2",
        timeout_s=480,
    )
    assert progressing_reason(status) == "Promoted"
    gate = next(g for g in status["lastAnalysis"]["gates"] if g["gate"] == "burnRate")
    assert gate["outcome"] == "pass"
    assert gate["canary"]["total"] < 200  # about 1 req/s, half of it at most to the canary
    shares = {round(100 * t.share("canary")) for t in load.history() if sum(t.weights.values()) > 0}
    assert {25, 50} <= shares


def test_a_bad_canary_at_one_request_a_second_is_rolled_back(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.3)  # a burn of 15
    start_stable(k8s, dataplane, **_low_traffic_policy())
    load_generator(NAME, rps=1)
    roll_out(k8s)
    status = k8s.wait("the rollback", lambda s: s.get("phase") == "RolledBack", timeout_s=300)
    assert progressing_reason(status) in {"BurnRateExceeded", "WorseThanStable"}
    assert status["canaryWeight"]["applied"] == 0


def test_the_operator_killed_mid_step_continues_the_same_rollout(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    start_stable(k8s, dataplane)
    load_generator(NAME, rps=150)
    roll_out(k8s)
    before = k8s.wait("the first step", lambda s: s.get("currentStep") == 0)
    operator.kill()
    time.sleep(3)
    operator.restart()
    after = k8s.wait(
        "analysis after the restart",
        lambda s: s.get("lastAnalysis", {}).get("at") != before.get("lastAnalysis", {}).get("at"),
    )
    assert after["rolloutStartedAt"] == before["rolloutStartedAt"]
    if after["currentStep"] == before["currentStep"]:
        assert after["stepStartedAt"] == before["stepStartedAt"]
    status = k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "Promoted"


def test_a_new_version_mid_rollout_replaces_the_canary(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    start_stable(k8s, dataplane)
    load_generator(NAME, rps=20)
    roll_out(k8s)
    first = k8s.wait("the first canary", lambda s: s.get("canaryWeight", {}).get("applied") == 25)
    roll_out(k8s, "v3")
    status = k8s.wait("the new canary", lambda s: s.get("canaryVersion") == "v3")
    assert status["canaryRevision"] != first["canaryRevision"]
    assert status["rolloutStartedAt"] != first["rolloutStartedAt"]
    versions = {d.metadata.labels["roost.dev/version"] for d in k8s.deployments()}
    assert versions == {"v1", "v3"}
    assert any(e.reason == "RolloutRestarted" for e in k8s.events())


def test_a_low_stable_error_budget_holds_the_rollout_and_says_why(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.5)
    start_stable(k8s, dataplane, rolloutGuard={"minBudgetRemaining": 0.5}, period="1h")
    load_generator(NAME, rps=50)
    time.sleep(10)  # let the stable burn its budget where Prometheus can see it
    roll_out(k8s)
    status = k8s.wait("the guard", lambda s: s.get("phase") == "Pending")
    condition = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert condition["reason"] == "ErrorBudgetLow"
    assert "availability has" in condition["message"]
    assert not [d for d in k8s.deployments() if d.metadata.labels["roost.dev/version"] == "v2"]


def test_deleting_a_model_deployment_removes_what_it_created(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane
) -> None:
    start_stable(k8s, dataplane)
    assert k8s.deployments()
    k8s.custom.delete_namespaced_custom_object(GROUP, VERSION, k8s.ns, "modeldeployments", NAME)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        services = k8s.core.list_namespaced_service(
            k8s.ns, label_selector=f"roost.dev/model-deployment={NAME}"
        ).items
        if not k8s.deployments() and not services:
            break
        time.sleep(1)
    else:
        pytest.fail("owned Deployments and Services were not garbage-collected")
    with pytest.raises(ApiException) as gone:
        k8s.md()
    assert gone.value.status == 404


def test_serving_settings_changed_without_a_new_version_are_applied(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane
) -> None:
    start_stable(k8s, dataplane)
    (before,) = k8s.deployments()
    assert before.spec.replicas == 2

    def ports() -> dict[str, tuple[int, int]]:
        found = {}
        for service in (NAME, f"{NAME}-stable", f"{NAME}-canary"):
            (port,) = k8s.core.read_namespaced_service(service, k8s.ns).spec.ports
            found[service] = (port.port, port.target_port)
        return found

    def route_ports() -> set[int]:
        route = k8s.custom.get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", k8s.ns, "httproutes", NAME
        )
        return {ref["port"] for ref in route["spec"]["rules"][0]["backendRefs"]}

    def change(what: str, spec: dict[str, Any]) -> dict[str, Any]:
        serving = k8s.status().get("appliedServing")
        assert serving
        k8s.patch_md({"spec": spec})
        return k8s.wait(what, lambda s: s.get("appliedServing") not in (None, serving))

    # While the stable serves: replicas and ports reach its objects, no canary starts.
    status = change(
        "the settings applied to the stable",
        {"replicas": 3, "service": {"port": 9090, "targetPort": 8080}},
    )
    assert status["phase"] == "Succeeded"
    assert status.get("canaryRevision") is None
    (after,) = k8s.deployments()  # the same Deployment: no new version
    assert after.metadata.uid == before.metadata.uid
    assert after.spec.replicas == 3
    assert ports() == {
        NAME: (9090, 8080),
        f"{NAME}-stable": (9090, 8080),
        f"{NAME}-canary": (9090, 8080),
    }
    assert route_ports() == {9090}
    assert k8s.route_weights() == {f"{NAME}-stable": 100, f"{NAME}-canary": 0}
    # Events are posted in the background: the status may show first.
    deadline = time.monotonic() + 30
    while not any(e.reason == "Reconfigured" for e in k8s.events()):
        assert time.monotonic() < deadline, "no Reconfigured Event"
        time.sleep(1)

    # During a rollout the spec describes the canary's pods: a new target port is the
    # canary's; the stable's Services keep the port its pods listen on. (No load: the
    # canary gathers no evidence and stays in its first step.)
    roll_out(k8s)
    k8s.wait("the canary", lambda s: s.get("phase") == "Progressing")
    status = change(
        "the settings applied during the rollout",
        {"service": {"port": 9091, "targetPort": 8081}},
    )
    assert status["phase"] == "Progressing"
    assert ports() == {
        NAME: (9091, 8080),
        f"{NAME}-stable": (9091, 8080),
        f"{NAME}-canary": (9091, 8081),
    }
    assert route_ports() == {9091}


def test_an_invalid_spec_is_reported_not_half_applied(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane
) -> None:
    k8s.create(GROUP, VERSION, "slopolicies", policy())
    body = model_deployment(dataplane.model, "v1")
    body["spec"]["sloPolicyRef"] = {"name": "missing"}
    k8s.create(GROUP, VERSION, "modeldeployments", body)
    status = k8s.wait(
        "Ready=False",
        lambda s: any(
            c["type"] == "Ready" and c["status"] == "False" for c in s.get("conditions", [])
        ),
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "InvalidSpec"
    assert "spec.sloPolicyRef.name" in ready["message"]
    assert k8s.deployments() == []
    # The route is missing too: fixing the policy ref still reports the next problem.
    k8s.patch_md({"spec": {"sloPolicyRef": {"name": NAME}}})
    status = k8s.wait("the route problem", lambda s: "HTTPRoute" in s.get("message", ""))
    assert k8s.deployments() == []


def test_manual_pause_resume_and_promote(
    operator: OperatorProcess,
    k8s: Cluster,
    dataplane: Dataplane,
    load_generator: Any,
    kubeconfig: Path,
) -> None:
    import subprocess
    import sys

    def roost(*args: str) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "roost",
                *args,
                NAME,
                "-n",
                k8s.ns,
                "--kubeconfig",
                str(kubeconfig),
            ],
            check=True,
            capture_output=True,
        )

    start_stable(k8s, dataplane)
    load_generator(NAME, rps=20)
    roll_out(k8s)
    k8s.wait("the first step", lambda s: s.get("currentStep") == 0)
    roost("pause")
    k8s.wait("paused", lambda s: s.get("phase") == "Paused")
    assert "roost.dev/command" not in (k8s.md()["metadata"].get("annotations") or {})
    roost("resume")
    k8s.wait("resumed", lambda s: s.get("phase") == "Progressing")
    roost("promote")
    status = k8s.wait(
        "promoted", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "PromotedManually"


def test_the_replicas_provider_splits_by_replica_counts_and_promotes(
    operator: OperatorProcess, k8s: Cluster, dataplane: Dataplane, load_generator: Any
) -> None:
    dataplane.stable.set_error_rate(0.001)
    dataplane.canary.set_error_rate(0.001)
    k8s.create(GROUP, VERSION, "slopolicies", policy())
    body = model_deployment(dataplane.model, "v1", provider="replicas")
    body["spec"]["replicas"] = 4
    k8s.create(GROUP, VERSION, "modeldeployments", body)
    k8s.wait("stable", lambda s: s.get("stableVersion") == "v1")
    load_generator(NAME, mode="replicas", rps=150)
    roll_out(k8s)
    started = k8s.wait("the first step", lambda s: s.get("canaryWeight", {}).get("applied") == 25)
    assert started["canaryWeight"]["effective"] == 25  # 1 of 4 replicas
    status = k8s.wait(
        "promotion", lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2"
    )
    assert progressing_reason(status) == "Promoted"
    ready = {d.metadata.labels["roost.dev/version"]: d.spec.replicas for d in k8s.deployments()}
    assert ready == {"v2": 4}


def test_prometheus_stopped_mid_rollout_freezes_the_weight_and_resumes_when_back(
    operator: OperatorProcess,
    k8s: Cluster,
    dataplane: Dataplane,
    load_generator: Any,
    prometheus_url: str,
) -> None:
    from urllib.parse import urlparse

    from harness.tcpproxy import TcpProxy

    upstream = urlparse(prometheus_url)
    proxy = TcpProxy(upstream.hostname or "127.0.0.1", upstream.port or 80).start()
    try:
        start_stable(k8s, dataplane)
        k8s.patch_md({"spec": {"prometheus": {"url": proxy.url, "timeout": "2s"}}})
        # 150 req/s prove the canary in one 5 s window: the first step waits 20 s, so the
        # outage comes while the rollout is at it, and lasts past the pause.
        steps = [{"weight": 25, "pause": "20s"}, {"weight": 50, "pause": "5s"}]
        k8s.patch_md({"spec": {"rollout": {"steps": steps}}})
        load_generator(NAME, rps=150)
        roll_out(k8s)
        k8s.wait(
            "analysis at the first step",
            lambda s: s.get("currentStep") == 0 and bool(s.get("lastAnalysis")),
        )
        proxy.stop()  # Prometheus gone, as far as the operator can tell
        frozen = k8s.wait(
            "the metrics outage to show",
            lambda s: (s.get("lastAnalysis") or {}).get("reason") == "MetricsUnavailable",
            timeout_s=60,
        )
        weight = frozen["canaryWeight"]["applied"]
        deadline = time.monotonic() + 30  # past the step's pause: nothing may move
        while time.monotonic() < deadline:
            status = k8s.status()
            assert status["phase"] == "Progressing"
            assert status["canaryWeight"]["applied"] == weight
            time.sleep(2)
        proxy.start()
        status = k8s.wait(
            "promotion after Prometheus is back",
            lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2",
        )
        assert progressing_reason(status) == "Promoted"
    finally:
        proxy.stop()
