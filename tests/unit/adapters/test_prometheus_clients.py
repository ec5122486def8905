"""One Prometheus client per connection: the operator's default, a spec's own URL,
token and CA bundle from Secrets read once. The Kubernetes side is a fake that
serves Secret values from a dict and counts the reads (unit tests open no sockets)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from roost.adapters.kube import Kube
from roost.adapters.prometheus_clients import PrometheusClients
from roost.api.modeldeployment import PrometheusConnection

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class FakeSecrets:
    """Stands in for Kube.secret_value."""

    def __init__(self, values: dict[tuple[str, str, str], str]) -> None:
        self.values = values
        self.reads: list[tuple[str, str, str]] = []

    async def secret_value(self, namespace: str, name: str, key: str) -> str:
        self.reads.append((namespace, name, key))
        return self.values[(namespace, name, key)]


def _clients(secrets: FakeSecrets, default_url: str | None = "http://default:9090") -> Any:
    return PrometheusClients(cast(Kube, secrets), default_url, default_timeout=7.0)


def _conn(**fields: Any) -> PrometheusConnection:
    return PrometheusConnection.model_validate(fields)


def test_without_a_spec_every_object_shares_the_operators_default() -> None:
    clients = _clients(FakeSecrets({}))
    a = asyncio.run(clients.get("team-a", None))
    b = asyncio.run(clients.get("team-b", None))
    assert a is b
    assert (a.url, a.timeout) == ("http://default:9090", 7.0)


def test_no_url_anywhere_is_a_lookup_error_naming_the_field() -> None:
    with pytest.raises(LookupError, match=r"spec\.prometheus\.url"):
        asyncio.run(_clients(FakeSecrets({}), default_url=None).get("team-a", None))


def test_secrets_are_read_once_per_connection_and_the_ca_goes_to_a_file() -> None:
    secrets = FakeSecrets({("team-a", "prom", "token"): "tok", ("team-a", "prom", "ca"): PEM})
    clients = _clients(secrets)
    conn = _conn(
        url="https://prom.team-a:9090",
        bearerTokenSecretRef={"name": "prom", "key": "token"},
        caSecretRef={"name": "prom", "key": "ca"},
        timeout="3s",
    )
    first = asyncio.run(clients.get("team-a", conn))
    again = asyncio.run(clients.get("team-a", conn))
    assert first is again
    assert secrets.reads == [("team-a", "prom", "token"), ("team-a", "prom", "ca")]
    assert first.timeout == 3.0
    assert first._connect.headers == {"Authorization": "Bearer tok"}
    ca_file = first._connect._session.verify  # the requests session's CA bundle
    assert str(ca_file).endswith(".pem")
    assert Path(ca_file).read_text() == PEM


def test_the_same_secret_names_in_another_namespace_are_another_client() -> None:
    secrets = FakeSecrets({("a", "prom", "token"): "ta", ("b", "prom", "token"): "tb"})
    clients = _clients(secrets)
    conn = _conn(url="http://prom:9090", bearerTokenSecretRef={"name": "prom", "key": "token"})
    in_a = asyncio.run(clients.get("a", conn))
    in_b = asyncio.run(clients.get("b", conn))
    assert in_a is not in_b
    assert in_b._connect.headers == {"Authorization": "Bearer tb"}
