"""What a notification says: the rollout's moment, in the Event's own words, as the
body Slack, Microsoft Teams or a plain JSON receiver takes (pure; sent by
roost.adapters.notifier)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roost.api.modeldeployment import Notice, NotificationType
from roost.rollout.actions import EmitEvent

HEADLINES = {
    Notice.STARTED: "rollout started",
    Notice.STEP_ADVANCED: "step advanced",
    Notice.PAUSED: "rollout paused",
    Notice.PROMOTED: "promoted",
    Notice.ROLLED_BACK: "rolled back",
    Notice.DRIFT: "prediction drift",
}


@dataclass(frozen=True)
class Subject:
    """The ModelDeployment a notice is about, as its status stood after the decision."""

    namespace: str
    name: str
    phase: str | None
    stable_version: str | None
    canary_version: str | None
    weight: int
    mirror: int


@dataclass(frozen=True)
class Notification:
    """One notice, ready to render for any receiver."""

    notice: Notice
    subject: Subject
    event: EmitEvent
    at: datetime
    dropped: int = 0  # notices the rate limit dropped before this one, for this receiver

    @property
    def title(self) -> str:
        s = self.subject
        return f"{s.namespace}/{s.name}: {HEADLINES[self.notice]}"

    @property
    def text(self) -> str:
        note = (
            f" ({self.dropped} earlier notice{'s' * (self.dropped != 1)} dropped by the rate limit)"
            if self.dropped
            else ""
        )
        return f"{self.event.reason}: {self.event.message}{note}"

    def facts(self) -> dict[str, str]:
        s = self.subject
        traffic = f"{s.mirror}% mirrored" if s.mirror else f"{s.weight}%"
        return {
            "Phase": s.phase or "-",
            "Stable": s.stable_version or "-",
            "Canary": s.canary_version or "-",
            "Canary traffic": traffic,
        }

    def body(self, kind: NotificationType) -> dict[str, Any]:
        """The JSON body ``kind``'s receiver takes."""
        if kind is NotificationType.SLACK:
            facts = ", ".join(f"{k}: {v}" for k, v in self.facts().items())
            return {"text": f"*{self.title}*\n{self.text}\n{facts}"}
        if kind is NotificationType.TEAMS:
            # An Adaptive Card in a message, as a Teams workflow's webhook takes it.
            card = {
                "type": "AdaptiveCard",
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": self.title, "weight": "Bolder", "wrap": True},
                    {"type": "TextBlock", "text": self.text, "wrap": True},
                    {
                        "type": "FactSet",
                        "facts": [{"title": k, "value": v} for k, v in self.facts().items()],
                    },
                ],
            }
            return {
                "type": "message",
                "attachments": [
                    {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
                ],
            }
        s = self.subject
        return {
            "notice": self.notice.value,
            "namespace": s.namespace,
            "name": s.name,
            "reason": self.event.reason,
            "message": self.event.message,
            "eventType": self.event.type.value,
            "phase": s.phase,
            "stableVersion": s.stable_version,
            "canaryVersion": s.canary_version,
            "canaryWeight": s.weight,
            "mirror": s.mirror,
            "at": self.at.isoformat(),
            "dropped": self.dropped,
        }
