"""The rollout's webhooks: HTTP POSTs of its state at its moments, their answers as
data for the pure machine (``HookGates``) and for status.webhooks.

Before the decision, :meth:`Webhooks.before` calls the webhooks the waiting move
needs: a new canary's preRollout webhooks once it is ready for its first step (once
per canary revision: their answer is kept in status), the confirmStep webhooks while
the next step waits, the confirmPromotion webhooks while a promotion waits (both
asked again every tick until they answer 2xx). After the decision,
:meth:`Webhooks.after` calls postRollout webhooks on a promotion or a rollback and
rollback webhooks on a rollback. A call waits at most its ``timeoutSeconds``; calls
of one moment run together. Headers come from the Secret ``headersSecretRef`` names,
read at each call; logs and status never show them or the answer beyond its first
bytes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from roost.adapters.kube import Kube, NotFoundError
from roost.api.modeldeployment import (
    FailurePolicy,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Phase,
    Webhook,
    WebhookResult,
    WebhookType,
)
from roost.rollout.actions import EmitEvent, EventType
from roost.rollout.machine import HookGates

ANSWER_BYTES = 256


@dataclass(frozen=True)
class Called:
    """What the webhooks said this tick: the gates for the machine, the status entries
    and Events to add."""

    gates: HookGates
    results: tuple[WebhookResult, ...] = ()
    events: tuple[EmitEvent, ...] = ()


def payload(
    hook: Webhook, namespace: str, name: str, status: ModelDeploymentStatus
) -> dict[str, Any]:
    """What a webhook receives: the object, the versions, the phase, the traffic and the
    last analysis (as in status)."""
    weight = status.canary_weight
    analysis = status.last_analysis
    return {
        "name": hook.name,
        "type": hook.type.value,
        "namespace": namespace,
        "modelDeployment": name,
        "phase": status.phase.value if status.phase else None,
        "stableVersion": status.stable_version,
        "canaryVersion": status.canary_version,
        "canaryRevision": status.canary_revision,
        "step": status.current_step,
        "canaryWeight": weight.applied,
        "mirror": weight.applied_mirror,
        "lastAnalysis": (
            analysis.model_dump(mode="json", by_alias=True, exclude_none=True)
            if analysis is not None
            else None
        ),
    }


def merged(
    kept: Sequence[WebhookResult], new: Sequence[WebhookResult], spec: ModelDeploymentSpec
) -> list[WebhookResult]:
    """status.webhooks: each webhook of the spec's last result, the new ones replacing
    the kept; webhooks no longer in the spec are dropped."""
    names = {w.name for w in spec.rollout.webhooks or ()}
    by_name = {r.name: r for r in kept if r.name in names}
    for result in new:
        by_name[result.name] = result
    return [by_name[n] for n in sorted(by_name)]


class Webhooks:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def before(
        self,
        spec: ModelDeploymentSpec,
        status: ModelDeploymentStatus,
        namespace: str,
        name: str,
        now: datetime,
        *,
        canary_ready: bool = True,
    ) -> Called:
        """Call the webhooks the move waiting in ``status`` (the status before this
        tick's decision) needs. preRollout webhooks wait for ``canary_ready`` (the
        canary can take its first step), so an evaluation may call the canary."""
        rollout = spec.rollout
        if not rollout.webhooks or status.phase is not Phase.PROGRESSING:
            return Called(HookGates())
        revision = status.canary_revision
        if status.promotion is not None:
            hooks = rollout.hooks(WebhookType.CONFIRM_PROMOTION)
            results = await self._call_all(hooks, spec, status, namespace, name, now)
            passed = all(r.passed for r in results)
            return self._called(status, results, HookGates(promotion_confirmed=passed))
        if status.current_step < 0:
            hooks = rollout.hooks(WebhookType.PRE_ROLLOUT)
            kept = {r.name: r for r in status.webhooks if r.revision == revision}
            due = [h for h in hooks if h.name not in kept]
            if due and not canary_ready:
                return Called(HookGates())
            results = await self._call_all(due, spec, status, namespace, name, now)
            answers = {**kept, **{r.name: r for r in results}}
            failed = [
                answers[h.name]
                for h in hooks
                if not answers[h.name].passed and h.failure_policy is FailurePolicy.FAIL
            ]
            gate = HookGates(
                pre_rollout=not failed,
                message="; ".join(_named(r) for r in failed),
            )
            return self._called(status, results, gate)
        weight = status.canary_weight
        if weight.desired_split != weight.applied_split:
            hooks = rollout.hooks(WebhookType.CONFIRM_STEP)
            results = await self._call_all(hooks, spec, status, namespace, name, now)
            passed = all(r.passed for r in results)
            return self._called(status, results, HookGates(step_confirmed=passed))
        return Called(HookGates())

    async def after(
        self,
        spec: ModelDeploymentSpec,
        before: ModelDeploymentStatus,
        after: ModelDeploymentStatus,
        namespace: str,
        name: str,
        now: datetime,
    ) -> Called:
        """postRollout webhooks on a promotion or a rollback, rollback webhooks on a
        rollback: called once, when the phase changes to it."""
        rollout = spec.rollout
        promoted = (
            after.phase is Phase.SUCCEEDED
            and before.canary_revision is not None
            and after.stable_revision == before.canary_revision
        )
        # A rollout cancelled (the spec back at the stable's version) is neither.
        ended = promoted or after.phase is Phase.ROLLED_BACK
        if not rollout.webhooks or not ended:
            return Called(HookGates())
        if before.phase not in (Phase.PROGRESSING, Phase.PAUSED):
            return Called(HookGates())
        hooks = rollout.hooks(WebhookType.POST_ROLLOUT)
        if after.phase is Phase.ROLLED_BACK:
            hooks = rollout.hooks(WebhookType.ROLLBACK) + hooks
        # The revision the rollout was about: the canary's, before it became stable.
        subject = after.model_copy(update={"canary_revision": before.canary_revision})
        results = await self._call_all(hooks, spec, subject, namespace, name, now)
        return self._called(before, results, HookGates())

    # --- inside -----------------------------------------------------------------------

    def _called(
        self,
        status: ModelDeploymentStatus,
        results: Sequence[WebhookResult],
        gates: HookGates,
    ) -> Called:
        """Gates and results, with an Event for each answer that differs from the one
        kept for the same webhook and revision (a confirm webhook asked every tick
        speaks once per change)."""
        kept = {(r.name, r.revision): r for r in status.webhooks}
        events: list[EmitEvent] = []
        new: list[WebhookResult] = []
        for result in results:
            before = kept.get((result.name, result.revision))
            if before is not None and (before.passed, before.code) == (result.passed, result.code):
                continue
            new.append(result)
            what = f"webhook {result.name} ({result.type.value}): {_said(result)}"
            if result.passed:
                events.append(EmitEvent(EventType.NORMAL, "WebhookPassed", what))
            else:
                events.append(EmitEvent(EventType.WARNING, "WebhookFailed", what))
        message = gates.message
        if not message:
            waiting = [r for r in results if not r.passed]
            message = "; ".join(_named(r) for r in waiting)
        return Called(
            HookGates(
                pre_rollout=gates.pre_rollout,
                step_confirmed=gates.step_confirmed,
                promotion_confirmed=gates.promotion_confirmed,
                message=message,
            ),
            tuple(new),
            tuple(events),
        )

    async def _call_all(
        self,
        hooks: Sequence[Webhook],
        spec: ModelDeploymentSpec,
        status: ModelDeploymentStatus,
        namespace: str,
        name: str,
        now: datetime,
    ) -> list[WebhookResult]:
        return list(
            await asyncio.gather(*(self._call(h, status, namespace, name, now) for h in hooks))
        )

    async def _headers(self, hook: Webhook, namespace: str) -> Mapping[str, str]:
        ref = hook.headers_secret_ref
        if ref is None:
            return {}
        secret = await self.kube.secret(namespace, ref.name)
        return {k: base64.b64decode(v).decode().strip() for k, v in secret.items()}

    async def _call(
        self,
        hook: Webhook,
        status: ModelDeploymentStatus,
        namespace: str,
        name: str,
        now: datetime,
    ) -> WebhookResult:
        started = time.perf_counter()
        code: int | None = None
        try:
            headers = await self._headers(hook, namespace)
            if self._session is None:
                self._session = aiohttp.ClientSession()
            async with self._session.post(
                hook.url,
                data=json.dumps(payload(hook, namespace, name, status)),
                headers={"Content-Type": "application/json", **headers},
                timeout=aiohttp.ClientTimeout(total=hook.timeout_seconds),
            ) as response:
                code = response.status
                answer = (await response.content.read(ANSWER_BYTES)).decode(errors="replace")
                message = f"HTTP {code}" + (f": {answer.strip()}" if answer.strip() else "")
        except NotFoundError as error:
            message = str(error)
        except TimeoutError:
            message = f"no answer within {hook.timeout_seconds}s"
        except (aiohttp.ClientError, UnicodeDecodeError, ValueError) as error:
            message = f"{type(error).__name__}: {error}"
        return WebhookResult(
            name=hook.name,
            type=hook.type,
            revision=status.canary_revision,
            passed=code is not None and 200 <= code < 300,
            code=code,
            latency_seconds=round(time.perf_counter() - started, 3),
            message=message[:ANSWER_BYTES],
            at=now,
        )


def _said(result: WebhookResult) -> str:
    return f"{result.message} after {result.latency_seconds:.2f}s"


def _named(result: WebhookResult) -> str:
    return f"{result.name} said {_said(result)}"
