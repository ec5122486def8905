"""The ModelDeployment API: what to serve, how to roll it out, how to size it."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from roost import durations
from roost.api.base import (
    DNS_LABEL_PATTERN,
    RESERVED_LABELS,
    Duration,
    Hint,
    LabelValue,
    ObjectName,
    PromLabelName,
    RoostModel,
    cel_rules,
)
from roost.api.status import Condition
from roost.selectors import LABEL_NAME

MAX_STEPS = 20
MAX_NOTIFICATIONS = 8
MAX_WEBHOOKS = 16


class ModelRef(RoostModel):
    name: LabelValue = Field(description="Model name, exported as a label on pods and series.")
    version: LabelValue = Field(
        description="Model version; changing it (or the template) starts a canary rollout."
    )


class ServicePort(RoostModel):
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    target_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None, description="Container port; defaults to port."
    )


class SLOPolicyRef(RoostModel):
    name: ObjectName = Field(description="An SLOPolicy in the same namespace.")


class TrafficProviderName(StrEnum):
    GATEWAY_API = "gatewayAPI"
    ISTIO = "istio"
    REPLICAS = "replicas"


class GatewayAPITraffic(RoostModel):
    http_route: ObjectName = Field(
        description="HTTPRoute (same namespace) whose backendRefs Roost weights between the "
        "<name>-stable and <name>-canary Services."
    )


ROUTE_NAME_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
RouteName = Annotated[
    str,
    Hint("an http route name such as primary: letters, digits, '-', '_' and '.'"),
    Field(min_length=1, max_length=253, pattern=ROUTE_NAME_PATTERN),
]


class IstioTraffic(RoostModel):
    virtual_service: ObjectName = Field(
        description="VirtualService (same namespace) whose http routes Roost weights."
    )
    routes: (
        Annotated[
            list[RouteName],
            Field(max_length=32, json_schema_extra={"x-kubernetes-list-type": "set"}),
        ]
        | None
    ) = Field(default=None, description="Names of the http routes to weight; default all.")

    @model_validator(mode="after")
    def _unique_routes(self) -> Self:
        names = list(self.routes or ())
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"traffic.istio.routes names {', '.join(repeated)} more than once: write each "
                "route once"
            )
        return self


class Traffic(RoostModel):
    model_config = cel_rules(
        {
            "rule": "self.provider != 'gatewayAPI' || has(self.gatewayAPI)",
            "message": "provider gatewayAPI needs traffic.gatewayAPI.httpRoute",
        },
        {
            "rule": "self.provider != 'istio' || has(self.istio)",
            "message": "provider istio needs traffic.istio.virtualService",
        },
        {
            "rule": "!has(self.gatewayAPI) || self.provider == 'gatewayAPI'",
            "message": "traffic.gatewayAPI is set but provider is not gatewayAPI: write "
            "provider: gatewayAPI (or remove gatewayAPI)",
        },
        {
            "rule": "!has(self.istio) || self.provider == 'istio'",
            "message": "traffic.istio is set but provider is not istio: write provider: istio "
            "(or remove istio)",
        },
    )

    provider: TrafficProviderName = TrafficProviderName.REPLICAS
    gateway_api: GatewayAPITraffic | None = Field(default=None, alias="gatewayAPI")
    istio: IstioTraffic | None = None

    @model_validator(mode="after")
    def _provider_settings(self) -> Self:
        if self.provider is TrafficProviderName.GATEWAY_API and self.gateway_api is None:
            raise ValueError(
                "provider gatewayAPI needs traffic.gatewayAPI.httpRoute: write "
                "gatewayAPI: {httpRoute: NAME}"
            )
        if self.provider is TrafficProviderName.ISTIO and self.istio is None:
            raise ValueError(
                "provider istio needs traffic.istio.virtualService: write "
                "istio: {virtualService: NAME}"
            )
        # A settings block for another provider is ignored by it: say so instead.
        for block, name in ((self.gateway_api, "gatewayAPI"), (self.istio, "istio")):
            if block is not None and self.provider.value != name:
                raise ValueError(
                    f"traffic.{name} is set but provider is {self.provider.value}"
                    f"{' (the default)' if 'provider' not in self.model_fields_set else ''}: "
                    f"write provider: {name} (or remove {name})"
                )
        return self


class HeaderMatchType(StrEnum):
    EXACT = "Exact"
    REGULAR_EXPRESSION = "RegularExpression"


class HeaderMatch(RoostModel):
    """A request header to match (Gateway API HTTPHeaderMatch; Istio exact/regex)."""

    name: Annotated[
        str,
        Hint("an HTTP header name such as x-canary"),
        Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$"),
    ]
    value: Annotated[str, Field(min_length=1, max_length=4096)]
    type: HeaderMatchType = HeaderMatchType.EXACT


class StepMatch(RoostModel):
    headers: Annotated[list[HeaderMatch], Field(min_length=1, max_length=16)] = Field(
        description="All of these headers must match (a cookie: the header cookie with a "
        "RegularExpression such as (^|; )tester=1(;|$))."
    )


MATCHED_SHARE = 1
"""The share (%) a header-matched step's canary is sized for before traffic: its
matched requests are unknown in advance; its HPA, if any, scales it from there."""


@dataclass(frozen=True)
class Split:
    """How requests go while a canary runs: ``weight`` percent of them to the canary;
    or (a shadow step) ``mirror`` percent of them copied to it, its answers discarded;
    or the requests matching ``match`` sent to it. At most one of the three is set."""

    weight: int = 0
    mirror: int = 0
    match: tuple[HeaderMatch, ...] = ()

    def __post_init__(self) -> None:
        if not (0 <= self.weight <= 100 and 0 <= self.mirror <= 100):
            raise ValueError(f"weight and mirror are percentages, got {self}")
        if sum(map(bool, (self.weight, self.mirror, self.match))) > 1:
            raise ValueError(f"a split routes, mirrors or matches, one of them: {self}")

    @property
    def canary_share(self) -> int:
        """Percent of all requests the canary answers (served or mirrored); a matched
        step's is sized as MATCHED_SHARE."""
        return self.weight or self.mirror or (MATCHED_SHARE if self.match else 0)

    @property
    def stable_share(self) -> int:
        """Percent of all requests the stable answers: all of them while mirroring."""
        return 100 - self.weight

    def describe(self) -> str:
        if self.mirror:
            return f"{self.mirror}% of requests mirrored to the canary"
        if self.match:
            headers = ", ".join(f"{h.name}: {h.value}" for h in self.match)
            return f"requests with {headers} sent to the canary"
        return f"canary at {self.weight}%"


class Step(RoostModel):
    """One step of a rollout: real traffic (``weight``), a shadow step (``mirror``), or
    the requests that match headers (``match``)."""

    model_config = cel_rules(
        {
            "rule": "(has(self.weight) ? 1 : 0) + (has(self.mirror) ? 1 : 0) + "
            "(has(self.match) ? 1 : 0) == 1",
            "message": "a step sets exactly one of weight, mirror and match: write {weight: 5} "
            "to send users to the canary, {mirror: 100} to copy requests to it, or "
            "{match: {headers: [{name: x-canary, value: 'true'}]}}",
        },
    )

    weight: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Percent of traffic sent to the canary during this step."
    )
    mirror: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None,
        description="A shadow step: percent of requests copied to the canary, whose answers "
        "are discarded (users get the stable's). The gates judge the canary on them as on "
        "real traffic. Needs provider gatewayAPI or istio; mirror steps come first.",
    )
    match: StepMatch | None = Field(
        default=None,
        description="A header-matched step: only requests with these headers (e.g. your "
        "testers', one tenant's) go to the canary, the gates judge it on them. Needs "
        "provider gatewayAPI or istio; matched and mirror steps come first.",
    )
    pause: Duration | None = Field(
        default=None,
        description="Minimum time at this step before it may pass; default one analysisInterval.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        given = [k for k in ("weight", "mirror", "match") if getattr(self, k) is not None]
        if len(given) != 1:
            said = " and ".join(given) if given else "none"
            raise ValueError(
                f"a step sets exactly one of weight, mirror and match ({said} given): write "
                "{weight: 5} to send users to the canary, {mirror: 100} to copy requests to "
                "it, or {match: {headers: [{name: x-canary, value: 'true'}]}}"
            )
        return self

    @property
    def split(self) -> Split:
        """The split this step asks for: the canary's weight, mirror or header match."""
        return Split(
            weight=self.weight or 0,
            mirror=self.mirror or 0,
            match=tuple(self.match.headers) if self.match else (),
        )


HTTP_URL = Annotated[
    str,
    Hint("an http(s) URL such as https://hooks.example.com/roost"),
    Field(pattern=r"^https?://[^\s]+$", max_length=2048),
]


class WebhookType(StrEnum):
    """When a webhook is called, and what its answer does."""

    PRE_ROLLOUT = "preRollout"  # once per canary, before any traffic: fail rolls back
    CONFIRM_STEP = "confirmStep"  # before each later step: holds until it answers 2xx
    CONFIRM_PROMOTION = "confirmPromotion"  # before promotion: holds until it answers 2xx
    POST_ROLLOUT = "postRollout"  # after a promotion or a rollback: recorded only
    ROLLBACK = "rollback"  # when a rollback happens: recorded only


class FailurePolicy(StrEnum):
    FAIL = "fail"
    IGNORE = "ignore"


class SecretRef(RoostModel):
    name: ObjectName


class Webhook(RoostModel):
    """An HTTP POST of the rollout's state at one of its moments (WebhookType); the
    answer's status code and latency go into status.webhooks and an Event."""

    name: Annotated[
        str,
        Hint("a webhook name such as offline-eval: lowercase letters, digits and '-'"),
        Field(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN),
    ]
    type: WebhookType
    url: HTTP_URL
    headers_secret_ref: SecretRef | None = Field(
        default=None,
        description="A Secret in the same namespace whose keys and values are sent as HTTP "
        "headers (e.g. Authorization): credentials never go in the spec.",
    )
    timeout_seconds: Annotated[int, Field(ge=1, le=60)] = Field(
        default=10, description="How long to wait for the answer; no answer is a failure."
    )
    failure_policy: FailurePolicy = Field(
        default=FailurePolicy.FAIL,
        description="preRollout only: fail rolls the canary back before any traffic, ignore "
        "goes on with a Warning Event. Confirm webhooks hold until they answer 2xx; "
        "postRollout and rollback webhooks never change the outcome.",
    )


class DeadlineAction(StrEnum):
    """What a deadline does: roll back, or pause for a person to decide."""

    ROLLBACK = "rollback"
    PAUSE = "pause"


class Rollout(RoostModel):
    model_config = cel_rules(
        {
            "rule": "self.steps.filter(s, has(s.weight)).map(s, s.weight).isSorted() && "
            "self.steps.filter(s, has(s.weight)).all(s, "
            "self.steps.exists_one(t, has(t.weight) && t.weight == s.weight))",
            "message": "step weights must be strictly increasing",
            "fieldPath": ".steps",
        },
        {
            "rule": "!has(self.webhooks) || "
            "self.webhooks.all(w, self.webhooks.exists_one(x, x.name == w.name))",
            "message": "webhook names must be unique: give each webhook its own name",
            "fieldPath": ".webhooks",
        },
        {
            "rule": "self.steps.map(s, has(s.weight) ? 1 : 0).isSorted()",
            "message": "mirror and match steps come before the weighted steps: write them first",
            "fieldPath": ".steps",
        },
    )

    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)] = Field(
        default_factory=lambda: [Step(weight=5), Step(weight=25), Step(weight=50)]
    )
    analysis_interval: Duration = Field(
        default="30s", description="How often Prometheus is asked for new evidence."
    )
    no_data_deadline: Duration = Field(
        default="10m",
        description="Longest the canary may go without any measurement before onNoData applies.",
    )
    on_no_data: DeadlineAction = DeadlineAction.ROLLBACK
    progress_deadline: Duration = Field(
        default="2h",
        description="Longest a rollout may take from start to promotion; then onProgressDeadline "
        "applies. Time spent paused does not count.",
    )
    on_progress_deadline: DeadlineAction = Field(
        default=DeadlineAction.PAUSE,
        description="pause (the default): hold the traffic where it is for a person, since a "
        "canary at low traffic may be healthy but unproven; a failing check still rolls back "
        "and resuming gives it a new progressDeadline. rollback: reject it.",
    )
    webhooks: Annotated[list[Webhook], Field(max_length=MAX_WEBHOOKS)] | None = Field(
        default=None,
        description="HTTP calls at the rollout's moments: preRollout, confirmStep, "
        "confirmPromotion, postRollout, rollback.",
    )

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        weighted = [(i, s.weight) for i, s in enumerate(self.steps) if s.weight is not None]
        for (before, low), (index, weight) in itertools.pairwise(weighted):
            if weight <= low:
                raise ValueError(
                    f"rollout.steps[{index}].weight ({weight}) must be greater than "
                    f"steps[{before}].weight ({low}): write strictly "
                    "increasing weights, e.g. 5, 25, 50"
                )
        names = [w.name for w in self.webhooks or ()]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"rollout.webhooks names {', '.join(repeated)} more than once: webhook names "
                "must be unique: give each webhook its own name"
            )
        if weighted:
            first = weighted[0][0]
            late = [i for i, s in enumerate(self.steps) if s.weight is None and i > first]
            if late:
                raise ValueError(
                    f"rollout.steps[{late[0]}] comes after the weighted steps[{first}]: "
                    "mirror and match steps come before the weighted steps: write them first"
                )
        return self

    def hooks(self, type_: WebhookType) -> list[Webhook]:
        return [w for w in self.webhooks or () if w.type is type_]

    @property
    def routes_by_request(self) -> bool:
        """Whether any step needs a route provider (a shadow or header-matched step)."""
        return any(s.weight is None for s in self.steps)

    @property
    def interval_seconds(self) -> float:
        return durations.parse_seconds(self.analysis_interval)

    def is_last(self, index: int) -> bool:
        """Whether step ``index`` is the last: the one that promotes."""
        return index == len(self.steps) - 1

    def dwell_seconds(self, index: int) -> float:
        pause = self.steps[index].pause
        return durations.parse_seconds(pause) if pause else self.interval_seconds


class ScaleUp(RoostModel):
    """How fast the HPA adds replicas (its behavior.scaleUp)."""

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=0,
        description="Seconds of higher recommendations before the HPA scales up (0: at once).",
    )
    period_seconds: Annotated[int, Field(ge=1, le=1800)] = Field(
        default=60, description="The period the two limits below apply to."
    )
    percent: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=100, description="Add at most this percent of the replicas per period..."
    )
    pods: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=4, description="...or this many pods per period, whichever is more."
    )


class ScaleDown(RoostModel):
    """How slowly the HPA removes replicas (its behavior.scaleDown)."""

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=300,
        description="The HPA scales down to the highest recommendation of this many seconds.",
    )
    period_seconds: Annotated[int, Field(ge=1, le=1800)] = Field(
        default=60, description="The period the limit below applies to."
    )
    percent: Annotated[int, Field(ge=1, le=100)] = Field(
        default=10, description="Remove at most this percent of the replicas per period."
    )


DEMAND_METRIC = "roost:demand_rate"
"""The series `roost rules --demand` records and an HPA of ``metric: Demand`` reads."""


class ScalingMetric(StrEnum):
    """What the HPA scales on (docs/capacity.md, "From plan to HPA")."""

    INFLIGHT_PER_POD = "InflightPerPod"
    DEMAND = "Demand"


class AutoscalingBehavior(RoostModel):
    """The HPA's ``behavior``; every field defaults to Roost's (docs/capacity.md)."""

    scale_up: ScaleUp = Field(default_factory=ScaleUp)
    scale_down: ScaleDown = Field(default_factory=ScaleDown)


class Autoscaling(RoostModel):
    model_config = cel_rules(
        {
            "rule": "self.minReplicas <= self.maxReplicas",
            "message": "minReplicas must not exceed maxReplicas",
            "fieldPath": ".minReplicas",
        },
    )

    min_replicas: Annotated[int, Field(ge=1, le=10000)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=10000)] = 10
    slots_per_replica: Annotated[int, Field(ge=1, le=4096)] = Field(
        default=1, description="Requests one replica serves at once (K)."
    )
    service_time: Duration | None = Field(
        default=None,
        description="Mean time one request occupies a slot. Default: learned from the "
        "SLOPolicy's latency histogram over the last hour once it has counted 200 requests "
        "of the stable version (status.capacity.serviceTime says what was learned); 100ms "
        "until then.",
    )
    wait_budget: Duration = Field(
        default="50ms", description="Queueing delay allowed at the 99th percentile."
    )
    service_time_cv: Annotated[float, Field(ge=0, le=4)] | None = Field(
        default=None,
        description="Coefficient of variation of the service time (standard deviation / "
        "mean). 1 plans for exponential service (M/M/c); lower values, typical of model "
        "inference, shorten the planned waits by (1 + CV^2)/2 (Allen-Cunneen). Default: "
        "fitted to the latency histogram's buckets with the service time (the upper end "
        "of its 95 % interval); 1 until then.",
    )
    burst_factor: Annotated[float, Field(ge=1, le=100)] = Field(
        default=1.0,
        description="Plan for this multiple of the rate (measured or arrivalRate): a reserve "
        "held in advance for a surge that comes faster than a pod starts, which no "
        "autoscaler reacting to load can meet. 1: no reserve. docs/capacity.md gives the "
        "cost and what it buys.",
    )
    arrival_rate: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="Peak requests per second to plan for; default the rate observed in "
        "Prometheus.",
    )
    inflight_metric: Annotated[
        str,
        Hint("a metric name such as model_inflight_requests"),
        Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", max_length=200),
    ] = Field(
        default="model_inflight_requests",
        description="Per-pod gauge of requests in flight; the HPA scales on it "
        "(metric InflightPerPod), or counts the queued requests in the demand (Demand).",
    )
    pod_startup: Duration = Field(
        default="60s",
        description="How long a new replica takes from its creation to Ready (scheduling, "
        "image pull, model load, warm-up). With metric Demand the HPA keeps a replica "
        "it no longer needs for twice this long before removing it (what starting it "
        "again would cost; at most 1h), and the demand looks this far ahead (plus 30s "
        "for the metric path) along the rate's slope.",
    )
    metric: ScalingMetric = Field(
        default=ScalingMetric.INFLIGHT_PER_POD,
        description="What the HPA scales on. InflightPerPod: the in-flight gauge per pod "
        "(a Pods metric) against what the plan carries per pod. Demand: the model's "
        "request rate with headroom for its noise, its slope over a pod's start-up and "
        "the queued requests (the External metric roost:demand_rate, recorded by the "
        "Prometheus rules of `roost rules --demand`) against the rate the plan carries "
        "per pod; its scale-down window defaults to twice podStartup. docs/capacity.md "
        "compares them.",
    )
    behavior: AutoscalingBehavior | None = Field(
        default=None,
        description="How fast the HPA scales up and down; default 0 s window, +100 % or "
        "+4 pods per 60 s up, 300 s window (2 x podStartup with metric Demand), -10 % per 60 s "
        "down.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"autoscaling.minReplicas ({self.min_replicas}) must not exceed "
                f"maxReplicas ({self.max_replicas}): write minReplicas <= maxReplicas"
            )
        return self


class SecretKeyRef(RoostModel):
    name: ObjectName
    key: Annotated[
        str,
        Hint("a Secret key such as token: letters, digits, '-', '_' and '.'"),
        Field(pattern=r"^[-._a-zA-Z0-9]+$", max_length=253),
    ]


class NotificationType(StrEnum):
    """Where a notification goes: a Slack or Microsoft Teams incoming webhook, or any
    endpoint that takes Roost's JSON."""

    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"


class Notice(StrEnum):
    """The rollout's moments a notification can be sent on."""

    STARTED = "started"
    STEP_ADVANCED = "stepAdvanced"
    PAUSED = "paused"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolledBack"
    DRIFT = "drift"


class Notification(RoostModel):
    """One receiver of the rollout's phase changes. Sent after the decision, never
    delaying it: rate-limited, retried, dropped (and counted) when the receiver fails."""

    model_config = cel_rules(
        {
            "rule": "has(self.url) != has(self.urlSecretRef)",
            "message": "a notification needs exactly one of url and urlSecretRef: write "
            "urlSecretRef: {name: SECRET, key: url} for a URL that carries a token",
        },
    )

    type: NotificationType = Field(description="slack, teams, or webhook (Roost's JSON).")
    url: HTTP_URL | None = Field(
        default=None,
        description="The receiver's URL; one that carries a token (Slack's, Teams') belongs "
        "in a Secret: urlSecretRef.",
    )
    url_secret_ref: SecretKeyRef | None = Field(
        default=None, description="A key of a Secret in the same namespace holding the URL."
    )
    on: (
        Annotated[
            list[Notice],
            Field(min_length=1, max_length=6, json_schema_extra={"x-kubernetes-list-type": "set"}),
        ]
        | None
    ) = Field(default=None, description="The moments to notify on; default all.")

    @model_validator(mode="after")
    def _one_url(self) -> Self:
        if (self.url is None) == (self.url_secret_ref is None):
            given = "both" if self.url is not None else "neither"
            raise ValueError(
                f"a notification needs exactly one of url and urlSecretRef ({given} given): "
                "write urlSecretRef: {name: SECRET, key: url} for a URL that carries a token"
            )
        return self

    def wants(self, notice: Notice) -> bool:
        return self.on is None or notice in self.on


class PrometheusConnection(RoostModel):
    url: Annotated[
        str,
        Hint("a URL such as http://prometheus.monitoring:9090"),
        Field(pattern=r"^https?://[^\s]+$", max_length=2048),
    ] = Field(description="Base URL of the Prometheus HTTP API.")
    bearer_token_secret_ref: SecretKeyRef | None = None
    ca_secret_ref: SecretKeyRef | None = None
    timeout: Duration = "10s"


class MetricLabels(RoostModel):
    model_config = cel_rules(
        {
            "rule": "!(self.versionLabel in " + str(list(RESERVED_LABELS)) + ")",
            "message": "versionLabel le is reserved for histogram buckets: write a label such "
            "as version",
            "fieldPath": ".versionLabel",
        },
        {
            "rule": "!has(self.labels) || self.labels.all(k, "
            "k.matches('^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9_]*$') && !(k in "
            + str(list(RESERVED_LABELS))
            + "))",
            "message": "metrics.labels keys must be Prometheus label names, not le and not "
            "starting with __, e.g. model",
            "fieldPath": ".labels",
        },
        {
            "rule": "!has(self.labels) || !(self.versionLabel in self.labels)",
            "message": "metrics.labels must not set the versionLabel: Roost sets it per version",
            "fieldPath": ".labels",
        },
    )

    version_label: PromLabelName = Field(
        default="version", description="Label whose value tells model versions apart in metrics."
    )
    labels: Annotated[dict[str, Annotated[str, Field(max_length=256)]], Field(max_length=16)] = (
        Field(
            default_factory=dict,
            description="Extra equality matchers added to every SLI selector for this model.",
        )
    )

    @model_validator(mode="after")
    def _label_names(self) -> Self:
        if self.version_label in RESERVED_LABELS:
            raise ValueError(
                f"metrics.versionLabel {self.version_label} is reserved for histogram buckets: "
                "write a label such as version"
            )
        for name in self.labels:
            if (
                not re.fullmatch(LABEL_NAME, name)
                or name.startswith("__")
                or name in RESERVED_LABELS
            ):
                raise ValueError(
                    f"metrics.labels: {name!r} is not a label Roost can match on: write a "
                    "Prometheus label name such as model (not le, not starting with __)"
                )
        if self.version_label in self.labels:
            raise ValueError(
                f"metrics.labels sets {self.version_label}, the versionLabel: Roost sets it "
                "per version; remove it"
            )
        return self


# The pod template is free-form (a core/v1 PodTemplateSpec the Deployment validates),
# except what a Deployment would refuse only after Roost made it: at least one
# container, each with a name (a DNS label) and an image.
_CONTAINER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "image"],
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 63,
            "pattern": DNS_LABEL_PATTERN,
        },
        "image": {"type": "string", "minLength": 1, "maxLength": 1024},
    },
    "x-kubernetes-preserve-unknown-fields": True,
}
PodTemplate = Annotated[
    dict[str, Any],
    Hint("a pod template: {spec: {containers: [{name: server, image: IMAGE}]}}"),
    Field(
        json_schema_extra={
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-embedded-resource": False,
            "required": ["spec"],
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["containers"],
                    "properties": {
                        "containers": {
                            "type": "array",
                            "minItems": 1,
                            "items": _CONTAINER_SCHEMA,
                        }
                    },
                    "x-kubernetes-preserve-unknown-fields": True,
                }
            },
        }
    ),
]


class ModelDeploymentSpec(RoostModel):
    model_config = cel_rules(
        {
            "rule": "!has(self.rollout) || !has(self.rollout.steps) || "
            "self.rollout.steps.all(s, has(s.weight)) || "
            "(has(self.traffic) && self.traffic.provider != 'replicas')",
            "message": "mirror and match steps need a route provider: the replicas provider "
            "cannot copy or pick requests; write traffic.provider: gatewayAPI or istio, or "
            "use weight steps",
            "fieldPath": ".rollout.steps",
        },
    )

    model: ModelRef
    template: PodTemplate = Field(
        description="Pod template of the model server (a core/v1 PodTemplateSpec)."
    )
    replicas: Annotated[int, Field(ge=0, le=10000)] = Field(
        default=1, description="Stable replicas when autoscaling is not set."
    )
    service: ServicePort = Field(default_factory=ServicePort)
    slo_policy_ref: SLOPolicyRef
    traffic: Traffic = Field(default_factory=Traffic)
    rollout: Rollout = Field(default_factory=Rollout)
    autoscaling: Autoscaling | None = None
    prometheus: PrometheusConnection | None = Field(
        default=None, description="Prometheus to ask; default the operator's --prometheus-url."
    )
    metrics: MetricLabels = Field(default_factory=MetricLabels)
    notifications: Annotated[list[Notification], Field(max_length=MAX_NOTIFICATIONS)] | None = (
        Field(
            default=None,
            description="Receivers of the rollout's phase changes (Slack, Teams, a JSON webhook).",
        )
    )

    @model_validator(mode="after")
    def _mirror_provider(self) -> Self:
        if self.rollout.routes_by_request and self.traffic.provider is TrafficProviderName.REPLICAS:
            raise ValueError(
                "rollout.steps: mirror and match steps need a route provider: the replicas "
                "provider cannot copy or pick requests; write traffic.provider: gatewayAPI or "
                "istio, or use weight steps"
            )
        return self

    @model_validator(mode="after")
    def _template(self) -> Self:
        spec = self.template.get("spec")
        containers = spec.get("containers") if isinstance(spec, dict) else None
        if not isinstance(containers, list) or not containers:
            raise ValueError(
                "template.spec.containers must list at least one container: write "
                "template: {spec: {containers: [{name: server, image: IMAGE}]}}"
            )
        for index, container in enumerate(containers):
            where = f"template.spec.containers[{index}]"
            if not isinstance(container, dict):
                raise ValueError(f"{where} must be a mapping: write {{name: server, image: IMAGE}}")
            name, image = container.get("name"), container.get("image")
            if not isinstance(name, str) or not re.match(DNS_LABEL_PATTERN, name) or len(name) > 63:
                given = "required" if name is None else f"got {name!r}"
                raise ValueError(
                    f"{where}.name: {given}; write a container name such as server "
                    "(lowercase letters, digits and '-', at most 63 characters)"
                )
            if not isinstance(image, str) or not image or len(image) > 1024:
                given = "required" if image is None else f"got {image!r}"
                raise ValueError(
                    f"{where}.image: {given}; write an image such as "
                    "registry.example.com/fraud-scorer:v2"
                )
        return self


class Phase(StrEnum):
    """Display phase; decisions read conditions, counters and timestamps, not this."""

    PENDING = "Pending"  # a new version waits for its rollout to be allowed to start
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    SUCCEEDED = "Succeeded"  # the spec's version is stable and takes all traffic
    ROLLED_BACK = "RolledBack"  # the spec's version was rejected; stable takes all traffic


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.ROLLED_BACK})


class CanaryWeight(RoostModel):
    desired: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="Weight the rollout is moving to (the next step's)."
    )
    applied: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="Weight last written to the traffic provider."
    )
    desired_mirror: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="Percent of requests to mirror to the canary (a shadow step's)."
    )
    applied_mirror: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="Mirrored percent last written to the traffic provider."
    )
    desired_match: Annotated[list[HeaderMatch], Field(max_length=16)] = Field(
        default_factory=list,
        description="Headers of the requests to send to the canary (a match step's).",
    )
    applied_match: Annotated[list[HeaderMatch], Field(max_length=16)] = Field(
        default_factory=list, description="Header match last written to the traffic provider."
    )
    effective: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None,
        description="Weight the data plane carries as the provider reports it (with the "
        "replicas provider, the canary's share of replicas).",
    )

    @property
    def share_in_force(self) -> int:
        """The larger of the desired and applied canary shares: what the canary must
        carry while traffic moves between them."""
        return max(self.desired_split.canary_share, self.applied_split.canary_share)

    @property
    def desired_split(self) -> Split:
        return Split(self.desired, self.desired_mirror, tuple(self.desired_match))

    @property
    def applied_split(self) -> Split:
        return Split(self.applied, self.applied_mirror, tuple(self.applied_match))

    @staticmethod
    def of(desired: Split, applied: Split) -> CanaryWeight:
        return CanaryWeight(
            desired=desired.weight,
            applied=applied.weight,
            desired_mirror=desired.mirror,
            applied_mirror=applied.mirror,
            desired_match=list(desired.match),
            applied_match=list(applied.match),
        )


class ArmCounts(RoostModel):
    """Cumulative counts of one version since the canary started."""

    total: Annotated[float, Field(ge=0)]
    bad: Annotated[float, Field(ge=0)]


class DistributionEvidence(RoostModel):
    """A prediction-distribution check's effect sizes on the counts since the canary started."""

    statistic: Literal["psi", "ks", "chi2"]
    value: float | None = Field(
        default=None,
        description="The statistic judged against threshold (chi2 as Cohen's w), less its "
        "mean under no shift at these counts (roost.analysis.distribution.judged); None = "
        "no data.",
    )
    threshold: float = Field(description="Fail at or above (with a significant test).")
    warn_threshold: float
    action: Literal["rollback", "pause", "alert"]
    min_samples: int
    windows: int = Field(description="Windows in which both versions were read.")
    psi: float | None = None
    ks: float | None = None
    chi2: float | None = None
    cohens_w: float | None = None
    bounds: Annotated[list[str], Field(max_length=64)] = Field(
        default_factory=list, description="Bucket upper bounds (le)."
    )
    canary_shares: Annotated[list[float], Field(max_length=64)] = Field(default_factory=list)
    stable_shares: Annotated[list[float], Field(max_length=64)] = Field(default_factory=list)


class GateEvidence(RoostModel):
    """One statistical test at one tick, with everything needed to check it by hand."""

    objective: str = Field(description="The objective, or the distribution check's name.")
    gate: Literal["burnRate", "comparison", "distribution"]
    outcome: Literal["pass", "fail", "inconclusive"]
    ln_e_fail: float = Field(description="log e-value against 'the canary is fine'.")
    ln_e_pass: float = Field(
        description="log e-value against 'the canary is bad' (burnRate: the promotion test, "
        "against a burn of promotionBurnRate or more)."
    )
    fail_threshold: float = Field(description="ln(1/alpha_i): ln_e_fail at or above fails.")
    pass_threshold: float = Field(description="ln(1/alpha): ln_e_pass at or above passes.")
    canary: ArmCounts | None = None
    stable: ArmCounts | None = None
    burn_rate: float | None = Field(default=None, description="Canary bad ratio / error budget.")
    stable_burn_rate: float | None = None
    p_value: float = Field(
        description="min(1, 1/E_fail) at this tick: evidence against 'the canary is fine'; "
        "valid however often it is looked at."
    )
    distribution: DistributionEvidence | None = None
    # burnRate gates only: the step-up rule and what is still needed.
    ln_e_step: float | None = Field(
        default=None,
        description="burnRate: the promotion test's log e-value on every canary request "
        "since the start; a step advances once it reaches step_threshold.",
    )
    step_threshold: float | None = Field(default=None, description="ln(stepEvidence).")
    promotion_requests: ArmCounts | None = Field(
        default=None,
        description="burnRate: the counts the promotion test judges (with promotionEvidence "
        "lastStep, those at the current step's weight).",
    )
    requests_to_pass: float | None = Field(
        default=None,
        description="burnRate: more canary requests the promotion test needs if the canary "
        "keeps its observed bad ratio; 0 once passed; None when it cannot pass at that ratio.",
    )
    clean_requests_to_pass: float | None = Field(
        default=None,
        description="burnRate: the same if no further request were bad (a lower bound).",
    )
    requests_to_step: float | None = Field(
        default=None,
        description="burnRate: more canary requests until ln_e_step reaches step_threshold "
        "at the observed bad ratio; 0 once it has; None when it cannot at that ratio.",
    )


class ObjectiveForecast(RoostModel):
    """One objective's part of the forecast."""

    objective: str
    rate: float = Field(description="Its canary requests (or gauge samples) per second now.")
    promotable_in_seconds: float | None = Field(
        default=None,
        description="Seconds until its promotion test can pass at the observed bad ratio; "
        "None when it cannot pass at that ratio.",
    )
    at_least_seconds: float = Field(description="The same if no further request were bad.")


class Forecast(RoostModel):
    """When the canary can be promoted at the traffic it sees now (``roost status`` shows it)."""

    canary_rate: float = Field(
        description="Canary requests per second at the current step (the slowest objective's)."
    )
    promotable_in_seconds: float | None = Field(
        default=None,
        description="Seconds until every promotion test can pass if the canary keeps its "
        "observed bad ratios and the traffic its rate, with the steps advancing on their "
        "pauses; None when a test cannot pass at the observed ratio.",
    )
    at_least_seconds: float = Field(
        description="The same if no further request were bad: no promotion comes sooner."
    )
    deadline_in_seconds: float | None = Field(
        default=None, description="Seconds left before progressDeadline."
    )
    reachable: bool = Field(
        default=True,
        description="False when even the lower bound ends after progressDeadline.",
    )
    slowest: str = Field(default="", description="The objective that needs the longest.")
    measured_seconds: float = Field(
        default=0.0, description="Length of the current step's windows the rate is from."
    )
    warned: bool = Field(
        default=False,
        description="A Warning Event ProgressDeadlineUnreachable was posted in this rollout.",
    )
    objectives: Annotated[list[ObjectiveForecast], Field(max_length=16)] = Field(
        default_factory=list, description="Per objective; the forecast is the slowest's."
    )


class Analysis(RoostModel):
    """The evidence behind the latest verdict (``kubectl describe`` shows it)."""

    at: datetime
    verdict: Literal["pass", "fail", "inconclusive"]
    promotable: bool = False
    reason: str
    message: str
    step: int
    canary_weight: int
    gates: Annotated[list[GateEvidence], Field(max_length=64)] = Field(default_factory=list)
    forecast: Forecast | None = None


class ComparisonState(RoostModel):
    """Restart-safe evidence of one objective: what the sequential tests have seen.

    ``test`` is ``roost.analysis.twosample.TwoSampleState.to_dict()``: the
    accumulated log-likelihoods of the canary-vs-stable test on its rate-ratio
    grids and the counts of the windows in which both versions were read.
    """

    objective: str = Field(description="The objective, or the distribution check's name.")
    gate: Literal["comparison", "distribution"] = Field(
        default="comparison",
        description="comparison: twosample state; distribution: "
        "roost.analysis.distribution.DistributionState.",
    )
    canary: ArmCounts = Field(description="Canary counts since the rollout started.")
    test: Annotated[
        dict[str, Any], Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
    ]
    step: int | None = Field(
        default=None, description="The rollout step step_canary and step_seconds belong to."
    )
    step_canary: ArmCounts | None = Field(
        default=None, description="Canary counts in the windows analysed at that step."
    )
    step_seconds: Annotated[float, Field(ge=0)] = Field(
        default=0.0, description="Length of those windows, for the canary's request rate."
    )


class DriftWatchStatus(RoostModel):
    """A compareTo-reference check watching the stable version after promotion.

    ``state`` is ``roost.analysis.watch.WatchState.to_dict()``: the reference's bucket
    counts, the e-detector's ln M and the counts of its current run. The rest is the
    same evidence in a form a person reads.
    """

    name: str = Field(description="The distribution check's name.")
    version: str = Field(description="The stable version the reference belongs to.")
    stage: Literal["CollectingReference", "Watching", "Drifted"]
    watched_until: datetime | None = Field(
        default=None, description="End of the last analysis window read (aligned)."
    )
    reference_since: datetime | None = Field(
        default=None, description="Start of the first window in the reference."
    )
    reference_taken_at: datetime | None = Field(
        default=None, description="When the reference reached minSamples and was frozen."
    )
    drifted_at: datetime | None = None
    statistic: Literal["psi", "ks", "chi2"]
    value: float | None = Field(
        default=None,
        description="The statistic of the detector's current run vs the reference, less its "
        "mean under no change (judged against threshold).",
    )
    threshold: float
    warn_threshold: float
    action: Literal["alert", "pause"]
    psi: float | None = None
    ks: float | None = None
    cohens_w: float | None = None
    ln_m: float = Field(default=0.0, description="ln of the CUSUM e-detector statistic.")
    ln_alarm: float = Field(description="ln(meanWindowsToFalseAlarm): ln_m at or above alarms.")
    samples: float = Field(default=0.0, description="Observations in the detector's run.")
    reference_samples: float = 0.0
    bounds: Annotated[list[str], Field(max_length=64)] = Field(default_factory=list)
    reference_shares: Annotated[list[float], Field(max_length=64)] = Field(default_factory=list)
    recent_shares: Annotated[list[float], Field(max_length=64)] = Field(
        default_factory=list, description="Shares over the detector's current run."
    )
    message: str = ""
    state: Annotated[
        dict[str, Any], Field(json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
    ]


class ServiceTimeStatus(RoostModel):
    """The service time and CV the plan used, and where each came from."""

    seconds: float
    seconds_from: Literal["declared", "learned", "default"]
    cv: float
    cv_from: Literal["declared", "learned", "default"]
    requests: float | None = Field(
        default=None, description="Requests of the stable version the values were learned from."
    )
    window: str | None = Field(default=None, description="The window learned over.")
    learned_cv: float | None = Field(
        default=None, description="The CV's maximum-likelihood fit to the histogram's buckets."
    )
    learned_cv_interval: list[float] | None = Field(
        default=None, description="The fitted CV's 95 % profile-likelihood interval."
    )
    family: str | None = Field(
        default=None, description="The distribution that fitted better: gamma or lognormal."
    )
    note: str | None = Field(default=None, description="Why nothing was learned, if so.")


class CapacityStatus(RoostModel):
    arrival_rate: float
    offered_load: float
    slots: int
    replicas: int
    canary_replicas: int
    stable_replicas: int
    p_wait: float
    p99_wait_seconds: float
    limited_by: str | None = None
    service_time: ServiceTimeStatus | None = None


class WebhookResult(RoostModel):
    """A webhook's last answer: kept until its outcome or the revision changes."""

    name: str
    type: WebhookType
    revision: str | None = Field(default=None, description="The canary revision it was for.")
    passed: bool = Field(description="It answered 2xx in time.")
    code: int | None = Field(default=None, description="The HTTP status; None: no answer.")
    latency_seconds: float = Field(description="Time to the answer (or to the failure).")
    message: str = Field(default="", description="The answer's first bytes, or the error.")
    at: datetime


class ModelDeploymentStatus(RoostModel):
    """Everything a decision needs to resume after a restart, as timestamps and counters."""

    observed_generation: int | None = None
    applied_serving: str | None = Field(
        default=None,
        description="Hash of the spec's serving settings (replicas, autoscaling, service, "
        "traffic) last applied to the stable version's Services, HPA or replicas and route.",
    )
    phase: Phase | None = None
    message: str = ""
    stable_version: str | None = None
    stable_revision: str | None = Field(default=None, description="Pod-template hash of stable.")
    canary_version: str | None = None
    canary_revision: str | None = None
    canary_weight: CanaryWeight = Field(default_factory=CanaryWeight)
    current_step: int = Field(default=-1, description="Index into rollout.steps; -1 = warming up.")
    rollout_started_at: datetime | None = None
    step_started_at: datetime | None = None
    last_data_at: datetime | None = None
    analyzed_until: datetime | None = Field(
        default=None,
        description="End of the last analysis window consumed; the next window starts here.",
    )
    paused_at: datetime | None = None
    pause_reason: str | None = None
    promotion: str | None = Field(
        default=None,
        description="Reason of a promotion that waits for the canary to be sized for all traffic.",
    )
    failed_checks: int = 0
    inconclusive_checks: int = 0
    last_analysis: Analysis | None = None
    comparison: Annotated[list[ComparisonState], Field(max_length=24)] = Field(default_factory=list)
    canary_burn_rate: float | None = Field(
        default=None, description="Highest canary burn rate at the last analysis (display)."
    )
    capacity: CapacityStatus | None = None
    drift: Annotated[list[DriftWatchStatus], Field(max_length=16)] = Field(
        default_factory=list,
        description="compareTo-reference distribution checks watching the stable version.",
    )
    webhooks: Annotated[list[WebhookResult], Field(max_length=MAX_WEBHOOKS)] = Field(
        default_factory=list,
        description="Each webhook's last answer (the canary revision it was called for).",
    )
    conditions: list[Condition] = Field(default_factory=list)


class ModelDeployment(RoostModel):
    api_version: Literal["roost.dev/v1alpha1"] = "roost.dev/v1alpha1"
    kind: Literal["ModelDeployment"] = "ModelDeployment"
    metadata: dict[str, object] = Field(default_factory=dict)
    spec: ModelDeploymentSpec
    status: ModelDeploymentStatus | None = None
