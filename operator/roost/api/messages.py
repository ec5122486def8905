"""Validation errors as lines that name the field, what was given and what to write.

One formatter for every place a spec is judged: ``roost validate`` and the other
commands, the operator's ``Ready=False``/``InvalidSpec`` condition on a
ModelDeployment, and the SLOPolicy's. pydantic says *what* is wrong ("Input should
be a valid string"); this module adds *where* (the field path in YAML's
camelCase), *what was given* ("the number 30") and *what to write*: the field's
:class:`~roost.api.base.Hint`, or words derived from its type and bounds, plus a
tip for the shapes Flagger and Argo Rollouts users type (``setWeight``,
``pause: {duration: 30s}``, ``stepWeight``, ``thresholdRange``).
"""

from __future__ import annotations

import difflib
import enum
import math
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from roost import durations
from roost.api.base import DURATION_HINT, Hint

Loc = tuple[int | str, ...]
# The raw YAML text of the scalar at a location, when the document came from YAML.
SourceText = Callable[[Loc], str | None]

_TYPE_ERRORS = frozenset(
    {
        "int_type",
        "int_parsing",
        "int_from_float",
        "float_type",
        "float_parsing",
        "string_type",
        "bool_type",
        "bool_parsing",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "list_type",
        "enum",
        "literal_error",
        "finite_number",
        "is_instance_of",
    }
)

# Keys other canary tools use, with what Roost calls them (matched anywhere in a spec).
FOREIGN_FIELDS: dict[str, tuple[str, str | None, str]] = {
    "setWeight": ("Argo Rollouts' setWeight", "weight", "write weight: 20"),
    "stepWeight": (
        "Flagger's stepWeight",
        None,
        "list each weight: rollout.steps: [{weight: 10}, {weight: 20}, {weight: 50}]",
    ),
    "stepWeights": (
        "Flagger's stepWeights",
        None,
        "list each weight: rollout.steps: [{weight: 10}, {weight: 20}, {weight: 50}]",
    ),
    "maxWeight": (
        "Flagger's maxWeight",
        None,
        "the last step's weight is the highest canary weight: rollout.steps: [..., {weight: 50}]",
    ),
    "thresholdRange": (
        "Flagger's thresholdRange",
        None,
        "an SLOPolicy objective takes a target such as 0.999, or quality: {min: ..., max: ...}",
    ),
    "interval": ("Flagger's interval", None, "write rollout.analysisInterval: 30s"),
    "iterations": (
        "Flagger's iterations",
        None,
        "list steps with a pause each: rollout.steps: [{weight: 50, pause: 10m}]",
    ),
    "threshold": (
        "Flagger's analysis threshold (failed checks before a rollback)",
        None,
        "Roost counts no failed checks: the SLOPolicy's canary.confidence sets how sure a "
        "rollback must be",
    ),
    "analysis": (
        "Flagger's and Argo Rollouts' analysis",
        None,
        "Roost's checks are the objectives of the SLOPolicy named in spec.sloPolicyRef",
    ),
    "canary": (
        "Argo Rollouts' strategy.canary",
        None,
        "write the steps under rollout: rollout.steps: [{weight: 5, pause: 2m}]",
    ),
    "strategy": (
        "Argo Rollouts' strategy",
        None,
        "write the steps under rollout: rollout.steps: [{weight: 5, pause: 2m}]",
    ),
    "canaryService": (
        "Argo Rollouts' canaryService",
        None,
        "Roost creates and names NAME-stable and NAME-canary itself",
    ),
    "stableService": (
        "Argo Rollouts' stableService",
        None,
        "Roost creates and names NAME-stable and NAME-canary itself",
    ),
    "trafficRouting": (
        "Argo Rollouts' trafficRouting",
        None,
        "write traffic: {provider: gatewayAPI, gatewayAPI: {httpRoute: NAME}}",
    ),
    "setCanaryScale": (
        "Argo Rollouts' setCanaryScale",
        None,
        "Roost sizes the canary from its weight (spec.autoscaling)",
    ),
    "successCondition": (
        "Argo Rollouts' successCondition",
        None,
        "an SLOPolicy objective takes a target such as 0.999",
    ),
    "failureCondition": (
        "Argo Rollouts' failureCondition",
        None,
        "an SLOPolicy objective takes a target such as 0.999",
    ),
    "progressDeadlineSeconds": (
        "progressDeadlineSeconds",
        None,
        "write rollout.progressDeadline: 2h (a duration)",
    ),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, located by its field path."""

    loc: Loc
    message: str

    @property
    def path(self) -> str:
        return format_loc(self.loc)

    def line(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def format_loc(loc: Sequence[int | str]) -> str:
    """``('spec', 'steps', 0, 'weight')`` as ``spec.steps[0].weight``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def problems(
    error: ValidationError,
    model: type[BaseModel],
    *,
    prefix: Loc = (),
    source: SourceText | None = None,
) -> list[Problem]:
    """Every error of ``error`` (raised validating ``model``) as a :class:`Problem`.

    ``prefix`` is prepended to every path (``spec`` when ``model`` is a spec);
    ``source`` gives the YAML text of a scalar (``1.10`` where pydantic saw 1.1).
    """
    details = error.errors()
    unknown = {
        (tuple(d["loc"][:-1]), FOREIGN_FIELDS[str(d["loc"][-1])][1])
        for d in details
        if d["type"] == "extra_forbidden" and str(d["loc"][-1]) in FOREIGN_FIELDS
    }
    found: list[Problem] = []
    for detail in details:
        loc = tuple(detail["loc"])
        if detail["type"] == "missing" and (loc[:-1], loc[-1] if loc else None) in unknown:
            continue  # reported as the foreign key the user wrote instead
        text = _message(detail, model, source)
        found.append(Problem(loc=prefix + loc, message=text))
    # Unknown fields first: a misspelt key also makes the real one look "required".
    found.sort(key=lambda p: 0 if p.message.startswith("unknown field") else 1)
    return found


def one_line(
    error: ValidationError, model: type[BaseModel], *, prefix: Loc = (), limit: int = 480
) -> str:
    """The first problem, and how many more there are, for a status condition."""
    found = problems(error, model, prefix=prefix)
    text = found[0].line() if found else str(error)
    if len(found) > 1:
        text += f" (and {len(found) - 1} more)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what a field expects ------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A field's bare type and the constraints and hints declared on it."""

    annotation: Any
    metadata: tuple[Any, ...]


def _unwrap(annotation: Any, metadata: tuple[Any, ...] = ()) -> _Field:
    """Strip ``X | None`` and ``Annotated[...]``, collecting the metadata on the way."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extra = typing.get_args(annotation)
            for item in extra:
                metadata += (*item.metadata, item) if isinstance(item, FieldInfo) else (item,)
            annotation = base
        elif origin in (typing.Union, types.UnionType):
            concrete = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(concrete) != 1:
                return _Field(annotation, metadata)
            annotation = concrete[0]
        else:
            return _Field(annotation, metadata)


def _model_field(model: type[BaseModel], key: int | str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def field_at(model: type[BaseModel], loc: Loc) -> _Field | None:
    """The declaration of the field at ``loc`` inside ``model``, or None."""
    current = _Field(model, ())
    for key in loc:
        bare = current.annotation
        if isinstance(bare, type) and issubclass(bare, BaseModel):
            info = _model_field(bare, key)
            if info is None:
                return None
            current = _unwrap(info.annotation, tuple(info.metadata))
        elif typing.get_origin(bare) is list and isinstance(key, int):
            current = _unwrap(typing.get_args(bare)[0])
        elif typing.get_origin(bare) is dict and isinstance(key, str):
            current = _unwrap(typing.get_args(bare)[1])
        else:
            return None
    return current


def _bounds(metadata: tuple[Any, ...]) -> str:
    """Numeric bounds in words: "from 1 to 100", "greater than 0 and less than 1"."""
    low: tuple[str, object] | None = None
    high: tuple[str, object] | None = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = ("at least", item.ge)
        elif isinstance(item, annotated_types.Gt):
            low = ("greater than", item.gt)
        elif isinstance(item, annotated_types.Le):
            high = ("at most", item.le)
        elif isinstance(item, annotated_types.Lt):
            high = ("less than", item.lt)
    if low and high and low[0] == "at least" and high[0] == "at most":
        return f"from {low[1]} to {high[1]}"
    return " and ".join(f"{words} {value}" for words, value in (b for b in (low, high) if b))


def expected(field: _Field | None) -> str:
    """What to write in a field, in words."""
    if field is None:
        return "a value of the right type"
    for item in field.metadata:
        if isinstance(item, Hint):
            return item.text
    bare = field.annotation
    if bare is bool:
        return "true or false"
    if bare in (int, float):
        noun = "a whole number" if bare is int else "a number"
        return f"{noun} {_bounds(field.metadata)}".strip()
    if bare is str:
        longest = [m.max_length for m in field.metadata if getattr(m, "max_length", None)]
        return f"a string of at most {longest[0]} characters" if longest else "a string"
    if isinstance(bare, type) and issubclass(bare, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in bare)
    if typing.get_origin(bare) is typing.Literal:
        return "one of " + ", ".join(str(v) for v in typing.get_args(bare))
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        keys = [info.alias or name for name, info in bare.model_fields.items()]
        return "a mapping with " + ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    if typing.get_origin(bare) is list:
        return f"a list of {_plural(expected(_unwrap(typing.get_args(bare)[0])))}"
    if typing.get_origin(bare) is dict:
        return "a mapping of names to " + _plural(expected(_unwrap(typing.get_args(bare)[1])))
    return "a value of the right type"


def _plural(text: str) -> str:
    for article in ("a ", "an "):
        if text.startswith(article):
            head, _, rest = text[len(article) :].partition(" ")
            return f"{head}s {rest}".strip()
    return text


# --- what was given ------------------------------------------------------------------


def describe(value: Any) -> str:
    """A value as a person reads it in a message: its YAML kind and its text."""
    if value is None:
        return "null (no value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {_number(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 80 else value[:77] + "..."
        return f"the string {shown!r}"
    if isinstance(value, dict):
        if not value:
            return "an empty mapping {}"
        keys = ", ".join(str(k) for k in list(value)[:4])
        return f"a mapping ({keys}{', ...' if len(value) > 4 else ''})"
    if isinstance(value, list):
        return "an empty list []" if not value else f"a list of {len(value)}"
    return type(value).__name__


def _number(value: float) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else f"{value:g}"
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- the message --------------------------------------------------------------------


def _message(detail: ErrorDetails, model: type[BaseModel], source: SourceText | None) -> str:
    kind = detail["type"]
    loc = tuple(detail["loc"])
    given = detail.get("input")
    if kind == "extra_forbidden":
        return _unknown(model, loc)
    field = field_at(model, loc)
    want = expected(field)
    if kind == "missing":
        return f"required: write {want}"
    if kind in _TYPE_ERRORS:
        tip = _tip(field, given, source(loc) if source else None)
        return f"got {describe(given)}; write {want}" + (f"; {tip}" if tip else "")
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, ")
    if kind == "assertion_error":
        return str(detail["msg"]).removeprefix("Assertion failed, ")
    said = str(detail["msg"]).removeprefix("Input ").removeprefix("String ").removeprefix("List ")
    said = said.split(" after validation")[0]
    if kind == "string_pattern_mismatch":
        said = "does not have the expected form"
    tip = _tip(field, given, source(loc) if source else None, constraint=kind)
    return f"got {describe(given)}, which {said}; write {want}" + (f"; {tip}" if tip else "")


def _unknown(model: type[BaseModel], loc: Loc) -> str:
    key = str(loc[-1]) if loc else ""
    if key in FOREIGN_FIELDS:
        theirs, ours, how = FOREIGN_FIELDS[key]
        name = f" is {ours} in Roost" if ours else " has no field of that name in Roost"
        return f"unknown field: {theirs}{name}; {how}"
    parent = field_at(model, loc[:-1])
    known: list[str] = []
    bare = parent.annotation if parent is not None else None
    if isinstance(bare, type) and issubclass(bare, BaseModel):
        known = [i.alias or n for n, i in bare.model_fields.items()]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown field; did you mean {close[0]}?"
    if known:
        return "unknown field; the fields here are " + ", ".join(known)
    return "unknown field"


def _tip(
    field: _Field | None, given: Any, text: str | None, constraint: str | None = None
) -> str | None:
    """A hint for the mistakes people make most in this kind of field."""
    if field is None:
        return None
    is_duration = any(item is DURATION_HINT for item in field.metadata)
    if is_duration:
        return _duration_tip(given)
    bare = field.annotation
    if bare is str and isinstance(given, bool):
        shown = text or ("true" if given else "false")
        return f"YAML reads {shown} as a boolean: quote it, '{shown}'"
    if bare is str and isinstance(given, int | float):
        shown = text or _number(given)
        return f"YAML reads {shown} as a number: quote it, '{shown}'"
    if bare in (int, float) and isinstance(given, str):
        try:
            number = float(given)
        except ValueError:
            return None
        if math.isfinite(number):
            return f"write {given.strip()} without quotes"
    if bare is int and isinstance(given, float) and not isinstance(given, bool):
        return "no decimals"
    if constraint == "less_than" and isinstance(given, int | float) and 1 < given <= 100:
        return f"a percentage? {_number(given)}% is {_number(given / 100)}"
    return None


def _duration_tip(given: Any) -> str | None:
    if isinstance(given, bool):
        return None
    if isinstance(given, int | float) and math.isfinite(given) and given > 0:
        seconds = round(float(given), 3)
        return (
            f"a duration needs a unit: {_number(given)} seconds is "
            f"{durations.format_seconds(seconds)}"
        )
    if isinstance(given, dict) and "duration" in given:
        inner = given["duration"]
        shown = inner if isinstance(inner, str) else "30s"
        return f"Argo Rollouts' pause: {{duration: {shown}}} is pause: {shown} in Roost"
    if isinstance(given, dict) and not given:
        return (
            "Argo Rollouts' pause: {} waits for a person; in Roost leave pause out and run "
            "`roost pause NAME` or `kubectl roost pause NAME`"
        )
    return None
