"""The SLOPolicy API: what "good" means for a model server, and how strictly to gate a canary."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, model_validator

from roost import durations
from roost.api.base import (
    Duration,
    ObjectName,
    RoostModel,
    Window,
    cel_rules,
    window_seconds_cel,
)
from roost.api.status import Condition
from roost.slo import selectors


def _check_selector(value: str) -> str:
    selectors.parse(value)  # SelectorError is a ValueError that says what is expected
    return value


SeriesSelector = Annotated[
    str,
    StringConstraints(min_length=1, max_length=512),
    AfterValidator(_check_selector),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": selectors.SELECTOR_PATTERN,
            "minLength": 1,
            "maxLength": 512,
        }
    ),
]

# Exclusive bounds: 0 leaves no budget meaning, 1 leaves no budget at all.
Target = Annotated[float, Field(gt=0, lt=1)]


class RatioSLI(RoostModel):
    """Availability: the share of requests that are not errors."""

    errors: SeriesSelector = Field(description="Counter of failed requests.")
    total: SeriesSelector = Field(description="Counter of all requests.")


class LatencySLI(RoostModel):
    """Latency: the share of requests answered within ``threshold``, from a classic histogram."""

    histogram: SeriesSelector = Field(
        description="Histogram base name (without _bucket/_count), e.g. "
        "model_request_duration_seconds."
    )
    threshold: Duration = Field(
        description="Latency bound; must equal one of the histogram's bucket boundaries (le)."
    )

    @property
    def threshold_seconds(self) -> float:
        return durations.parse_seconds(self.threshold)


class QualitySLI(RoostModel):
    """Model quality: the share of samples of a gauge that lie within [min, max]."""

    metric: SeriesSelector = Field(
        description="Gauge the model server exports, e.g. online accuracy or a PSI statistic."
    )
    min: float | None = Field(default=None, description="Lowest good value (inclusive).")
    max: float | None = Field(default=None, description="Highest good value (inclusive).")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("quality needs at least one of min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"quality.min ({self.min}) must not exceed quality.max ({self.max})")
        return self


class Objective(RoostModel):
    """One SLO: a target and exactly one SLI."""

    model_config = cel_rules(
        {
            "rule": "[has(self.ratio), has(self.latency), has(self.quality)]"
            ".filter(x, x).size() == 1",
            "message": "an objective needs exactly one SLI: ratio, latency or quality",
        },
    )

    name: ObjectName
    target: Target = Field(description="Objective as a ratio in (0, 1), e.g. 0.999.")
    ratio: RatioSLI | None = None
    latency: LatencySLI | None = None
    quality: QualitySLI | None = None

    @model_validator(mode="after")
    def _one_sli(self) -> Self:
        given = [k for k in ("ratio", "latency", "quality") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"objective {self.name!r} needs exactly one SLI (ratio, latency or quality); "
                f"got {len(given)}"
            )
        return self

    @property
    def error_budget(self) -> float:
        """The allowed bad ratio, 1 − target (the error budget as a share of events)."""
        return 1.0 - self.target

    @property
    def kind(self) -> Literal["ratio", "latency", "quality"]:
        if self.ratio is not None:
            return "ratio"
        if self.latency is not None:
            return "latency"
        return "quality"


class BurnAction(StrEnum):
    ROLLBACK = "rollback"
    PAUSE = "pause"


class Severity(StrEnum):
    PAGE = "page"
    TICKET = "ticket"


class BurnRateRule(RoostModel):
    """A multiwindow burn-rate rule (SRE Workbook ch. 5): both windows burn above ``burnRate``."""

    model_config = cel_rules(
        {
            "rule": f"{window_seconds_cel('shortWindow')} < {window_seconds_cel('longWindow')}",
            "message": "shortWindow must be shorter than longWindow",
            "fieldPath": ".shortWindow",
        }
    )

    long_window: Window
    short_window: Window
    burn_rate: Annotated[float, Field(gt=0, le=10000)]
    action: BurnAction = BurnAction.ROLLBACK
    severity: Severity = Severity.PAGE

    @model_validator(mode="after")
    def _windows(self) -> Self:
        if durations.parse_seconds(self.short_window) >= durations.parse_seconds(self.long_window):
            raise ValueError(
                f"shortWindow ({self.short_window}) must be shorter than "
                f"longWindow ({self.long_window})"
            )
        return self


class CanaryGate(RoostModel):
    """How the canary is judged at every analysis tick (see docs/decisions.md)."""

    max_burn_rate: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=2.0,
        description="Fail when the canary provably burns its budget faster than this; "
        "pass a step once it provably burns slower.",
    )
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        default=0.99,
        description="1 − the false-rollback probability of a healthy canary over the whole "
        "rollout, however often it is checked.",
    )
    max_relative_rate: Annotated[float, Field(gt=1, le=100)] = Field(
        default=1.5,
        description="Promotion needs proof that the canary's bad rate is below this multiple "
        "of the stable's (or that it is within its own SLO).",
    )
    min_requests: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        default=100, description="Never pass a step on fewer canary requests than this."
    )


class RolloutGuard(RoostModel):
    min_budget_remaining: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None,
        description="Do not start a rollout while the stable version has less than this share "
        "of its error budget left over the period.",
    )


class SLOPolicySpec(RoostModel):
    model_config = cel_rules(
        {
            "rule": "self.objectives.all(o, self.objectives.exists_one(p, p.name == o.name))",
            "message": "objective names must be unique",
            "fieldPath": ".objectives",
        }
    )

    period: Duration = Field(default="30d", description="SLO period, e.g. 28d or 30d.")
    objectives: Annotated[list[Objective], Field(min_length=1, max_length=16)]
    burn_rate_rules: Annotated[list[BurnRateRule], Field(max_length=8)] | None = Field(
        default=None,
        description="Multiwindow burn-rate rules; default: the SRE Workbook ladder "
        "(14.4/6/3/1 for 30d) scaled to the period.",
    )
    canary: CanaryGate = Field(default_factory=CanaryGate)
    rollout_guard: RolloutGuard = Field(default_factory=RolloutGuard)

    @model_validator(mode="after")
    def _semantics(self) -> Self:
        names = [o.name for o in self.objectives]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"objective names must be unique; repeated: {', '.join(duplicates)}")
        period = durations.parse_seconds(self.period)
        for index, rule in enumerate(self.burn_rate_rules or ()):
            if durations.parse_seconds(rule.long_window) > period:
                raise ValueError(
                    f"burnRateRules[{index}].longWindow ({rule.long_window}) is longer than "
                    f"the period ({self.period})"
                )
        return self

    @property
    def period_seconds(self) -> float:
        return durations.parse_seconds(self.period)


class SLOPolicyStatus(RoostModel):
    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    warnings: Annotated[list[str], Field(max_length=32)] = Field(
        default_factory=list,
        description="Findings that are legal but probably not what was meant, e.g. a burn-rate "
        "rule that can never fire at this target.",
    )


class SLOPolicy(RoostModel):
    """The whole SLOPolicy object as stored by the apiserver."""

    api_version: Literal["roost.dev/v1alpha1"] = "roost.dev/v1alpha1"
    kind: Literal["SLOPolicy"] = "SLOPolicy"
    metadata: dict[str, object] = Field(default_factory=dict)
    spec: SLOPolicySpec
    status: SLOPolicyStatus | None = None
