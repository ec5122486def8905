"""The capacity plan: how many replicas keep a waiting-time percentile within budget.

Model (docs/capacity.md; Erlang C as in Kleinrock 1975): requests arrive as a Poisson
stream at λ req/s and are served FCFS from **one shared queue** by c = N·K slots
(N replicas, K concurrent slots each), with exponential service of mean S. That
is M/M/c, which describes a Service behind least-request (or any join-the-
shortest-queue) routing; random per-request routing is a different, much more
expensive system (docs/capacity.md, "One shared queue versus a queue per pod") that
this planner does not model.

- Little's law: the mean number of busy slots is the offered load a = λS.
- Erlang C gives P(wait) and the wait tail ``P(Wq > t) = C·exp(−(cμ − λ)t)``.
- The plan is the smallest c > a whose wait percentile is within budget, then
  ``N = ceil(c / K)`` clamped to [min_replicas, max_replicas].

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass

from roost.capacity import erlang

__all__ = [
    "MAX_OFFERED_LOAD",
    "CapacityPlan",
    "Carried",
    "PlanInputs",
    "PlanLimit",
    "carried_load",
    "plan_capacity",
    "plan_for_share",
]

# The search walks Erlang B one slot at a time; beyond this many Erlangs a plan
# would take seconds and the input is far more likely a unit mistake.
MAX_OFFERED_LOAD = 1_000_000.0


class PlanLimit(enum.StrEnum):
    """What decided the number of replicas in a plan."""

    STABILITY = "stability"
    """The fewest slots that keep the queue finite (c > a) already meet the budget."""
    WAIT_BUDGET = "wait_budget"
    """More slots than stability needs, to bring the wait percentile within budget."""
    MAX_UTILISATION = "max_utilisation"
    """The utilisation cap asked for more slots than the wait budget did."""
    MIN_REPLICAS = "min_replicas"
    """Raised to the floor (always the case with no traffic)."""
    MAX_REPLICAS = "max_replicas"
    """Cut to the ceiling: the plan provisions fewer slots than the budget needs."""


@dataclass(frozen=True, kw_only=True)
class PlanInputs:
    """What a plan is asked for; times in seconds, rates in requests per second.

    The one parameter object of :func:`plan_capacity`, :func:`plan_for_share` and
    :func:`roost.capacity.traffic_split.plan_traffic_split`. The planner checks the
    values when it plans, naming the parameter that is wrong.
    """

    arrival_rate: float
    """λ: requests per second for all versions together."""
    service_time: float
    """S: mean seconds a request occupies a slot, without queueing."""
    slots_per_replica: int
    """K: requests one replica serves at once."""
    wait_budget: float
    """The most a request may wait for a slot, at ``wait_percentile``."""
    wait_percentile: float = 0.99
    min_replicas: int = 1
    max_replicas: int | None = None
    headroom: float = 0.0
    """A fraction added to the arrival rate before planning: 0.2 plans for 1.2·λ."""
    max_utilisation: float | None = None
    """A cap on a/c, the mean busy fraction of each slot, on top of the wait budget."""
    service_cv: float = 1.0
    """Coefficient of variation of the service time; 1 is exponential (M/M/c)."""


@dataclass(frozen=True, kw_only=True)
class CapacityPlan(PlanInputs):
    """Inputs (as given) and outcome of one plan; times in seconds, rates in requests per second.

    ``slots`` is what the budget requires; ``provisioned_slots`` = ``replicas`` ×
    ``slots_per_replica`` is what the replicas give, and every queueing figure
    (``p_wait``, the waits, ``utilisation``) is evaluated at the provisioned slots.
    Waits are ``math.inf`` when the provisioned slots cannot carry the load
    (possible only when ``max_replicas`` cut the plan).
    """

    traffic_share: float
    # Outputs.
    planned_arrival_rate: float
    """λ × traffic_share × (1 + headroom): the rate the plan is sized for."""
    offered_load: float
    """a = λS in Erlangs: by Little's law, the mean number of busy slots."""
    slots: int
    """Smallest c > a meeting the wait budget (and the utilisation cap); 0 with no traffic."""
    replicas: int
    provisioned_slots: int
    limited_by: PlanLimit
    p_wait: float
    """Erlang C at the provisioned slots: the fraction of requests that queue at all."""
    wait_quantile_seconds: float
    """Waiting time at ``wait_percentile``; this is the figure held to ``wait_budget``."""
    p99_wait_seconds: float
    mean_wait_seconds: float
    mean_in_flight: float
    """Little's law L = λ·(S + E[Wq]): requests in service or queued, on average."""
    utilisation: float
    """a / provisioned_slots: the mean busy fraction of each slot."""

    @property
    def meets_wait_budget(self) -> bool:
        """True when the provisioned slots hold the wait percentile within budget."""
        return self.wait_quantile_seconds <= self.wait_budget

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready mapping with snake_case keys; infinite waits become ``None``."""
        return {
            "arrival_rate": self.arrival_rate,
            "service_time": self.service_time,
            "slots_per_replica": self.slots_per_replica,
            "wait_budget": self.wait_budget,
            "wait_percentile": self.wait_percentile,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "headroom": self.headroom,
            "max_utilisation": self.max_utilisation,
            "service_cv": self.service_cv,
            "traffic_share": self.traffic_share,
            "planned_arrival_rate": self.planned_arrival_rate,
            "offered_load": self.offered_load,
            "slots": self.slots,
            "replicas": self.replicas,
            "provisioned_slots": self.provisioned_slots,
            "limited_by": self.limited_by.value,
            "p_wait": self.p_wait,
            "wait_quantile_seconds": _finite_or_none(self.wait_quantile_seconds),
            "p99_wait_seconds": _finite_or_none(self.p99_wait_seconds),
            "mean_wait_seconds": _finite_or_none(self.mean_wait_seconds),
            "mean_in_flight": _finite_or_none(self.mean_in_flight),
            "utilisation": self.utilisation,
            "meets_wait_budget": self.meets_wait_budget,
        }


def plan_capacity(inputs: PlanInputs) -> CapacityPlan:
    """Fewest replicas whose shared-queue wait percentile stays within ``wait_budget``.

    ``slots`` = smallest c > a with ``q_p(Wq; c) ≤ wait_budget``, where
    ``q_p(Wq) = max(0, ln(C(c, a)/(1 − p)) / (cμ − λ))``, and — if
    ``max_utilisation`` is given — with a/c ≤ ``max_utilisation``. Then
    ``replicas = ceil(slots / slots_per_replica)`` clamped to
    [``min_replicas``, ``max_replicas``] (docs/capacity.md, "Erlang C").

    ``headroom`` is a fraction added to the arrival rate before planning (0.2
    plans for 1.2·λ), the cheap stand-in for the "upper quantile of the forecast
    over start-up lag" a fuller planner would use. A zero arrival rate plans
    ``min_replicas``.

    Example (capacity case A, docs/references.md): 200 req/s, 50 ms, 4 slots per
    replica, p99 wait ≤ 10 ms gives 17 slots and 5 replicas.
    """
    return plan_for_share(inputs, share=1.0)


def plan_for_share(inputs: PlanInputs, *, share: float) -> CapacityPlan:
    """Plan for the fraction ``share`` (0–1) of ``arrival_rate`` that one version receives.

    The version is treated as its own shared queue fed at ``share × λ``: a
    version's pods only serve the requests routed to it. See :func:`plan_capacity`.
    """
    _validate(inputs, share=share)
    service_time, slots_per_replica = inputs.service_time, inputs.slots_per_replica
    planned_rate = inputs.arrival_rate * share * (1.0 + inputs.headroom)
    offered_load = planned_rate * service_time
    if offered_load > MAX_OFFERED_LOAD:
        raise ValueError(
            f"offered load arrival_rate × share × (1 + headroom) × service_time = "
            f"{offered_load:g} Erlangs exceeds {MAX_OFFERED_LOAD:g}; check the units "
            f"(arrival_rate in req/s, service_time in seconds)"
        )

    if planned_rate == 0:
        slots, slots_reason = 0, PlanLimit.MIN_REPLICAS
    else:
        slots, slots_reason = _required_slots(
            offered_load=offered_load,
            service_time=service_time,
            wait_budget=inputs.wait_budget,
            wait_percentile=inputs.wait_percentile,
            max_utilisation=inputs.max_utilisation,
            service_cv=inputs.service_cv,
        )

    needed = -(-slots // slots_per_replica)
    replicas = max(needed, inputs.min_replicas)
    if inputs.max_replicas is not None:
        replicas = min(replicas, inputs.max_replicas)
    if replicas > needed:
        limited_by = PlanLimit.MIN_REPLICAS
    elif replicas < needed:
        limited_by = PlanLimit.MAX_REPLICAS
    else:
        limited_by = slots_reason

    provisioned = replicas * slots_per_replica
    queue = _queue_at(
        servers=provisioned,
        arrival_rate=planned_rate,
        service_time=service_time,
        wait_percentile=inputs.wait_percentile,
        service_cv=inputs.service_cv,
    )
    return CapacityPlan(
        **{field.name: getattr(inputs, field.name) for field in dataclasses.fields(PlanInputs)},
        traffic_share=share,
        planned_arrival_rate=planned_rate,
        offered_load=offered_load,
        slots=slots,
        replicas=replicas,
        provisioned_slots=provisioned,
        limited_by=limited_by,
        p_wait=queue.p_wait,
        wait_quantile_seconds=queue.wait_quantile,
        p99_wait_seconds=queue.p99_wait,
        mean_wait_seconds=queue.mean_wait,
        mean_in_flight=planned_rate * (service_time + queue.mean_wait) if planned_rate else 0.0,
        utilisation=offered_load / provisioned if provisioned else 0.0,
    )


def _required_slots(
    *,
    offered_load: float,
    service_time: float,
    wait_budget: float,
    wait_percentile: float,
    max_utilisation: float | None,
    service_cv: float = 1.0,
) -> tuple[int, PlanLimit]:
    """Smallest c meeting stability, the utilisation cap and the wait budget, and why."""
    stable_slots = math.floor(offered_load) + 1
    start, reason = stable_slots, PlanLimit.STABILITY
    if max_utilisation is not None:
        capped = _slots_for_utilisation(offered_load, max_utilisation)
        if capped > start:
            start, reason = capped, PlanLimit.MAX_UTILISATION

    # Walk B(c) upward once; C and the quantile at each c follow from B(c).
    factor = erlang.allen_cunneen_factor(service_cv)
    for servers, blocking in enumerate(erlang.erlang_b_sequence(offered_load)):
        if servers < start:
            continue
        probability = erlang.erlang_c_from_b(servers, offered_load, blocking)
        quantile = factor * erlang.wait_quantile_from_c(
            probability,
            tail_rate=(servers - offered_load) / service_time,
            percentile=wait_percentile,
        )
        if quantile <= wait_budget:
            return servers, reason if servers == start else PlanLimit.WAIT_BUDGET
    raise AssertionError("unreachable: C(c, a) tends to 0 as c grows")


@dataclass(frozen=True, kw_only=True)
class Carried:
    """The most a fixed number of slots carries while holding the wait budget."""

    servers: int
    arrival_rate: float
    """λ_max: the highest arrival rate whose wait percentile is within budget."""
    offered_load: float
    """λ_max·S: busy slots at that rate (Little's law)."""
    in_flight: float
    """λ_max·(S + E[Wq]): requests in service or queued at that rate (Little's law)."""

    @property
    def utilisation(self) -> float:
        """ρ* = λ_max·S / c: the busy fraction of each slot at the highest rate within budget."""
        return self.offered_load / self.servers


def carried_load(
    *,
    servers: int,
    service_time: float,
    wait_budget: float,
    wait_percentile: float = 0.99,
    relative_precision: float = 1e-7,
    service_cv: float = 1.0,
) -> Carried:
    """The highest arrival rate that ``servers`` slots carry within ``wait_budget``.

    The inverse of the plan: for a fixed c, the wait percentile grows with λ (C
    rises and the tail rate cμ − λ falls), so λ_max is found by bisection on
    (0, c/S) to ``relative_precision``. The mean in flight at λ_max is the highest
    average an in-flight gauge reads while the slots still meet the budget;
    :func:`roost.capacity.hpa.inflight_per_pod_target` divides it by the replicas.
    Square-root staffing shows here: ρ* = λ_max·S/c rises with c (Halfin & Whitt 1981).
    """
    if not (_is_count(servers) and servers >= 1):
        raise ValueError(f"servers must be an integer >= 1, got {servers!r}")
    if not (math.isfinite(service_time) and service_time > 0):
        raise ValueError(f"service_time must be finite seconds > 0, got {service_time!r}")
    if not (math.isfinite(wait_budget) and wait_budget >= 0):
        raise ValueError(f"wait_budget must be finite seconds >= 0, got {wait_budget!r}")
    if not (math.isfinite(wait_percentile) and 0 < wait_percentile < 1):
        raise ValueError(
            f"wait_percentile must be a fraction strictly between 0 and 1, got {wait_percentile!r}"
        )
    if not (math.isfinite(relative_precision) and 0 < relative_precision < 1):
        raise ValueError(f"relative_precision must be in (0, 1), got {relative_precision!r}")
    _check_service_cv(service_cv)
    low, high = 0.0, servers / service_time  # within budget at low; never at high (a = c)
    while high - low > relative_precision * high:
        middle = (low + high) / 2
        queue = _queue_at(
            servers=servers,
            arrival_rate=middle,
            service_time=service_time,
            wait_percentile=wait_percentile,
            service_cv=service_cv,
        )
        if queue.wait_quantile <= wait_budget:
            low = middle
        else:
            high = middle
    queue = _queue_at(
        servers=servers,
        arrival_rate=low,
        service_time=service_time,
        wait_percentile=wait_percentile,
        service_cv=service_cv,
    )
    return Carried(
        servers=servers,
        arrival_rate=low,
        offered_load=low * service_time,
        in_flight=low * (service_time + queue.mean_wait),
    )


def _slots_for_utilisation(offered_load: float, max_utilisation: float) -> int:
    """Smallest c with a / c ≤ max_utilisation."""
    slots = math.ceil(offered_load / max_utilisation)
    # 14 / 0.7 is 20.000000000000004 in floating point; do not round that up to 21.
    if slots > 1 and offered_load <= max_utilisation * (slots - 1) * (1 + 1e-12):
        slots -= 1
    return slots


@dataclass(frozen=True)
class _Queue:
    p_wait: float
    wait_quantile: float
    p99_wait: float
    mean_wait: float


def _queue_at(
    *,
    servers: int,
    arrival_rate: float,
    service_time: float,
    wait_percentile: float,
    service_cv: float = 1.0,
) -> _Queue:
    """Erlang C figures for the provisioned slots; infinite waits when unstable.

    Waits are the M/M/c ones scaled by the Allen–Cunneen factor (1 + CV²)/2
    (:func:`~roost.capacity.erlang.allen_cunneen_factor`); P(wait) stays Erlang C.
    """
    if arrival_rate == 0:
        return _Queue(p_wait=0.0, wait_quantile=0.0, p99_wait=0.0, mean_wait=0.0)
    offered_load = arrival_rate * service_time
    if offered_load >= servers:
        return _Queue(p_wait=1.0, wait_quantile=math.inf, p99_wait=math.inf, mean_wait=math.inf)
    probability = erlang.erlang_c(servers, offered_load)
    # Allen–Cunneen: the M/G/c tail decays (ca² + cs²)/2 times as fast as M/M/c's,
    # i.e. θ becomes θ/factor, so every wait scales by the factor.
    tail_rate = (servers - offered_load) / service_time / erlang.allen_cunneen_factor(service_cv)
    return _Queue(
        p_wait=probability,
        wait_quantile=erlang.wait_quantile_from_c(
            probability, tail_rate=tail_rate, percentile=wait_percentile
        ),
        p99_wait=erlang.wait_quantile_from_c(probability, tail_rate=tail_rate, percentile=0.99),
        mean_wait=probability / tail_rate,
    )


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(inputs: PlanInputs, *, share: float) -> None:
    """Refuse impossible inputs with a message naming the parameter."""
    _check_service_cv(inputs.service_cv)
    if not (math.isfinite(share) and 0 <= share <= 1):
        raise ValueError(f"share must be a fraction in [0, 1], got {share!r}")
    if not (math.isfinite(inputs.arrival_rate) and inputs.arrival_rate >= 0):
        raise ValueError(
            f"arrival_rate must be a finite rate >= 0 req/s, got {inputs.arrival_rate!r}"
        )
    if not (math.isfinite(inputs.service_time) and inputs.service_time > 0):
        raise ValueError(f"service_time must be finite seconds > 0, got {inputs.service_time!r}")
    if not (_is_count(inputs.slots_per_replica) and inputs.slots_per_replica >= 1):
        raise ValueError(
            f"slots_per_replica must be an integer >= 1, got {inputs.slots_per_replica!r}"
        )
    if not (math.isfinite(inputs.wait_budget) and inputs.wait_budget >= 0):
        raise ValueError(f"wait_budget must be finite seconds >= 0, got {inputs.wait_budget!r}")
    if not (math.isfinite(inputs.wait_percentile) and 0 < inputs.wait_percentile < 1):
        raise ValueError(
            f"wait_percentile must be a fraction strictly between 0 and 1 (0.99 for p99), "
            f"got {inputs.wait_percentile!r}"
        )
    if not (_is_count(inputs.min_replicas) and inputs.min_replicas >= 0):
        raise ValueError(f"min_replicas must be an integer >= 0, got {inputs.min_replicas!r}")
    if inputs.max_replicas is not None and not (
        _is_count(inputs.max_replicas) and inputs.max_replicas >= max(1, inputs.min_replicas)
    ):
        raise ValueError(
            f"max_replicas must be an integer >= 1 and >= min_replicas ({inputs.min_replicas}), "
            f"got {inputs.max_replicas!r}"
        )
    if not (math.isfinite(inputs.headroom) and inputs.headroom >= 0):
        raise ValueError(f"headroom must be a finite fraction >= 0, got {inputs.headroom!r}")
    if inputs.max_utilisation is not None and not (
        math.isfinite(inputs.max_utilisation) and 0 < inputs.max_utilisation <= 1
    ):
        raise ValueError(f"max_utilisation must be in (0, 1], got {inputs.max_utilisation!r}")


def _check_service_cv(service_cv: float) -> None:
    if not (math.isfinite(service_cv) and 0 <= service_cv <= erlang.MAX_SERVICE_CV):
        raise ValueError(
            f"service_cv must be a coefficient of variation in [0, {erlang.MAX_SERVICE_CV:g}] "
            f"(1 for exponential service), got {service_cv!r}"
        )
