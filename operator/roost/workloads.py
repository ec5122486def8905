"""The Kubernetes objects a ModelDeployment owns, built as plain dicts (no I/O).

Naming and labels are the contract between Roost, the traffic providers and
anyone reading the cluster:

* Deployment ``<name>-<revision>`` per revision, its pods labelled with the
  revision and the model version. The role (``stable``/``canary``) is a label
  on the Deployment object only, never on the pods, so promotion relabels the
  Deployment and retargets Services without restarting a single pod.
* Service ``<name>`` selects every version (the replica-ratio provider splits
  traffic by replica counts behind it); ``<name>-stable`` and ``<name>-canary``
  select one revision each (the route-based providers weight between them).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roost.api.modeldeployment import ModelDeploymentSpec

PREFIX = "roost.dev"
LABEL_MODEL_DEPLOYMENT = f"{PREFIX}/model-deployment"
LABEL_REVISION = f"{PREFIX}/revision"
LABEL_VERSION = f"{PREFIX}/version"
LABEL_ROLE = f"{PREFIX}/role"
ANNOTATION_COMMAND = f"{PREFIX}/command"
MANAGED_BY = {"app.kubernetes.io/managed-by": "roost"}

Manifest = dict[str, Any]


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]


def revision(spec: ModelDeploymentSpec) -> str:
    """A stable hash of what makes a new version: the pod template and the model version."""
    return _digest({"template": spec.template, "model": spec.model.to_api()})


def serving(spec: ModelDeploymentSpec, learned: Mapping[str, float] | None = None) -> str:
    """A stable hash of the settings a change of which is applied without a new version:
    replicas, autoscaling, the Service's ports and the traffic provider's settings, and
    the service time or CV the plan uses where they are learned, not declared
    (``learned``, by field name; without any the hash is what it was before learning)."""
    settings: dict[str, Any] = {
        "replicas": spec.replicas,
        "autoscaling": spec.autoscaling.to_api() if spec.autoscaling else None,
        "service": spec.service.to_api(),
        "traffic": spec.traffic.to_api(),
    }
    if learned:
        settings["learned"] = dict(sorted(learned.items()))
    return _digest(settings)


@dataclass(frozen=True)
class Owner:
    """The ModelDeployment that owns an object (for ownerReferences and names)."""

    namespace: str
    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": "roost.dev/v1alpha1",
            "kind": "ModelDeployment",
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def deployment_name(self, rev: str) -> str:
        return f"{self.name}-{rev}"[:63].rstrip("-")

    def service_name(self, role: str | None = None) -> str:
        return self.name if role is None else f"{self.name}-{role}"[:63].rstrip("-")

    def hpa_name(self, role: str) -> str:
        return f"{self.name}-{role}"[:63].rstrip("-")


def _metadata(owner: Owner, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": {**MANAGED_BY, LABEL_MODEL_DEPLOYMENT: owner.name, **labels},
        "ownerReferences": [owner.reference()],
    }


def deployment(
    owner: Owner,
    spec: ModelDeploymentSpec,
    *,
    rev: str,
    version: str,
    role: str,
    replicas: int,
) -> Manifest:
    """The Deployment of one revision; the user's pod template plus Roost's pod labels."""
    template = copy.deepcopy(spec.template)
    metadata = template.setdefault("metadata", {})
    pod_labels = {
        **metadata.get("labels", {}),
        LABEL_MODEL_DEPLOYMENT: owner.name,
        LABEL_REVISION: rev,
        LABEL_VERSION: version,
    }
    metadata["labels"] = pod_labels
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(
            owner,
            owner.deployment_name(rev),
            {LABEL_REVISION: rev, LABEL_VERSION: version, LABEL_ROLE: role},
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {LABEL_MODEL_DEPLOYMENT: owner.name, LABEL_REVISION: rev}},
            "template": template,
        },
    }


def service(
    owner: Owner,
    spec: ModelDeploymentSpec,
    *,
    role: str | None,
    rev: str | None,
    target_port: int | str | None = None,
) -> Manifest:
    """``<name>`` (all versions) when role is None, else ``<name>-<role>`` for one revision.

    ``target_port`` overrides the spec's (the pods' port), for a spec that describes
    another revision's pods than the ones the Service selects."""
    selector = {LABEL_MODEL_DEPLOYMENT: owner.name}
    if rev is not None:
        selector[LABEL_REVISION] = rev
    port = spec.service.port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(owner, owner.service_name(role), {LABEL_ROLE: role} if role else {}),
        "spec": {
            "selector": selector,
            "ports": [
                {
                    "name": "http",
                    "port": port,
                    "targetPort": target_port
                    if target_port is not None
                    else spec.service.target_port or port,
                    "protocol": "TCP",
                }
            ],
        },
    }


def hpa(owner: Owner, *, role: str, rev: str, hpa_spec: dict[str, Any]) -> Manifest:
    spec = {
        **hpa_spec,
        "scaleTargetRef": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": owner.deployment_name(rev),
        },
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(owner, owner.hpa_name(role), {LABEL_ROLE: role}),
        "spec": spec,
    }


def replicas_for_weight(total: int, canary_weight: int) -> tuple[int, int]:
    """(stable, canary) replicas that approximate a weight by replica ratio.

    The canary gets at least one replica while it has any weight, the stable at
    least one while the canary has less than all of it.
    """
    if canary_weight <= 0:
        return total, 0
    if canary_weight >= 100:
        return 0, max(1, total)
    total = max(total, 2)
    canary = min(total - 1, max(1, round(total * canary_weight / 100)))
    return total - canary, canary


def route_replicas(total: int, canary_weight: int) -> int:
    """Canary replicas for a weighted route: its share of the stable's size, at least one."""
    return max(1, math.ceil(total * canary_weight / 100))
