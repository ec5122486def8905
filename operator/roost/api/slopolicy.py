"""The SLOPolicy API: what "good" means for a model server, and how strictly to gate a canary."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, model_validator

from roost import durations, selectors
from roost.api.base import (
    Duration,
    Hint,
    ObjectName,
    RoostModel,
    Window,
    cel_rules,
    duration_millis_cel,
    window_seconds_cel,
)
from roost.api.status import Condition


def _check_selector(value: str) -> str:
    selectors.parse(value)  # SelectorError is a ValueError that says what is expected
    return value


SeriesSelector = Annotated[
    str,
    Hint('a series selector such as model_predictions_total{status="error"}'),
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
Target = Annotated[float, Hint("a ratio between 0 and 1 such as 0.999 (99.9 %)"), Field(gt=0, lt=1)]

# A histogram named with its series suffix: Roost appends _bucket itself.
_BUCKET_SUFFIX = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*_bucket(\{|$)")
BUCKET_SUFFIX_CEL = "!self.histogram.matches('^[a-zA-Z_:][a-zA-Z0-9_:]*_bucket([{]|$)')"


def _check_histogram_name(owner: str, histogram: str) -> None:
    if _BUCKET_SUFFIX.match(histogram):
        base = histogram.split("{", 1)[0].removesuffix("_bucket")
        raise ValueError(
            f"{owner}.histogram {histogram.split('{', 1)[0]} ends in _bucket: write the "
            f"histogram's base name, {base} (Roost reads {base}_bucket and {base}_count)"
        )


class RatioSLI(RoostModel):
    """Availability: the share of requests that are not errors."""

    model_config = cel_rules(
        {
            "rule": "self.errors.replace(' ', '') != self.total.replace(' ', '')",
            "message": "errors and total are the same selector: errors must select only the "
            'failed requests, e.g. model_predictions_total{status="error"}',
            "fieldPath": ".errors",
        },
    )

    errors: SeriesSelector = Field(description="Counter of failed requests.")
    total: SeriesSelector = Field(description="Counter of all requests.")

    @model_validator(mode="after")
    def _different(self) -> Self:
        if self.errors.replace(" ", "") == self.total.replace(" ", ""):
            raise ValueError(
                f"ratio.errors and ratio.total are the same selector ({self.total}): errors "
                'must select only the failed requests, e.g. model_predictions_total{status="error"}'
            )
        return self


class LatencySLI(RoostModel):
    """Latency: the share of requests answered within ``threshold``, from a classic histogram."""

    model_config = cel_rules(
        {
            "rule": BUCKET_SUFFIX_CEL,
            "message": "histogram is the base name without _bucket, e.g. "
            "model_request_duration_seconds",
            "fieldPath": ".histogram",
        },
    )

    histogram: SeriesSelector = Field(
        description="Histogram base name (without _bucket/_count), e.g. "
        "model_request_duration_seconds."
    )
    threshold: Duration = Field(
        description="Latency bound; must equal one of the histogram's bucket boundaries (le)."
    )

    @model_validator(mode="after")
    def _base_name(self) -> Self:
        _check_histogram_name("latency", self.histogram)
        return self

    @property
    def threshold_seconds(self) -> float:
        return durations.parse_seconds(self.threshold)


class QualitySLI(RoostModel):
    """Model quality: the share of samples of a gauge that lie within [min, max]."""

    model_config = cel_rules(
        {
            "rule": "has(self.min) || has(self.max)",
            "message": "quality needs at least one of min or max",
        },
        {
            "rule": "!has(self.min) || !has(self.max) || self.min <= self.max",
            "message": "quality.min must not exceed quality.max",
            "fieldPath": ".min",
        },
    )

    metric: SeriesSelector = Field(
        description="Gauge the model server exports, e.g. online accuracy or a PSI statistic."
    )
    min: float | None = Field(default=None, description="Lowest good value (inclusive).")
    max: float | None = Field(default=None, description="Highest good value (inclusive).")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError(
                "quality needs at least one of min or max: write e.g. min: 0.9 (the lowest "
                "good value)"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"quality.min ({self.min:g}) must not exceed quality.max ({self.max:g}): write "
                "min as the lowest good value and max as the highest"
            )
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
                f"got {len(given)}{' (' + ', '.join(given) + ')' if given else ''}: write one of "
                "ratio: {errors, total}, latency: {histogram, threshold} or quality: {metric, min}"
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
                f"longWindow ({self.long_window}): the workbook uses a twelfth, e.g. "
                "longWindow: 1h, shortWindow: 5m"
            )
        return self


class PromotionEvidence(StrEnum):
    """Which canary requests the promotion test counts."""

    ALL_STEPS = "allSteps"
    LAST_STEP = "lastStep"


class CanaryGate(RoostModel):
    """How the canary is judged at every analysis tick (see docs/decisions.md)."""

    max_burn_rate: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=2.0,
        description="Roll back when the canary provably burns its error budget faster than "
        "this (per objective).",
    )
    promotion_burn_rate: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=5.0,
        description="Promote only once the canary provably burns its error budget slower "
        "than this, per objective: a canary that burns at least this fast is promoted with "
        "probability at most 1 - confidence, however often it is checked.",
    )
    promotion_evidence: PromotionEvidence = Field(
        default=PromotionEvidence.ALL_STEPS,
        description="allSteps: the promotion test counts the canary's requests since it "
        "started. lastStep: only those at the last step's weight, so a regression that shows "
        "only under more load is not promoted on low-weight evidence (slower).",
    )
    promotion_requires_comparison: bool = Field(
        default=False,
        description="Also require proof that the canary is no worse than the stable "
        "(within maxRelativeRate of it, or within its own SLO) before promoting. The "
        "comparison always rolls back a canary provably worse than the stable.",
    )
    step_evidence: Annotated[float, Field(ge=1, le=1_000_000)] = Field(
        default=3.0,
        description="A step advances after its pause once the promotion test's e-value "
        "reaches this (a weak pass: it promotes nothing and spends no false-promotion "
        "budget). 1 advances on the pause alone while no evidence speaks against the canary.",
    )
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = Field(
        default=0.99,
        description="1 − the false-rollback probability of a healthy canary over the whole "
        "rollout, however often it is checked.",
    )
    max_relative_rate: Annotated[float, Field(gt=1, le=100)] = Field(
        default=1.5,
        description="With promotionRequiresComparison, promotion needs proof that the "
        "canary's bad rate is below this multiple of the stable's (or that it is within its "
        "own SLO).",
    )
    min_requests: Annotated[int, Field(ge=0, le=10_000_000)] = Field(
        default=100,
        description="Never advance a step or promote on fewer canary requests than this.",
    )


class DriftStatistic(StrEnum):
    PSI = "psi"
    KS = "ks"
    CHI2 = "chi2"


class DriftAction(StrEnum):
    ROLLBACK = "rollback"
    PAUSE = "pause"
    ALERT = "alert"


class CompareTo(StrEnum):
    STABLE = "stable"
    REFERENCE = "reference"


# (warn, fail) defaults per statistic and the highest threshold accepted (docs/decisions.md).
# PSI: the conventional credit-scoring bands (Siddiqi 2006; Yurdakul 2018): < 0.1 stable,
# 0.1-0.25 moderate shift, > 0.25 significant shift. chi2 is judged as Cohen's w =
# sqrt(chi2 / N) with Cohen's (1988) small/medium bands 0.1/0.3. KS distance has no
# conventional band; 0.05/0.1 is Roost's choice.
DRIFT_DEFAULTS: dict[DriftStatistic, tuple[float, float]] = {
    DriftStatistic.PSI: (0.1, 0.25),
    DriftStatistic.KS: (0.05, 0.1),
    DriftStatistic.CHI2: (0.1, 0.3),
}
DRIFT_MAX_THRESHOLD: dict[DriftStatistic, float] = {
    DriftStatistic.PSI: 10.0,
    DriftStatistic.KS: 1.0,
    DriftStatistic.CHI2: 1.0,
}


DEFAULT_MEAN_WINDOWS_TO_FALSE_ALARM = 10_000
"""compareTo reference: the e-detector's threshold A (docs/decisions.md)."""


class DistributionCheck(RoostModel):
    """A prediction-distribution check on a classic histogram of the model's output.

    compareTo stable gates a rollout (canary vs stable); compareTo reference watches the
    stable version after promotion against a snapshot of its own first windows.
    """

    model_config = cel_rules(
        {
            "rule": "!has(self.threshold) || self.statistic == 'psi' || self.threshold <= 1.0",
            "message": "threshold for ks (distance) or chi2 (Cohen's w) must lie in (0, 1]",
            "fieldPath": ".threshold",
        },
        {
            "rule": "!has(self.warnThreshold) || !has(self.threshold) "
            "|| self.warnThreshold <= self.threshold",
            "message": "warnThreshold must not exceed threshold",
            "fieldPath": ".warnThreshold",
        },
        {
            "rule": "!has(self.action) || self.action != 'rollback' "
            "|| !has(self.compareTo) || self.compareTo == 'stable'",
            "message": "action rollback needs compareTo stable: after promotion there is no "
            "previous version to roll back to; use alert or pause",
            "fieldPath": ".action",
        },
        {
            "rule": "!has(self.meanWindowsToFalseAlarm) "
            "|| (has(self.compareTo) && self.compareTo == 'reference')",
            "message": "meanWindowsToFalseAlarm applies to compareTo reference only",
            "fieldPath": ".meanWindowsToFalseAlarm",
        },
        {
            "rule": BUCKET_SUFFIX_CEL,
            "message": "histogram is the base name without _bucket, e.g. model_prediction_score",
            "fieldPath": ".histogram",
        },
    )

    name: ObjectName
    histogram: SeriesSelector = Field(
        description="Classic histogram of the model's output (base name without _bucket), "
        "e.g. model_prediction_score."
    )
    compare_to: CompareTo = Field(
        default=CompareTo.STABLE,
        description="stable: canary vs stable during a rollout. reference: after promotion, "
        "the stable version's later windows vs a snapshot of its first minSamples "
        "observations (sets the Drifted condition).",
    )
    statistic: DriftStatistic = Field(
        default=DriftStatistic.PSI,
        description="Effect size reported and compared with threshold: psi, ks (max CDF "
        "distance over bucket bounds) or chi2 (judged as Cohen's w: sqrt(chi2/N) of the "
        "canary-vs-stable table; for compareTo reference the goodness-of-fit w against the "
        "reference shares).",
    )
    threshold: Annotated[float, Field(gt=0, le=10)] | None = Field(
        default=None,
        description="Fail when the sequential test finds a shift and the statistic is at or "
        "above this. Default psi 0.25, ks 0.1, chi2 0.3.",
    )
    warn_threshold: Annotated[float, Field(gt=0, le=10)] | None = Field(
        default=None,
        description="Record a warning at or above this. Default psi 0.1, ks 0.05, chi2 0.1.",
    )
    action: DriftAction | None = Field(
        default=None,
        description="What a shift does. compareTo stable: rollback (default), pause the "
        "rollout, or alert (Event and metric only). compareTo reference: alert (default) or "
        "pause (no new rollout starts while the stable has drifted, until the reference is "
        "reset or the rollout resumed by hand).",
    )
    min_samples: Annotated[int, Field(ge=1, le=100_000_000)] = Field(
        default=1000,
        description="Canary observations needed before the gate can pass; fewer is "
        "inconclusive, never pass. compareTo reference: the reference's size, and the "
        "observations a drift needs before it is reported.",
    )
    mean_windows_to_false_alarm: Annotated[int, Field(ge=2, le=1_000_000_000)] | None = Field(
        default=None,
        description="compareTo reference: when nothing changed, the detector alarms on "
        "average no sooner than after this many analysis windows (its threshold; the "
        "effect-size threshold makes alarms rarer still). Default 10000.",
    )

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        _check_histogram_name(f"distribution {self.name!r}", self.histogram)
        if self.compare_to is CompareTo.REFERENCE and self.action is DriftAction.ROLLBACK:
            raise ValueError(
                f"distribution {self.name!r}: action rollback needs compareTo stable: after "
                "promotion there is no previous version to roll back to; use alert or pause"
            )
        if self.compare_to is CompareTo.STABLE and self.mean_windows_to_false_alarm is not None:
            raise ValueError(
                f"distribution {self.name!r}: meanWindowsToFalseAlarm applies to compareTo "
                "reference only: remove it or write compareTo: reference"
            )
        top = DRIFT_MAX_THRESHOLD[self.statistic]
        for name, value in (("threshold", self.threshold), ("warnThreshold", self.warn_threshold)):
            if value is not None and value > top:
                raise ValueError(
                    f"distribution {self.name!r}: {name} {value} is out of range for statistic "
                    f"{self.statistic.value}: write a value in (0, {top}]"
                )
        if self.fail_threshold < self.warn_level:
            raise ValueError(
                f"distribution {self.name!r}: warnThreshold {self.warn_level} exceeds "
                f"threshold {self.fail_threshold}: write warnThreshold <= threshold"
            )
        return self

    @property
    def fail_threshold(self) -> float:
        return self.threshold if self.threshold is not None else DRIFT_DEFAULTS[self.statistic][1]

    @property
    def warn_level(self) -> float:
        if self.warn_threshold is not None:
            return self.warn_threshold
        return min(DRIFT_DEFAULTS[self.statistic][0], self.fail_threshold)

    @property
    def effective_action(self) -> DriftAction:
        if self.action is not None:
            return self.action
        return DriftAction.ROLLBACK if self.compare_to is CompareTo.STABLE else DriftAction.ALERT

    @property
    def alarm_windows(self) -> int:
        """compareTo reference: the e-detector's threshold A."""
        return self.mean_windows_to_false_alarm or DEFAULT_MEAN_WINDOWS_TO_FALSE_ALARM

    @property
    def gates_rollout(self) -> bool:
        """A check whose failure acts on the rollout (spends part of the α budget)."""
        return (
            self.compare_to is CompareTo.STABLE and self.effective_action is not DriftAction.ALERT
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
        },
        {
            "rule": "!has(self.distributions) || self.distributions.all(d, "
            "self.distributions.exists_one(e, e.name == d.name))",
            "message": "distribution names must be unique",
            "fieldPath": ".distributions",
        },
        {
            "rule": "!has(self.burnRateRules) || self.burnRateRules.all(r, "
            f"({window_seconds_cel('longWindow').replace('self.', 'r.')}) * 1000 <= "
            f"({duration_millis_cel('self.period')}))",
            "message": "every burnRateRules[].longWindow must fit in the period",
            "fieldPath": ".burnRateRules",
        },
    )

    period: Duration = Field(default="30d", description="SLO period, e.g. 28d or 30d.")
    objectives: Annotated[list[Objective], Field(min_length=1, max_length=16)]
    burn_rate_rules: Annotated[list[BurnRateRule], Field(max_length=8)] | None = Field(
        default=None,
        description="Multiwindow burn-rate rules; default: the SRE Workbook ladder "
        "(14.4/6/3/1 for 30d) scaled to the period.",
    )
    canary: CanaryGate = Field(default_factory=CanaryGate)
    distributions: Annotated[list[DistributionCheck], Field(max_length=8)] = Field(
        default_factory=list,
        description="Prediction-distribution gates (ML-aware): canary vs stable histograms.",
    )
    rollout_guard: RolloutGuard = Field(default_factory=RolloutGuard)

    @model_validator(mode="after")
    def _semantics(self) -> Self:
        names = [o.name for o in self.objectives]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"objective names must be unique; repeated: {', '.join(duplicates)}: "
                "give each objective its own name"
            )
        drift = [d.name for d in self.distributions]
        repeated = sorted({n for n in drift if drift.count(n) > 1})
        if repeated:
            raise ValueError(
                f"distribution names must be unique; repeated: {', '.join(repeated)}: "
                "give each distribution its own name"
            )
        period = durations.parse_seconds(self.period)
        for index, rule in enumerate(self.burn_rate_rules or ()):
            if durations.parse_seconds(rule.long_window) > period:
                raise ValueError(
                    f"burnRateRules[{index}].longWindow ({rule.long_window}) is longer than "
                    f"the period ({self.period}): write a window of at most {self.period}"
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
