"""Shared building blocks of Roost's API models.

Every model is frozen, forbids unknown fields, and speaks camelCase in YAML and
snake_case in Python. Constraints live in ``Annotated`` metadata so that the
same declaration validates in Python and becomes the CRD's OpenAPI schema;
cross-field rules are written twice on purpose, as a pydantic validator (for
``roost simulate`` and the CLI) and as a CEL rule (for the apiserver), and the
tests check that both reject the same documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from roost import durations

GROUP = "roost.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# Marks a model (via json_schema_extra) with CEL rules for the CRD; see api/crd.py.
CEL_KEY = "x-kubernetes-validations"


class RoostModel(BaseModel):
    """Base of every Roost API model: frozen, camelCase aliases, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )

    def to_api(self) -> dict[str, Any]:
        """The model as the JSON/YAML body the apiserver stores (camelCase, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class Hint:
    """What to write in a field, in words ("a duration such as 30s or 2m").

    Declared in a field's ``Annotated`` metadata (pydantic ignores it);
    :mod:`roost.api.messages` puts it in every error about the field.
    """

    text: str


DURATION_HINT = Hint("a duration such as 30s or 2m (units ms, s, m, h, d, w, y; at most 365d)")

# The longest duration a spec takes: nothing Roost does outlasts an SLO period of a year.
MAX_DURATION_SECONDS = 365 * 86400
# The Prometheus grammar with units largest first, each at most once, and at most six
# digits each, so the apiserver's CEL can add a duration up (see duration_millis_cel).
API_DURATION_PATTERN = (
    r"^([0-9]{1,6}y)?([0-9]{1,6}w)?([0-9]{1,6}d)?([0-9]{1,6}h)?"
    r"([0-9]{1,6}m)?([0-9]{1,6}s)?([0-9]{1,6}ms)?$"
)
_API_DURATION = re.compile(API_DURATION_PATTERN)


def _check_duration(value: str) -> str:
    if len(value) < 2 or not _API_DURATION.match(value):
        raise ValueError(
            f"{value!r} is not a duration: write digits and a unit, largest unit first and "
            "each unit once, such as 30s, 2m or 1h30m (units ms, s, m, h, d, w, y; at most "
            "6 digits each)"
        )
    seconds = durations.parse_seconds(value) if re.search("[1-9]", value) else 0.0
    if seconds <= 0:
        raise ValueError(f"{value!r} is zero: write a duration longer than zero, such as 30s")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(
            f"{value!r} is longer than 365d: write a duration of at most 365d, such as 30d"
        )
    return value


# (unit, regular expression finding its number, milliseconds). Minutes are the number
# before an "m" not followed by "s"; the other units cannot be confused.
_CEL_UNITS = (
    ("y", "[0-9]+y", 365 * 86_400_000),
    ("w", "[0-9]+w", 7 * 86_400_000),
    ("d", "[0-9]+d", 86_400_000),
    ("h", "[0-9]+h", 3_600_000),
    ("m", "[0-9]+m([0-9]|$)", 60_000),
    ("s", "[0-9]+s", 1000),
    ("ms", "[0-9]+ms", 1),
)


def duration_millis_cel(value: str) -> str:
    """A CEL expression giving the milliseconds in the API duration ``value``.

    CEL's ``duration()`` knows no days, weeks or years, so each unit's number is
    found with the Kubernetes regex library and multiplied out; six digits per unit
    keep the sum within int64.
    """
    terms = [
        f"({value}.matches('{regex}') ? int({value}.find('{regex}').split('{unit}')[0]) "
        f"* {millis} : 0)"
        for unit, regex, millis in _CEL_UNITS
    ]
    return " + ".join(terms)


def matches(pattern: str, what: str) -> AfterValidator:
    """A validator checking ``pattern`` whose error says what was expected, not the regex."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"got the string {value!r}; write {what}")
        return value

    return AfterValidator(check)


def pattern_schema(pattern: str, *, max_length: int, min_length: int = 1) -> WithJsonSchema:
    """The CRD schema of a patterned string: the apiserver checks the same pattern."""
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "minLength": min_length, "maxLength": max_length}
    )


# A duration such as 30s, 5m, 1h30m or 28d (Prometheus grammar), longer than zero and at
# most 365d; the apiserver checks the same with the pattern and two CEL rules.
Duration = Annotated[
    str,
    DURATION_HINT,
    StringConstraints(max_length=32),
    AfterValidator(_check_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": API_DURATION_PATTERN,
            "minLength": 2,
            "maxLength": 32,
            CEL_KEY: [
                {
                    "rule": "self.matches('[1-9]')",
                    "message": "must be a duration longer than zero, such as 30s or 2m",
                },
                {
                    "rule": f"{duration_millis_cel('self')} <= {MAX_DURATION_SECONDS * 1000}",
                    "message": "must be a duration of at most 365d",
                },
            ],
        }
    ),
]

# Alerting windows are single-unit so CEL can compare them at admission
# (CEL's duration() does not understand days).
WINDOW_PATTERN = r"^[1-9][0-9]{0,4}(s|m|h|d)$"
Window = Annotated[
    str,
    Hint("a window such as 5m or 1h: digits and one unit of s, m, h or d"),
    StringConstraints(min_length=1, max_length=8),
    matches(
        WINDOW_PATTERN,
        "a window such as 5m or 1h: digits and one unit of s, m, h or d, longer than zero",
    ),
    pattern_schema(WINDOW_PATTERN, max_length=8),
]


def window_seconds_cel(field: str) -> str:
    """A CEL expression giving the seconds in a single-unit window field ``self.<field>``."""
    value = f"self.{field}"
    number = f"int({value}.substring(0, size({value}) - 1))"
    unit = (
        f"({value}.endsWith('d') ? 86400 : {value}.endsWith('h') ? 3600 : "
        f"{value}.endsWith('m') ? 60 : 1)"
    )
    return f"{number} * {unit}"


def seconds(value: str) -> timedelta:
    """A validated duration field as a timedelta."""
    return durations.parse(value)


# Kubernetes object names (DNS-1123 label, as for Services and Deployments we derive).
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
NAME_HINT = Hint(
    "a name such as fraud-scorer: lowercase letters, digits and '-', starting and ending "
    "with a letter or digit, at most 63 characters"
)
ObjectName = Annotated[
    str,
    NAME_HINT,
    StringConstraints(pattern=DNS_LABEL_PATTERN, min_length=1, max_length=63),
]

# A ModelDeployment's own name: the Services <name>, <name>-stable and <name>-canary
# are DNS-1035 labels (a letter first), and the Deployment <name>-<10-character
# revision> must fit in 63 characters, so that no two derived names collide.
MODEL_DEPLOYMENT_NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
MODEL_DEPLOYMENT_NAME_MAX = 52
# An SLOPolicy's name is referenced by sloPolicyRef.name, a DNS-1123 label.
SLO_POLICY_NAME_MAX = 63

# A Kubernetes label value; model versions end up as label values on pods and series.
LABEL_VALUE_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
LabelValue = Annotated[
    str,
    Hint(
        "a label value such as v2.1.0: letters, digits, '-', '_' and '.', starting and ending "
        "with a letter or digit, at most 63 characters"
    ),
    StringConstraints(min_length=1, max_length=63),
    matches(
        LABEL_VALUE_PATTERN,
        "a label value such as v2.1.0: letters, digits, '-', '_' and '.', starting and "
        "ending with a letter or digit",
    ),
    pattern_schema(LABEL_VALUE_PATTERN, max_length=63),
]

# A Prometheus label name a user may set: not reserved (``__`` prefix) and not ``le``,
# which Roost's bucket queries use.
PROM_LABEL_PATTERN = r"^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9_]*$"
RESERVED_LABELS = ("le",)
PromLabelName = Annotated[
    str,
    Hint("a Prometheus label name such as version (not le, not starting with __)"),
    StringConstraints(min_length=1, max_length=128),
    matches(
        PROM_LABEL_PATTERN,
        "a Prometheus label name such as version (names starting with __ are reserved)",
    ),
    pattern_schema(PROM_LABEL_PATTERN, max_length=128),
]


def cel_rules(*rules: JsonDict) -> ConfigDict:
    """Model config carrying CEL rules (``x-kubernetes-validations``) for the CRD schema.

    pydantic merges it with :class:`RoostModel`'s config, so subclasses keep camelCase,
    frozen and extra="forbid".
    """
    return ConfigDict(json_schema_extra={CEL_KEY: list(rules)})
