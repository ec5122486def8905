"""Erlang B/C and the M/M/c waiting-time tail against published values."""

from __future__ import annotations

import math
from typing import Any

import pytest

from roost.capacity import erlang

MS = 0.001


# Capacity case A (docs/references.md): C(12, 10) and C(16, 10), exact to the digits shown.
def test_erlang_c_12_servers_10_erlangs_is_published_value() -> None:
    assert erlang.erlang_c(12, 10.0) == pytest.approx(0.4493882243, abs=5e-11)


# Capacity case A
def test_erlang_c_16_servers_10_erlangs_is_published_value() -> None:
    assert erlang.erlang_c(16, 10.0) == pytest.approx(0.0573403309, abs=5e-11)


# Capacity case A: Erlang B(10, 10) = 0.2145823431
def test_erlang_b_10_servers_10_erlangs_is_published_value() -> None:
    assert erlang.erlang_b(10, 10.0) == pytest.approx(0.2145823431, abs=5e-11)


# Capacity case A table (λ = 200, S = 50 ms, a = 10), columns
# c, C(c,10), E[Wq] ms, p99 Wq ms (M/M/c); all exact to the digits shown.
CASE_A_TABLE = [
    (11, 0.6821182047, 34.106, 211.131),
    (12, 0.4493882243, 11.235, 95.133),
    (14, 0.1741319336, 2.177, 35.715),
    (16, 0.0573403309, 0.478, 14.553),
    (17, 0.0308761100, 0.221, 8.053),
    (19, 0.0078735575, 0.044, 0.000),
    (20, 0.0037311260, 0.019, 0.000),
]


@pytest.mark.parametrize(("servers", "c_value", "mean_ms", "p99_ms"), CASE_A_TABLE)
def test_case_a_matches_its_table(
    servers: int, c_value: float, mean_ms: float, p99_ms: float
) -> None:
    rates: dict[str, Any] = {"servers": servers, "arrival_rate": 200.0, "service_time": 50 * MS}
    assert erlang.erlang_c(servers, 10.0) == pytest.approx(c_value, abs=5e-11)
    assert erlang.mean_wait(**rates) / MS == pytest.approx(mean_ms, abs=5e-4)
    assert erlang.wait_quantile(**rates, percentile=0.99) / MS == pytest.approx(p99_ms, abs=5e-4)


# Capacity case B: C(114, 100) = 0.1157850583, C(125, 100) = 0.0098688336
@pytest.mark.parametrize(("servers", "c_value"), [(114, 0.1157850583), (125, 0.0098688336)])
def test_case_b_erlang_c_matches_its_values(servers: int, c_value: float) -> None:
    assert erlang.erlang_c(servers, 100.0) == pytest.approx(c_value, abs=5e-11)


# Capacity case A, spot values: P(Wq > 10 ms)
@pytest.mark.parametrize(
    ("servers", "probability"), [(12, 0.301234), (16, 0.017271), (17, 0.007614)]
)
def test_probability_of_waiting_over_10ms_matches_case_a(servers: int, probability: float) -> None:
    exceedance = erlang.wait_exceedance(
        servers=servers, arrival_rate=200.0, service_time=50 * MS, wait=10 * MS
    )
    assert exceedance == pytest.approx(probability, abs=5e-7)


# Capacity cases A–E (docs/references.md): (λ, S seconds, a) and rows of
# c, C (5 digits), E[Wq] ms, p99 Wq ms for M/M/c (3 decimals).
CASES_A_TO_E = {
    "A": (
        200.0,
        0.050,
        [
            (11, 0.68212, 34.106, 211.131),
            (12, 0.44939, 11.235, 95.133),
            (13, 0.28527, 4.755, 55.848),
            (14, 0.17413, 2.177, 35.715),
            (15, 0.10204, 1.020, 23.228),
            (16, 0.05734, 0.478, 14.553),
            (17, 0.03088, 0.221, 8.053),
            (18, 0.01593, 0.100, 2.909),
            (19, 0.00787, 0.044, 0.000),
            (20, 0.00373, 0.019, 0.000),
        ],
    ),
    "B": (
        2000.0,
        0.050,
        [
            (101, 0.88331, 44.166, 224.055),
            (102, 0.77710, 19.427, 108.824),
            (103, 0.68080, 11.347, 70.345),
            (104, 0.59386, 7.423, 51.051),
            (105, 0.51571, 5.157, 39.430),
            (106, 0.44578, 3.715, 31.644),
            (107, 0.38351, 2.739, 26.048),
            (108, 0.32833, 2.052, 21.821),
            (109, 0.27968, 1.554, 18.506),
            (110, 0.23701, 1.185, 15.828),
        ],
    ),
    "C": (
        1000.0,
        0.020,
        [
            (21, 0.76064, 15.213, 86.632),
            (22, 0.56792, 5.679, 40.394),
            (23, 0.41574, 2.772, 24.850),
            (24, 0.29807, 1.490, 16.974),
            (25, 0.20910, 0.836, 12.161),
            (26, 0.14340, 0.478, 8.877),
            (27, 0.09606, 0.274, 6.464),
            (28, 0.06282, 0.157, 4.594),
            (29, 0.04009, 0.089, 3.085),
            (30, 0.02495, 0.050, 1.829),
        ],
    ),
    "D": (
        50.0,
        0.200,
        [
            (11, 0.68212, 136.424, 844.524),
            (12, 0.44939, 44.939, 380.530),
            (13, 0.28527, 19.018, 223.390),
            (14, 0.17413, 8.707, 142.861),
            (15, 0.10204, 4.082, 92.912),
            (16, 0.05734, 1.911, 58.214),
            (17, 0.03088, 0.882, 32.211),
            (18, 0.01593, 0.398, 11.638),
            (19, 0.00787, 0.175, 0.000),
            (20, 0.00373, 0.075, 0.000),
        ],
    ),
    "E": (
        20.0,
        0.100,
        [
            (3, 0.44444, 44.444, 379.424),
            (4, 0.17391, 8.696, 142.799),
            (5, 0.05970, 1.990, 59.559),
            (6, 0.01802, 0.450, 14.720),
            (7, 0.00481, 0.096, 0.000),
            (8, 0.00115, 0.019, 0.000),
            (9, 0.00025, 0.004, 0.000),
            (10, 0.00005, 0.001, 0.000),
            (11, 0.00001, 0.000, 0.000),
            (12, 0.00000, 0.000, 0.000),
        ],
    ),
}

CASES_A_TO_E_ROWS = [
    pytest.param(rate, service, *row, id=f"case-{case}-c{row[0]}")
    for case, (rate, service, rows) in CASES_A_TO_E.items()
    for row in rows
]


@pytest.mark.parametrize(
    ("arrival_rate", "service_time", "servers", "c_value", "mean_ms", "p99_ms"), CASES_A_TO_E_ROWS
)
def test_tables_for_cases_a_to_e(
    arrival_rate: float,
    service_time: float,
    servers: int,
    c_value: float,
    mean_ms: float,
    p99_ms: float,
) -> None:
    rates: dict[str, Any] = {
        "servers": servers,
        "arrival_rate": arrival_rate,
        "service_time": service_time,
    }
    assert erlang.erlang_c(servers, arrival_rate * service_time) == pytest.approx(c_value, abs=5e-6)
    assert erlang.mean_wait(**rates) / MS == pytest.approx(mean_ms, abs=5e-4)
    assert erlang.wait_quantile(**rates, percentile=0.99) / MS == pytest.approx(p99_ms, abs=5e-4)


def _erlang_c_by_sum(servers: int, offered_load: float) -> float:
    """Textbook closed form, fine for small c: the term a^c/c! · c/(c − a) over the sum."""
    top = offered_load**servers / math.factorial(servers) * servers / (servers - offered_load)
    rest = math.fsum(offered_load**k / math.factorial(k) for k in range(servers))
    return top / (rest + top)


@pytest.mark.parametrize(("servers", "offered_load"), [(1, 0.5), (2, 1.5), (5, 4.9), (30, 12.3)])
def test_erlang_c_agrees_with_closed_form_for_small_c(servers: int, offered_load: float) -> None:
    assert erlang.erlang_c(servers, offered_load) == pytest.approx(
        _erlang_c_by_sum(servers, offered_load), rel=1e-12
    )


def test_single_server_waits_with_probability_rho() -> None:
    # M/M/1: P(wait) = ρ.
    assert erlang.erlang_c(1, 0.3) == pytest.approx(0.3)


def test_thousands_of_servers_do_not_overflow() -> None:
    probability = erlang.erlang_c(5000, 4900.0)
    assert 0.0 < probability < 1.0
    assert math.isfinite(erlang.erlang_b(20000, 19000.0))
    quantile = erlang.wait_quantile(
        servers=5000, arrival_rate=98000.0, service_time=0.05, percentile=0.99
    )
    assert math.isfinite(quantile)
    assert quantile > 0


def test_load_at_or_above_servers_always_waits() -> None:
    assert erlang.erlang_c(10, 10.0) == 1.0
    assert erlang.erlang_c(10, 25.0) == 1.0
    saturated: dict[str, Any] = {"servers": 10, "arrival_rate": 200.0, "service_time": 0.05}
    assert erlang.wait_quantile(**saturated, percentile=0.99) == math.inf
    assert erlang.mean_wait(**saturated) == math.inf
    assert erlang.wait_exceedance(**saturated, wait=1.0) == 1.0


def test_no_load_never_waits() -> None:
    assert erlang.erlang_c(3, 0.0) == 0.0
    assert erlang.wait_quantile(servers=3, arrival_rate=0, service_time=0.05, percentile=0.99) == 0


def test_quantile_is_zero_when_fewer_than_one_minus_p_wait() -> None:
    # Case A at c = 19: C = 0.0079 ≤ 0.01, so 99 % of requests never wait.
    assert (
        erlang.wait_quantile(servers=19, arrival_rate=200, service_time=0.05, percentile=0.99)
        == 0.0
    )
    assert (
        erlang.wait_quantile(servers=19, arrival_rate=200, service_time=0.05, percentile=0.999)
        > 0.0
    )


def test_quantile_inverts_exceedance() -> None:
    rates: dict[str, Any] = {"servers": 14, "arrival_rate": 200.0, "service_time": 0.05}
    quantile = erlang.wait_quantile(**rates, percentile=0.95)
    assert erlang.wait_exceedance(**rates, wait=quantile) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: erlang.erlang_b(-1, 1.0), "servers"),
        (lambda: erlang.erlang_c(2, -0.1), "offered_load"),
        (lambda: erlang.erlang_c(2, math.nan), "offered_load"),
        (lambda: erlang.mean_wait(servers=2, arrival_rate=-1, service_time=1), "arrival_rate"),
        (lambda: erlang.mean_wait(servers=2, arrival_rate=1, service_time=0), "service_time"),
        (
            lambda: erlang.wait_quantile(servers=2, arrival_rate=1, service_time=1, percentile=99),
            "percentile",
        ),
        (
            lambda: erlang.wait_exceedance(servers=2, arrival_rate=1, service_time=1, wait=-1),
            "wait",
        ),
    ],
)
def test_invalid_arguments_name_the_parameter(call: object, parameter: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=parameter):
        call()
