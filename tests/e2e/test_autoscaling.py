"""The HPA Roost writes, driven by the real HPA controller through the real metric path.

Traffic from the load generator reaches a simulated model server, whose in-flight
gauge is exported per pod with the ``namespace`` and ``pod`` labels Kubernetes
service discovery would add (harness.dataplane.PodInflightExporter); Prometheus
scrapes it; prometheus-adapter, configured by ``roost rules --prometheus-adapter``
and registered as custom.metrics.k8s.io (the ``metrics_adapter`` fixture), serves it;
the HPA controller in kube-controller-manager reads it and scales the Deployment.
Without an adapter the same HPA cannot read its metric, and the ModelDeployment says
so with a condition and a Warning Event.

The plan is fixed (``arrivalRate: 1``: one replica, an in-flight target of 1.246 per
pod), so every replica above one is the HPA controller's doing. The HPA's windows are
shortened through ``autoscaling.behavior``; the controller syncs every 5 s here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kubernetes import client
from kubernetes.client import ApiClient

from harness import manifests, probes
from harness.dataplane import Dataplane, PodInflightExporter, ServerBehaviour
from harness.manifests import gateway_traffic
from harness.metrics_adapter import MetricsAdapter
from harness.operator_process import MakeOperator, OperatorProcess
from harness.prometheus import PrometheusServer, ScrapeTarget
from roost.capacity import PlanInputs, demand_rate_target, inflight_per_pod_target, plan_capacity

GROUP, VERSION = "roost.dev", "v1alpha1"
NAME = "scorer"
TIMEOUT_S = 180.0
T = TypeVar("T")

# Mean latency 0.209 s (log-normal, median 0.2 s, p99 0.4 s): in flight = rps x 0.209.
LATENCY = ServerBehaviour(latency_median_s=0.2, latency_p99_s=0.4)
AUTOSCALING: dict[str, Any] = {
    "minReplicas": 1,
    "maxReplicas": 6,
    "slotsPerReplica": 4,
    "serviceTime": "100ms",
    "waitBudget": "50ms",
    "arrivalRate": 1,
    "behavior": {
        "scaleUp": {"periodSeconds": 5},
        "scaleDown": {"stabilizationWindowSeconds": 10, "percent": 100, "periodSeconds": 5},
    },
}
# What the HPA's target is: L_max(1)/1 for 4 slots, 100 ms, p99 wait <= 50 ms.
TARGET = inflight_per_pod_target(
    plan_capacity(
        PlanInputs(arrival_rate=1, service_time=0.1, slots_per_replica=4, wait_budget=0.05)
    )
)
# metric: Demand: the rate one pod carries under the same plan, / 1.1 (12.3 / 1.1 req/s).
DEMAND_TARGET = demand_rate_target(
    plan_capacity(
        PlanInputs(arrival_rate=1, service_time=0.1, slots_per_replica=4, wait_budget=0.05)
    )
)
LOW_RPS = 2.0  # 0.42 in flight: a third of one pod's target
HIGH_RPS = 25.0  # 5.2 in flight: four to five pods' worth


def eventually(read: Callable[[], T], ok: Callable[[T], bool], what: str) -> T:
    return probes.eventually(read, ok, TIMEOUT_S, what, every_s=1.0)


@pytest.fixture
def operator(make_operator: MakeOperator) -> OperatorProcess:
    # An HPA's metric failing for 5 s is reported (60 s by default); the service time is
    # learned again (300 s by default) and the stable's HPA re-planned (60 s) every 5 s.
    return make_operator(
        "--tick",
        "2s",
        env={
            "ROOST_METRIC_GRACE_SECONDS": "5",
            "ROOST_LEARN_EVERY_SECONDS": "5",
            "ROOST_REPLAN_SECONDS": "5",
        },
    )


@pytest.fixture
def pod_exporter(
    api_client: ApiClient, namespace: str, dataplane: Dataplane, prometheus: PrometheusServer
) -> Iterator[PodInflightExporter]:
    exporter = PodInflightExporter(api_client, namespace, NAME, dataplane.simulators)
    job = f"pods-{namespace}"
    prometheus.add_scrape_target(ScrapeTarget(job, exporter.address))
    try:
        prometheus.wait_for_target_up(job)
        yield exporter
    finally:
        prometheus.remove_scrape_target(job)
        exporter.stop()


def create_model(
    api: ApiClient,
    namespace: str,
    model: str,
    *,
    autoscaling: dict[str, Any] = AUTOSCALING,
    latency: bool = False,
) -> list[dict[str, Any]]:
    """The HTTPRoute, an SLOPolicy (availability; ``latency``: and a latency objective,
    whose histogram the service time is learned from) and the ModelDeployment; returns
    the SLOPolicy and the ModelDeployment as created."""
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        "gateway.networking.k8s.io",
        "v1",
        namespace,
        "httproutes",
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": NAME},
            "spec": {
                "parentRefs": [{"name": "gateway"}],
                "rules": [{"backendRefs": [{"name": f"{NAME}-stable", "port": 8080}]}],
            },
        },
    )
    total = "model_predictions_total"
    objectives: list[dict[str, Any]] = [
        {
            "name": "availability",
            "target": 0.99,
            "ratio": {"errors": f'{total}{{status="error"}}', "total": total},
        }
    ]
    if latency:
        objectives.append(
            {
                "name": "latency",
                "target": 0.99,
                "latency": {"histogram": "model_request_duration_seconds", "threshold": "1s"},
            }
        )
    policy = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SLOPolicy",
        "metadata": {"name": NAME},
        "spec": {"objectives": objectives},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "slopolicies", policy)
    md = manifests.model_deployment(
        NAME, model, "v1", policy=NAME, traffic=gateway_traffic(NAME), autoscaling=autoscaling
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "modeldeployments", md)
    return [policy, md]


class View:
    """Reads of one test namespace."""

    def __init__(self, api: ApiClient, namespace: str) -> None:
        self.ns = namespace
        self.custom = client.CustomObjectsApi(api)
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)
        self.autoscaling = client.AutoscalingV2Api(api)

    def md_status(self) -> dict[str, Any]:
        md = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.ns, "modeldeployments", NAME
        )
        return md.get("status") or {}

    def condition(self, kind: str) -> dict[str, Any]:
        return next((c for c in self.md_status().get("conditions", []) if c["type"] == kind), {})

    def replicas(self) -> int:
        listed = self.apps.list_namespaced_deployment(
            self.ns, label_selector=f"roost.dev/model-deployment={NAME}"
        ).items
        return sum(int(d.spec.replicas or 0) for d in listed) if listed else -1

    def hpa(self) -> Any:
        return self.autoscaling.read_namespaced_horizontal_pod_autoscaler_status(
            f"{NAME}-stable", self.ns
        )

    def floor(self) -> int:
        """The stable HPA's minReplicas; -1 before it exists."""
        try:
            return int(self.hpa().spec.min_replicas)
        except client.exceptions.ApiException:
            return -1

    def scaling_active(self) -> tuple[str, str]:
        try:
            conditions = self.hpa().status.conditions or []
        except client.exceptions.ApiException:
            return ("", "")
        active = next((c for c in conditions if c.type == "ScalingActive"), None)
        return (active.status, active.reason) if active else ("", "")

    def events(self, kind: str, name: str) -> list[Any]:
        return [
            e
            for e in self.core.list_namespaced_event(self.ns).items
            if e.involved_object.kind == kind and e.involved_object.name == name
        ]


def test_the_hpa_controller_scales_the_roost_deployment_up_and_down_with_traffic(
    metrics_adapter: MetricsAdapter,
    operator: OperatorProcess,
    api_client: ApiClient,
    namespace: str,
    dataplane: Dataplane,
    pod_exporter: PodInflightExporter,
    load_generator: Any,
) -> None:
    dataplane.stable.set_behaviour(LATENCY)
    create_model(api_client, namespace, dataplane.model)
    view = View(api_client, namespace)
    load = load_generator(NAME, rps=LOW_RPS)

    # Low traffic: the HPA reads the metric through the adapter and holds the plan.
    eventually(view.scaling_active, lambda s: s == ("True", "ValidMetricFound"), "a valid metric")
    hpa = view.hpa()
    assert hpa.spec.min_replicas == 1
    assert hpa.spec.metrics[0].pods.target.average_value == f"{int(TARGET * 1000)}m"
    [current] = hpa.status.current_metrics
    assert current.pods.metric.name == "model_inflight_requests"
    assert view.replicas() == 1
    available = eventually(
        lambda: view.condition("ScalingMetricAvailable"),
        lambda c: c.get("status") == "True",
        "ScalingMetricAvailable=True on the ModelDeployment",
    )
    assert "scorer-stable (model_inflight_requests)" in available["message"]

    # Traffic rises: 5.2 in flight against 1.246 per pod.
    load.rps = HIGH_RPS
    eventually(view.replicas, lambda n: n >= 3, "the HPA scaling the Deployment up")
    rescales = [e for e in view.events("HorizontalPodAutoscaler", f"{NAME}-stable")]
    assert any(
        e.reason == "SuccessfulRescale" and "above target" in (e.message or "") for e in rescales
    ), [(e.reason, e.message) for e in rescales]
    assert len(pod_exporter.pods) >= 3  # the new pods' series reach the HPA too

    # Traffic falls: back to the plan's one replica.
    load.rps = LOW_RPS
    eventually(view.replicas, lambda n: n == 1, "the HPA scaling the Deployment down")
    rescales = [e for e in view.events("HorizontalPodAutoscaler", f"{NAME}-stable")]
    assert any(
        e.reason == "SuccessfulRescale" and "below target" in (e.message or "") for e in rescales
    ), [(e.reason, e.message) for e in rescales]
    # Roost's plan never moved: the floor is still one replica.
    assert view.hpa().spec.min_replicas == 1


def test_an_hpa_without_a_metrics_api_is_reported_on_the_modeldeployment_until_one_serves_it(
    operator: OperatorProcess,
    api_client: ApiClient,
    namespace: str,
    dataplane: Dataplane,
    load_generator: Any,
    request: pytest.FixtureRequest,
) -> None:
    registration = client.ApiregistrationV1Api(api_client)
    registered = {s.metadata.name for s in registration.list_api_service().items}
    if "v1beta1.custom.metrics.k8s.io" in registered:
        pytest.skip("this cluster already serves custom.metrics.k8s.io")
    dataplane.stable.set_behaviour(LATENCY)
    create_model(api_client, namespace, dataplane.model)
    view = View(api_client, namespace)
    load_generator(NAME, rps=LOW_RPS)

    # The real HPA controller cannot read the metric...
    eventually(
        view.scaling_active,
        lambda s: s == ("False", "FailedGetPodsMetric"),
        "the HPA's FailedGetPodsMetric",
    )
    # ...and the ModelDeployment says what is missing and how to add it.
    missing = eventually(
        lambda: view.condition("ScalingMetricAvailable"),
        lambda c: c.get("status") == "False",
        "ScalingMetricAvailable=False on the ModelDeployment",
    )
    assert missing["reason"] == "NoMetricsAPI"
    assert missing["message"].startswith(
        f"the HPA {NAME}-stable cannot read model_inflight_requests: no custom.metrics.k8s.io "
        "API is serving it; install prometheus-adapter with the rules of "
        "`roost rules --prometheus-adapter`"
    )
    assert "no custom metrics API (custom.metrics.k8s.io) registered" in missing["message"]
    warnings = [
        e for e in view.events("ModelDeployment", NAME) if e.reason == "ScalingMetricUnavailable"
    ]
    assert len(warnings) == 1
    assert warnings[0].type == "Warning"
    assert view.replicas() == 1

    # An adapter with Roost's rules, and the pods' series: the condition recovers.
    request.getfixturevalue("metrics_adapter")
    request.getfixturevalue("pod_exporter")
    eventually(view.scaling_active, lambda s: s == ("True", "ValidMetricFound"), "a valid metric")
    recovered = eventually(
        lambda: view.condition("ScalingMetricAvailable"),
        lambda c: c.get("status") == "True",
        "ScalingMetricAvailable=True after the adapter came",
    )
    assert recovered["reason"] == "MetricRead"
    reasons = [e.reason for e in view.events("ModelDeployment", NAME)]
    assert reasons.count("ScalingMetricUnavailable") == 1
    assert "ScalingMetricAvailable" in reasons


def test_the_service_time_and_its_cv_are_learned_and_the_hpa_follows_them(
    operator: OperatorProcess,
    api_client: ApiClient,
    namespace: str,
    dataplane: Dataplane,
    load_generator: Any,
) -> None:
    """Neither serviceTime nor serviceTimeCv declared: Roost learns them from the stable's
    latency histogram (LATENCY: log-normal, mean 0.209 s, CV 0.305) once 200 requests are
    in the window, says so in status, and writes the HPA from the learned plan."""
    dataplane.stable.set_behaviour(LATENCY)
    learning = {k: v for k, v in AUTOSCALING.items() if k != "serviceTime"}
    create_model(api_client, namespace, dataplane.model, autoscaling=learning, latency=True)
    view = View(api_client, namespace)

    def service_time() -> dict[str, Any]:
        return (view.md_status().get("capacity") or {}).get("serviceTime") or {}

    before = eventually(service_time, lambda s: bool(s), "status.capacity.serviceTime")
    assert (before["secondsFrom"], before["cvFrom"]) == ("default", "default")
    load_generator(NAME, rps=10.0)
    learned = eventually(
        service_time, lambda s: s.get("secondsFrom") == "learned", "a learned service time"
    )
    assert learned["cvFrom"] == "learned"
    assert learned["requests"] >= 200
    assert learned["window"] == "1h"
    assert learned["seconds"] == pytest.approx(0.209, rel=0.1)
    assert learned["learnedCv"] == pytest.approx(0.305, abs=0.08)
    low, high = learned["learnedCvInterval"]
    assert low <= learned["learnedCv"] <= high
    assert learned["cv"] == pytest.approx(high, rel=0.05)  # planned at the upper end

    # The stable's HPA is written from the learned plan, not the 100 ms, CV 1 default.
    def target_for(status: dict[str, Any]) -> str:
        plan = plan_capacity(
            PlanInputs(
                arrival_rate=1,
                service_time=status["seconds"],
                slots_per_replica=4,
                wait_budget=0.05,
                service_cv=status["cv"],
            )
        )
        return f"{int(inflight_per_pod_target(plan) * 1000)}m"

    eventually(
        lambda: (view.hpa().spec.metrics[0].pods.target.average_value, target_for(service_time())),
        lambda pair: pair[0] == pair[1],
        "the HPA's target from the learned service time",
    )
    assert target_for(learned) != f"{int(TARGET * 1000)}m"


def test_the_stable_hpa_floor_follows_the_plan_of_the_measured_rate(
    operator: OperatorProcess,
    api_client: ApiClient,
    namespace: str,
    dataplane: Dataplane,
    load_generator: Any,
) -> None:
    """No arrivalRate: the HPA's floor is the plan of the rate Prometheus measures
    (rate[2m]), re-planned as traffic moves, with a Replanned event."""
    dataplane.stable.set_behaviour(LATENCY)
    measured = {
        **{k: v for k, v in AUTOSCALING.items() if k != "arrivalRate"},
        "serviceTimeCv": 1,
    }
    create_model(api_client, namespace, dataplane.model, autoscaling=measured)
    view = View(api_client, namespace)
    eventually(view.floor, lambda n: n == 1, "the first plan's floor")
    load_generator(NAME, rps=40.0)
    # 40 req/s of 100 ms into 4 slots a pod within a p99 wait of 50 ms: 2 pods at least.
    floor = eventually(view.floor, lambda n: n >= 2, "a higher floor")
    # Never above the plan of what is sent (rate[2m] climbs to it; the generator's rate
    # has a few % of noise).
    plan = plan_capacity(
        PlanInputs(arrival_rate=44.0, service_time=0.1, slots_per_replica=4, wait_budget=0.05)
    )
    assert floor <= plan.replicas
    replanned = [e for e in view.events("ModelDeployment", NAME) if e.reason == "Replanned"]
    assert replanned, "no Replanned event"
    assert replanned[0].message.startswith("stable HPA floor 1 -> ")


def test_a_demand_hpa_scales_on_the_request_rate_its_recording_rules_publish(
    metrics_adapter: MetricsAdapter,
    operator: OperatorProcess,
    api_client: ApiClient,
    namespace: str,
    dataplane: Dataplane,
    pod_exporter: PodInflightExporter,
    load_generator: Any,
    prometheus: PrometheusServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """``metric: Demand``: the HPA reads ``roost:demand_rate``, which the rules of
    ``roost rules --demand`` record from the request counter and the in-flight gauge;
    without the rules the ModelDeployment says to load them."""
    dataplane.stable.set_behaviour(LATENCY)
    objects = create_model(
        api_client, namespace, dataplane.model, autoscaling={**AUTOSCALING, "metric": "Demand"}
    )
    view = View(api_client, namespace)
    load = load_generator(NAME, rps=LOW_RPS)

    # No rules loaded: the adapter serves the metric's rule but Prometheus has no series.
    missing = eventually(
        lambda: view.condition("ScalingMetricAvailable"),
        lambda c: c.get("status") == "False",
        "ScalingMetricAvailable=False before the demand rules are loaded",
    )
    assert "roost rules --demand" in missing["message"], missing

    manifest = tmp_path / "model.yaml"
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    manifest.write_text(yaml.safe_dump_all(objects))
    rules = tmp_path / "demand-rules.yaml"
    rules.write_text(
        subprocess.run(
            [sys.executable, "-m", "roost", "rules", "--demand", str(manifest), "-o", "yaml"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    prometheus.add_rule_file(rules)
    request.addfinalizer(lambda: prometheus.remove_rule_file(rules))

    # Low traffic: the HPA reads the demand (2 req/s and its noise) and holds one pod.
    eventually(view.scaling_active, lambda s: s == ("True", "ValidMetricFound"), "a valid metric")
    hpa = view.hpa()
    [metric] = hpa.spec.metrics
    assert metric.external.metric.name == "roost:demand_rate"
    assert metric.external.metric.selector.match_labels == {"model_deployment": NAME}
    assert metric.external.target.average_value == f"{int(DEMAND_TARGET * 1000)}m"
    assert view.replicas() == 1
    eventually(
        lambda: view.condition("ScalingMetricAvailable"),
        lambda c: c.get("status") == "True",
        "ScalingMetricAvailable=True once the rules record the demand",
    )

    # 25 req/s against 11.2 per pod: three pods; more while the rate climbs, or while
    # the one pod queues (serviceTime is declared: a queue reads as 40 req/s a pod).
    load.rps = HIGH_RPS
    eventually(view.replicas, lambda n: n >= 3, "the HPA scaling the Deployment up")
    rescales = view.events("HorizontalPodAutoscaler", f"{NAME}-stable")
    assert any(
        e.reason == "SuccessfulRescale" and "external metric roost:demand_rate" in (e.message or "")
        for e in rescales
    ), [(e.reason, e.message) for e in rescales]

    # Traffic falls: once rate[1m] has followed, back to one pod.
    load.rps = LOW_RPS
    eventually(view.replicas, lambda n: n == 1, "the HPA scaling the Deployment down")
