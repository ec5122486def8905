"""Prometheus series selectors as data: parsed once, rendered safely.

Users write selectors such as ``model_predictions_total{status="error"}`` in an
SLOPolicy. Roost never pastes that text into a query: it parses it into a
metric name and label matchers (the grammar is strict enough that nothing but a
selector gets through, see ``SELECTOR_PATTERN``), adds its own matchers (the
version label, the model's labels) and renders the whole thing with every label
value escaped. A hostile value such as ``"}) or vector(1) #`` stays a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_QUOTED = r'"(?:[^"\\\n]|\\.)*"'
_MATCHER = rf"\s*{LABEL_NAME}\s*(?:=~|!~|!=|=)\s*{_QUOTED}\s*"
# Used verbatim as the CRD's OpenAPI pattern (RE2-compatible: no look-arounds).
SELECTOR_PATTERN = rf"^{METRIC_NAME}(\{{(?:{_MATCHER}(?:,{_MATCHER})*,?)?\s*\}})?$"

_SELECTOR = re.compile(SELECTOR_PATTERN)
_MATCHER_PARTS = re.compile(rf"\s*({LABEL_NAME})\s*(=~|!~|!=|=)\s*({_QUOTED})\s*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True)
class Matcher:
    label: str
    op: MatchOp
    value: str

    def render(self) -> str:
        return f"{self.label}{self.op.value}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A metric name with label matchers, rendered with escaped values."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def with_matchers(self, *extra: Matcher) -> Selector:
        """This selector with more matchers; a matcher on the same label replaces the user's."""
        labels = {m.label for m in extra}
        kept = tuple(m for m in self.matchers if m.label not in labels)
        return replace(self, matchers=kept + tuple(extra))

    def with_metric(self, metric: str) -> Selector:
        return replace(self, metric=metric)

    def render(self) -> str:
        if not self.matchers:
            return self.metric
        return self.metric + "{" + ", ".join(m.render() for m in self.matchers) + "}"

    def label_value(self, label: str) -> str | None:
        for matcher in self.matchers:
            if matcher.label == label and matcher.op is MatchOp.EQUAL:
                return matcher.value
        return None


class SelectorError(ValueError):
    """Text that is not a single Prometheus series selector."""


def quote(value: str) -> str:
    """A PromQL double-quoted string literal for any value (backslash, quote, newline escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            out.append(_ESCAPES.get(body[index + 1], body[index + 1]))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def parse(text: str) -> Selector:
    """Parse ``metric{label="value", ...}``; anything else raises :class:`SelectorError`."""
    if not isinstance(text, str) or not _SELECTOR.match(text):
        raise SelectorError(
            f"{text!r} is not a series selector: expected a metric name with optional "
            'label matchers, e.g. model_predictions_total{status="error"}'
        )
    brace = text.find("{")
    if brace < 0:
        return Selector(metric=text)
    inner = text[brace + 1 : text.rindex("}")]
    matchers = tuple(
        Matcher(label=label, op=MatchOp(op), value=_unquote(literal))
        for label, op, literal in _MATCHER_PARTS.findall(inner)
    )
    return Selector(metric=text[:brace], matchers=matchers)


def equal(label: str, value: str) -> Matcher:
    return Matcher(label=label, op=MatchOp.EQUAL, value=value)


def not_equal(label: str, value: str) -> Matcher:
    return Matcher(label=label, op=MatchOp.NOT_EQUAL, value=value)


def one_of(label: str, values: list[str]) -> Matcher:
    """A regex matcher for any of ``values`` exactly (each value regex-escaped)."""
    return Matcher(label=label, op=MatchOp.REGEX, value="|".join(re.escape(v) for v in values))
