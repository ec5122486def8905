"""kopf wiring only: indexes, and handlers that call the reconciler.

``roost run`` imports this module and starts kopf with the operator's
:class:`~roost.settings.Settings` in kopf's memo (``memo.config``; built from the
environment here when kopf is started otherwise). What a tick writes back and when is
:mod:`roost.writeback`; the shortcuts around kopf's internals are
:mod:`roost.kopf_patches`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import errors as kopf_errors
from kopf._cogs.structs import references as kopf_references
from pydantic import ValidationError

from roost import kopf_patches
from roost.adapters.deployments import DeploymentWatch
from roost.adapters.kube import Kube, api_client
from roost.adapters.notifier import Notifier
from roost.adapters.telemetry import Telemetry
from roost.adapters.webhooks import Webhooks
from roost.api import messages
from roost.api.slopolicy import SLOPolicySpec
from roost.api.status import Condition, new_condition, set_condition
from roost.memory import Memories, ObjectMemory
from roost.reconciler import Reconciler, Runtime
from roost.rollout.actions import EmitEvent
from roost.settings import Settings
from roost.slo.rules import policy_warnings
from roost.workloads import ANNOTATION_COMMAND, PREFIX
from roost.writeback import (
    Held,
    apply_merge_patch,
    decision_fields,
    is_stale,
    merge_patch_between,
    must_write_now,
    needs_tick_now,
    plain,
    reaction_state,
)

GROUP, VERSION = "roost.dev", "v1alpha1"

kopf_patches.install()


class QuietSuccess(logging.Filter):
    """Drop kopf's INFO line "Handler 'react' succeeded." of every watch event.

    One line per ModelDeployment per status patch (up to 200 a second at N = 1,000 and
    a 5 s tick) said nothing a failure would not, and formatting and writing each cost
    operator CPU. ``-v``/``--debug`` (DEBUG on kopf's loggers) keep them, and show the
    ticker's own "Tick succeeded." lines."""

    QUIET = frozenset({"Handler 'react' succeeded."})

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        if record.msg not in self.QUIET:
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    if "config" not in memo:  # kopf started without roost run
        memo.config = Settings.from_env(os.environ)
    config: Settings = memo.config
    # Own prefix and finalizer: never collide with another kopf operator's annotations.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf_patches.StatusFreeDiffBaseStorage(
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
    settings.peering.lifetime = config.peering_lifetime_seconds
    # kopf serves each object's watch events, and posts each object's Kubernetes events,
    # from a worker of its own, each with its own connection to the apiserver. Unbounded,
    # every object seen at start-up is a PATCH at once (kopf adding its finalizer) and a
    # TLS connection, whose memory the heap never gives back. A worker
    # waiting for its object's next event keeps its slot, and an object's events come
    # seconds apart (a status patch per tick at most), so workers leave after 0.2 s idle,
    # not kopf's 5 s.
    settings.queueing.worker_limit = config.kopf_workers
    settings.queueing.idle_timeout = 0.2
    settings.posting.worker_limit = config.patch_slots
    settings.posting.idle_timeout = 0.2
    telemetry = Telemetry()
    if config.metrics_port is not None:
        telemetry.serve(config.metrics_port, config.metrics_address)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=config.io_threads, thread_name_prefix="roost-io")
    )
    memo.settings = settings
    memo.patch_slots = asyncio.Semaphore(config.patch_slots)
    objects = Memories()
    kube = Kube(api_client(config.kubeconfig, pool_size=config.io_threads))
    # One list and watch of Roost's Deployments instead of a GET per rollout tick.
    scope = list(config.watch_namespaces)
    loop = asyncio.get_running_loop()

    def wake(uid: str) -> None:  # from the watch thread
        loop.call_soon_threadsafe(_wake_ready, objects, uid)

    # A canary's readiness is what a waiting weight waits for: its owner ticks at once.
    kube.watched = DeploymentWatch(kube.api, scope, on_ready_change=wake).start()
    memo.runtime = Runtime(
        kube=kube,
        telemetry=telemetry,
        default_prometheus_url=config.prometheus_url,
        objects=objects,
        metric_grace_seconds=config.metric_grace_seconds,
        learn_every_seconds=config.learn_every_seconds,
        replan_seconds=config.replan_seconds,
        notifier=Notifier(kube, telemetry),
        webhooks=Webhooks(kube),
    )


def _wake_ready(objects: Memories, uid: str) -> None:
    """Tick a ModelDeployment now whose Deployment's ready replicas changed, if a weight
    waits for its canary's capacity (else the next tick is soon enough). Without the
    wake, the first weight waits up to a tick period after the canary is ready: the
    one-at-a-time first-weight goal of B3 (docs/benchmarks.md)."""
    memory = objects.get(uid)
    body = memory.body if memory is not None else None
    if memory is None or body is None:
        return
    if needs_tick_now(body.get("metadata") or {}, body.get("status") or {}):
        memory.wake.set()


@kopf.on.cleanup()
async def stop_watching(memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime | None = getattr(memo, "runtime", None)
    if runtime is not None and runtime.kube.watched is not None:
        runtime.kube.watched.stop()
    if runtime is not None and runtime.notifier is not None:
        await runtime.notifier.close()
    if runtime is not None and runtime.webhooks is not None:
        await runtime.webhooks.close()


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
        message = messages.one_line(error, SLOPolicySpec, prefix=("spec",))
        ready = (False, "InvalidSpec", message)
        warnings: list[str] = []
    else:
        warnings = policy_warnings(policy)
        ready = (True, "Valid", f"{len(policy.objectives)} objective(s)")
    condition = new_condition("Ready", *ready, now, generation=meta.get("generation"))
    patch.status["conditions"] = [c.to_api() for c in set_condition(conditions, condition)]
    patch.status["warnings"] = warnings
    patch.status["observedGeneration"] = meta.get("generation")


@kopf.daemon(GROUP, VERSION, "modeldeployments", cancellation_timeout=30.0)
async def ticker(
    stopped: kopf.DaemonStopped,
    body: kopf.Body,
    resource: kopf.Resource,
    uid: str,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """Each ModelDeployment's reconcile loop: a tick, then a wait of a tick period
    (``Settings.tick_seconds``) or until :func:`react` wakes it, until kopf stops it
    (the object deleted, the operator stopping or paused by a peer with a higher
    priority).

    A kopf timer did the same through kopf's handler machinery and its patch check,
    which cost several times this loop's CPU per idle tick (B3 in docs/benchmarks.md
    measures the tick's CPU). A tick that fails is logged
    and retried after one tick, never after kopf's 60 s backoff.
    The first tick comes at a random point of the first period (now, when react has
    something to do), so a thousand objects listed at once do not tick in step."""
    runtime: Runtime = memo.runtime
    meta = body.get("metadata") or {}
    memory = runtime.objects.open(uid, str(meta.get("namespace")), str(meta.get("name")))
    wake = memory.wake
    stopping = asyncio.ensure_future(_stopped(stopped))
    # kopf injects indexes by name; the daemon protocol does not declare them.
    slo_policies: kopf.Index[Any, Any] = kwargs["slo_policies"]
    tick_seconds = cast(Settings, memo.config).tick_seconds
    try:
        delay = random.uniform(0.0, tick_seconds)
        while True:
            waiting = asyncio.ensure_future(wake.wait())
            await asyncio.wait(
                {waiting, stopping}, timeout=delay, return_when=asyncio.FIRST_COMPLETED
            )
            waiting.cancel()
            if stopped:
                return
            wake.clear()
            delay = tick_seconds
            raw = memory.body or plain(body)
            try:
                await _tick(raw, resource, memory, memo, slo_policies, logger)
            except kopf_errors.APINotFoundError:
                return  # deleted while ticking; kopf stops this loop
            except Exception:
                logger.exception("Tick failed; retrying in %g s.", tick_seconds)
            else:
                logger.debug("Tick succeeded.")
    finally:
        stopping.cancel()


async def _stopped(stopped: kopf.DaemonStopped) -> None:
    await stopped.wait()


@kopf.on.event(GROUP, VERSION, "modeldeployments")
async def react(
    event: kopf.RawEvent,
    status: kopf.Status,
    meta: kopf.Meta,
    uid: str,
    memo: kopf.Memo,
    **_: Any,
) -> None:
    """Keep the object as its latest watch event showed it for :func:`ticker`, and wake
    the ticker at once, not at its next tick, when there is something to do now: a spec
    not yet reconciled (a new version), or a weight waiting to be applied (a canary just
    created, a step just advanced). Once per such state of an object (generation, phase,
    weights), so a tick that changes only other fields cannot make a loop of them."""
    if event.get("type") == "DELETED":
        return
    runtime: Runtime = memo.runtime
    deleting = bool(meta.get("deletionTimestamp"))
    # Once deleted (forget), an object's last events must not bring its record back.
    memory = (
        runtime.objects.get(uid)
        if deleting
        else runtime.objects.open(uid, str(meta.get("namespace")), str(meta.get("name")))
    )
    if memory is None:
        return
    raw = event.get("object")
    if isinstance(raw, dict):
        # Nothing in Roost or kopf reads managedFields; dropped in place, it leaves the
        # body kopf keeps for the daemon (the same dict) too: with a canary's status it
        # is one field entry per status key, a large part of every body kept.
        metadata: Any = raw.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("managedFields", None)
        memory.body = cast(dict[str, Any], raw)
    if deleting or not needs_tick_now(meta, status):
        return
    state = reaction_state(meta, status)
    if memory.reacted == state:
        return
    memory.reacted = state
    memory.wake.set()


async def _tick(
    raw: Mapping[str, Any],
    resource: kopf.Resource,
    memory: ObjectMemory,
    memo: kopf.Memo,
    slo_policies: kopf.Index[Any, Any],
    logger: kopf.Logger,
) -> None:
    """One reconcile of the object ``raw`` (its latest watch event's body, never changed
    here): decide, act, and write the status fields that changed. What is kept for the
    next tick goes into ``memory``, the object's record."""
    meta: Mapping[str, Any] = raw.get("metadata") or {}
    namespace, name, uid = memory.namespace, memory.name, memory.uid
    runtime: Runtime = memo.runtime
    reference = {
        "apiVersion": raw.get("apiVersion"),
        "kind": raw.get("kind"),
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
    }

    async def emit(event: EmitEvent) -> None:
        kopf.event(
            cast(kopf.Body, reference),
            type=event.type.value,
            reason=event.reason,
            message=event.message[:1024],
        )

    policies = {
        key[1]: next(iter(store)) for key, store in slo_policies.items() if key[0] == namespace
    }
    checkpoint_seconds = cast(Settings, memo.config).checkpoint_seconds
    started = time.perf_counter()
    async with memory.lock:
        # The status this tick decides from, as a copy the reconciler may keep: the one an
        # earlier tick computed and holds back, else the body's.
        kept = memory.held
        if kept is not None:
            base, before = kept.base, kept.status
        else:
            # base, the body's own status, is only read; it is what the apiserver has.
            base = raw.get("status") or {}
            before = plain(base)
            if is_stale(before, memory.written, time.monotonic()):
                # An earlier tick changed the decision fields and its patch is not in
                # this body yet (another patch, e.g. an older tick's, may have landed in
                # between, so the resourceVersion alone cannot tell). Deciding from it
                # would redo that tick's decision (a second rollout start); the next
                # tick reads the patch.
                runtime.telemetry.status_patches.labels("stale").inc()
                return
            memory.written = None
        result = await Reconciler(runtime).tick(
            memory,
            generation=int(meta.get("generation") or 0),
            raw_spec=raw.get("spec") or {},
            raw_status=before,
            annotations=meta.get("annotations") or {},
            policies=policies,
            now=datetime.now(UTC),
            events=emit,
        )
        after = apply_merge_patch(before, result.status)
        # Against what the apiserver has: a held status's changes go out with this one.
        changes = merge_patch_between(base, after)
        clock = time.monotonic()
        # Between half the checkpoint and all of it, at random: canaries that started
        # together would otherwise all write in the same few seconds, every checkpoint.
        due = kept.due if kept is not None else clock + checkpoint_seconds * random.uniform(0.5, 1)
        if not changes:
            memory.held = None
            outcome = "skipped"
        elif must_write_now(changes) or clock >= due:
            memory.held = None
            memory.written = (clock, decision_fields(after))
            outcome = "sent"
        else:
            memory.held = Held(due=due, base=base, status=after)
            changes, outcome = {}, "held"
    runtime.telemetry.tick_seconds.observe(time.perf_counter() - started)
    runtime.telemetry.status_patches.labels(outcome).inc()
    # Only what changed: an unchanged status costs no PATCH and no watch event.
    if changes:
        if logger.isEnabledFor(logging.DEBUG):  # -v: what kopf's own patches showed
            logger.debug("Patching status with: %r", changes)
        url = resource.get_url(namespace=_namespace(namespace), name=name, subresource="status")
        await _merge_patch(url, {"status": changes}, memo, logger)
    if result.clear_command:
        url = resource.get_url(namespace=_namespace(namespace), name=name)
        patch = {"metadata": {"annotations": {ANNOTATION_COMMAND: None}}}
        await _merge_patch(url, patch, memo, logger)


def _namespace(namespace: str) -> kopf_references.NamespaceName:
    return kopf_references.NamespaceName(namespace)


async def _merge_patch(
    url: str, payload: dict[str, Any], memo: kopf.Memo, logger: kopf.Logger
) -> None:
    """A JSON merge patch through kopf's own API client (its session, auth and retries on
    the event loop: no thread), in one of the ``Settings.patch_slots``. The response is
    read to keep the connection, not parsed: its object comes back through the watch
    (react)."""
    settings: kopf.OperatorSettings = memo.settings
    async with memo.patch_slots:
        response = await kopf_api.request(
            "patch",
            url,
            payload=payload,
            headers={"Content-Type": "application/merge-patch+json"},
            settings=settings,
            logger=logger,
        )
        async with response:
            await response.read()


@kopf.on.delete(GROUP, VERSION, "modeldeployments", optional=True)
def forget(namespace: str | None, name: str, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    """Owned Deployments, Services and HPAs go with their ownerReferences; its metrics
    and its record (roost.memory) go here."""
    runtime: Runtime = memo.runtime
    assert namespace is not None
    runtime.telemetry.forget(namespace, name)
    runtime.objects.drop(str(meta.get("uid")))
