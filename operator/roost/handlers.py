"""kopf wiring only: settings, indexes, and handlers that call the reconciler.

``roost run`` imports this module and starts kopf. Configuration comes from
environment variables that ``roost run`` sets from its flags:
``ROOST_PROMETHEUS_URL`` (the default Prometheus), ``ROOST_METRICS_PORT``
(the operator's /metrics), ``ROOST_TICK_SECONDS`` (how often each
ModelDeployment is reconciled; analysis windows follow ``analysisInterval``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kopf._cogs.structs import patches as kopf_patches
from pydantic import ValidationError

from roost.adapters.deployments import DeploymentWatch
from roost.adapters.kube import Kube, api_client
from roost.adapters.telemetry import Telemetry
from roost.api.slopolicy import SLOPolicySpec
from roost.api.status import Condition, ConditionStatus, set_condition
from roost.reconciler import Reconciler, Runtime
from roost.rollout.actions import EmitEvent
from roost.slo.rules import policy_warnings
from roost.workloads import ANNOTATION_COMMAND, PREFIX

GROUP, VERSION = "roost.dev", "v1alpha1"
TICK_SECONDS = float(os.environ.get("ROOST_TICK_SECONDS", "5"))
# Threads for the blocking kubernetes and Prometheus clients (asyncio.to_thread). The
# default, min(32, CPUs + 4), is 6 on 2 CPUs: a burst of rollouts queued every apiserver
# call behind the rollout guard's Prometheus queries. The threads mostly wait on sockets;
# the kubernetes client keeps as many pooled connections (adapters/kube.api_client).
IO_THREADS = int(os.environ.get("ROOST_IO_THREADS", "16"))


class StatusFreeDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """kopf's annotation diff-base, built without deep-copying what it throws away.

    kopf builds an object's essence on every watch event (handlers or not) by
    deep-copying the whole body and then deleting ``status`` and all of ``metadata``
    but its labels and annotations. A canary's status (the sequential tests' state) is
    most of the body; leaving it out first still left ~2.5 ms of copying per event in
    a profile at 1,000 objects, much of it ``metadata.managedFields`` (the saving of
    leaving that out too is not measured yet). The essence is the same when they are
    left out before the copy, unless a handler filters on a status or metadata field
    (none does; then the full body is used as before)."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        fields = list(extra_fields or [])
        if not any(_field_root(f) in ("status", "metadata") for f in fields):
            kept: dict[str, Any] = {k: v for k, v in body.items() if k != "status"}
            meta = body.get("metadata")
            if isinstance(meta, Mapping):
                kept["metadata"] = {k: meta[k] for k in ("labels", "annotations") if k in meta}
            body = kopf.Body(cast(kopf.RawBody, kept))
        return super().build(body=body, extra_fields=fields)


def _field_root(field: Any) -> Any:
    path = field.split(".") if isinstance(field, str) else list(field)
    return path[0] if path else None


_as_json_patch = kopf_patches.Patch.as_json_patch


def _as_json_patch_if_any(self: kopf_patches.Patch, body: Any = None) -> kopf_patches.JSONPatch:
    """kopf 1.45's ``as_json_patch`` deep-copies the patched body before it checks that
    there is anything to patch; after every status merge patch it is called with no
    transformations (empty), so the copy of the whole object (~1.5 ms) was thrown away.
    Same result, without the copy."""
    if not self:
        return []
    return _as_json_patch(self, body)


kopf_patches.Patch.as_json_patch = _as_json_patch_if_any  # type: ignore[method-assign]


class QuietSuccess(logging.Filter):
    """Drop kopf's INFO line "Timer 'reconcile' succeeded." (and react's) of every tick.

    One line per ModelDeployment per tick (200 a second at N = 1,000 and a 5 s tick)
    said nothing a failure would not; formatting and writing them took ~0.5 ms each.
    ``-v``/``--debug`` (DEBUG on kopf's loggers) keep them."""

    QUIET = frozenset({"Timer 'reconcile' succeeded.", "Handler 'react' succeeded."})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        if record.msg not in self.QUIET:
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Own prefix and finalizer: never collide with another kopf operator's annotations.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = StatusFreeDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    logging.getLogger("kopf.objects").addFilter(QuietSuccess())
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    # Hung API calls and silent watches are kopf's best-known failure modes.
    settings.networking.request_timeout = 30
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 310
    settings.watching.connect_timeout = 30
    settings.posting.level = logging.WARNING
    telemetry = Telemetry()
    port = os.environ.get("ROOST_METRICS_PORT")
    if port:
        telemetry.serve(int(port), os.environ.get("ROOST_METRICS_ADDRESS", "0.0.0.0"))
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="roost-io")
    )
    memo.reacted = {}
    memo.written = {}
    kube = Kube(api_client(os.environ.get("KUBECONFIG"), pool_size=IO_THREADS))
    # One list and watch of Roost's Deployments instead of a GET per rollout tick.
    scope = [ns for ns in os.environ.get("ROOST_WATCH_NAMESPACES", "").split(",") if ns]
    kube.watched = DeploymentWatch(kube.api, scope).start()
    memo.runtime = Runtime(
        kube=kube,
        telemetry=telemetry,
        default_prometheus_url=os.environ.get("ROOST_PROMETHEUS_URL") or None,
    )


@kopf.on.cleanup()
async def stop_watching(memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime | None = getattr(memo, "runtime", None)
    if runtime is not None and runtime.kube.watched is not None:
        runtime.kube.watched.stop()


@kopf.index(GROUP, VERSION, "slopolicies")
def slo_policies(namespace: str | None, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
    """SLOPolicy specs by (namespace, name), so a tick needs no API call to find its policy."""
    return {(namespace, name): dict(spec)}


@kopf.on.create(GROUP, VERSION, "slopolicies")
@kopf.on.update(GROUP, VERSION, "slopolicies")
@kopf.on.resume(GROUP, VERSION, "slopolicies")
def validate_policy(
    spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, patch: kopf.Patch, **_: Any
) -> None:
    now = datetime.now(UTC)
    conditions = [Condition.model_validate(c) for c in status.get("conditions", [])]
    try:
        policy = SLOPolicySpec.model_validate(dict(spec))
    except ValidationError as error:
        first = error.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        ready = (False, "InvalidSpec", f"spec{path}: {first['msg']}")
        warnings: list[str] = []
    else:
        warnings = policy_warnings(policy)
        ready = (True, "Valid", f"{len(policy.objectives)} objective(s)")
    condition = Condition(
        type="Ready",
        status=ConditionStatus.TRUE if ready[0] else ConditionStatus.FALSE,
        reason=ready[1],
        message=ready[2],
        last_transition_time=now,
        observed_generation=meta.get("generation"),
    )
    patch.status["conditions"] = [c.to_api() for c in set_condition(conditions, condition)]
    patch.status["warnings"] = warnings
    patch.status["observedGeneration"] = meta.get("generation")


# backoff: a tick that failed (e.g. the apiserver restarting) is retried after one tick,
# not after kopf's default 60 s (measured by the fault suite: 35-52 s of nothing).
@kopf.timer(
    GROUP, VERSION, "modeldeployments", interval=TICK_SECONDS, initial_delay=0, backoff=TICK_SECONDS
)
async def reconcile(
    body: kopf.Body,
    meta: kopf.Meta,
    namespace: str | None,
    name: str,
    uid: str,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    # kopf injects indexes by name; the timer protocol does not declare them.
    await _tick(body, meta, namespace, name, uid, patch, memo, kwargs["slo_policies"])


@kopf.on.event(GROUP, VERSION, "modeldeployments")
async def react(
    event: kopf.RawEvent,
    body: kopf.Body,
    status: kopf.Status,
    meta: kopf.Meta,
    namespace: str | None,
    name: str,
    uid: str,
    patch: kopf.Patch,
    memo: kopf.Memo,
    **kwargs: Any,
) -> None:
    """Tick at once, not at the next timer, when there is something to do now: a spec
    not yet reconciled (a new version), or a weight waiting to be applied (a canary just
    created, a step just advanced). Once per such state of an object (generation, phase,
    weights), so a tick that changes only other fields cannot make a loop of them."""
    if event.get("type") == "DELETED" or meta.get("deletionTimestamp"):
        return
    if not needs_tick_now(meta, status):
        return
    reacted: dict[str, tuple[Any, ...]] = memo.reacted
    state = reaction_state(meta, status)
    if reacted.get(uid) == state:
        return
    reacted[uid] = state
    await _tick(body, meta, namespace, name, uid, patch, memo, kwargs["slo_policies"])


def reaction_state(meta: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[Any, ...]:
    """What react ticks at most once for: the generation, phase and weights."""
    weight = status.get("canaryWeight") or {}
    return (
        meta.get("generation"),
        status.get("observedGeneration"),
        status.get("phase"),
        weight.get("desired"),
        weight.get("applied"),
    )


def needs_tick_now(meta: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """A spec change the status has not seen, or a desired weight not yet applied."""
    observed = status.get("observedGeneration")
    if observed is None or int(meta.get("generation") or 0) > int(observed):
        return True
    weight = status.get("canaryWeight") or {}
    return status.get("phase") == "Progressing" and weight.get("desired") != weight.get("applied")


async def _tick(
    body: kopf.Body,
    meta: kopf.Meta,
    namespace: str | None,
    name: str,
    uid: str,
    patch: kopf.Patch,
    memo: kopf.Memo,
    slo_policies: kopf.Index[Any, Any],
) -> None:
    assert namespace is not None  # the CRD is namespaced
    runtime: Runtime = memo.runtime
    written: dict[str, tuple[float, dict[str, Any]]] = memo.written

    async def emit(event: EmitEvent) -> None:
        kopf.event(body, type=event.type.value, reason=event.reason, message=event.message[:1024])

    policies = {
        key[1]: next(iter(store)) for key, store in slo_policies.items() if key[0] == namespace
    }
    started = time.perf_counter()
    async with runtime.lock(uid):
        # The status this tick decides from, as it is now. From the raw body: through
        # kopf's live view every key of every level was a chained lookup (~1 ms a tick).
        before = _plain(body.get("status") or {})
        if is_stale(before, written.get(uid), time.monotonic()):
            # An earlier tick changed the decision fields and its patch is not in this
            # body yet (another patch, e.g. an older tick's, may have landed in between,
            # so the resourceVersion alone cannot tell). Deciding from it would redo that
            # tick's decision (a second rollout start); the next tick reads the patch.
            runtime.telemetry.status_patches.labels("stale").inc()
            return
        written.pop(uid, None)
        result = await Reconciler(runtime).tick(
            namespace=namespace,
            name=name,
            uid=uid,
            generation=int(meta.get("generation") or 0),
            raw_spec=body.get("spec") or {},
            raw_status=before,
            annotations=meta.get("annotations") or {},
            policies=policies,
            now=datetime.now(UTC),
            events=emit,
        )
        after = apply_merge_patch(before, result.status)
        changes = merge_patch_between(before, after)
        if changes:
            written[uid] = (time.monotonic(), decision_fields(after))
    runtime.telemetry.tick_seconds.observe(time.perf_counter() - started)
    runtime.telemetry.status_patches.labels("sent" if changes else "skipped").inc()
    # Only what changed: an unchanged status costs no PATCH and no watch event.
    patch.status.update(changes)
    if result.clear_command:
        patch.metadata.setdefault("annotations", {})[ANNOTATION_COMMAND] = None


# The status fields a decision is made from; a body whose values differ from the ones
# the last changing tick wrote is stale (only Roost writes this status).
DECISION_FIELDS = (
    "phase",
    "stableRevision",
    "canaryRevision",
    "rolloutStartedAt",
    "currentStep",
    "canaryWeight",
    "analyzedUntil",
    "promotion",
)
# A patch that never shows (it failed) stops holding ticks back after this long.
STALE_LIMIT_S = 30.0


def decision_fields(status: Mapping[str, Any]) -> dict[str, Any]:
    return {key: status.get(key) for key in DECISION_FIELDS}


def is_stale(
    status: Mapping[str, Any], written: tuple[float, dict[str, Any]] | None, now: float
) -> bool:
    """Whether ``status`` predates the decision fields the last changing tick wrote."""
    if written is None:
        return False
    at, fields = written
    return now - at < STALE_LIMIT_S and decision_fields(status) != fields


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """A deep copy of a kopf view (or JSON value) as plain dicts and lists.

    Scalars are tested by exact type before any recursion: a canary's status holds
    hundreds of floats, and a call (and an ABC isinstance) per float made this copy
    ~4x slower."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the document ``target`` becomes after the JSON merge patch ``patch``."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _empty(value: Any) -> bool:
    """Absent, null and an empty list or object read the same (the apiserver drops some)."""
    return value is None or value == [] or value == {}


def merge_patch_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest JSON merge patch that turns ``old`` into ``new``; empty if equal.

    Objects are compared key by key (a key gone from ``new`` is an explicit null);
    anything else, lists included, is sent whole when it differs. A key that is
    absent on one side and null or empty on the other is no change."""
    out: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        if not _empty(old[key]):
            out[key] = None
    for key, value in new.items():
        if key not in old:
            if not _empty(value):
                out[key] = value
        elif old[key] != value:
            if isinstance(old[key], Mapping) and isinstance(value, Mapping):
                if nested := merge_patch_between(old[key], value):
                    out[key] = nested
            else:
                out[key] = value
    return out


@kopf.on.delete(GROUP, VERSION, "modeldeployments", optional=True)
def forget(namespace: str | None, name: str, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    """Owned Deployments, Services and HPAs go with their ownerReferences; metrics go here."""
    runtime: Runtime = memo.runtime
    assert namespace is not None
    runtime.telemetry.forget(namespace, name)
    runtime.due.pop(f"{namespace}/{name}", None)
    uid = meta.get("uid")
    memo.reacted.pop(uid, None)
    memo.written.pop(uid, None)
    runtime.specs.pop(uid, None)
