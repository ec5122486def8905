"""The objects each arm of the live benchmark gets, as plain dicts (no I/O).

Flagger: a Deployment ``scorer`` (its pods labelled ``app: scorer``, Flagger's
default selector label) and a Canary with the Gateway API v1 provider; Flagger
makes ``scorer-primary`` and the Services and HTTPRoute itself. With no mesh to
measure, its analysis reads the simulated model servers' own series through two
MetricTemplates of the Prometheus provider: the canary version's success rate in
percent and its p99 latency in milliseconds from the latency histogram
(``histogram_quantile``), each over ``[interval]`` as Flagger's builtin checks are.
Roost: an HTTPRoute ``scorer`` on ``scorer-stable``, an SLOPolicy and a
ModelDeployment with the gatewayAPI provider, as in tests/e2e/test_rollouts.py.

Both arms run one SLO: 99.9 % of requests succeed and 99 % take at most 250 ms.
Flagger's thresholds are the same objective per check (success rate >= 99 % per
its tutorial, p99 <= 250 ms); ``Settings`` holds both arms' knobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# harness/ (tests/) is on sys.path: bench/live/driver.py puts it there, as pytest does.
from harness import manifests as harness_manifests
from harness.manifests import gateway_traffic

NAME = "scorer"
PORT = 8080
SELECTOR_LABEL = "app"  # first of Flagger's default -selector-labels
VERSION_LABEL = "version"  # the simulators' label for the model version
GATEWAY = "gateway"  # the HTTPRoutes' parent; no Gateway exists (nothing routes for real)
FLAGGER_PROVIDER = "gatewayapi:v1"
GROUP, VERSION = "roost.dev", "v1alpha1"
FLAGGER_GROUP, FLAGGER_VERSION = "flagger.app", "v1beta1"
SUCCESS_RATE, LATENCY = "success-rate", "latency-p99"


@dataclass(frozen=True)
class Settings:
    """Both arms' settings (those of the earlier prototype, so results compare)."""

    # Flagger (Canary.spec.analysis)
    interval_seconds: int = 30
    threshold: int = 5
    step_weight: int = 10
    max_weight: int = 50
    min_success_percent: float = 99.0
    max_p99_ms: float = 250.0
    # The PromQL range of both checks; Flagger's default is 1m, one interval here.
    metric_interval: str = "30s"
    progress_deadline_seconds: int = 600  # Flagger's default, for a canary never Ready
    # Roost (ModelDeployment.spec.rollout; the SLOPolicy's canary gate at its defaults)
    steps: tuple[int, ...] = (10, 20, 30, 40, 50)
    pause: str = "30s"
    analysis_interval: str = "30s"
    # Longer than any capped run: the driver, not the deadline, ends an undecided one.
    progress_deadline: str = "3h"
    # The SLO both arms judge by
    availability_target: float = 0.999
    latency_target: float = 0.99
    latency_threshold: str = "250ms"

    def describe(self) -> dict[str, Any]:
        """The settings as recorded in live.json."""
        return {
            "flagger": {
                "interval": f"{self.interval_seconds}s",
                "threshold": self.threshold,
                "stepWeight": self.step_weight,
                "maxWeight": self.max_weight,
                "successRateMin": self.min_success_percent,
                "p99MaxMs": self.max_p99_ms,
                "metricInterval": self.metric_interval,
            },
            "roost": {
                "steps": list(self.steps),
                "pause": self.pause,
                "analysisInterval": self.analysis_interval,
                "progressDeadline": self.progress_deadline,
                "objectives": {
                    "availability": self.availability_target,
                    "latency": f"{self.latency_target} under {self.latency_threshold}",
                },
                "canary": "defaults (maxBurnRate 2, promotionBurnRate 5, stepEvidence 3, "
                "minRequests 100, confidence 0.99)",
            },
        }


def _selector(model: str, version: str, **extra: str) -> str:
    matchers = {"model": model, VERSION_LABEL: version, **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in matchers.items()) + "}"


# -- Flagger ------------------------------------------------------------------------


def _container(model: str, version: str) -> dict[str, Any]:
    # Whole, so a merge patch that replaces the list keeps the port.
    return {"name": "server", "image": f"{model}:{version}", "ports": [{"containerPort": PORT}]}


def flagger_deployment(model: str, version: str, replicas: int = 1) -> dict[str, Any]:
    """The workload Flagger targets; a new ``version`` in its pod template is a new revision."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "labels": {SELECTOR_LABEL: NAME}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {SELECTOR_LABEL: NAME}},
            "template": {
                "metadata": {"labels": {SELECTOR_LABEL: NAME, VERSION_LABEL: version}},
                "spec": {"containers": [_container(model, version)]},
            },
        },
    }


def flagger_new_version(model: str, version: str) -> dict[str, Any]:
    """A merge patch of the Deployment to ``version`` (Flagger sees a new revision)."""
    return {
        "spec": {
            "template": {
                "metadata": {"labels": {VERSION_LABEL: version}},
                "spec": {"containers": [_container(model, version)]},
            }
        }
    }


def success_rate_query(model: str, version: str) -> str:
    """Percent of the version's requests that succeeded over ``[interval]`` (NaN without any)."""
    ok = _selector(model, version, status="ok")
    every = _selector(model, version)
    return (
        f"sum(rate(model_predictions_total{ok}[{{{{ interval }}}}])) / "
        f"sum(rate(model_predictions_total{every}[{{{{ interval }}}}])) * 100"
    )


def latency_query(model: str, version: str) -> str:
    """The version's p99 latency in ms over ``[interval]``, from its histogram."""
    every = _selector(model, version)
    return (
        "histogram_quantile(0.99, sum(rate(model_request_duration_seconds_bucket"
        f"{every}[{{{{ interval }}}}])) by (le)) * 1000"
    )


def metric_templates(model: str, canary_version: str, prometheus_url: str) -> list[dict[str, Any]]:
    """Two MetricTemplates of the Prometheus provider on the canary version's own series."""
    provider = {"type": "prometheus", "address": prometheus_url}
    queries = {
        SUCCESS_RATE: success_rate_query(model, canary_version),
        LATENCY: latency_query(model, canary_version),
    }
    return [
        {
            "apiVersion": f"{FLAGGER_GROUP}/{FLAGGER_VERSION}",
            "kind": "MetricTemplate",
            "metadata": {"name": name},
            "spec": {"provider": provider, "query": query},
        }
        for name, query in queries.items()
    ]


def flagger_canary(namespace: str, settings: Settings) -> dict[str, Any]:
    """A Canary on the Deployment, the Gateway API v1 provider, the two template checks."""
    interval = settings.metric_interval
    return {
        "apiVersion": f"{FLAGGER_GROUP}/{FLAGGER_VERSION}",
        "kind": "Canary",
        "metadata": {"name": NAME},
        "spec": {
            "provider": FLAGGER_PROVIDER,
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
            "progressDeadlineSeconds": settings.progress_deadline_seconds,
            "service": {
                "port": PORT,
                "targetPort": PORT,
                "gatewayRefs": [{"name": GATEWAY, "namespace": namespace}],
            },
            "analysis": {
                "interval": f"{settings.interval_seconds}s",
                "threshold": settings.threshold,
                "stepWeight": settings.step_weight,
                "maxWeight": settings.max_weight,
                "metrics": [
                    {
                        "name": SUCCESS_RATE,
                        "templateRef": {"name": SUCCESS_RATE},
                        "thresholdRange": {"min": settings.min_success_percent},
                        "interval": interval,
                    },
                    {
                        "name": LATENCY,
                        "templateRef": {"name": LATENCY},
                        "thresholdRange": {"max": settings.max_p99_ms},
                        "interval": interval,
                    },
                ],
            },
        },
    }


# -- Roost --------------------------------------------------------------------------


def roost_route() -> dict[str, Any]:
    """The HTTPRoute Roost's gatewayAPI provider writes weights into."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": NAME},
        "spec": {
            "parentRefs": [{"name": GATEWAY}],
            "rules": [{"backendRefs": [{"name": f"{NAME}-stable", "port": PORT, "weight": 100}]}],
        },
    }


def roost_policy(settings: Settings) -> dict[str, Any]:
    """The SLO as an SLOPolicy; the canary gate keeps its defaults."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SLOPolicy",
        "metadata": {"name": NAME},
        "spec": {
            "period": "30d",
            "objectives": [
                {
                    "name": "availability",
                    "target": settings.availability_target,
                    "ratio": {
                        "errors": 'model_predictions_total{status="error"}',
                        "total": "model_predictions_total",
                    },
                },
                {
                    "name": "latency",
                    "target": settings.latency_target,
                    "latency": {
                        "histogram": "model_request_duration_seconds",
                        "threshold": settings.latency_threshold,
                    },
                },
            ],
        },
    }


def roost_rollout(settings: Settings) -> dict[str, Any]:
    """``spec.rollout`` of the ModelDeployment (also fed to the simulation in predict)."""
    return {
        "steps": [{"weight": w, "pause": settings.pause} for w in settings.steps],
        "analysisInterval": settings.analysis_interval,
        "progressDeadline": settings.progress_deadline,
        "onProgressDeadline": "pause",
    }


def roost_model_deployment(model: str, version: str, settings: Settings) -> dict[str, Any]:
    return harness_manifests.model_deployment(
        NAME,
        model,
        version,
        policy=NAME,
        replicas=1,
        traffic=gateway_traffic(NAME),
        rollout=roost_rollout(settings),
    )


def roost_new_version(model: str, version: str) -> dict[str, Any]:
    """A merge patch of the ModelDeployment to ``version``."""
    return {
        "spec": {
            "model": {"version": version},
            "template": {
                "spec": {"containers": [{"name": "server", "image": f"{model}:{version}"}]}
            },
        }
    }
