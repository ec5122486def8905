"""Applies the rollout machine's actions to the cluster, in order.

Every action is idempotent (server-side apply, scale to a number, replace
with a resourceVersion), so a tick that fails half-way is simply run again:
the status is only patched after all of its actions succeeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from roost.adapters.kube import Kube
from roost.adapters.traffic import Backends, TrafficProvider
from roost.api.modeldeployment import DEMAND_METRIC, ModelDeploymentSpec, ScalingMetric
from roost.capacity.hpa import HpaMetric, build_hpa_spec
from roost.capacity.sizing import Sizing, scaling_behavior
from roost.rollout.actions import (
    Action,
    DeployCanary,
    DeployStable,
    EmitEvent,
    PromoteCanary,
    Reconfigure,
    RemoveCanary,
    RetireStable,
    SetWeight,
)
from roost.slo import demand
from roost.workloads import LABEL_ROLE, Owner, deployment, hpa, service

EventSink = Callable[[EmitEvent], Awaitable[None]]


@dataclass
class Applied:
    """What the cluster looks like after the actions: revisions and the applied weight."""

    stable_revision: str | None
    canary_revision: str | None
    weight: int | None = None  # None when no SetWeight ran


class Actuator:
    def __init__(
        self,
        kube: Kube,
        traffic: TrafficProvider,
        *,
        owner: Owner,
        spec: ModelDeploymentSpec,
        sizing: Callable[[int], Sizing],
        events: EventSink,
    ) -> None:
        self.kube = kube
        self.traffic = traffic
        self.owner = owner
        self.spec = spec
        self.sizing = sizing
        self.events = events

    def _backends(self, state: Applied) -> Backends:
        assert state.stable_revision is not None
        return Backends(
            owner=self.owner,
            spec=self.spec,
            stable_revision=state.stable_revision,
            canary_revision=state.canary_revision,
        )

    async def _services(
        self, stable: str, canary: str | None, stable_target: int | str | None = None
    ) -> None:
        """<name> selects all versions; -stable and -canary one revision each.
        ``stable_target`` is the stable's pods' port when the spec is another revision's
        (None: the spec's); a running canary's Service takes the spec's."""
        for role, rev in ((None, None), ("stable", stable)):
            await self.kube.apply(
                service(self.owner, self.spec, role=role, rev=rev, target_port=stable_target)
            )
        if canary is None:
            await self._canary_service(stable, stable_target)
        else:
            await self._canary_service(canary)

    async def _canary_service(self, rev: str, target_port: int | str | None = None) -> None:
        """Point <name>-canary at ``rev``: all a canary's start or removal changes. The
        other two follow the stable revision (its first deploy, a promotion); applying
        them again at every canary start was two more server-side applies per rollout,
        a sixth of a rollout's requests to the apiserver."""
        await self.kube.apply(
            service(self.owner, self.spec, role="canary", rev=rev, target_port=target_port)
        )

    async def _hpa(self, role: str, rev: str, weight: int) -> None:
        spec = self.hpa_spec(role, rev, weight)
        if spec is not None:
            await self.apply_hpa(role, rev, spec)

    async def apply_hpa(self, role: str, rev: str, spec: dict[str, Any]) -> None:
        await self.kube.apply(hpa(self.owner, role=role, rev=rev, hpa_spec=spec))

    def hpa_spec(self, role: str, rev: str, weight: int) -> dict[str, Any] | None:
        """The HPA ``spec`` of the ``role``'s plan at ``weight``; None without one."""
        autoscaling = self.spec.autoscaling
        split = self.sizing(weight).split
        if autoscaling is None or split is None:
            return None
        plan = split.canary if role == "canary" else split.stable
        if plan.replicas < 1:
            return None
        target = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": self.owner.deployment_name(rev),
        }
        if autoscaling.metric is ScalingMetric.DEMAND:
            # The demand is the whole model's: this role answers its share of it.
            if role == "canary":
                share = (split.canary_weight or split.mirror) / 100
            else:
                share = 1 - split.canary_weight / 100
            if share <= 0:
                return None
            return build_hpa_spec(
                plan,
                scale_target_ref=target,
                metric=HpaMetric.DEMAND,
                metric_name=DEMAND_METRIC,
                metric_selector=demand.hpa_selector(self.owner.name),
                max_replicas=autoscaling.max_replicas,
                behavior=scaling_behavior(autoscaling),
                share=share,
                reserve=autoscaling.burst_factor,
            )
        return build_hpa_spec(
            plan,
            scale_target_ref=target,
            metric_name=autoscaling.inflight_metric,
            max_replicas=autoscaling.max_replicas,
            behavior=scaling_behavior(autoscaling),
        )

    async def apply(self, actions: Sequence[Action], before: Applied) -> Applied:
        state = replace(before)
        for action in actions:
            state = await self._one(action, state)
        return state

    async def _one(self, action: Action, state: Applied) -> Applied:
        ns = self.owner.namespace
        match action:
            case DeployStable(revision=rev, version=version):
                replicas = self.sizing(0).stable_replicas
                await self.kube.apply(
                    deployment(
                        self.owner,
                        self.spec,
                        rev=rev,
                        version=version,
                        role="stable",
                        replicas=replicas,
                    )
                )
                await self._services(rev, None)
                await self._hpa("stable", rev, 0)
                return Applied(stable_revision=rev, canary_revision=None, weight=state.weight)
            case DeployCanary(revision=rev, version=version, weight=weight):
                if self.traffic.capacity_first:
                    replicas = self.sizing(weight).canary_replicas
                else:  # replica-ratio: replicas are the weight; SetWeight scales them
                    existing = await self.kube.deployment(ns, self.owner.deployment_name(rev))
                    replicas = int((existing or {}).get("spec", {}).get("replicas") or 0)
                await self.kube.apply(
                    deployment(
                        self.owner,
                        self.spec,
                        rev=rev,
                        version=version,
                        role="canary",
                        replicas=replicas,
                    )
                )
                await self._canary_service(rev)
                if self.traffic.capacity_first:
                    await self._hpa("canary", rev, weight)
                return replace(state, canary_revision=rev)
            case SetWeight(canary=weight, mirror=mirror, match=match):
                applied = await self.traffic.set_weight(
                    self._backends(state), weight, mirror, match
                )
                return replace(state, weight=applied)
            case PromoteCanary(revision=rev):
                old = state.stable_revision
                # Traffic already points at the canary (SetWeight 100 came first): move
                # the stable Service and the role labels; the pods keep running.
                await self._services(rev, None)
                await self.kube.label_deployment(
                    ns, self.owner.deployment_name(rev), {LABEL_ROLE: "stable"}
                )
                if old and old != rev:
                    # A tick killed after RetireStable deleted it, before the status
                    # said so, replays the promotion: the old Deployment may be gone.
                    await self.kube.label_deployment(
                        ns,
                        self.owner.deployment_name(old),
                        {LABEL_ROLE: "retired"},
                        missing_ok=True,
                    )
                await self.kube.delete("HorizontalPodAutoscaler", ns, self.owner.hpa_name("canary"))
                if self.spec.autoscaling is None and self.traffic.capacity_first:
                    # Sized for all traffic a tick or more ago: the replicas of this
                    # tick's spec (the replica-ratio provider's SetWeight sets them).
                    await self.kube.scale(
                        ns, self.owner.deployment_name(rev), self.sizing(0).stable_replicas
                    )
                await self._hpa("stable", rev, 0)
                return Applied(stable_revision=rev, canary_revision=None, weight=state.weight)
            case RemoveCanary(revision=rev):
                await self.kube.delete("Deployment", ns, self.owner.deployment_name(rev))
                await self.kube.delete("HorizontalPodAutoscaler", ns, self.owner.hpa_name("canary"))
                if state.stable_revision is not None:
                    await self._canary_service(state.stable_revision)
                return replace(state, canary_revision=None)
            case Reconfigure(revision=rev, canary=canary, stable_spec=own):
                # A spec of another revision: keep the port the stable's pods listen on.
                target = (
                    None
                    if own
                    else await self.kube.service_target_port(ns, self.owner.service_name("stable"))
                )
                await self._services(rev, canary, stable_target=target)
                if self.spec.autoscaling is None:
                    await self.kube.delete(
                        "HorizontalPodAutoscaler", ns, self.owner.hpa_name("stable")
                    )
                    # The replica-ratio provider splits the replicas while a canary runs.
                    if self.traffic.capacity_first or canary is None:
                        await self.kube.scale(
                            ns, self.owner.deployment_name(rev), self.sizing(0).stable_replicas
                        )
                else:  # the HPA owns the replicas
                    await self._hpa("stable", rev, 0)
                return state
            case RetireStable(revision=rev):
                await self.kube.delete("Deployment", ns, self.owner.deployment_name(rev))
                return state
            case EmitEvent():
                await self.events(action)
                return state
        raise TypeError(f"unknown action {action!r}")
