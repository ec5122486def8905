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


def _check_duration(value: str) -> str:
    durations.parse_seconds(value)  # DurationError is a ValueError with a readable message
    return value


def matches(pattern: str, what: str) -> AfterValidator:
    """A validator checking ``pattern`` whose error says what was expected, not the regex."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def pattern_schema(pattern: str, *, max_length: int, min_length: int = 1) -> WithJsonSchema:
    """The CRD schema of a patterned string: the apiserver checks the same pattern."""
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "minLength": min_length, "maxLength": max_length}
    )


# A duration such as 30s, 5m, 1h30m or 28d (Prometheus grammar).
Duration = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_check_duration),
    WithJsonSchema({"type": "string", "pattern": durations.DURATION_PATTERN, "maxLength": 32}),
]

# Alerting windows are single-unit so CEL can compare them at admission
# (CEL's duration() does not understand days).
WINDOW_PATTERN = r"^[0-9]{1,5}(s|m|h|d)$"
Window = Annotated[
    str,
    StringConstraints(min_length=1, max_length=8),
    matches(WINDOW_PATTERN, "a window: digits and one unit of s, m, h or d, e.g. 1h"),
    AfterValidator(_check_duration),
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


# Kubernetes object names (DNS-1123 subdomain, as for Services and Deployments we derive).
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
ObjectName = Annotated[
    str, StringConstraints(pattern=DNS_LABEL_PATTERN, min_length=1, max_length=63)
]

# A Kubernetes label value; model versions end up as label values on pods and series.
LABEL_VALUE_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
LabelValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63),
    matches(
        LABEL_VALUE_PATTERN,
        "a label value: letters, digits, '-', '_' and '.', starting and ending "
        "with a letter or digit",
    ),
    pattern_schema(LABEL_VALUE_PATTERN, max_length=63),
]

# A Prometheus label name.
PROM_LABEL_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
PromLabelName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    matches(
        PROM_LABEL_PATTERN,
        "a Prometheus label name such as version",
    ),
    pattern_schema(PROM_LABEL_PATTERN, max_length=128),
]


def cel_rules(*rules: JsonDict) -> ConfigDict:
    """Model config carrying CEL rules (``x-kubernetes-validations``) for the CRD schema.

    pydantic merges it with :class:`RoostModel`'s config, so subclasses keep camelCase,
    frozen and extra="forbid".
    """
    return ConfigDict(json_schema_extra={CEL_KEY: list(rules)})
