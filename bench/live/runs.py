"""What one live run is, and how its outcome is read from an arm's status (no I/O).

A run is one rollout of v1 -> v2 under one arm (Flagger or Roost), one case and
one request rate, in its own namespace with its own pair of simulated versions.
It is decided when the arm's status first shows a decision:

- Flagger: phase ``Promoting`` (the last check passed at maxWeight; the canary's
  spec is being copied to the primary), ``Finalising`` or ``Succeeded`` is a
  promotion; ``Failed`` a rollback. Promotion completes at ``Succeeded``, a
  further interval or two, and is recorded apart.
- Roost: ``stableVersion`` equal to the new version is a promotion (Roost flips
  the stable when it promotes, with no copy of the pod spec); phase ``RolledBack``
  a rollback; ``Paused`` a hold for a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bench.canary import cases

ARMS = ("flagger", "roost")
# Short names for the command line -> the B1 scenario (bench/canary/cases.py).
CASES: dict[str, str] = {
    "healthy": "healthy",
    "errors-2": "errors 2 %",
    "errors-0.5": "errors 0.5 %",
    "latency": "latency p99 200→400 ms",
}
OLD, NEW = "v1", "v2"

PROMOTED, ROLLED_BACK, HELD, UNDECIDED = "promoted", "rolled_back", "held", "undecided"
FLAGGER_PROMOTING = frozenset({"Promoting", "Finalising", "Succeeded"})


@dataclass(frozen=True)
class RunSpec:
    arm: str
    case: str  # a key of CASES
    rps: float
    run: int  # 0, 1, ...: the run's index within (arm, case, rps)

    @property
    def scenario(self) -> cases.Case:
        return cases.case(CASES[self.case], self.rps)

    @property
    def namespace(self) -> str:
        """Unique per run; also the simulators' ``model`` label, so no series is shared."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.case.lower()).strip("-")
        rate = f"{self.rps:g}".replace(".", "p")
        return f"live-{self.arm}-{slug}-{rate}rps-{self.run}"

    @property
    def seed(self) -> int:
        """The load generator's seed: the same for both arms of one (case, rate, run)."""
        return 1000 * self.run + int(self.rps) + 7 * list(CASES).index(self.case)


def plan(
    arms: tuple[str, ...], case_keys: tuple[str, ...], rates: dict[float, int]
) -> list[RunSpec]:
    """Every run: each arm x case x rate, ``rates[rps]`` runs each."""
    return [
        RunSpec(arm, case, rps, run)
        for rps, runs in rates.items()
        for case in case_keys
        for run in range(runs)
        for arm in arms
    ]


def flagger_decision(status: dict[str, Any] | None) -> str | None:
    """The outcome a Canary's status shows, if any."""
    phase = (status or {}).get("phase")
    if phase in FLAGGER_PROMOTING:
        return PROMOTED
    if phase == "Failed":
        return ROLLED_BACK
    return None


def flagger_complete(status: dict[str, Any] | None) -> bool:
    """Promotion finished (the primary runs the new spec and takes all traffic) or failed."""
    return (status or {}).get("phase") in ("Succeeded", "Failed")


def roost_decision(status: dict[str, Any] | None, new_version: str = NEW) -> str | None:
    """The outcome a ModelDeployment's status shows for ``new_version``, if any."""
    status = status or {}
    if status.get("stableVersion") == new_version:
        return PROMOTED
    if status.get("canaryVersion") not in (None, new_version):
        return None
    phase = status.get("phase")
    if phase == "RolledBack":
        return ROLLED_BACK
    if phase == "Paused":
        return HELD
    return None


def roost_reason(status: dict[str, Any] | None) -> str:
    """The Progressing condition's reason (why it promoted, rolled back or waits)."""
    for condition in (status or {}).get("conditions") or []:
        if condition.get("type") == "Progressing":
            return str(condition.get("reason", ""))
    return ""


def flagger_weight(status: dict[str, Any] | None) -> int:
    return int((status or {}).get("canaryWeight") or 0)


def roost_weight(status: dict[str, Any] | None) -> int:
    weight = (status or {}).get("canaryWeight") or {}
    return int(weight.get("applied") or 0)
