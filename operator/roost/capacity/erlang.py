"""Erlang B and Erlang C for the M/M/c queue: c slots fed by one shared FCFS queue.

Notation follows docs/capacity.md (the formulas: Kleinrock 1975, section 3.5):
arrival rate λ (req/s), mean service time S = 1/μ (s), offered load a = λS
(Erlangs), c slots, and the decay rate of the waiting-time tail θ = cμ − λ = (c − a)/S.

Every function here is pure arithmetic on floats. Erlang B is evaluated by its
recursion, whose terms stay in [0, 1], so thousands of slots neither overflow
(as a!/c! would) nor lose precision.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "MAX_SERVICE_CV",
    "allen_cunneen_factor",
    "erlang_b",
    "erlang_b_sequence",
    "erlang_c",
    "erlang_c_from_b",
    "mean_wait",
    "wait_exceedance",
    "wait_quantile",
    "wait_quantile_from_c",
]


# Beyond this spread the two-moment approximation is no longer a useful guide.
MAX_SERVICE_CV = 4.0


def allen_cunneen_factor(service_cv: float, arrival_cv: float = 1.0) -> float:
    """(c_a² + c_s²)/2: how much longer M/G/c waits are than M/M/c ones (Allen–Cunneen).

    Allen 1990: ``E[Wq] ≈ E[Wq]_{M/M/c}·(c_a² + c_s²)/2``
    with the tail ``P(Wq > t) ≈ C·exp(−2(cμ − λ)t/(c_a² + c_s²))``, so every wait
    quantile scales by the same factor. Poisson arrivals have c_a = 1; exponential
    service (c_s = 1) gives 1, M/M/c unchanged; deterministic service (c_s = 0)
    halves the waits; c_s = 0.3 gives 0.545.
    """
    for name, value in (("service_cv", service_cv), ("arrival_cv", arrival_cv)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(
                f"{name} must be a finite coefficient of variation >= 0, got {value!r}"
            )
    return (arrival_cv**2 + service_cv**2) / 2.0


def _check_servers(servers: int) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 0:
        raise ValueError(f"servers must be a non-negative integer, got {servers!r}")


def _check_load(offered_load: float) -> None:
    if not math.isfinite(offered_load) or offered_load < 0:
        raise ValueError(f"offered_load must be a finite number >= 0, got {offered_load!r}")


def erlang_b_sequence(offered_load: float) -> Iterator[float]:
    """Yield B(0, a), B(1, a), B(2, a), … without end.

    Recursion: ``B(0) = 1``, ``B(c) = a·B(c−1) / (c + a·B(c−1))``. The
    planner walks c upward with this generator instead of restarting at 0 for
    every candidate, which keeps a search over thousands of slots linear.
    """
    _check_load(offered_load)
    blocking = 1.0
    servers = 0
    while True:
        yield blocking
        servers += 1
        carried = offered_load * blocking
        blocking = carried / (servers + carried)


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c (Erlang B) with c = ``servers``, a = ``offered_load``.

    ``B(0, a) = 1``; ``B(c, a) = a·B(c−1, a) / (c + a·B(c−1, a))``.
    """
    _check_servers(servers)
    for index, blocking in enumerate(erlang_b_sequence(offered_load)):
        if index == servers:
            return blocking
    raise AssertionError("unreachable: erlang_b_sequence never ends")


def erlang_c_from_b(servers: int, offered_load: float, blocking: float) -> float:
    """Erlang C from an Erlang B value already known for the same c and a.

    ``C = c·B / (c − a·(1 − B))`` when a < c; ``C = 1`` when a ≥ c, where the
    queue grows without bound and every request waits.
    """
    if offered_load >= servers:
        return 1.0
    if offered_load == 0:
        return 0.0
    probability = servers * blocking / (servers - offered_load * (1.0 - blocking))
    # Rounding can leave the ratio a hair outside [0, 1] as B approaches 0 or 1.
    return min(1.0, max(0.0, probability))


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arriving request waits in M/M/c (Erlang C).

    ``C(c, a) = c·B(c, a) / (c − a·(1 − B(c, a)))`` for a < c, else 1
    (Kleinrock 1975; e.g. C(12, 10) = 0.4493882243, capacity case A).
    """
    _check_servers(servers)
    return erlang_c_from_b(servers, offered_load, erlang_b(servers, offered_load))


def _tail_rate(servers: int, arrival_rate: float, service_time: float) -> float:
    """θ = cμ − λ = (c − a)/S, the rate at which P(Wq > t) decays."""
    return (servers - arrival_rate * service_time) / service_time


def _check_rates(servers: int, arrival_rate: float, service_time: float) -> None:
    _check_servers(servers)
    if not math.isfinite(arrival_rate) or arrival_rate < 0:
        raise ValueError(f"arrival_rate must be a finite number >= 0, got {arrival_rate!r}")
    if not math.isfinite(service_time) or service_time <= 0:
        raise ValueError(f"service_time must be a finite number > 0, got {service_time!r}")


def wait_exceedance(
    *, servers: int, arrival_rate: float, service_time: float, wait: float
) -> float:
    """P(Wq > t) in M/M/c: ``C·exp(−(cμ − λ)·t)`` for t ≥ 0; 1 when unstable."""
    _check_rates(servers, arrival_rate, service_time)
    if not math.isfinite(wait) or wait < 0:
        raise ValueError(f"wait must be a finite number of seconds >= 0, got {wait!r}")
    offered_load = arrival_rate * service_time
    if offered_load >= servers:
        return 1.0
    tail_rate = _tail_rate(servers, arrival_rate, service_time)
    return erlang_c(servers, offered_load) * math.exp(-tail_rate * wait)


def wait_quantile(
    *, servers: int, arrival_rate: float, service_time: float, percentile: float
) -> float:
    """The waiting time (s) that a fraction ``percentile`` of requests do not exceed.

    ``q_p(Wq) = max(0, ln(C / (1 − p)) / (cμ − λ))``: zero when C ≤ 1 − p, since
    then at least a fraction p of requests never wait. Infinite when a ≥ c.
    """
    _check_rates(servers, arrival_rate, service_time)
    _check_percentile(percentile)
    offered_load = arrival_rate * service_time
    if offered_load >= servers:
        return math.inf
    return wait_quantile_from_c(
        erlang_c(servers, offered_load),
        tail_rate=_tail_rate(servers, arrival_rate, service_time),
        percentile=percentile,
    )


def mean_wait(*, servers: int, arrival_rate: float, service_time: float) -> float:
    """E[Wq] = C / (cμ − λ) in seconds; infinite when a ≥ c."""
    _check_rates(servers, arrival_rate, service_time)
    offered_load = arrival_rate * service_time
    if offered_load >= servers:
        return math.inf
    return erlang_c(servers, offered_load) / _tail_rate(servers, arrival_rate, service_time)


def _check_percentile(percentile: float) -> None:
    if not (math.isfinite(percentile) and 0 < percentile < 1):
        raise ValueError(
            f"percentile must be a fraction strictly between 0 and 1 (0.99 for p99), "
            f"got {percentile!r}"
        )


def wait_quantile_from_c(probability: float, *, tail_rate: float, percentile: float) -> float:
    """Invert ``C·exp(−θ·t) = 1 − p`` for t, clamped at 0, given C and θ = cμ − λ > 0.

    Shared by :func:`wait_quantile` and the planner's search so that both judge a
    candidate by the same arithmetic.
    """
    if probability <= 1.0 - percentile:
        return 0.0
    return math.log(probability / (1.0 - percentile)) / tail_rate
