"""Prometheus clients for ModelDeployments, one per connection, built on first use.

A ModelDeployment names its Prometheus in ``spec.prometheus`` (URL, bearer token and
CA bundle from Secrets of its namespace, timeout) or leaves it to the operator's
default URL. Every object with the same URL and the same two Secret references
shares one :class:`PrometheusClient` and so one connection pool and one batch of
queries (adapters/metrics_reader). Secrets are read once, when the client is built;
a CA bundle goes to a file because the HTTP client takes a path.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from roost import durations
from roost.adapters.kube import Kube
from roost.adapters.prometheus import PrometheusClient
from roost.api.modeldeployment import PrometheusConnection

# (URL, "namespace/secret/key" of the token, of the CA bundle)
ClientKey = tuple[str, str | None, str | None]


@dataclass
class PrometheusClients:
    kube: Kube
    default_url: str | None
    default_timeout: float = 10.0
    clients: dict[ClientKey, PrometheusClient] = field(default_factory=dict)

    async def get(self, namespace: str, conn: PrometheusConnection | None) -> PrometheusClient:
        """The client for a ModelDeployment of ``namespace`` with ``spec.prometheus`` ``conn``.

        Raises LookupError when neither the spec nor the operator names a Prometheus.
        """
        url = conn.url if conn else self.default_url
        if not url:
            raise LookupError(
                "spec.prometheus.url: no Prometheus configured and no operator default"
            )
        token_ref = conn.bearer_token_secret_ref if conn else None
        ca_ref = conn.ca_secret_ref if conn else None
        key: ClientKey = (
            url,
            f"{namespace}/{token_ref.name}/{token_ref.key}" if token_ref else None,
            f"{namespace}/{ca_ref.name}/{ca_ref.key}" if ca_ref else None,
        )
        client = self.clients.get(key)
        if client is None:
            token = (
                await self.kube.secret_value(namespace, token_ref.name, token_ref.key)
                if token_ref
                else None
            )
            ca_file = None
            if ca_ref:
                pem = await self.kube.secret_value(namespace, ca_ref.name, ca_ref.key)
                handle = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)  # noqa: SIM115
                with handle:
                    handle.write(pem)
                ca_file = handle.name
            timeout = durations.parse_seconds(conn.timeout) if conn else self.default_timeout
            client = PrometheusClient(url=url, bearer_token=token, ca_file=ca_file, timeout=timeout)
            self.clients[key] = client
        return client
