"""A corpus of hostile and mistaken manifests, each with the verdict admission gives.

Each case is a whole file as a new user might write it (YAML text), the verdict
(``reject`` or ``accept``), and for a rejection the field the message must name
and a fragment of what it must say to write. The unit test runs ``roost
validate`` on every case (verdict, field, hint, no traceback); the integration
test sends every case to a real apiserver with ``kubectl apply --dry-run=server``
and checks that it gives the same verdict. Issue #23 lists where most come from.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import yaml

Verdict = Literal["reject", "accept"]
DELETE = object()


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    verdict: Verdict
    field: str | None = None  # the path the message names (None: the whole file)
    hint: str | None = None  # part of what the message says to write
    kubectl_differs: str | None = None  # why `kubectl apply` alone gives another verdict


MD: dict[str, Any] = {
    "apiVersion": "roost.dev/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "fraud-scorer"},
    "spec": {
        "model": {"name": "fraud-scorer", "version": "v2.1.0"},
        "sloPolicyRef": {"name": "fraud-scorer"},
        "template": {
            "spec": {
                "containers": [
                    {"name": "server", "image": "registry.example.com/fraud-scorer:v2.1.0"}
                ]
            }
        },
        "rollout": {"steps": [{"weight": 5, "pause": "2m"}, {"weight": 50}]},
    },
}

SLO: dict[str, Any] = {
    "apiVersion": "roost.dev/v1alpha1",
    "kind": "SLOPolicy",
    "metadata": {"name": "fraud-scorer"},
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
            },
            {
                "name": "latency",
                "target": 0.99,
                "latency": {"histogram": "model_request_duration_seconds", "threshold": "250ms"},
            },
        ],
    },
}


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.replace("]", "").split("."):
        name, *indexes = piece.split("[")
        if name:
            parts.append(name)
        parts += [int(i) for i in indexes]
    return parts


def _edit(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(base)
    for path, value in changes.items():
        *head, last = _parts(path)
        node: Any = document
        for key in head:
            if isinstance(key, str) and key not in node:
                node[key] = {}
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return document


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, width=200)


def md(
    id: str, changes: dict[str, Any], verdict: Verdict, field: str | None = None, hint: str = ""
) -> Case:
    return Case(f"md-{id}", _dump(_edit(MD, changes)), verdict, field, hint or None)


def slo(
    id: str, changes: dict[str, Any], verdict: Verdict, field: str | None = None, hint: str = ""
) -> Case:
    return Case(f"slo-{id}", _dump(_edit(SLO, changes)), verdict, field, hint or None)


def md_text(
    id: str, old: str, new: str, field: str | None, hint: str, differs: str | None = None
) -> Case:
    """A ModelDeployment whose YAML text is edited (for what YAML itself decides)."""
    text = _dump(MD)
    assert old in text, old
    return Case(f"md-{id}", text.replace(old, new, 1), "reject", field, hint, differs)


def slo_text(
    id: str, old: str, new: str, field: str | None, hint: str, differs: str | None = None
) -> Case:
    text = _dump(SLO)
    assert old in text, old
    return Case(f"slo-{id}", text.replace(old, new, 1), "reject", field, hint, differs)


# kubectl reads YAML into a map, so of a key given twice the last silently wins; the
# apiserver refuses the same body ("strict decoding error: duplicate field").
DUPLICATES = "kubectl apply keeps the last of two equal keys; the apiserver refuses them"


def raw_json(text: str) -> str | None:
    """A one-document YAML text as JSON text, keeping keys given twice (as the apiserver
    would receive it from a client that does not drop them); None if not one document."""
    import json

    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    if len(nodes) != 1:
        return None
    scalars = yaml.SafeLoader("")

    def emit(node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            pairs = [
                f"{emit(k) if k.tag.endswith(':str') else json.dumps(k.value)}: {emit(v)}"
                for k, v in node.value
            ]
            return "{" + ", ".join(pairs) + "}"
        if isinstance(node, yaml.SequenceNode):
            return "[" + ", ".join(emit(item) for item in node.value) + "]"
        value = scalars.construct_object(node)
        return json.dumps(value.isoformat() if hasattr(value, "isoformat") else value)

    return emit(nodes[0])


STEP0 = "spec.rollout.steps[0]"
OBJ0 = "spec.objectives[0]"
OBJ1 = "spec.objectives[1]"
DURATION = "a duration such as 30s or 2m"
GATEWAY = {"httpRoute": "fraud-scorer"}
ISTIO = {"virtualService": "fraud-scorer"}
AUTOSCALING = {"minReplicas": 1, "maxReplicas": 5}
RULE = {"longWindow": "1h", "shortWindow": "5m", "burnRate": 14.4}
DRIFT = {"name": "score", "histogram": "model_prediction_score"}
QUALITY = {"metric": "model_online_accuracy", "min": 0.9}

CASES: list[Case] = [
    # --- what should pass -------------------------------------------------------------
    md("minimal", {}, "accept"),
    md("gateway", {"spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY}}, "accept"),
    md(
        "istio-routes",
        {
            "spec.traffic": {
                "provider": "istio",
                "istio": {**ISTIO, "routes": ["primary", "v1.api"]},
            }
        },
        "accept",
    ),
    md("name-52-characters", {"metadata.name": "a" * 52}, "accept"),
    md("pause-compound", {f"{STEP0}.pause": "1h30m"}, "accept"),
    md("pause-milliseconds", {f"{STEP0}.pause": "500ms"}, "accept"),
    md("pause-365d", {f"{STEP0}.pause": "365d"}, "accept"),
    md(
        "labels",
        {"spec.metrics": {"versionLabel": "model_version", "labels": {"cluster": "eu"}}},
        "accept",
    ),
    md(
        "autoscaling",
        {"spec.autoscaling": {**AUTOSCALING, "serviceTimeCv": 0.5, "arrivalRate": 20}},
        "accept",
    ),
    md("float-for-number", {"spec.autoscaling": {**AUTOSCALING, "serviceTimeCv": 1}}, "accept"),
    md(
        "foreign-kind-is-skipped",
        {"apiVersion": "v1", "kind": "ConfigMap", "spec": DELETE},
        "accept",
    ),
    slo("minimal", {}, "accept"),
    slo("period-365d", {"spec.period": "365d"}, "accept"),
    slo("quality-min-only", {f"{OBJ1}.latency": DELETE, f"{OBJ1}.quality": QUALITY}, "accept"),
    slo(
        "quality-min-equals-max",
        {f"{OBJ1}.latency": DELETE, f"{OBJ1}.quality": {**QUALITY, "max": 0.9}},
        "accept",
    ),
    slo(
        "rule-equal-to-period",
        {"spec.period": "7d", "spec.burnRateRules": [{**RULE, "longWindow": "7d"}]},
        "accept",
    ),
    slo("low-target-only-warns", {f"{OBJ0}.target": 0.93}, "accept"),
    slo("distribution", {"spec.distributions": [DRIFT]}, "accept"),
    # --- 1. names that collide once derived ---------------------------------------------
    md(
        "name-53-characters",
        {"metadata.name": "a" * 53},
        "reject",
        "metadata.name",
        "at most 52 characters",
    ),
    md(
        "name-62-characters",
        {"metadata.name": "a" * 62},
        "reject",
        "metadata.name",
        "at most 52 characters",
    ),
    md(
        "name-63-characters",
        {"metadata.name": "a" * 63},
        "reject",
        "metadata.name",
        "at most 52 characters",
    ),
    md(
        "name-starts-with-digit",
        {"metadata.name": "2fraud-scorer"},
        "reject",
        "metadata.name",
        "a lowercase letter first",
    ),
    md(
        "name-uppercase-underscore",
        {"metadata.name": "2Fraud_Scorer"},
        "reject",
        "metadata.name",
        "a name such as fraud-scorer",
    ),
    md(
        "name-with-dot",
        {"metadata.name": "fraud.scorer"},
        "reject",
        "metadata.name",
        "a name such as fraud-scorer",
    ),
    md(
        "name-missing",
        {"metadata.name": DELETE, "metadata.labels": {"a": "b"}},
        "reject",
        "metadata.name",
        "required",
    ),
    md("metadata-missing", {"metadata": DELETE}, "reject", "metadata", "metadata: {name: NAME}"),
    slo(
        "name-64-characters",
        {"metadata.name": "a" * 64},
        "reject",
        "metadata.name",
        "at most 63 characters",
    ),
    slo(
        "name-with-dot",
        {"metadata.name": "fraud.scorer"},
        "reject",
        "metadata.name",
        "sloPolicyRef.name refers to it",
    ),
    # --- 2. silent provider -------------------------------------------------------------
    md(
        "gateway-without-provider",
        {"spec.traffic": {"gatewayAPI": GATEWAY}},
        "reject",
        "spec.traffic",
        "write provider: gatewayAPI",
    ),
    md(
        "istio-without-provider",
        {"spec.traffic": {"istio": ISTIO}},
        "reject",
        "spec.traffic",
        "write provider: istio",
    ),
    md(
        "both-blocks-gateway",
        {"spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY, "istio": ISTIO}},
        "reject",
        "spec.traffic",
        "or remove istio",
    ),
    md(
        "both-blocks-istio",
        {"spec.traffic": {"provider": "istio", "gatewayAPI": GATEWAY, "istio": ISTIO}},
        "reject",
        "spec.traffic",
        "or remove gatewayAPI",
    ),
    md(
        "replicas-with-gateway",
        {"spec.traffic": {"provider": "replicas", "gatewayAPI": GATEWAY}},
        "reject",
        "spec.traffic",
        "write provider: gatewayAPI",
    ),
    md(
        "gateway-without-route",
        {"spec.traffic": {"provider": "gatewayAPI"}},
        "reject",
        "spec.traffic",
        "gatewayAPI: {httpRoute: NAME}",
    ),
    md(
        "istio-without-service",
        {"spec.traffic": {"provider": "istio"}},
        "reject",
        "spec.traffic",
        "istio: {virtualService: NAME}",
    ),
    md(
        "unknown-provider",
        {"spec.traffic": {"provider": "linkerd"}},
        "reject",
        "spec.traffic.provider",
        "one of gatewayAPI, istio, replicas",
    ),
    md(
        "route-empty-name",
        {"spec.traffic": {"provider": "istio", "istio": {**ISTIO, "routes": [""]}}},
        "reject",
        "spec.traffic.istio.routes[0]",
        "an http route name",
    ),
    md(
        "route-name-with-space",
        {"spec.traffic": {"provider": "istio", "istio": {**ISTIO, "routes": ["a b"]}}},
        "reject",
        "spec.traffic.istio.routes[0]",
        "an http route name",
    ),
    md(
        "route-twice",
        {"spec.traffic": {"provider": "istio", "istio": {**ISTIO, "routes": ["a", "a"]}}},
        "reject",
        "spec.traffic.istio",
        "write each route once",
    ),
    md(
        "route-name-too-long",
        {"spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "r" * 64}}},
        "reject",
        "spec.traffic.gatewayAPI.httpRoute",
        "at most 63 characters",
    ),
    # --- 5. strict types ----------------------------------------------------------------
    md(
        "weight-string",
        {f"{STEP0}.weight": "5"},
        "reject",
        f"{STEP0}.weight",
        "write 5 without quotes",
    ),
    md(
        "weight-true",
        {f"{STEP0}.weight": True},
        "reject",
        f"{STEP0}.weight",
        "a whole number from 1 to 100",
    ),
    md("weight-decimal", {f"{STEP0}.weight": 5.5}, "reject", f"{STEP0}.weight", "no decimals"),
    md(
        "weight-word",
        {f"{STEP0}.weight": "ten"},
        "reject",
        f"{STEP0}.weight",
        "a whole number from 1 to 100",
    ),
    md(
        "weight-null",
        {f"{STEP0}.weight": None},
        "reject",
        STEP0,
        "exactly one of weight, mirror and match",
    ),
    md(
        "mirror",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [{"mirror": 100, "pause": "10m"}, {"weight": 5}],
        },
        "accept",
    ),
    md(
        "mirror-istio-only",
        {
            "spec.traffic": {"provider": "istio", "istio": ISTIO},
            "spec.rollout.steps": [{"mirror": 10}, {"mirror": 100}],
        },
        "accept",
    ),
    md(
        "mirror-and-weight",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            f"{STEP0}.mirror": 100,
        },
        "reject",
        STEP0,
        "exactly one of weight, mirror and match",
    ),
    md(
        "mirror-after-weight",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [{"weight": 5}, {"mirror": 100}],
        },
        "reject",
        "spec.rollout",
        "mirror and match steps come before the weighted steps",
    ),
    md(
        "mirror-replicas",
        {"spec.rollout.steps": [{"mirror": 100}, {"weight": 50}]},
        "reject",
        "spec",
        "the replicas provider cannot copy or pick requests",
    ),
    md(
        "webhooks",
        {
            "spec.rollout.webhooks": [
                {"name": "eval", "type": "preRollout", "url": "https://eval.example/run"},
                {
                    "name": "go",
                    "type": "confirmPromotion",
                    "url": "http://gate.ns:8080/ask",
                    "headersSecretRef": {"name": "gate-token"},
                    "timeoutSeconds": 30,
                },
                {
                    "name": "post",
                    "type": "postRollout",
                    "url": "https://x.example/p",
                    "failurePolicy": "ignore",
                },
            ]
        },
        "accept",
    ),
    md(
        "webhook-url-not-http",
        {"spec.rollout.webhooks": [{"name": "eval", "type": "preRollout", "url": "eval:8080"}]},
        "reject",
        "spec.rollout.webhooks[0].url",
        "an http(s) URL",
    ),
    md(
        "webhook-names-repeat",
        {
            "spec.rollout.webhooks": [
                {"name": "eval", "type": "preRollout", "url": "https://a.example"},
                {"name": "eval", "type": "rollback", "url": "https://b.example"},
            ]
        },
        "reject",
        "spec.rollout",
        "webhook names must be unique",
    ),
    md(
        "webhook-unknown-type",
        {
            "spec.rollout.webhooks": [
                {"name": "eval", "type": "preStep", "url": "https://a.example"}
            ]
        },
        "reject",
        "spec.rollout.webhooks[0].type",
        "preRollout",
    ),
    md(
        "webhook-timeout-too-long",
        {
            "spec.rollout.webhooks": [
                {
                    "name": "eval",
                    "type": "preRollout",
                    "url": "https://a.example",
                    "timeoutSeconds": 600,
                }
            ]
        },
        "reject",
        "spec.rollout.webhooks[0].timeoutSeconds",
        "from 1 to 60",
    ),
    md(
        "webhook-secret-key-in-spec",
        {
            "spec.rollout.webhooks": [
                {
                    "name": "eval",
                    "type": "preRollout",
                    "url": "https://a.example",
                    "headersSecretRef": {"name": "tok", "key": "Authorization"},
                }
            ]
        },
        "reject",
        "spec.rollout.webhooks[0].headersSecretRef.key",
        "",
    ),
    md(
        "webhook-token-in-spec",
        {
            "spec.rollout.webhooks": [
                {
                    "name": "eval",
                    "type": "preRollout",
                    "url": "https://a.example",
                    "headers": {"Authorization": "Bearer x"},
                }
            ]
        },
        "reject",
        "spec.rollout.webhooks[0].headers",
        "",
    ),
    md(
        "notifications",
        {
            "spec.notifications": [
                {"type": "slack", "urlSecretRef": {"name": "slack", "key": "url"}},
                {"type": "webhook", "url": "https://hooks.example.com/roost", "on": ["promoted"]},
            ]
        },
        "accept",
    ),
    md(
        "notification-url-not-http",
        {"spec.notifications": [{"type": "webhook", "url": "ftp://hooks.example.com/x"}]},
        "reject",
        "spec.notifications[0].url",
        "an http(s) URL",
    ),
    md(
        "notification-two-urls",
        {
            "spec.notifications": [
                {
                    "type": "teams",
                    "url": "https://example.com/x",
                    "urlSecretRef": {"name": "teams", "key": "url"},
                }
            ]
        },
        "reject",
        "spec.notifications[0]",
        "exactly one of url and urlSecretRef",
    ),
    md(
        "notification-no-url",
        {"spec.notifications": [{"type": "slack"}]},
        "reject",
        "spec.notifications[0]",
        "exactly one of url and urlSecretRef",
    ),
    md(
        "notification-unknown-type",
        {"spec.notifications": [{"type": "pagerduty", "url": "https://example.com/x"}]},
        "reject",
        "spec.notifications[0].type",
        "slack",
    ),
    md(
        "notification-unknown-moment",
        {"spec.notifications": [{"type": "slack", "url": "https://x.example", "on": ["done"]}]},
        "reject",
        "spec.notifications[0].on[0]",
        "rolledBack",
    ),
    md(
        "notification-secret-key-bad",
        {
            "spec.notifications": [
                {"type": "slack", "urlSecretRef": {"name": "slack", "key": "a key"}}
            ]
        },
        "reject",
        "spec.notifications[0].urlSecretRef.key",
        "a Secret key",
    ),
    md(
        "match",
        {
            "spec.traffic": {"provider": "istio", "istio": ISTIO},
            "spec.rollout.steps": [
                {"match": {"headers": [{"name": "x-tester", "value": "1"}]}, "pause": "10m"},
                {
                    "match": {
                        "headers": [
                            {
                                "name": "cookie",
                                "value": "(^|; )beta=1(;|$)",
                                "type": "RegularExpression",
                            }
                        ]
                    }
                },
                {"weight": 10},
            ],
        },
        "accept",
    ),
    md(
        "match-no-headers",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [{"match": {"headers": []}}, {"weight": 10}],
        },
        "reject",
        f"{STEP0}.match.headers",
        "",
    ),
    md(
        "match-bad-header-name",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [{"match": {"headers": [{"name": "x tester", "value": "1"}]}}],
        },
        "reject",
        f"{STEP0}.match.headers[0].name",
        "an HTTP header name",
    ),
    md(
        "match-replicas",
        {
            "spec.rollout.steps": [
                {"match": {"headers": [{"name": "x-tester", "value": "1"}]}},
                {"weight": 50},
            ]
        },
        "reject",
        "spec",
        "mirror and match steps need a route provider",
    ),
    md(
        "match-after-weight",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [
                {"weight": 5},
                {"match": {"headers": [{"name": "x-tester", "value": "1"}]}},
            ],
        },
        "reject",
        "spec.rollout",
        "mirror and match steps come before the weighted steps",
    ),
    md(
        "mirror-zero",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [{"mirror": 0}],
        },
        "reject",
        f"{STEP0}.mirror",
        "a whole number from 1 to 100",
    ),
    md(
        "mirror-over-100",
        {
            "spec.traffic": {"provider": "gatewayAPI", "gatewayAPI": GATEWAY},
            "spec.rollout.steps": [{"mirror": 150}],
        },
        "reject",
        f"{STEP0}.mirror",
        "a whole number from 1 to 100",
    ),
    md(
        "weight-zero",
        {f"{STEP0}.weight": 0},
        "reject",
        f"{STEP0}.weight",
        "a whole number from 1 to 100",
    ),
    md(
        "weight-101",
        {f"{STEP0}.weight": 101},
        "reject",
        f"{STEP0}.weight",
        "a whole number from 1 to 100",
    ),
    md(
        "weight-negative",
        {f"{STEP0}.weight": -5},
        "reject",
        f"{STEP0}.weight",
        "a whole number from 1 to 100",
    ),
    md(
        "port-string",
        {"spec.service": {"port": "8080"}},
        "reject",
        "spec.service.port",
        "write 8080 without quotes",
    ),
    md(
        "port-zero", {"spec.service": {"port": 0}}, "reject", "spec.service.port", "from 1 to 65535"
    ),
    md(
        "port-70000",
        {"spec.service": {"port": 70000}},
        "reject",
        "spec.service.port",
        "from 1 to 65535",
    ),
    md(
        "target-port-string",
        {"spec.service": {"port": 80, "targetPort": "http"}},
        "reject",
        "spec.service.targetPort",
        "a whole number from 1 to 65535",
    ),
    md(
        "replicas-string",
        {"spec.replicas": "3"},
        "reject",
        "spec.replicas",
        "write 3 without quotes",
    ),
    md("replicas-negative", {"spec.replicas": -1}, "reject", "spec.replicas", "from 0 to 10000"),
    md("replicas-decimal", {"spec.replicas": 1.5}, "reject", "spec.replicas", "no decimals"),
    md(
        "version-number", {"spec.model.version": 2}, "reject", "spec.model.version", "quote it, '2'"
    ),
    md_text(
        "version-1.10", "version: v2.1.0", "version: 1.10", "spec.model.version", "quote it, '1.10'"
    ),
    md_text(
        "version-yes", "version: v2.1.0", "version: yes", "spec.model.version", "quote it, 'yes'"
    ),
    md(
        "version-with-space",
        {"spec.model.version": "v2 final!"},
        "reject",
        "spec.model.version",
        "a label value such as v2.1.0",
    ),
    md(
        "version-too-long",
        {"spec.model.version": "v" * 64},
        "reject",
        "spec.model.version",
        "at most 63 characters",
    ),
    md("model-name-empty", {"spec.model.name": ""}, "reject", "spec.model.name", "a label value"),
    md(
        "model-missing",
        {"spec.model": DELETE},
        "reject",
        "spec.model",
        "a mapping with name, version",
    ),
    md(
        "policy-ref-missing",
        {"spec.sloPolicyRef": DELETE},
        "reject",
        "spec.sloPolicyRef",
        "a mapping with name",
    ),
    md(
        "policy-ref-uppercase",
        {"spec.sloPolicyRef.name": "Fraud"},
        "reject",
        "spec.sloPolicyRef.name",
        "a name such as fraud-scorer",
    ),
    md(
        "policy-ref-namespace",
        {"spec.sloPolicyRef.namespace": "other"},
        "reject",
        "spec.sloPolicyRef.namespace",
        "unknown field",
    ),
    md("api-version-missing", {"apiVersion": DELETE}, "reject", "apiVersion", "roost.dev/v1alpha1"),
    md("kind-typo", {"kind": "ModelDeploy"}, "reject", "kind", "did you mean ModelDeployment?"),
    md("kind-missing", {"kind": DELETE}, "reject", "kind", "ModelDeployment or SLOPolicy"),
    md(
        "unknown-spec-field",
        {"spec.replica": 3},
        "reject",
        "spec.replica",
        "did you mean replicas?",
    ),
    md("unknown-top-field", {"spc": {}}, "reject", "spc", "unknown field"),
    md_text(
        "duplicate-key",
        "  sloPolicyRef:",
        "  model:\n    name: x\n    version: v2\n  sloPolicyRef:",
        None,
        "given twice",
        DUPLICATES,
    ),
    md_text("tab-indent", "  model:", "\tmodel:", None, "not tabs"),
    md_text("not-yaml", "kind: ModelDeployment", "kind: [ModelDeployment", None, "not valid YAML"),
    # --- 6. durations and rules only Python knew ------------------------------------------
    md("pause-zero", {f"{STEP0}.pause": "0s"}, "reject", f"{STEP0}.pause", "longer than zero"),
    md(
        "pause-zero-compound",
        {f"{STEP0}.pause": "0h0m"},
        "reject",
        f"{STEP0}.pause",
        "longer than zero",
    ),
    md(
        "pause-repeated-unit",
        {f"{STEP0}.pause": "5m5m"},
        "reject",
        f"{STEP0}.pause",
        "each unit once",
    ),
    md(
        "pause-units-reversed",
        {f"{STEP0}.pause": "1s1h"},
        "reject",
        f"{STEP0}.pause",
        "largest unit first",
    ),
    md(
        "pause-absurd",
        {f"{STEP0}.pause": "99999999999999999999999y"},
        "reject",
        f"{STEP0}.pause",
        "such as 30s",
    ),
    md("pause-400d", {f"{STEP0}.pause": "400d"}, "reject", f"{STEP0}.pause", "at most 365d"),
    md("pause-2y", {f"{STEP0}.pause": "2y"}, "reject", f"{STEP0}.pause", "at most 365d"),
    md("pause-with-space", {f"{STEP0}.pause": "30 s"}, "reject", f"{STEP0}.pause", "such as 30s"),
    md("pause-word-unit", {f"{STEP0}.pause": "30sec"}, "reject", f"{STEP0}.pause", "such as 30s"),
    md("pause-negative", {f"{STEP0}.pause": "-5s"}, "reject", f"{STEP0}.pause", "such as 30s"),
    md("pause-empty", {f"{STEP0}.pause": ""}, "reject", f"{STEP0}.pause", "such as 30s"),
    md("pause-true", {f"{STEP0}.pause": True}, "reject", f"{STEP0}.pause", DURATION),
    md("pause-number", {f"{STEP0}.pause": 30}, "reject", f"{STEP0}.pause", "30 seconds is 30s"),
    md(
        "pause-decimal",
        {f"{STEP0}.pause": 1.5},
        "reject",
        f"{STEP0}.pause",
        "1.5 seconds is 1s500ms",
    ),
    md("pause-argo-empty", {f"{STEP0}.pause": {}}, "reject", f"{STEP0}.pause", "roost pause NAME"),
    md(
        "pause-argo-duration",
        {f"{STEP0}.pause": {"duration": "30s"}},
        "reject",
        f"{STEP0}.pause",
        "pause: 30s in Roost",
    ),
    md(
        "interval-zero",
        {"spec.rollout.analysisInterval": "0s"},
        "reject",
        "spec.rollout.analysisInterval",
        "longer than zero",
    ),
    md(
        "no-data-deadline-zero",
        {"spec.rollout.noDataDeadline": "0m"},
        "reject",
        "spec.rollout.noDataDeadline",
        "longer than zero",
    ),
    md(
        "progress-deadline-zero",
        {"spec.rollout.progressDeadline": "0h"},
        "reject",
        "spec.rollout.progressDeadline",
        "longer than zero",
    ),
    md(
        "progress-deadline-repeated",
        {"spec.rollout.progressDeadline": "2h2h"},
        "reject",
        "spec.rollout.progressDeadline",
        "each unit once",
    ),
    md(
        "progress-deadline-number",
        {"spec.rollout.progressDeadline": 7200},
        "reject",
        "spec.rollout.progressDeadline",
        "7200 seconds is 2h",
    ),
    md(
        "service-time-zero",
        {"spec.autoscaling": {**AUTOSCALING, "serviceTime": "0ms"}},
        "reject",
        "spec.autoscaling.serviceTime",
        "longer than zero",
    ),
    md(
        "wait-budget-number",
        {"spec.autoscaling": {**AUTOSCALING, "waitBudget": 0.05}},
        "reject",
        "spec.autoscaling.waitBudget",
        "0.05 seconds is 50ms",
    ),
    md(
        "prometheus-timeout-zero",
        {"spec.prometheus": {"url": "http://p:9090", "timeout": "0s"}},
        "reject",
        "spec.prometheus.timeout",
        "longer than zero",
    ),
    md(
        "containers-empty",
        {"spec.template.spec.containers": []},
        "reject",
        "spec",
        "at least one container",
    ),
    md(
        "container-without-image",
        {"spec.template.spec.containers": [{"name": "server"}]},
        "reject",
        "spec",
        "an image such as",
    ),
    md(
        "container-empty-image",
        {"spec.template.spec.containers": [{"name": "server", "image": ""}]},
        "reject",
        "spec",
        "an image such as",
    ),
    md(
        "container-without-name",
        {"spec.template.spec.containers": [{"image": "m:v2"}]},
        "reject",
        "spec",
        "a container name such as server",
    ),
    md(
        "container-name-uppercase",
        {"spec.template.spec.containers": [{"name": "Server", "image": "m:v2"}]},
        "reject",
        "spec",
        "a container name such as server",
    ),
    md(
        "containers-mapping",
        {"spec.template.spec.containers": {"name": "server", "image": "m:v2"}},
        "reject",
        "spec",
        "at least one container",
    ),
    md(
        "template-without-spec",
        {"spec.template": {"metadata": {"labels": {"a": "b"}}}},
        "reject",
        "spec",
        "at least one container",
    ),
    md(
        "template-missing",
        {"spec.template": DELETE},
        "reject",
        "spec.template",
        "containers: [{name: server, image: IMAGE}]",
    ),
    md(
        "template-string",
        {"spec.template": "server:v2"},
        "reject",
        "spec.template",
        "a pod template",
    ),
    md("label-le", {"spec.metrics": {"labels": {"le": "0.5"}}}, "reject", "spec.metrics", "not le"),
    md(
        "label-name-reserved",
        {"spec.metrics": {"labels": {"__name__": "x"}}},
        "reject",
        "spec.metrics",
        "not starting with __",
    ),
    md(
        "label-dash",
        {"spec.metrics": {"labels": {"a-b": "x"}}},
        "reject",
        "spec.metrics",
        "a Prometheus label name such as model",
    ),
    md(
        "label-is-version-label",
        {"spec.metrics": {"labels": {"version": "v1"}}},
        "reject",
        "spec.metrics",
        "Roost sets it per version",
    ),
    md(
        "version-label-name",
        {"spec.metrics": {"versionLabel": "__name__"}},
        "reject",
        "spec.metrics.versionLabel",
        "names starting with __ are reserved",
    ),
    md(
        "version-label-le",
        {"spec.metrics": {"versionLabel": "le"}},
        "reject",
        "spec.metrics",
        "write a label such as version",
    ),
    md(
        "version-label-injection",
        {"spec.metrics": {"versionLabel": 'version="x"} or vector(1)'}},
        "reject",
        "spec.metrics.versionLabel",
        "a Prometheus label name such as version",
    ),
    # --- 7. shapes from Flagger and Argo Rollouts -------------------------------------------
    md(
        "set-weight",
        {"spec.rollout.steps": [{"setWeight": 20}]},
        "reject",
        f"{STEP0}.setWeight",
        "weight in Roost; write weight: 20",
    ),
    md(
        "step-weight",
        {"spec.rollout.stepWeight": 10},
        "reject",
        "spec.rollout.stepWeight",
        "rollout.steps: [{weight: 10}",
    ),
    md(
        "max-weight",
        {"spec.rollout.maxWeight": 50},
        "reject",
        "spec.rollout.maxWeight",
        "the highest canary weight",
    ),
    md(
        "interval",
        {"spec.rollout.interval": "1m"},
        "reject",
        "spec.rollout.interval",
        "rollout.analysisInterval: 30s",
    ),
    md(
        "threshold",
        {"spec.rollout.threshold": 5},
        "reject",
        "spec.rollout.threshold",
        "canary.confidence",
    ),
    md(
        "iterations",
        {"spec.rollout.iterations": 10},
        "reject",
        "spec.rollout.iterations",
        "a pause each",
    ),
    md(
        "analysis", {"spec.analysis": {"interval": "1m"}}, "reject", "spec.analysis", "sloPolicyRef"
    ),
    md(
        "strategy",
        {"spec.strategy": {"canary": {"steps": []}}},
        "reject",
        "spec.strategy",
        "rollout.steps",
    ),
    md(
        "canary-service",
        {"spec.canaryService": "x"},
        "reject",
        "spec.canaryService",
        "NAME-stable and NAME-canary",
    ),
    md(
        "traffic-routing",
        {"spec.trafficRouting": {}},
        "reject",
        "spec.trafficRouting",
        "traffic: {provider: gatewayAPI",
    ),
    md(
        "progress-deadline-seconds",
        {"spec.progressDeadlineSeconds": 600},
        "reject",
        "spec.progressDeadlineSeconds",
        "rollout.progressDeadline: 2h",
    ),
    md(
        "steps-empty", {"spec.rollout.steps": []}, "reject", "spec.rollout.steps", "at least 1 item"
    ),
    md(
        "steps-21",
        {"spec.rollout.steps": [{"weight": w} for w in range(1, 22)]},
        "reject",
        "spec.rollout.steps",
        "at most 20 items",
    ),
    md(
        "steps-decreasing",
        {"spec.rollout.steps": [{"weight": 25}, {"weight": 10}]},
        "reject",
        "spec.rollout",
        "increasing weights",
    ),
    md(
        "steps-repeated",
        {"spec.rollout.steps": [{"weight": 25}, {"weight": 25}]},
        "reject",
        "spec.rollout",
        "increasing weights",
    ),
    md(
        "steps-mapping",
        {"spec.rollout.steps": {"weight": 5}},
        "reject",
        "spec.rollout.steps",
        "a list of mappings",
    ),
    md(
        "on-no-data-unknown",
        {"spec.rollout.onNoData": "ignore"},
        "reject",
        "spec.rollout.onNoData",
        "one of rollback, pause",
    ),
    md(
        "min-over-max",
        {"spec.autoscaling": {"minReplicas": 5, "maxReplicas": 2}},
        "reject",
        "spec.autoscaling",
        "minReplicas <= maxReplicas",
    ),
    md_text(
        "cv-nan",
        "  rollout:",
        "  autoscaling:\n    serviceTimeCv: .nan\n  rollout:",
        "spec.autoscaling.serviceTimeCv",
        "write a finite number",
    ),
    md_text(
        "arrival-rate-inf",
        "  rollout:",
        "  autoscaling:\n    arrivalRate: .inf\n  rollout:",
        "spec.autoscaling.arrivalRate",
        "write a finite number",
    ),
    md(
        "cv-too-high",
        {"spec.autoscaling": {"serviceTimeCv": 5}},
        "reject",
        "spec.autoscaling.serviceTimeCv",
        "from 0 to 4",
    ),
    md(
        "cv-string",
        {"spec.autoscaling": {"serviceTimeCv": "0.5"}},
        "reject",
        "spec.autoscaling.serviceTimeCv",
        "write 0.5 without quotes",
    ),
    md(
        "slots-zero",
        {"spec.autoscaling": {"slotsPerReplica": 0}},
        "reject",
        "spec.autoscaling.slotsPerReplica",
        "from 1 to 4096",
    ),
    md(
        "arrival-rate-negative",
        {"spec.autoscaling": {"arrivalRate": -1}},
        "reject",
        "spec.autoscaling.arrivalRate",
        "at least 0",
    ),
    md(
        "inflight-metric-dash",
        {"spec.autoscaling": {"inflightMetric": "in-flight"}},
        "reject",
        "spec.autoscaling.inflightMetric",
        "a metric name such as",
    ),
    md(
        "prometheus-ftp",
        {"spec.prometheus": {"url": "ftp://prometheus:9090"}},
        "reject",
        "spec.prometheus.url",
        "a URL such as http://",
    ),
    md(
        "secret-ref-without-key",
        {"spec.prometheus": {"url": "http://p:9090", "bearerTokenSecretRef": {"name": "t"}}},
        "reject",
        "spec.prometheus.bearerTokenSecretRef.key",
        "a Secret key such as token",
    ),
    # --- SLOPolicy ----------------------------------------------------------------------
    slo(
        "target-string",
        {f"{OBJ0}.target": "0.999"},
        "reject",
        f"{OBJ0}.target",
        "write 0.999 without quotes",
    ),
    slo("target-percent", {f"{OBJ0}.target": 99.9}, "reject", f"{OBJ0}.target", "99.9% is 0.999"),
    slo("target-one", {f"{OBJ0}.target": 1}, "reject", f"{OBJ0}.target", "a ratio between 0 and 1"),
    slo(
        "target-zero", {f"{OBJ0}.target": 0}, "reject", f"{OBJ0}.target", "a ratio between 0 and 1"
    ),
    slo(
        "target-true",
        {f"{OBJ0}.target": True},
        "reject",
        f"{OBJ0}.target",
        "a ratio between 0 and 1",
    ),
    slo_text(
        "target-nan", "target: 0.999", "target: .nan", f"{OBJ0}.target", "write a finite number"
    ),
    slo("target-missing", {f"{OBJ0}.target": DELETE}, "reject", f"{OBJ0}.target", "required"),
    slo("period-zero", {"spec.period": "0s"}, "reject", "spec.period", "longer than zero"),
    slo("period-100y", {"spec.period": "100y"}, "reject", "spec.period", "at most 365d"),
    slo("period-366d", {"spec.period": "366d"}, "reject", "spec.period", "at most 365d"),
    slo(
        "period-absurd",
        {"spec.period": "99999999999999999999999y"},
        "reject",
        "spec.period",
        "such as 30s",
    ),
    slo("period-days-word", {"spec.period": "30days"}, "reject", "spec.period", "such as 30s"),
    slo("period-repeated", {"spec.period": "5m5m"}, "reject", "spec.period", "each unit once"),
    slo("period-reversed", {"spec.period": "1s1h"}, "reject", "spec.period", "largest unit first"),
    slo("period-number", {"spec.period": 30}, "reject", "spec.period", "a duration needs a unit"),
    slo(
        "objectives-empty", {"spec.objectives": []}, "reject", "spec.objectives", "at least 1 item"
    ),
    slo(
        "objectives-duplicate",
        {f"{OBJ1}.name": "availability"},
        "reject",
        "spec",
        "give each objective its own name",
    ),
    slo("objective-without-sli", {f"{OBJ0}.ratio": DELETE}, "reject", OBJ0, "write one of ratio"),
    slo(
        "objective-two-slis",
        {f"{OBJ0}.latency": SLO["spec"]["objectives"][1]["latency"]},
        "reject",
        OBJ0,
        "write one of ratio",
    ),
    slo(
        "objective-name-uppercase",
        {f"{OBJ0}.name": "Availability"},
        "reject",
        f"{OBJ0}.name",
        "a name such as fraud-scorer",
    ),
    slo("objective-sli-key", {f"{OBJ0}.sli": "ratio"}, "reject", f"{OBJ0}.sli", "unknown field"),
    slo(
        "threshold-range",
        {f"{OBJ0}.thresholdRange": {"min": 99}},
        "reject",
        f"{OBJ0}.thresholdRange",
        "a target such as 0.999",
    ),
    slo(
        "errors-equal-total",
        {f"{OBJ0}.ratio.errors": "model_predictions_total"},
        "reject",
        f"{OBJ0}.ratio",
        "select only the failed requests",
    ),
    slo(
        "errors-equal-total-spaces",
        {f"{OBJ0}.ratio": {"errors": 'm{a="b"}', "total": 'm{ a="b" }'}},
        "reject",
        f"{OBJ0}.ratio",
        "select only the failed requests",
    ),
    slo(
        "errors-injection",
        {f"{OBJ0}.ratio.errors": 'req_total{code="500"}) or vector(1) #'},
        "reject",
        f"{OBJ0}.ratio.errors",
        "is not a series selector",
    ),
    slo(
        "errors-aggregation",
        {f"{OBJ0}.ratio.errors": "sum(req_total)"},
        "reject",
        f"{OBJ0}.ratio.errors",
        "is not a series selector",
    ),
    slo(
        "errors-missing",
        {f"{OBJ0}.ratio.errors": DELETE},
        "reject",
        f"{OBJ0}.ratio.errors",
        "a series selector such as",
    ),
    slo(
        "errors-number",
        {f"{OBJ0}.ratio.errors": 500},
        "reject",
        f"{OBJ0}.ratio.errors",
        "a series selector such as",
    ),
    slo(
        "threshold-number",
        {f"{OBJ1}.latency.threshold": 0.25},
        "reject",
        f"{OBJ1}.latency.threshold",
        "0.25 seconds is 250ms",
    ),
    slo(
        "threshold-string-number",
        {f"{OBJ1}.latency.threshold": "250"},
        "reject",
        f"{OBJ1}.latency.threshold",
        "such as 30s",
    ),
    slo(
        "threshold-zero",
        {f"{OBJ1}.latency.threshold": "0ms"},
        "reject",
        f"{OBJ1}.latency.threshold",
        "longer than zero",
    ),
    slo(
        "histogram-bucket-suffix",
        {f"{OBJ1}.latency.histogram": "model_request_duration_seconds_bucket"},
        "reject",
        f"{OBJ1}.latency",
        "write the histogram's base name, model_request_duration_seconds",
    ),
    slo(
        "histogram-bucket-suffix-matchers",
        {f"{OBJ1}.latency.histogram": 'h_bucket{job="m"}'},
        "reject",
        f"{OBJ1}.latency",
        "write the histogram's base name, h",
    ),
    slo(
        "histogram-injection",
        {f"{OBJ1}.latency.histogram": 'h_bucket{le="0.25"} or up'},
        "reject",
        f"{OBJ1}.latency.histogram",
        "is not a series selector",
    ),
    slo(
        "quality-min-over-max",
        {f"{OBJ1}.latency": DELETE, f"{OBJ1}.quality": {**QUALITY, "max": 0.5}},
        "reject",
        f"{OBJ1}.quality",
        "min as the lowest good value",
    ),
    slo(
        "quality-no-bounds",
        {f"{OBJ1}.latency": DELETE, f"{OBJ1}.quality": {"metric": "acc"}},
        "reject",
        f"{OBJ1}.quality",
        "write e.g. min: 0.9",
    ),
    slo_text(
        "quality-min-nan",
        "    latency:\n      histogram: model_request_duration_seconds\n      threshold: 250ms",
        "    quality: {metric: acc, min: .nan}",
        f"{OBJ1}.quality.min",
        "write a finite number",
    ),
    slo_text(
        "quality-max-inf",
        "    latency:\n      histogram: model_request_duration_seconds\n      threshold: 250ms",
        "    quality: {metric: acc, max: .inf}",
        f"{OBJ1}.quality.max",
        "write a finite number",
    ),
    slo(
        "quality-min-string",
        {f"{OBJ1}.latency": DELETE, f"{OBJ1}.quality": {"metric": "acc", "min": "0.9"}},
        "reject",
        f"{OBJ1}.quality.min",
        "write 0.9 without quotes",
    ),
    slo(
        "rule-long-window-zero",
        {"spec.burnRateRules": [{**RULE, "longWindow": "0h"}]},
        "reject",
        "spec.burnRateRules[0].longWindow",
        "longer than zero",
    ),
    slo(
        "rule-short-window-zero",
        {"spec.burnRateRules": [{**RULE, "shortWindow": "0m"}]},
        "reject",
        "spec.burnRateRules[0].shortWindow",
        "longer than zero",
    ),
    slo(
        "rule-longer-than-period",
        {"spec.burnRateRules": [{**RULE, "longWindow": "40d", "shortWindow": "2d"}]},
        "reject",
        "spec",
        "write a window of at most 30d",
    ),
    slo(
        "rule-short-not-shorter",
        {"spec.burnRateRules": [{**RULE, "shortWindow": "1h"}]},
        "reject",
        "spec.burnRateRules[0]",
        "longWindow: 1h, shortWindow: 5m",
    ),
    slo(
        "rule-burn-zero",
        {"spec.burnRateRules": [{**RULE, "burnRate": 0}]},
        "reject",
        "spec.burnRateRules[0].burnRate",
        "greater than 0",
    ),
    slo(
        "rule-burn-word",
        {"spec.burnRateRules": [{**RULE, "burnRate": "high"}]},
        "reject",
        "spec.burnRateRules[0].burnRate",
        "a number greater than 0",
    ),
    slo(
        "rule-window-weeks",
        {"spec.burnRateRules": [{**RULE, "longWindow": "1w"}]},
        "reject",
        "spec.burnRateRules[0].longWindow",
        "a window such as 5m or 1h",
    ),
    slo(
        "rule-window-compound",
        {"spec.burnRateRules": [{**RULE, "longWindow": "1h30m"}]},
        "reject",
        "spec.burnRateRules[0].longWindow",
        "a window such as 5m or 1h",
    ),
    slo(
        "rule-action-page",
        {"spec.burnRateRules": [{**RULE, "action": "page"}]},
        "reject",
        "spec.burnRateRules[0].action",
        "one of rollback, pause",
    ),
    slo(
        "rule-severity",
        {"spec.burnRateRules": [{**RULE, "severity": "critical"}]},
        "reject",
        "spec.burnRateRules[0].severity",
        "one of page, ticket",
    ),
    slo(
        "canary-max-burn-zero",
        {"spec.canary": {"maxBurnRate": 0}},
        "reject",
        "spec.canary.maxBurnRate",
        "greater than 0",
    ),
    slo(
        "canary-confidence-one",
        {"spec.canary": {"confidence": 1}},
        "reject",
        "spec.canary.confidence",
        "less than 1",
    ),
    slo(
        "canary-confidence-low",
        {"spec.canary": {"confidence": 0.3}},
        "reject",
        "spec.canary.confidence",
        "at least 0.5",
    ),
    slo(
        "canary-relative-one",
        {"spec.canary": {"maxRelativeRate": 1}},
        "reject",
        "spec.canary.maxRelativeRate",
        "greater than 1",
    ),
    slo(
        "canary-min-requests-decimal",
        {"spec.canary": {"minRequests": 1.5}},
        "reject",
        "spec.canary.minRequests",
        "no decimals",
    ),
    slo(
        "canary-interval",
        {"spec.canary": {"interval": "1m"}},
        "reject",
        "spec.canary.interval",
        "rollout.analysisInterval",
    ),
    slo(
        "distribution-bucket-suffix",
        {"spec.distributions": [{**DRIFT, "histogram": "model_prediction_score_bucket"}]},
        "reject",
        "spec.distributions[0]",
        "write the histogram's base name, model_prediction_score",
    ),
    slo(
        "distribution-ks-threshold",
        {"spec.distributions": [{**DRIFT, "statistic": "ks", "threshold": 2}]},
        "reject",
        "spec.distributions[0]",
        "write a value in (0, 1.0]",
    ),
    slo(
        "distribution-warn-over-fail",
        {"spec.distributions": [{**DRIFT, "threshold": 0.2, "warnThreshold": 0.3}]},
        "reject",
        "spec.distributions[0]",
        "warnThreshold <= threshold",
    ),
    slo(
        "distribution-reference-rollback",
        {"spec.distributions": [{**DRIFT, "compareTo": "reference", "action": "rollback"}]},
        "reject",
        "spec.distributions[0]",
        "use alert or pause",
    ),
    slo(
        "distribution-alarm-on-stable",
        {"spec.distributions": [{**DRIFT, "meanWindowsToFalseAlarm": 100}]},
        "reject",
        "spec.distributions[0]",
        "write compareTo: reference",
    ),
    slo(
        "distribution-statistic",
        {"spec.distributions": [{**DRIFT, "statistic": "wasserstein"}]},
        "reject",
        "spec.distributions[0].statistic",
        "one of psi, ks, chi2",
    ),
    slo(
        "distribution-duplicate",
        {"spec.distributions": [DRIFT, DRIFT]},
        "reject",
        "spec",
        "give each distribution its own name",
    ),
    slo(
        "distribution-min-samples-zero",
        {"spec.distributions": [{**DRIFT, "minSamples": 0}]},
        "reject",
        "spec.distributions[0].minSamples",
        "from 1 to",
    ),
    slo(
        "guard-over-one",
        {"spec.rolloutGuard": {"minBudgetRemaining": 1.5}},
        "reject",
        "spec.rolloutGuard.minBudgetRemaining",
        "from 0 to 1",
    ),
    slo(
        "api-version-wrong",
        {"apiVersion": "roost.dev/v1"},
        "reject",
        "apiVersion",
        "write roost.dev/v1alpha1",
    ),
    slo("metadata-missing", {"metadata": DELETE}, "reject", "metadata", "metadata: {name: NAME}"),
    slo(
        "unknown-spec-field",
        {"spec.objective": []},
        "reject",
        "spec.objective",
        "did you mean objectives?",
    ),
    slo_text(
        "duplicate-key",
        "  period: 30d",
        "  period: 30d\n  period: 28d",
        None,
        "given twice",
        DUPLICATES,
    ),
    slo_text("tab-indent", "  period: 30d", "\tperiod: 30d", None, "not tabs"),
    slo_text("unclosed-quote", "  period: 30d", "  period: '30d", None, "not valid YAML"),
]

# A kind: List of a valid and an invalid object, and two documents in one file.
CASES += [
    Case(
        "list-with-an-invalid-item",
        _dump(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [_edit(SLO, {}), _edit(MD, {f"{STEP0}.weight": "5"})],
            }
        ),
        "reject",
        f"{STEP0}.weight",
        "write 5 without quotes",
    ),
    Case(
        "two-documents-second-invalid",
        _dump(_edit(SLO, {})) + "---\n" + _dump(_edit(MD, {"spec.replicas": "3"})),
        "reject",
        "spec.replicas",
        "write 3 without quotes",
    ),
    Case("two-valid-documents", _dump(SLO) + "---\n" + _dump(MD), "accept"),
]
