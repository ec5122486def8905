"""The rollout's webhooks against a real HTTP receiver on 127.0.0.1 (aiohttp's server):
what is sent, when, and what the answers become. The Secret store is a fake
(``FakeSecrets``): reading Secrets is not what is tested."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from roost.adapters.kube import NotFoundError
from roost.adapters.webhooks import Called, Webhooks, merged
from roost.api.modeldeployment import (
    CanaryWeight,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Phase,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class FakeSecrets:
    """Stands in for Kube.secret: a fake, the Secret store is not what is tested."""

    def __init__(self, secrets: dict[str, dict[str, str]]) -> None:
        self.secrets = secrets

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        if name not in self.secrets:
            raise NotFoundError(f"Secret {namespace}/{name} not found")
        return {k: base64.b64encode(v.encode()).decode() for k, v in self.secrets[name].items()}


class Receiver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.codes: dict[str, int] = {}
        self.hang = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append((request.path, body, dict(request.headers)))
        if request.path == "/hang":
            await self.hang.wait()
        code = self.codes.get(request.path, 200)
        return web.Response(status=code, text=f"said {code}")

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]


Scenario = Callable[[Receiver, str, Webhooks], Awaitable[Any]]


def _run(scenario: Scenario, secrets: dict[str, dict[str, str]] | None = None) -> Any:
    async def main() -> Any:
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/{path:.*}", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        hooks = Webhooks(FakeSecrets(secrets or {}))  # type: ignore[arg-type]
        try:
            return await scenario(receiver, url, hooks)
        finally:
            receiver.hang.set()
            await hooks.close()
            await runner.cleanup()

    return asyncio.run(main())


def _spec(url: str, *hooks: dict[str, Any]) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v2"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v2"}]}},
            "rollout": {
                "steps": [{"weight": 10}, {"weight": 50}],
                "webhooks": [{**h, "url": url + h["url"]} for h in hooks],
            },
        }
    )


STARTING = ModelDeploymentStatus(
    phase=Phase.PROGRESSING,
    stable_version="v1",
    canary_version="v2",
    canary_revision="r2",
    current_step=-1,
    canary_weight=CanaryWeight(desired=10),
)


def test_pre_rollout_webhooks_are_called_once_per_canary_with_the_secrets_headers() -> None:
    async def scenario(receiver: Receiver, url: str, hooks: Webhooks) -> tuple[Called, Called]:
        spec = _spec(
            url,
            {
                "name": "eval",
                "type": "preRollout",
                "url": "/eval",
                "headersSecretRef": {"name": "h"},
            },
            {"name": "notify", "type": "postRollout", "url": "/post"},
        )
        waiting = await hooks.before(spec, STARTING, "ns", "m", NOW, canary_ready=False)
        assert waiting.gates.pre_rollout is None  # not called before the canary is ready
        assert receiver.calls == []
        first = await hooks.before(spec, STARTING, "ns", "m", NOW)
        kept = STARTING.model_copy(update={"webhooks": merged([], first.results, spec)})
        second = await hooks.before(spec, kept, "ns", "m", NOW)
        return first, second

    first, second = _run(scenario, {"h": {"Authorization": "Bearer s3cret\n"}})
    assert first.gates.pre_rollout is True
    assert [(r.name, r.passed, r.code, r.revision) for r in first.results] == [
        ("eval", True, 200, "r2")
    ]
    assert [e.reason for e in first.events] == ["WebhookPassed"]
    assert second.gates.pre_rollout is True
    assert second.results == ()  # answered for r2 already: not called again


def test_the_payload_and_the_headers_reach_the_receiver() -> None:
    async def scenario(receiver: Receiver, url: str, hooks: Webhooks) -> Receiver:
        spec = _spec(
            url,
            {
                "name": "eval",
                "type": "preRollout",
                "url": "/eval",
                "headersSecretRef": {"name": "h"},
            },
        )
        await hooks.before(spec, STARTING, "ns", "m", NOW)
        return receiver

    receiver = _run(scenario, {"h": {"Authorization": "Bearer s3cret"}})
    ((path, body, headers),) = receiver.calls
    assert path == "/eval"
    assert headers["Authorization"] == "Bearer s3cret"
    assert body["type"] == "preRollout"
    assert (body["namespace"], body["modelDeployment"]) == ("ns", "m")
    assert (body["stableVersion"], body["canaryVersion"], body["step"]) == ("v1", "v2", -1)


def test_a_failing_pre_rollout_webhook_fails_the_gate_unless_ignored() -> None:
    async def scenario(receiver: Receiver, url: str, hooks: Webhooks) -> tuple[Called, Called]:
        receiver.codes["/eval"] = 500
        strict = _spec(url, {"name": "eval", "type": "preRollout", "url": "/eval"})
        lenient = _spec(
            url,
            {"name": "eval", "type": "preRollout", "url": "/eval", "failurePolicy": "ignore"},
        )
        return (
            await hooks.before(strict, STARTING, "ns", "m", NOW),
            await hooks.before(lenient, STARTING, "ns", "m", NOW),
        )

    strict, lenient = _run(scenario)
    assert strict.gates.pre_rollout is False
    assert strict.gates.message.startswith("eval said HTTP 500: said 500 after ")
    assert [e.reason for e in strict.events] == ["WebhookFailed"]
    assert lenient.gates.pre_rollout is True
    assert [e.reason for e in lenient.events] == ["WebhookFailed"]


def test_a_confirm_webhook_is_asked_every_tick_and_speaks_once_per_change() -> None:
    stepping = STARTING.model_copy(
        update={"current_step": 0, "canary_weight": CanaryWeight(desired=50, applied=10)}
    )

    async def scenario(receiver: Receiver, url: str, hooks: Webhooks) -> list[Called]:
        spec = _spec(url, {"name": "go", "type": "confirmStep", "url": "/go"})
        receiver.codes["/go"] = 403
        seen: list[Called] = []
        status = stepping
        for code in (403, 403, 200):
            receiver.codes["/go"] = code
            called = await hooks.before(spec, status, "ns", "m", NOW)
            status = status.model_copy(
                update={"webhooks": merged(status.webhooks, called.results, spec)}
            )
            seen.append(called)
        return seen

    held, still, confirmed = _run(scenario)
    assert (held.gates.step_confirmed, still.gates.step_confirmed) == (False, False)
    assert "go said HTTP 403" in held.gates.message
    assert [e.reason for e in held.events] == ["WebhookFailed"]
    assert still.events == ()
    assert still.results == ()
    assert confirmed.gates.step_confirmed is True
    assert [e.reason for e in confirmed.events] == ["WebhookPassed"]


def test_no_answer_in_time_is_a_failure_with_its_latency() -> None:
    async def scenario(receiver: Receiver, url: str, hooks: Webhooks) -> Called:
        spec = _spec(
            url, {"name": "slow", "type": "preRollout", "url": "/hang", "timeoutSeconds": 1}
        )
        return await hooks.before(spec, STARTING, "ns", "m", NOW)

    called = _run(scenario)
    assert called.gates.pre_rollout is False
    (result,) = called.results
    assert result.code is None
    assert result.message == "no answer within 1s"
    assert result.latency_seconds >= 1.0


def test_post_rollout_and_rollback_webhooks_are_called_when_the_rollout_ends() -> None:
    async def scenario(receiver: Receiver, url: str, hooks: Webhooks) -> list[str]:
        spec = _spec(
            url,
            {"name": "post", "type": "postRollout", "url": "/post"},
            {"name": "undo", "type": "rollback", "url": "/undo"},
        )
        running = STARTING.model_copy(update={"current_step": 1})
        cancelled = running.model_copy(update={"phase": Phase.SUCCEEDED, "canary_revision": None})
        await hooks.after(spec, running, cancelled, "ns", "m", NOW)  # not a promotion
        promoted = cancelled.model_copy(update={"stable_revision": "r2"})
        await hooks.after(spec, running, promoted, "ns", "m", NOW)
        rolled = running.model_copy(update={"phase": Phase.ROLLED_BACK})
        await hooks.after(spec, running, rolled, "ns", "m", NOW)
        await hooks.after(spec, rolled, rolled, "ns", "m", NOW)  # already ended: nothing
        assert receiver.calls[0][1]["canaryRevision"] == "r2"
        return receiver.paths()

    paths = _run(scenario)
    assert paths[0] == "/post"
    assert sorted(paths[1:]) == ["/post", "/undo"]
