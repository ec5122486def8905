"""Kubernetes I/O: the only importer of the ``kubernetes`` client.

The client is synchronous; every call runs in a worker thread so the kopf
event loop never blocks. Writes are server-side apply with Roost's field
manager (idempotent: applying the same object twice changes nothing, a retried
tick never duplicates an object) or optimistic-concurrency replaces that retry
on 409.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from roost.adapters.deployments import DeploymentWatch

FIELD_MANAGER = "roost"
CONFLICT_RETRIES = 5
MANAGED_BY_SELECTOR = "app.kubernetes.io/managed-by=roost"

_log = logging.getLogger(__name__)

T = TypeVar("T")


class NotFoundError(LookupError):
    """The object does not exist."""


def api_client(kubeconfig: str | None = None, pool_size: int = 16) -> client.ApiClient:
    """An ApiClient from a kubeconfig file, or the in-cluster service account.

    ``pool_size`` connections are kept (urllib3's pool): as many as the operator's I/O
    threads, so concurrent calls do not open and discard connections (urllib3's
    "Connection pool is full" with the default of 10 at 300 ModelDeployments).
    """
    configuration = client.Configuration()
    if kubeconfig:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


class Kube:
    """Typed, async access to the objects Roost reads and writes."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.autoscaling = client.AutoscalingV2Api(api)
        self.custom = client.CustomObjectsApi(api)
        self._dynamic: dynamic.DynamicClient | None = None
        # Roost's Deployments from one list and watch (adapters.deployments), when started.
        self.watched: DeploymentWatch | None = None
        self._hpa_refusals: set[str] = set()  # namespaces whose HPAs could not be listed

    @staticmethod
    async def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # --- apply ------------------------------------------------------------------

    def _apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        if self._dynamic is None:  # discovery happens once, on first use
            self._dynamic = dynamic.DynamicClient(self.api)
        resource = self._dynamic.resources.get(
            api_version=manifest["apiVersion"], kind=manifest["kind"]
        )
        result = self._dynamic.server_side_apply(
            resource,
            body=manifest,
            name=manifest["metadata"]["name"],
            namespace=manifest["metadata"]["namespace"],
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )
        return result.to_dict()  # type: ignore[no-any-return]

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of a Deployment, Service or HPA built by roost.workloads."""
        return await self._call(self._apply, manifest)

    async def delete(self, kind: str, namespace: str, name: str) -> None:
        """Delete if present; a missing object is already deleted."""
        method = {
            "Deployment": self.apps.delete_namespaced_deployment,
            "HorizontalPodAutoscaler": self.autoscaling.delete_namespaced_horizontal_pod_autoscaler,
        }[kind]
        try:
            await self._call(method, name, namespace, propagation_policy="Background")
        except ApiException as error:
            if error.status != 404:
                raise

    async def scale(self, namespace: str, name: str, replicas: int) -> None:
        await self._call(
            self.apps.patch_namespaced_deployment_scale,
            name,
            namespace,
            {"spec": {"replicas": replicas}},
        )

    async def service_target_port(self, namespace: str, name: str) -> int | str | None:
        """The Service's (first port's) targetPort; None when there is no such Service."""
        try:
            found = await self._call(self.core.read_namespaced_service, name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        ports = found.spec.ports or []
        return ports[0].target_port if ports else None

    async def label_deployment(
        self, namespace: str, name: str, labels: dict[str, str], *, missing_ok: bool = False
    ) -> None:
        """Merge ``labels`` into a Deployment's labels; with ``missing_ok`` a Deployment
        that is already gone is not an error (a retried tick may find it deleted)."""
        try:
            await self._call(
                self.apps.patch_namespaced_deployment,
                name,
                namespace,
                {"metadata": {"labels": labels}},
            )
        except ApiException as error:
            if not (missing_ok and error.status == 404):
                raise

    # --- read -------------------------------------------------------------------

    async def deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Deployment as the API serves it (camelCase JSON); None when there is none.

        Read every tick for the canary's readiness, so it skips the client's model
        classes: building a V1Deployment and serialising it back cost more CPU than the
        rest of an analysing tick's reads."""
        try:
            return await self._call(
                self._read_json, self.apps.read_namespaced_deployment, name, namespace
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    @staticmethod
    def _read_json(method: Callable[..., Any], *args: Any) -> dict[str, Any]:
        response = method(*args, _preload_content=False)
        try:
            return json.loads(response.data)  # type: ignore[no-any-return]
        finally:
            response.release_conn()

    async def deployment_seen(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Deployment's identity, owners, ``spec.replicas`` and status replica counts
        as the Deployment watch last saw them (when one runs and holds it; nothing else
        of the body), else the whole body read from the apiserver. For observing, never
        for a write's precondition."""
        if self.watched is not None:
            seen = self.watched.get(namespace, name)
            if seen is not None:
                return seen
        return await self.deployment(namespace, name)

    async def ready_replicas(self, namespace: str, name: str) -> tuple[int, int]:
        """(ready, desired) replicas of a Deployment; (0, 0) when it does not exist."""
        found = await self.deployment(namespace, name)
        if found is None:
            return 0, 0
        status = found.get("status") or {}
        desired = int((found.get("spec") or {}).get("replicas") or 0)
        ready = int(status.get("readyReplicas") or 0)
        if int(status.get("observedGeneration") or 0) < int(found["metadata"].get("generation", 0)):
            ready = min(ready, int(status.get("updatedReplicas") or 0))
        return ready, desired

    async def roost_hpas(self, namespace: str) -> dict[str, dict[str, Any]] | None:
        """Roost's HPAs in a namespace (by label) as ``{name: {spec: {metrics,
        minReplicas}, status: {conditions}}}``, the parts that tell whether each can read
        its metric and what plan it holds; None when they cannot be listed (RBAC without
        ``list``: the check is skipped, said once)."""
        try:
            listing = await self._call(self._list_hpas_json, namespace)
        except ApiException as error:
            if namespace not in self._hpa_refusals:
                self._hpa_refusals.add(namespace)
                _log.warning(
                    "cannot list HPAs in %s (%s %s): not checking that they can read their "
                    "metric; grant list on autoscaling/horizontalpodautoscalers",
                    namespace,
                    error.status,
                    error.reason,
                )
            return None
        found: dict[str, dict[str, Any]] = {}
        for item in listing.get("items") or []:
            name = str((item.get("metadata") or {}).get("name"))
            spec = item.get("spec") or {}
            found[name] = {
                "spec": {
                    "metrics": spec.get("metrics") or [],
                    "minReplicas": spec.get("minReplicas"),
                },
                "status": {"conditions": (item.get("status") or {}).get("conditions") or []},
            }
        return found

    def _list_hpas_json(self, namespace: str) -> dict[str, Any]:
        response = self.autoscaling.list_namespaced_horizontal_pod_autoscaler(
            namespace, label_selector=MANAGED_BY_SELECTOR, _preload_content=False
        )
        try:
            return json.loads(response.data)  # type: ignore[no-any-return]
        finally:
            response.release_conn()

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        """A Secret's data, base64-encoded as the API gives it. Never logged."""
        try:
            secret = await self._call(self.core.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status == 404:
                raise NotFoundError(f"Secret {namespace}/{name} not found") from None
            raise
        return dict(secret.data or {})

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret, decoded. The value is never logged."""
        try:
            secret = await self._call(self.core.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status == 404:
                raise NotFoundError(f"Secret {namespace}/{name} not found") from None
            raise
        data = secret.data or {}
        if key not in data:
            raise NotFoundError(f"Secret {namespace}/{name} has no key {key!r}")
        return base64.b64decode(data[key]).decode()

    # --- custom objects (routes, our own CRs) -----------------------------------

    async def get_custom(
        self, group: str, version: str, plural: str, namespace: str, name: str
    ) -> dict[str, Any]:
        try:
            result = await self._call(
                self.custom.get_namespaced_custom_object, group, version, namespace, plural, name
            )
        except ApiException as error:
            if error.status == 404:
                raise NotFoundError(f"{plural}.{group} {namespace}/{name} not found") from None
            raise
        return result  # type: ignore[no-any-return]

    async def update_custom(
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str,
        name: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> dict[str, Any]:
        """Read, change and replace with the read resourceVersion; retry on 409.

        ``change`` returns the new object, or None when nothing needs changing.
        A person editing the same object at the same time makes the replace
        fail with 409; the next attempt re-reads their edit and re-applies ours.
        """
        for _ in range(CONFLICT_RETRIES):
            current = await self.get_custom(group, version, plural, namespace, name)
            desired = change(current)
            if desired is None:
                return current
            try:
                result = await self._call(
                    self.custom.replace_namespaced_custom_object,
                    group,
                    version,
                    namespace,
                    plural,
                    name,
                    desired,
                )
                return result  # type: ignore[no-any-return]
            except ApiException as error:
                if error.status != 409:
                    raise
        raise RuntimeError(f"{plural}.{group} {namespace}/{name}: conflict after retries")

    async def patch_custom(
        self, group: str, version: str, plural: str, namespace: str, name: str, body: dict[str, Any]
    ) -> None:
        await self._call(
            self.custom.patch_namespaced_custom_object,
            group,
            version,
            namespace,
            plural,
            name,
            body,
        )
