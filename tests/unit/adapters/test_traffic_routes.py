"""How each traffic provider rewrites a route (pure transformations; no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from roost.adapters.traffic import TrafficError, gatewayapi, istio, recorded_match
from roost.api.modeldeployment import HeaderMatch
from roost.workloads import replicas_for_weight


def _route(*refs: dict[str, Any], extra_rule: bool = True) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"matches": [{"path": {"value": "/predict"}}], "backendRefs": list(refs)}
    ]
    if extra_rule:
        rules.append({"backendRefs": [{"name": "other-service", "port": 80}]})
    return {"metadata": {"name": "r", "namespace": "ns"}, "spec": {"rules": rules}}


def test_gateway_rules_pointing_at_the_model_get_stable_and_canary_weights() -> None:
    route = _route({"name": "scorer-stable", "port": 8080})
    updated = gatewayapi.weighted(route, name="scorer", port=8080, canary_weight=25)
    assert updated is not None
    refs = updated["spec"]["rules"][0]["backendRefs"]
    assert [(r["name"], r["weight"]) for r in refs] == [
        ("scorer-stable", 75),
        ("scorer-canary", 25),
    ]
    assert updated["spec"]["rules"][0]["matches"] == route["spec"]["rules"][0]["matches"]
    assert updated["spec"]["rules"][1] == route["spec"]["rules"][1]  # other rules untouched
    assert gatewayapi.applied_weight(updated, name="scorer") == 25


def test_a_route_already_at_the_weight_is_not_rewritten() -> None:
    route = _route({"name": "scorer-stable", "port": 8080})
    once = gatewayapi.weighted(route, name="scorer", port=8080, canary_weight=10)
    assert once is not None
    assert gatewayapi.weighted(once, name="scorer", port=8080, canary_weight=10) is None


def test_a_route_that_never_points_at_the_model_is_an_error_naming_it() -> None:
    with pytest.raises(TrafficError, match="HTTPRoute ns/r has no rule with a backendRef"):
        gatewayapi.weighted(
            _route({"name": "else", "port": 1}), name="scorer", port=8080, canary_weight=5
        )


def test_a_person_editing_weights_is_overridden_by_the_rollout_weight() -> None:
    edited = _route(
        {"name": "scorer-stable", "port": 8080, "weight": 10},
        {"name": "scorer-canary", "port": 8080, "weight": 90},
    )
    updated = gatewayapi.weighted(edited, name="scorer", port=8080, canary_weight=5)
    assert updated is not None
    assert gatewayapi.applied_weight(updated, name="scorer") == 5


def test_istio_routes_to_the_model_are_weighted_and_keep_their_port() -> None:
    service = {
        "metadata": {"name": "vs", "namespace": "ns"},
        "spec": {
            "http": [
                {
                    "name": "predict",
                    "route": [
                        {"destination": {"host": "scorer-stable.ns.svc", "port": {"number": 8080}}}
                    ],
                },
                {"name": "admin", "route": [{"destination": {"host": "admin"}}]},
            ]
        },
    }
    updated = istio.weighted(service, name="scorer", canary_weight=50, routes=None)
    assert updated is not None
    route = updated["spec"]["http"][0]["route"]
    assert [(d["destination"]["host"], d["weight"]) for d in route] == [
        ("scorer-stable", 50),
        ("scorer-canary", 50),
    ]
    assert route[1]["destination"]["port"] == {"number": 8080}
    assert updated["spec"]["http"][1] == service["spec"]["http"][1]
    with pytest.raises(TrafficError, match="VirtualService ns/vs has no http route"):
        istio.weighted(service, name="scorer", canary_weight=5, routes=["admin"])


@pytest.mark.parametrize(
    ("total", "weight", "expected"),
    [
        (4, 0, (4, 0)),
        (4, 25, (3, 1)),
        (4, 50, (2, 2)),
        (4, 100, (0, 4)),
        (1, 10, (1, 1)),
        (10, 5, (9, 1)),
    ],
)
def test_replica_ratio_gives_the_canary_at_least_one_replica(
    total: int, weight: int, expected: tuple[int, int]
) -> None:
    assert replicas_for_weight(total, weight) == expected


def test_a_shadow_step_mirrors_the_rule_to_the_canary_and_keeps_other_filters() -> None:
    route = _route({"name": "scorer-stable", "port": 8080})
    header = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": []}}
    route["spec"]["rules"][0]["filters"] = [header]
    mirrored = gatewayapi.weighted(route, name="scorer", port=8080, canary_weight=0, mirror=40)
    assert mirrored is not None
    rule = mirrored["spec"]["rules"][0]
    assert [(r["name"], r["weight"]) for r in rule["backendRefs"]] == [
        ("scorer-stable", 100),
        ("scorer-canary", 0),
    ]
    assert rule["filters"] == [header, gatewayapi.mirror_filter("scorer-canary", 8080, 40)]
    assert rule["filters"][1]["requestMirror"]["percent"] == 40
    assert mirrored["metadata"]["annotations"]["roost.dev/mirror.scorer"] == "40"
    assert "filters" not in mirrored["spec"]["rules"][1]
    # The weighted step after it removes Roost's mirror and its annotation, nothing else.
    weighted = gatewayapi.weighted(mirrored, name="scorer", port=8080, canary_weight=5)
    assert weighted is not None
    assert weighted["spec"]["rules"][0]["filters"] == [header]
    assert "roost.dev/mirror.scorer" not in weighted["metadata"]["annotations"]
    assert gatewayapi.weighted(weighted, name="scorer", port=8080, canary_weight=5) is None


def test_a_route_mirrored_by_someone_else_is_compared_with_roosts_mirror() -> None:
    route = _route({"name": "scorer-stable", "port": 8080})
    mirrored = gatewayapi.weighted(route, name="scorer", port=8080, canary_weight=0, mirror=100)
    assert mirrored is not None
    assert (
        gatewayapi.weighted(mirrored, name="scorer", port=8080, canary_weight=0, mirror=100) is None
    )
    mirrored["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"] = 10
    restored = gatewayapi.weighted(mirrored, name="scorer", port=8080, canary_weight=0, mirror=100)
    assert restored is not None
    assert restored["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"] == 100


def test_istio_mirrors_to_the_canary_and_leaves_a_mirror_to_another_host() -> None:
    predict = {"name": "predict", "route": [{"destination": {"host": "scorer-stable"}}]}
    audit = {
        "name": "audit",
        "route": [{"destination": {"host": "scorer"}}],
        "mirror": {"host": "audit-log"},
    }
    service = {"metadata": {"name": "vs", "namespace": "ns"}, "spec": {"http": [predict, audit]}}
    mirrored = istio.weighted(
        service, name="scorer", canary_weight=0, routes=["predict"], mirror=25
    )
    assert mirrored is not None
    first, second = mirrored["spec"]["http"]
    assert first["mirror"] == {"host": "scorer-canary"}
    assert first["mirrorPercentage"] == {"value": 25.0}
    assert second == audit
    back = istio.weighted(mirrored, name="scorer", canary_weight=5, routes=["predict"])
    assert back is not None
    assert "mirror" not in back["spec"]["http"][0]
    assert "mirrorPercentage" not in back["spec"]["http"][0]
    # A route that mirrors elsewhere keeps its mirror; a shadow step on it is refused.
    weighted = istio.weighted(service, name="scorer", canary_weight=5, routes=None)
    assert weighted is not None
    assert weighted["spec"]["http"][1]["mirror"] == {"host": "audit-log"}
    with pytest.raises(TrafficError, match="http route audit already mirrors to audit-log"):
        istio.weighted(service, name="scorer", canary_weight=0, routes=None, mirror=25)


TESTERS = (HeaderMatch(name="x-tester", value="1"),)


def test_a_header_matched_step_adds_roosts_rule_for_the_canary_and_removes_it_after() -> None:
    route = _route({"name": "scorer-stable", "port": 8080})
    matched = gatewayapi.weighted(route, name="scorer", port=8080, canary_weight=0, match=TESTERS)
    assert matched is not None
    rules = matched["spec"]["rules"]
    assert [r.get("name") for r in rules] == [None, None, "roost-match-scorer"]
    ours = rules[2]
    assert ours["matches"] == [
        {
            "path": {"value": "/predict"},
            "headers": [{"type": "Exact", "name": "x-tester", "value": "1"}],
        }
    ]
    assert ours["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "scorer-canary", "port": 8080, "weight": 1}
    ]
    assert gatewayapi.applied_weight(matched, name="scorer") == 0  # everyone else: stable
    assert (
        gatewayapi.weighted(matched, name="scorer", port=8080, canary_weight=0, match=TESTERS)
        is None
    )
    assert recorded_match(matched, "scorer") == TESTERS
    after = gatewayapi.weighted(matched, name="scorer", port=8080, canary_weight=10)
    assert after is not None
    assert [r.get("name") for r in after["spec"]["rules"]] == [None, None]
    assert "roost.dev/match.scorer" not in after["metadata"]["annotations"]


def test_istio_puts_roosts_matched_route_before_the_models() -> None:
    service = {
        "metadata": {"name": "vs", "namespace": "ns"},
        "spec": {
            "http": [
                {"name": "admin", "route": [{"destination": {"host": "admin"}}]},
                {
                    "name": "predict",
                    "match": [{"uri": {"prefix": "/predict"}}],
                    "route": [{"destination": {"host": "scorer-stable", "port": {"number": 80}}}],
                },
            ]
        },
    }
    regex = HeaderMatch(name="Cookie", value="(^|; )beta=1(;|$)", type="RegularExpression")
    matched = istio.weighted(
        service, name="scorer", canary_weight=0, routes=None, match=(*TESTERS, regex)
    )
    assert matched is not None
    names = [h["name"] for h in matched["spec"]["http"]]
    assert names == ["admin", "roost-match-scorer", "predict"]
    ours = matched["spec"]["http"][1]
    assert ours["match"] == [
        {
            "uri": {"prefix": "/predict"},
            "headers": {"x-tester": {"exact": "1"}, "cookie": {"regex": "(^|; )beta=1(;|$)"}},
        }
    ]
    assert ours["route"] == [
        {"destination": {"host": "scorer-canary", "port": {"number": 80}}, "weight": 100}
    ]
    back = istio.weighted(matched, name="scorer", canary_weight=10, routes=None)
    assert back is not None
    assert [h["name"] for h in back["spec"]["http"]] == ["admin", "predict"]
