"""Status vocabulary shared by both kinds: conditions, phases, and the evidence of a decision."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from roost.api.base import RoostModel


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(RoostModel):
    """A standard Kubernetes condition (metav1.Condition)."""

    type: Annotated[str, Field(min_length=1, max_length=316)]
    status: ConditionStatus
    reason: Annotated[
        str, Field(pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", max_length=1024)
    ]
    message: Annotated[str, Field(max_length=32768)] = ""
    last_transition_time: datetime
    observed_generation: int | None = None


def new_condition(
    type_: str,
    holds: bool,
    reason: str,
    message: str,
    now: datetime,
    *,
    generation: int | None = None,
) -> Condition:
    """A condition of ``type_`` seen at ``now``: status True when it ``holds``, else False.

    The one place a Condition is made, so every kind writes the same shape;
    :func:`set_condition` keeps the earlier transition time when the status did not change.
    """
    return Condition(
        type=type_,
        status=ConditionStatus.TRUE if holds else ConditionStatus.FALSE,
        reason=reason,
        message=message,
        last_transition_time=now,
        observed_generation=generation,
    )


def set_condition(
    conditions: list[Condition] | tuple[Condition, ...], condition: Condition
) -> list[Condition]:
    """Conditions with ``condition`` set; the transition time moves only when the status changes."""
    result: list[Condition] = []
    replaced = False
    for existing in conditions:
        if existing.type != condition.type:
            result.append(existing)
            continue
        replaced = True
        if existing.status == condition.status:
            condition = condition.model_copy(
                update={"last_transition_time": existing.last_transition_time}
            )
        result.append(condition)
    if not replaced:
        result.append(condition)
    return result


def find_condition(conditions: list[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)
