"""The stand-in data plane works against the real cluster and Prometheus, with
no operator: traffic follows HTTPRoute weights and Deployment replica ratios
as they change in the apiserver, and Prometheus sees each version's share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from prometheus_api_client import PrometheusConnect

from harness.dataplane import (
    GATEWAY_GROUP,
    GATEWAY_VERSION,
    HTTPROUTES,
    MODEL_DEPLOYMENT_LABEL,
    ROLE_LABEL,
    VERSION_LABEL,
    Dataplane,
    LoadGenerator,
    StartLoad,
)
from harness.probes import eventually

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, V1Deployment

NAME = "demo"
RPS = 300.0
# Ticks (of 1 s) a proportion is measured over: ~1800 requests at 300 rps.
MEASURED_TICKS = 6
IMAGE = "registry.k8s.io/pause:3.10"  # never pulled: kwok runs no containers


def predictions_by_version(prometheus: PrometheusConnect, model: str) -> dict[str, float]:
    """Cumulative requests per version, as Prometheus last scraped them."""
    result = prometheus.custom_query(
        f'sum by (version) (model_predictions_total{{model="{model}"}})'
    )
    return {r["metric"]["version"]: float(r["value"][1]) for r in result}


def scraped_up_to(
    prometheus: PrometheusConnect, dataplane: Dataplane, timeout_s: float = 15
) -> dict[str, float]:
    """Wait until Prometheus holds at least what each simulator has handled
    now; returns the scraped counts (they may already be a little higher)."""
    handled = {s.version: float(sum(s.handled)) for s in dataplane.simulators}
    return eventually(
        lambda: predictions_by_version(prometheus, dataplane.model),
        lambda seen: all(seen.get(v, -1) >= n for v, n in handled.items()),
        timeout_s,
        f"Prometheus caught up with {handled}",
    )


def canary_share(
    prometheus: PrometheusConnect,
    dataplane: Dataplane,
    generator: LoadGenerator,
    weights: dict[str, float],
    attempts: int = 4,
) -> tuple[float, dict[str, float]]:
    """The canary's share of the requests Prometheus counted over MEASURED_TICKS
    ticks during which the generator saw ``weights`` throughout.

    A window in which the weights changed is measured again: ready replicas
    move on their own (e.g. when kwok nodes flap NotReady and back)."""
    for _ in range(attempts):
        # The last tick's requests may still be on their way into Prometheus.
        since = generator.history()[-1].at
        before = scraped_up_to(prometheus, dataplane)
        generator.wait_ticks(MEASURED_TICKS)
        after = scraped_up_to(prometheus, dataplane)
        ticks = generator.history(since)
        if any(t.weights != weights for t in ticks):
            continue
        grown = {v: after[v] - before.get(v, 0.0) for v in after}
        total = sum(grown.values())
        assert total > 0.5 * RPS * MEASURED_TICKS, (
            f"too little traffic reached Prometheus: {grown}; ticks: {ticks}"
        )
        return grown[dataplane.canary.version] / total, grown
    pytest.fail(
        f"weights {weights} never held for {MEASURED_TICKS} ticks (ready replicas fall to 0 "
        "when kwok nodes go NotReady: see kube-controller-manager's log); last ticks: "
        f"{generator.history()[-MEASURED_TICKS:]}"
    )


def route(stable_weight: int, canary_weight: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GATEWAY_GROUP}/{GATEWAY_VERSION}",
        "kind": "HTTPRoute",
        "metadata": {"name": NAME},
        "spec": {
            "parentRefs": [{"name": "inference-gateway"}],
            "rules": [
                {
                    "backendRefs": [
                        {"name": f"{NAME}-stable", "port": 8080, "weight": stable_weight},
                        {"name": f"{NAME}-canary", "port": 8080, "weight": canary_weight},
                    ]
                }
            ],
        },
    }


def model_deployment(role: str, version: str, replicas: int) -> V1Deployment:
    """A Deployment labelled as Roost labels a model's stable or canary."""
    from kubernetes import client

    selector = {MODEL_DEPLOYMENT_LABEL: NAME, ROLE_LABEL: role}
    labels = selector | {VERSION_LABEL: version}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=f"{NAME}-{role}", labels=selector),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=selector),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="server", image=IMAGE)]),
            ),
        ),
    )


def test_traffic_follows_httproute_weights_into_prometheus(
    api_client: ApiClient,
    namespace: str,
    prometheus_url: str,
    dataplane: Dataplane,
    load_generator: StartLoad,
) -> None:
    from kubernetes import client

    routes = client.CustomObjectsApi(api_client)
    routes.create_namespaced_custom_object(
        GATEWAY_GROUP, GATEWAY_VERSION, namespace, HTTPROUTES, route(90, 10)
    )
    prometheus = PrometheusConnect(url=prometheus_url)
    generator = load_generator(NAME, mode="httproute", versions=dataplane.versions, rps=RPS)
    generator.wait_for(lambda t: t.weights == {"stable": 90, "canary": 10}, 30)

    share, grown = canary_share(prometheus, dataplane, generator, {"stable": 90, "canary": 10})
    # 10% expected; ~1800 requests give a standard deviation of ~0.7 points.
    assert 0.05 <= share <= 0.17, f"canary share {share:.3f} at 90/10; grown {grown}"

    routes.patch_namespaced_custom_object(
        GATEWAY_GROUP, GATEWAY_VERSION, namespace, HTTPROUTES, NAME, route(0, 100)
    )
    flipped = generator.wait_for(lambda t: t.weights == {"stable": 0, "canary": 100}, 30)
    stable_at_flip = scraped_up_to(prometheus, dataplane)[dataplane.stable.version]
    share, grown = canary_share(prometheus, dataplane, generator, {"stable": 0, "canary": 100})

    assert share == 1.0, f"stable still served after the flip to 0/100: {grown}"
    assert generator.requests(dataplane.stable.version, since=flipped.at) == 0
    assert grown[dataplane.canary.version] > 0
    stable_now = predictions_by_version(prometheus, dataplane.model)[dataplane.stable.version]
    assert stable_now == stable_at_flip == sum(dataplane.stable.handled)
    assert all(t.error is None and t.unrouted == 0 for t in generator.history())


def test_a_request_mirror_filter_copies_requests_no_client_is_answered_by(
    api_client: ApiClient,
    namespace: str,
    prometheus_url: str,
    dataplane: Dataplane,
    load_generator: StartLoad,
) -> None:
    from kubernetes import client

    mirrored = route(100, 0)
    mirrored["spec"]["rules"][0]["filters"] = [
        {
            "type": "RequestMirror",
            "requestMirror": {
                "backendRef": {"name": f"{NAME}-canary", "port": 8080},
                "percent": 50,
            },
        }
    ]
    # The installed Gateway API CRD validates the filter (percent is GEP-3171's).
    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GATEWAY_GROUP, GATEWAY_VERSION, namespace, HTTPROUTES, mirrored
    )
    prometheus = PrometheusConnect(url=prometheus_url)
    generator = load_generator(NAME, mode="httproute", versions=dataplane.versions, rps=RPS)
    first = generator.wait_for(lambda t: bool(t.mirrors), 30)
    assert [(m.version, m.weight) for m in first.mirrors] == [(dataplane.canary.version, 50.0)]

    share, grown = canary_share(prometheus, dataplane, generator, {"stable": 100, "canary": 0})
    # The canary answers copies of half the requests: a third of all it and the stable
    # answered; ~2,700 answers give a standard deviation of ~0.9 points.
    assert 0.27 <= share <= 0.40, f"canary share {share:.3f} with a 50 % mirror; {grown}"
    canary = dataplane.canary.version
    assert generator.requests(canary) == 0  # no client got an answer from the canary
    assert generator.mirrored(canary) > 0
    assert generator.mirrored(dataplane.stable.version) == 0


def test_traffic_follows_ready_replicas_of_labelled_deployments(
    api_client: ApiClient,
    namespace: str,
    prometheus_url: str,
    dataplane: Dataplane,
    load_generator: StartLoad,
) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(
        namespace, model_deployment("stable", dataplane.stable.version, replicas=3)
    )
    apps.create_namespaced_deployment(
        namespace, model_deployment("canary", dataplane.canary.version, replicas=1)
    )
    prometheus = PrometheusConnect(url=prometheus_url)
    # No fixed versions: the generator reads them from the pod templates.
    generator = load_generator(NAME, mode="replicas", rps=RPS)
    ready = generator.wait_for(lambda t: t.weights == {"stable": 3, "canary": 1}, 90)
    assert ready.versions == dataplane.versions

    share, grown = canary_share(prometheus, dataplane, generator, {"stable": 3, "canary": 1})
    # 25% expected (1 ready replica of 4); standard deviation ~1 point.
    assert 0.17 <= share <= 0.33, f"canary share {share:.3f} at 3:1 replicas; grown {grown}"
    assert all(t.error is None for t in generator.history())
    # Routing itself: while 3:1 ready, a quarter of what was sent went to the canary.
    steady = [t for t in generator.history() if t.weights == {"stable": 3, "canary": 1}]
    sent = {v: sum(t.requests.get(v, 0) for t in steady) for v in dataplane.versions.values()}
    assert 0.17 <= sent[dataplane.canary.version] / sum(sent.values()) <= 0.33, sent
