"""One tick of one ModelDeployment: read the world, call the core, apply, report.

This is orchestration, not decision: every decision is made by
``analysis.verdict.analyze``, ``rollout.observe`` and ``rollout.machine.decide``.
The steps read aloud: parse the spec (an invalid one stops here with
``Ready=False``), find the SLOPolicy, observe the canary's capacity and the
stable's budget, read the due analysis window, decide, apply the actions, and
return the new status for the caller to patch. Nothing is written to status
before all actions succeeded.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from roost import selectors
from roost.adapters import webhooks
from roost.adapters.actuator import Actuator, Applied
from roost.adapters.kube import Kube, NotFoundError
from roost.adapters.metrics_reader import DueTarget, MetricsReader, answer
from roost.adapters.notifier import Notifier
from roost.adapters.prometheus import PrometheusClient, QueryStatus
from roost.adapters.prometheus_clients import PrometheusClients
from roost.adapters.shared_reads import SharedReads
from roost.adapters.telemetry import Telemetry
from roost.adapters.traffic import Backends, TrafficError, TrafficProvider
from roost.adapters.traffic.factory import provider_for
from roost.adapters.webhooks import Webhooks
from roost.analysis.guard import budget_guard
from roost.analysis.verdict import StepVerdict, analyze
from roost.api import messages
from roost.api.base import MODEL_DEPLOYMENT_NAME_MAX, MODEL_DEPLOYMENT_NAME_PATTERN
from roost.api.modeldeployment import (
    TERMINAL_PHASES,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    WebhookResult,
)
from roost.api.slopolicy import SLOPolicySpec
from roost.api.status import Condition, find_condition, new_condition, set_condition
from roost.capacity import learn
from roost.capacity.hpa import floor_and_target as hpa_floor_and_target
from roost.capacity.learn import Learned
from roost.capacity.sizing import learned_values, size
from roost.memory import Memories, ObjectMemory, SharedSpecs
from roost.rollout import drift as drift_watch
from roost.rollout import metric_path, observe, schedule
from roost.rollout.actions import EmitEvent, EventType
from roost.rollout.machine import ACTIVE_PHASES, Command, Observed, decide
from roost.rollout.notices import Subject
from roost.slo import batch, preflight, promql
from roost.slo.budget import BudgetReport
from roost.workloads import Owner, revision, serving

EventSink = Callable[[EmitEvent], Awaitable[None]]
PREFLIGHT_TTL_SECONDS = 60.0
PREFLIGHT_RETRY_SECONDS = 10.0
# The error-budget guard's period ends at a whole second: rollouts that start in the same
# second share one read, and the stable's latest burn (seconds old) still counts.
GUARD_RESOLUTION_SECONDS = 1.0
# Roost's HPAs in a namespace are listed at most this often (one list answers every
# ModelDeployment of the namespace); the HPA controller syncs every 15 s by default.
HPA_READ_SECONDS = 15.0


_Spec = TypeVar("_Spec", bound=BaseModel)


@dataclass
class Runtime:
    """Clients and shared state built at start-up and passed to every tick (kopf memo)."""

    kube: Kube
    telemetry: Telemetry
    default_prometheus_url: str | None
    prometheus_timeout: float = 10.0
    # Each ModelDeployment's own state, one record per object (roost.memory).
    objects: Memories = field(default_factory=Memories)
    # Validated SLOPolicies by their JSON, shared by the objects that use them.
    policies: SharedSpecs = field(default_factory=SharedSpecs)
    # Bucket bounds by (Prometheus URL, query): the answer by label values, see _preflight.
    preflight: SharedReads[tuple[str, str], dict[tuple[str, ...], list[str]] | None] = field(
        default_factory=SharedReads
    )
    # How long an HPA's metric may fail before the ModelDeployment says so (metric_path).
    metric_grace_seconds: float = metric_path.DEFAULT_GRACE_SECONDS
    # How often a ModelDeployment's service time is learned again (roost.capacity.learn).
    learn_every_seconds: float = learn.LEARN_EVERY_SECONDS
    # How often the stable's HPA follows the plan of the measured rate: its floor
    # (minReplicas) and its in-flight target (docs/capacity.md, "From plan to HPA").
    replan_seconds: float = 60.0
    # Roost's HPAs by namespace, see HPA_READ_SECONDS.
    hpas: SharedReads[str, dict[str, dict[str, Any]] | None] = field(default_factory=SharedReads)
    # Sends the notices of spec.notifications after each tick (None: none are sent).
    notifier: Notifier | None = None
    # Calls spec.rollout.webhooks (None: none are called).
    webhooks: Webhooks | None = None
    reader: MetricsReader = field(init=False)
    prometheus: PrometheusClients = field(init=False)

    def __post_init__(self) -> None:
        self.prometheus = PrometheusClients(
            self.kube, self.default_prometheus_url, self.prometheus_timeout
        )
        self.reader = MetricsReader(
            self.objects.due_targets,
            on_sent=lambda url, n: self.telemetry.queries.labels(url).inc(n),
        )


def watch_key(key: str) -> str:
    """The metrics reader's key of an object's drift-watch window (``key`` is ns/name)."""
    return f"{key}#watch"


@dataclass(frozen=True)
class TickResult:
    status: dict[str, Any]  # a merge patch for .status
    clear_command: bool = False


def status_patch(status: ModelDeploymentStatus) -> dict[str, Any]:
    """A merge patch: nested nulls dropped, top-level None fields deleted explicitly."""
    body = status.to_api()
    for name, info in ModelDeploymentStatus.model_fields.items():
        if getattr(status, name) is None:
            body[info.alias or name] = None
    return body


def _subject(owner: Owner, status: ModelDeploymentStatus) -> Subject:
    """What a notification says about the object: its status after this tick."""
    weight = status.canary_weight
    return Subject(
        namespace=owner.namespace,
        name=owner.name,
        phase=status.phase.value if status.phase is not None else None,
        stable_version=status.stable_version,
        canary_version=status.canary_version,
        weight=weight.applied,
        mirror=weight.applied_mirror,
    )


def _ready(
    conditions: list[Condition], ok: bool, reason: str, message: str, now: datetime, generation: int
) -> list[Condition]:
    return set_condition(
        conditions, new_condition("Ready", ok, reason, message, now, generation=generation)
    )


def _validation_message(error: ValidationError, model: type[BaseModel]) -> str:
    return messages.one_line(error, model, prefix=("spec",))


def _name_problem(name: str) -> str | None:
    """A name the CRD now refuses but an older CRD admitted: derived names would collide."""
    if len(name) <= MODEL_DEPLOYMENT_NAME_MAX and re.match(MODEL_DEPLOYMENT_NAME_PATTERN, name):
        return None
    return (
        f"metadata.name: {name!r} is longer than {MODEL_DEPLOYMENT_NAME_MAX} characters or "
        "does not start with a letter: the names Roost derives from it (NAME-canary, "
        "NAME-<revision>) would be cut and collide; recreate it under a shorter name"
    )


@dataclass(frozen=True)
class _Tick:
    """What every step of one tick reads: the object, its valid spec and SLOPolicy,
    its Prometheus, the tick's clock and where its Events go."""

    memory: ObjectMemory
    owner: Owner
    generation: int
    spec: ModelDeploymentSpec
    policy: SLOPolicySpec
    client: PrometheusClient
    now: datetime
    events: EventSink

    @property
    def key(self) -> str:
        return self.memory.key

    def due_target(
        self, status: ModelDeploymentStatus, start: datetime, end: datetime, *, watch: bool = False
    ) -> DueTarget:
        """This object's analysis window (or, ``watch``, its drift watch's), as batches
        group it."""
        assert status.stable_version is not None
        canary = status.stable_version if watch else status.canary_version
        assert canary is not None
        target = batch.Target(
            key=watch_key(self.key) if watch else self.key,
            policy=self.policy,
            metrics=self.spec.metrics,
            canary_version=canary,
            stable_version=status.stable_version,
            watch=watch,
        )
        return DueTarget(
            target=target,
            prometheus=self.client,
            start=start,
            end=end,
            interval_seconds=self.spec.rollout.interval_seconds,
        )


class Reconciler:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def tick(
        self,
        memory: ObjectMemory,
        *,
        generation: int,
        raw_spec: Mapping[str, Any],
        raw_status: Mapping[str, Any],
        annotations: Mapping[str, str],
        policies: Mapping[str, Mapping[str, Any]],
        now: datetime,
        events: EventSink,
    ) -> TickResult:
        """One reconcile of the object ``memory`` is kept for; what it keeps between
        ticks (validated specs, due windows) goes into ``memory``."""
        current = ModelDeploymentStatus.model_validate(
            {k: v for k, v in raw_status.items() if k in _STATUS_FIELDS}
        )
        namespace, name = memory.namespace, memory.name

        def invalid(reason: str, message: str) -> TickResult:
            status = current.model_copy(
                update={
                    "conditions": _ready(
                        current.conditions, False, reason, message, now, generation
                    ),
                    "observed_generation": generation,
                    "message": message,
                }
            )
            memory.due = None
            return TickResult(status=status_patch(status))

        try:
            spec = _validated(memory, ModelDeploymentSpec, raw_spec)
        except ValidationError as error:
            return invalid("InvalidSpec", _validation_message(error, ModelDeploymentSpec))
        if (problem := _name_problem(name)) is not None:
            return invalid("InvalidSpec", problem)
        raw_policy = policies.get(spec.slo_policy_ref.name)
        if raw_policy is None:
            return invalid(
                "InvalidSpec",
                f"spec.sloPolicyRef.name: SLOPolicy {spec.slo_policy_ref.name!r} not found in "
                f"namespace {namespace} (a ModelDeployment uses an SLOPolicy of its own "
                "namespace; cross-namespace references are not supported)",
            )
        try:
            policy = _validated(memory, SLOPolicySpec, raw_policy, self.rt.policies)
        except ValidationError as error:
            return invalid(
                "InvalidSpec",
                f"SLOPolicy {spec.slo_policy_ref.name}: "
                f"{_validation_message(error, SLOPolicySpec)}",
            )
        try:
            client = await self.rt.prometheus.get(namespace, spec.prometheus)
        except (LookupError, NotFoundError) as error:
            return invalid("InvalidSpec", str(error))
        found = await self._preflight(client, spec, policy, now)
        if found:
            return invalid(
                "InvalidSpec",
                f"SLOPolicy {spec.slo_policy_ref.name}: spec." + "; spec.".join(found),
            )

        owner = Owner(namespace=namespace, name=name, uid=memory.uid)
        notices: list[EmitEvent] = []

        async def emit(event: EmitEvent) -> None:
            if event.notice is not None:
                notices.append(event)
            await events(event)

        t = _Tick(memory, owner, generation, spec, policy, client, now, emit)
        rev = revision(spec)
        rate = await self._observed_rate(t, current)
        learned = await self._learned(t, current.stable_version)

        def sizing(weight: int, mirror: int = 0) -> Any:
            return size(
                spec, canary_weight=weight, observed_rate=rate, learned=learned, mirror=mirror
            )

        total = sizing(0).stable_replicas
        provider = provider_for(spec.traffic.provider, self.rt.kube, total)
        backends = Backends(
            owner=owner,
            spec=spec,
            stable_revision=current.stable_revision or rev,
            canary_revision=current.canary_revision,
        )
        try:
            await provider.check(backends)
        except TrafficError as error:
            return invalid("InvalidSpec", f"spec.traffic: {error}")

        command = _command(annotations)
        observed = await self._observe(t, current, rev, provider, sizing)
        hooked: list[WebhookResult] = []
        if spec.rollout.webhooks and self.rt.webhooks is not None:
            ready = observed.canary_capacity >= current.canary_weight.desired_split.canary_share
            called = await self.rt.webhooks.before(
                spec, current, namespace, name, now, canary_ready=ready
            )
            observed = replace(observed, hooks=called.gates)
            hooked += called.results
            for event in called.events:
                await emit(event)
        verdict = await self._analyse(t, current)
        decision = decide(
            spec, current, observed=observed, verdict=verdict, now=now, command=command
        )
        actuator = Actuator(
            self.rt.kube, provider, owner=owner, spec=spec, sizing=sizing, events=emit
        )
        applied = await actuator.apply(
            decision.actions,
            Applied(
                stable_revision=current.stable_revision, canary_revision=current.canary_revision
            ),
        )
        status = decision.status
        weight = status.canary_weight
        if applied.weight is not None:
            weight = weight.model_copy(update={"effective": applied.weight})
        status = status.model_copy(
            update={
                "canary_weight": weight,
                "capacity": sizing(weight.applied, weight.applied_mirror).status()
                or status.capacity,
                "observed_generation": generation,
                "conditions": _ready(
                    status.conditions, True, "Reconciled", "spec is valid", now, generation
                ),
            }
        )
        if spec.rollout.webhooks and self.rt.webhooks is not None:
            called = await self.rt.webhooks.after(spec, current, status, namespace, name, now)
            hooked += called.results
            for event in called.events:
                await emit(event)
        if hooked or status.webhooks:
            status = status.model_copy(
                update={"webhooks": webhooks.merged(status.webhooks, hooked, spec)}
            )
        status = await self._watch(t, status, command)
        status = await self._scaling_metric(t, status)
        await self._replan(t, status, actuator, rate)
        self._register_due(t, status)
        telemetry = self.rt.telemetry
        telemetry.record_phase(namespace, name, status.phase)
        telemetry.record_weight(namespace, name, weight.desired, weight.applied)
        if verdict is not None:
            telemetry.verdicts.labels(namespace, name, verdict.outcome.value, verdict.reason).inc()
            await self._alerts(t, current, verdict)
        if notices and spec.notifications and self.rt.notifier is not None:
            self.rt.notifier.submit(
                memory.uid, spec.notifications, notices, _subject(owner, status), now
            )
        return TickResult(status=status_patch(status), clear_command=command is not None)

    async def _preflight(
        self,
        client: PrometheusClient,
        spec: ModelDeploymentSpec,
        policy: SLOPolicySpec,
        now: datetime,
    ) -> list[str]:
        """Latency thresholds that are not bucket bounds of what Prometheus holds.

        One query per histogram answers for every ModelDeployment (grouped by the label
        keys), kept a minute; an object not in the answer yet (no series) is looked up
        again after PREFLIGHT_RETRY_SECONDS.
        """
        label_keys = tuple(sorted(spec.metrics.labels))
        values = tuple(spec.metrics.labels[k] for k in label_keys)
        checks = preflight.bucket_checks(policy, [], group_by=label_keys)
        answers: dict[str, list[str] | None] = {}
        for check in checks:
            bounds = await self._bucket_bounds(
                client, check.query, (*label_keys, "le"), values, now
            )
            answers[check.query] = None if bounds is None else bounds.get(values, [])
            if bounds is not None and not bounds.get(values):
                # No classic buckets: a native histogram, or no series yet?
                native = await self._bucket_bounds(
                    client, check.native_query, (*label_keys, "le"), values, now
                )
                answers[check.native_query] = None if native is None else native.get(values, [])
        return preflight.problems(checks, answers)

    async def _bucket_bounds(
        self,
        client: PrometheusClient,
        query: str,
        group_by: tuple[str, ...],
        values: tuple[str, ...],
        now: datetime,
    ) -> dict[tuple[str, ...], list[str]] | None:
        """The ``le`` values per label values a bucket-bounds query finds; None on error."""

        def fresh(known: dict[tuple[str, ...], list[str]] | None, age: float) -> bool:
            return (
                known is not None
                and age < PREFLIGHT_TTL_SECONDS
                and (values in known or age < PREFLIGHT_RETRY_SECONDS)
            )

        async def ask() -> dict[tuple[str, ...], list[str]] | None:
            answered = answer(await client.query(query, at=now), group_by)
            if isinstance(answered, str):
                return None
            bounds: dict[tuple[str, ...], list[str]] = {}
            for key in answered:
                bounds.setdefault(key[:-1], []).append(key[-1])
            return bounds

        return await self.rt.preflight.get((client.url, query), ask, fresh)

    async def _observed_rate(self, t: _Tick, current: ModelDeploymentStatus) -> float | None:
        """Requests per second over 2m for every version of the model (capacity planning);
        in a shadow step the canary's copies are not users' requests and are left out."""
        if t.spec.autoscaling is None or t.spec.autoscaling.arrival_rate is not None:
            return None
        matchers = [selectors.equal(k, v) for k, v in sorted(t.spec.metrics.labels.items())]
        weight = current.canary_weight
        if current.canary_version and (weight.applied_mirror or weight.desired_mirror):
            matchers.append(
                selectors.not_equal(t.spec.metrics.version_label, current.canary_version)
            )
        query = promql.arrival_rate_query(t.policy.objectives, matchers)
        if query is None:
            return None
        result = await t.client.query(query, at=t.now)
        if result.status is not QueryStatus.OK:
            return None
        value = result.samples[0].value
        return None if math.isnan(value) else value

    async def _learned(self, t: _Tick, stable_version: str | None) -> Learned | None:
        """The service time and CV learned from the stable version's latency histogram,
        when the spec leaves either to be learned; asked every learn_every_seconds."""
        autoscaling = t.spec.autoscaling
        if autoscaling is None or (
            autoscaling.service_time is not None and autoscaling.service_time_cv is not None
        ):
            t.memory.learned = None
            return None
        clock = time.monotonic()
        kept = t.memory.learned
        if kept is not None and clock - kept[0] < self.rt.learn_every_seconds:
            return kept[1]
        learned = await self._learn(t, stable_version)
        t.memory.learned = (clock, learned)
        return learned

    async def _learn(self, t: _Tick, stable_version: str | None) -> Learned:
        span = promql.window(learn.LEARN_WINDOW_SECONDS)
        matchers = [selectors.equal(k, v) for k, v in sorted(t.spec.metrics.labels.items())]
        if stable_version is not None:
            matchers.append(selectors.equal(t.spec.metrics.version_label, stable_version))
        query = promql.service_time_query(
            t.policy.objectives, matchers, seconds=learn.LEARN_WINDOW_SECONDS
        )
        if query is None:
            return Learned(window=span, note="the SLOPolicy has no latency objective to learn from")
        result = await t.client.query(query, at=t.now)
        if result.status is QueryStatus.ERROR:
            return Learned(window=span, note=f"Prometheus did not answer: {result.error}")
        by_le = {s.labels.get("le", ""): s.value for s in result.samples}
        return learn.learned(by_le, span, sum_key=promql.SUM_LE)

    async def _stable_budgets(
        self, t: _Tick, stable_version: str
    ) -> dict[str, BudgetReport | None]:
        """Each objective's budget over the period for the stable version (the guard).

        The period ends at the last whole second, so the rollouts that start within the
        same second read the same window and the reader answers them in one batch.
        """
        policy = t.policy
        target = batch.Target(
            key=f"{t.key}#guard",
            policy=policy,
            metrics=t.spec.metrics,
            canary_version=stable_version,
            stable_version=stable_version,
        )
        end = schedule.floor_to(t.now, GUARD_RESOLUTION_SECONDS)
        start = datetime.fromtimestamp(end.timestamp() - policy.period_seconds, tz=end.tzinfo)
        measured = await self.rt.reader.read(
            DueTarget(target=target, prometheus=t.client, start=start, end=end)
        )
        reports: dict[str, BudgetReport | None] = {}
        for objective in policy.objectives:
            reading = measured.reading(objective.name)
            counts = reading.stable if reading else None
            reports[objective.name] = (
                None
                if counts is None
                else BudgetReport(
                    target=objective.target,
                    total=counts.total,
                    bad=counts.bad,
                    period_seconds=policy.period_seconds,
                )
            )
        return reports

    async def _scaling_metric(
        self, t: _Tick, status: ModelDeploymentStatus
    ) -> ModelDeploymentStatus:
        """The ScalingMetricAvailable condition: can the HPAs read their metric?"""
        if t.spec.autoscaling is None:
            kept = [c for c in status.conditions if c.type != metric_path.CONDITION]
            return status.model_copy(update={"conditions": kept})
        hpas = await self._hpas(t.owner.namespace)
        if hpas is None:
            return status
        readings = [
            metric_path.reading(name, hpas[name])
            for name in (t.owner.hpa_name("stable"), t.owner.hpa_name("canary"))
            if name in hpas
        ]
        health = metric_path.assess(
            [r for r in readings if r is not None],
            previous=find_condition(status.conditions, metric_path.CONDITION),
            now=t.now,
            generation=t.generation,
            grace_seconds=self.rt.metric_grace_seconds,
        )
        if health.event is not None:
            await t.events(health.event)
        if health.condition is None:
            return status
        return status.model_copy(
            update={"conditions": set_condition(status.conditions, health.condition)}
        )

    async def _replan(
        self, t: _Tick, status: ModelDeploymentStatus, actuator: Actuator, rate: float | None
    ) -> None:
        """Every replan_seconds, write the stable's HPA again if the plan of the measured
        rate has moved its floor or its target. Compared with what this process last
        wrote, else with the HPA as listed (after a restart), so an unchanged plan costs
        no request."""
        autoscaling = t.spec.autoscaling
        rev = status.stable_revision
        if autoscaling is None or autoscaling.arrival_rate is not None or rev is None:
            return
        clock = time.monotonic()
        kept = t.memory.replanned
        if kept is not None and kept[1] == rev and clock - kept[0] < self.rt.replan_seconds:
            return
        desired = actuator.hpa_spec("stable", rev, 0)
        if desired is None:
            return
        wanted = hpa_floor_and_target(desired)
        if kept is not None and kept[1] == rev:
            held: tuple[Any, ...] | None = kept[2]
        else:
            hpas = await self._hpas(t.owner.namespace) or {}
            listed = hpas.get(t.owner.hpa_name("stable"))
            held = None if listed is None else hpa_floor_and_target(listed["spec"])
        if held != wanted:
            await actuator.apply_hpa("stable", rev, desired)
        t.memory.replanned = (clock, rev, wanted)
        if held is not None and held[0] != wanted[0]:
            measured = "no traffic measured" if rate is None else f"{rate:.3g} req/s measured"
            await t.events(
                EmitEvent(
                    EventType.NORMAL,
                    "Replanned",
                    f"stable HPA floor {held[0]} -> {wanted[0]} replicas for the plan of "
                    f"the measured rate ({measured}; target {wanted[1]} in flight per pod)",
                )
            )

    async def _hpas(self, namespace: str) -> dict[str, dict[str, Any]] | None:
        """Roost's HPAs in ``namespace``, listed at most every HPA_READ_SECONDS."""
        return await self.rt.hpas.get(
            namespace,
            lambda: self.rt.kube.roost_hpas(namespace),
            lambda _, age: age < HPA_READ_SECONDS,
        )

    async def _observe(
        self,
        t: _Tick,
        current: ModelDeploymentStatus,
        rev: str,
        provider: TrafficProvider,
        sizing: Callable[[int], Any],
    ) -> Observed:
        capacity, short = 0, None
        if current.canary_revision:
            found = await self.rt.kube.deployment_seen(
                t.owner.namespace, t.owner.deployment_name(current.canary_revision)
            )
            canary = None
            if found is not None:
                replicas = (found.get("spec") or {}).get("replicas")
                canary = observe.CanaryReplicas(
                    ready=int((found.get("status") or {}).get("readyReplicas") or 0),
                    desired=None if replicas is None else int(replicas),
                )

            def replicas_at(weight: int) -> int:
                return int(sizing(weight).canary_replicas)

            capacity = observe.canary_capacity(canary, provider.capacity_first, replicas_at)
            short = observe.canary_replicas_short(
                canary, current, provider.capacity_first, replicas_at
            )
        starting = observe.is_starting(rev, current)
        budget = None
        if (
            starting
            and current.stable_version
            and t.policy.rollout_guard.min_budget_remaining is not None
        ):
            reports = await self._stable_budgets(t, current.stable_version)
            guard = budget_guard(t.policy, reports)
            budget = (guard.allowed, guard.message)
        gate = observe.rollout_gate(current, starting, budget)
        return Observed(
            revision=rev,
            canary_capacity=capacity,
            rollout_allowed=gate.allowed,
            guard_message=gate.message,
            guard_reason=gate.reason,
            canary_replicas_short=short,
            serving=serving(t.spec, learned_values(sizing(0).service)),
        )

    async def _analyse(self, t: _Tick, current: ModelDeploymentStatus) -> StepVerdict | None:
        if current.phase not in ACTIVE_PHASES or not current.canary_version:
            return None
        window = schedule.due_window(current.analyzed_until, t.now, t.spec.rollout.interval_seconds)
        if window is None or not current.stable_version:
            return None
        due = t.memory.due = t.due_target(current, *window)
        with self.rt.telemetry.analysis_seconds.time():
            measurements = await self.rt.reader.read(due)
        if measurements.error is not None:
            self.rt.telemetry.query_errors.labels(t.client.url).inc()
        step = current.current_step
        last = t.spec.rollout.is_last(step)
        return analyze(t.policy, measurements, current.comparison, step=step, last_step=last)

    async def _alerts(self, t: _Tick, current: ModelDeploymentStatus, verdict: StepVerdict) -> None:
        """Distribution gates: their statistic as a metric; an Event when an alert-only one first
        finds a shift (rollback and pause ones speak through the rollout's own events)."""
        before = {
            g.objective
            for g in (current.last_analysis.gates if current.last_analysis else [])
            if g.gate == "distribution" and g.outcome == "fail"
        }
        for gate in verdict.gates:
            if gate.gate != "distribution":
                continue
            self.rt.telemetry.record_drift(
                t.owner.namespace, t.owner.name, gate.objective, gate.distribution
            )
            if gate.objective in verdict.alerts and gate.objective not in before:
                await t.events(
                    EmitEvent(
                        EventType.WARNING,
                        "PredictionDistributionShift",
                        f"alert only (action alert): {verdict.message}",
                    )
                )

    async def _watch(
        self, t: _Tick, status: ModelDeploymentStatus, command: Command | None
    ) -> ModelDeploymentStatus:
        """compareTo-reference checks: read the stable's due window, advance the drift watch."""
        stable = status.stable_version
        reset = command is Command.RESET_REFERENCE
        interval = t.spec.rollout.interval_seconds
        start = drift_watch.watched_until(status.drift, stable)
        if start is None or reset:
            # A new watch begins at the next boundary: no window mixes two versions.
            start = schedule.ceil_to(t.now, interval)
        window = None
        histograms = None
        reading = (
            drift_watch.reference_checks(t.policy)
            and stable is not None
            and status.phase not in ACTIVE_PHASES
        )
        due_window = schedule.due_window(start, t.now, interval) if reading else None
        if due_window is not None:
            due = t.memory.watch_due = t.due_target(status, *due_window, watch=True)
            measurements = await self.rt.reader.read(due)
            if measurements.error is not None:
                self.rt.telemetry.query_errors.labels(t.client.url).inc()
            else:
                window, histograms = due_window, measurements.histograms
        update = drift_watch.advance(
            t.policy,
            stable_version=stable,
            current=status.drift,
            conditions=status.conditions,
            start=start,
            window=window,
            histograms=histograms,
            reset=reset,
            now=t.now,
            generation=status.observed_generation or 0,
        )
        for event in update.events:
            await t.events(event)
        self.rt.telemetry.record_watch(t.owner.namespace, t.owner.name, update.drift)
        if not update.drift:
            t.memory.watch_due = None
        return status.model_copy(update={"drift": update.drift, "conditions": update.conditions})

    def _register_due(self, t: _Tick, status: ModelDeploymentStatus) -> None:
        """Announce the next window this object will need, so a batch can include it."""
        if status.phase in TERMINAL_PHASES or status.analyzed_until is None:
            t.memory.due = None
            return
        if not status.canary_version or not status.stable_version:
            return
        interval = t.spec.rollout.interval_seconds
        end = schedule.floor_to(t.now, interval)
        start = status.analyzed_until
        nxt = datetime.fromtimestamp(end.timestamp() + interval, tz=end.tzinfo)
        t.memory.due = t.due_target(status, start, nxt if start >= end else end)


def _validated(
    memory: ObjectMemory,
    model: type[_Spec],
    raw: Mapping[str, Any],
    shared: SharedSpecs | None = None,
) -> _Spec:
    """``model.model_validate(raw)``, reused while ``raw`` is unchanged.

    Validating a ModelDeployment and its SLOPolicy on every tick costs far more CPU
    than comparing their JSON, and specs change a few times a day. A spec that
    fails validation is never cached. With ``shared`` (the SLOPolicies, which many
    objects use), objects whose spec has the same JSON hold the same model and the
    same text: one validation and one copy in memory, not one per object."""
    text = json.dumps(raw, sort_keys=True, default=str)
    cached = memory.validated.get(model)
    if cached is not None and cached[0] == text and isinstance(cached[1], model):
        return cached[1]
    found = shared.get(text) if shared is not None else None
    if found is not None and isinstance(found[1], model):
        memory.validated[model] = found
        return found[1]
    value = model.model_validate(dict(raw))
    memory.validated[model] = (text, value)
    if shared is not None:
        shared.put(text, value)
    return value


_STATUS_FIELDS = {info.alias or n for n, info in ModelDeploymentStatus.model_fields.items()}


def _command(annotations: Mapping[str, str]) -> Command | None:
    from roost.workloads import ANNOTATION_COMMAND

    value = annotations.get(ANNOTATION_COMMAND)
    if value is None:
        return None
    try:
        return Command(value.strip().lower())
    except ValueError:
        return None
