"""What the rollout state machine asks the world to do, as data.

The operator's handlers apply these in order through the adapters;
``roost simulate`` applies them to a simulated world. Every action is
idempotent when applied again (a retried tick repeats its actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from roost.api.modeldeployment import HeaderMatch, Notice


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class DeployStable:
    """Create (or keep) the stable Deployment of a revision; used for the first version."""

    revision: str
    version: str


@dataclass(frozen=True)
class DeployCanary:
    """Create or scale the canary Deployment for ``weight`` percent of requests (its
    weight, or in a shadow step the mirrored share: what it will answer).

    Capacity before traffic: this precedes the :class:`SetWeight` that sends
    that share, which waits until the canary reports ready.
    """

    revision: str
    version: str
    weight: int


@dataclass(frozen=True)
class SetWeight:
    """Route ``canary`` percent to the canary and the rest to stable; copy ``mirror``
    percent of the requests to the canary, its answers discarded (a shadow step); send
    the requests with the headers ``match`` to the canary (a header-matched step)."""

    canary: int
    mirror: int = 0
    match: tuple[HeaderMatch, ...] = ()

    @property
    def stable(self) -> int:
        return 100 - self.canary


@dataclass(frozen=True)
class PromoteCanary:
    """The canary's pods become stable: the stable Service and labels move to its revision.

    No pod restarts: the Deployment keeps its pods, only selectors and labels change.
    """

    revision: str
    version: str


@dataclass(frozen=True)
class RemoveCanary:
    revision: str


@dataclass(frozen=True)
class RetireStable:
    """Scale down the old stable Deployment after a promotion."""

    revision: str


@dataclass(frozen=True)
class Reconfigure:
    """Apply a change of the spec's serving settings to the stable revision's objects.

    Its Services (port; target port), its HPA (autoscaling; deleted when autoscaling
    was removed) or, without autoscaling, its replicas. The pod template is never
    touched. ``stable_spec`` says whether the spec describes the stable's pods; when
    not (it names a new version), the Services keep the target port they have: the
    stable's pods listen there. ``canary`` is the revision NAME-canary selects while a
    canary runs (None: the stable).
    """

    revision: str
    canary: str | None = None
    stable_spec: bool = True


@dataclass(frozen=True)
class EmitEvent:
    """A Kubernetes Event on the ModelDeployment; with ``notice``, also a notification to
    the spec's receivers that ask for that moment (``spec.notifications``)."""

    type: EventType
    reason: str
    message: str
    notice: Notice | None = None


Action = (
    DeployStable
    | DeployCanary
    | SetWeight
    | PromoteCanary
    | RemoveCanary
    | RetireStable
    | Reconfigure
    | EmitEvent
)
