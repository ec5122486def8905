"""The simulator's HPA against the HPA vectors V1–V9 (docs/references.md, "Test vectors")."""

from __future__ import annotations

from roost.capacity.hpa import ScalingBehavior
from roost.replay import hpa
from roost.replay.policies import _behavior


def _sequence(controller: hpa.Controller, current: int, proposals: list[int]) -> list[int]:
    out = []
    for i, proposal in enumerate(proposals):
        current = controller.reconcile(15.0 * i, current, proposal)
        out.append(current)
    return out


def test_v1_default_behavior_scale_up_is_max_of_plus_four_and_double_per_15s() -> None:
    controller = hpa.Controller(min_replicas=1, max_replicas=100)
    assert _sequence(controller, 3, [40] * 5) == [7, 14, 28, 40, 40]


def test_v2_default_scale_down_waits_for_the_300s_window_then_drops_at_once() -> None:
    controller = hpa.Controller(min_replicas=1, max_replicas=100)
    replicas = _sequence(controller, 10, [10] + [2] * 22)
    times = [15 * i for i in range(23)]
    assert all(r == 10 for t, r in zip(times, replicas, strict=True) if t <= 285)
    assert replicas[20:] == [2, 2, 2]  # t = 300, 315, 330


def test_v2b_one_pod_per_60s_policy_with_no_stabilization() -> None:
    behavior = hpa.Behavior(
        scale_up=hpa.default_behavior().scale_up,
        scale_down=hpa.Rules(0.0, (hpa.Policy(hpa.PolicyType.PODS, 1, 60.0),)),
    )
    controller = hpa.Controller(min_replicas=1, max_replicas=100, behavior=behavior)
    assert _sequence(controller, 10, [2] * 12) == [9, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7]


def test_v2c_legacy_path_doubles_or_adds_four_per_sync() -> None:
    controller = hpa.Controller(min_replicas=1, max_replicas=100, behavior=None)
    assert _sequence(controller, 1, [100] * 6) == [4, 8, 16, 32, 64, 100]


def test_v3_pods_metric_within_tolerance_keeps_replicas_and_beyond_scales() -> None:
    assert hpa.pods_metric_replicas(10, [105_000] * 10, 100_000) == 10
    assert hpa.pods_metric_replicas(10, [111_000] * 10, 100_000) == 12


def test_v4_missing_pods_count_as_zero_on_scale_up_with_integer_milli_math() -> None:
    assert hpa.pods_metric_replicas(6, [200_000] * 4, 100_000, missing=2) == 8


def test_v5_unready_pods_count_as_zero_and_a_direction_flip_keeps_replicas() -> None:
    assert hpa.cpu_utilization_replicas(5, [980] * 3, 1000, 70, unready=2) == 5


def test_v6_external_average_value_is_ceil_of_usage_over_target() -> None:
    assert hpa.external_average_value_replicas(450_000, 100_000, 3) == 5


def test_v7_external_value_uses_ready_pods_and_zero_ready_clamps_to_min() -> None:
    assert hpa.external_value_replicas(3, 450_000, 100_000, 3) == 14
    proposal = hpa.external_value_replicas(3, 450_000, 100_000, 0)
    assert proposal == 0
    no_window = hpa.Behavior(
        scale_up=hpa.default_behavior().scale_up,
        scale_down=hpa.Rules(0.0, hpa.default_behavior().scale_down.policies),
    )
    controller = hpa.Controller(min_replicas=1, max_replicas=10, behavior=no_window)
    assert controller.reconcile(0.0, 3, proposal) == 1


def test_v8_an_invalid_metric_blocks_scale_down_but_not_scale_up() -> None:
    assert hpa.combine([8, None], 10) is None
    assert hpa.combine([12, None], 10) == 12


def test_v9_cpu_capped_at_request_grows_at_most_1_428_per_cycle() -> None:
    # Target 70 %, usage capped at 100 % of request, all pods Ready each cycle; max 20.
    controller = hpa.Controller(min_replicas=1, max_replicas=20)
    replicas, seen = 4, [4]
    for i in range(5):
        proposal = hpa.cpu_utilization_replicas(replicas, [1000] * replicas, 1000, 70)
        replicas = controller.reconcile(60.0 * i, replicas, proposal)
        seen.append(replicas)
    assert seen == [4, 6, 9, 13, 19, 20]


def test_roosts_behavior_scales_up_one_step_per_60s_not_per_sync() -> None:
    """Roost writes +100 % or +4 pods per 60 s: a backlog that persists while the new
    pods start does not double the count again at every 15 s sync (V1 does)."""
    controller = hpa.Controller(
        min_replicas=1, max_replicas=100, behavior=_behavior(ScalingBehavior().to_dict())
    )
    assert _sequence(controller, 3, [40] * 9) == [7, 7, 7, 7, 14, 14, 14, 14, 28]
