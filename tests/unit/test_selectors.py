"""Selectors are parsed into data and rendered with escaped values; nothing else gets through."""

from __future__ import annotations

import pytest

from roost import selectors
from roost.selectors import MatchOp, SelectorError


def test_a_selector_round_trips_through_parse_and_render() -> None:
    parsed = selectors.parse('model_predictions_total{status="error", route=~"/v1/.*"}')
    assert parsed.metric == "model_predictions_total"
    assert [(m.label, m.op, m.value) for m in parsed.matchers] == [
        ("status", MatchOp.EQUAL, "error"),
        ("route", MatchOp.REGEX, "/v1/.*"),
    ]
    assert parsed.render() == 'model_predictions_total{status="error", route=~"/v1/.*"}'


def test_a_bare_metric_name_is_a_selector() -> None:
    assert selectors.parse("http_requests_total").render() == "http_requests_total"


@pytest.mark.parametrize(
    "hostile",
    [
        'req_total{code="500"}) or vector(1) #',
        "req_total or vector(1)",
        'sum(req_total{code="500"})',
        'req_total{code="500"}[5m]',
        "req_total offset 1h",
        'req_total{code="500"} + 1',
        "req_total{}}",
        "",
        "1req_total",
    ],
)
def test_anything_but_one_selector_is_rejected(hostile: str) -> None:
    with pytest.raises(SelectorError, match="is not a series selector"):
        selectors.parse(hostile)


def test_label_values_are_escaped_when_rendered() -> None:
    value = 'v1"} or vector(1) or x{a="'
    rendered = selectors.parse("m").with_matchers(selectors.equal("version", value)).render()
    assert rendered == 'm{version="v1\\"} or vector(1) or x{a=\\""}'
    # Parsing the rendered text gives back exactly the hostile value, as one label value.
    assert selectors.parse(rendered).label_value("version") == value


def test_roost_matchers_replace_user_matchers_on_the_same_label() -> None:
    parsed = selectors.parse('m{version="x", job="api"}')
    scoped = parsed.with_matchers(selectors.equal("version", "v2"))
    assert scoped.render() == 'm{job="api", version="v2"}'


def test_one_of_escapes_regex_metacharacters() -> None:
    matcher = selectors.one_of("version", ["v1.0", "v2+rc"])
    assert matcher.render() == 'version=~"v1\\\\.0|v2\\\\+rc"'
