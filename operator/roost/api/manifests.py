"""Manifests judged as admission would judge them, offline (``roost validate``).

kubectl turns YAML into JSON before the apiserver sees it, and the apiserver checks
JSON types strictly: ``weight: '5'`` is a string, not 5. So a document is read
from YAML (refusing duplicate keys, as kubectl does), converted to JSON (refusing
NaN and infinities, which JSON cannot carry), and validated by the API models in
pydantic's strict JSON mode, which has the apiserver's type rules. The object's
envelope is checked too: ``apiVersion``, ``kind`` and ``metadata.name`` (a
ModelDeployment's name is short enough for the names derived from it). ``kind:
List`` is unpacked as kubectl does. Every problem of every document is reported
with its line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from roost.api import messages
from roost.api.base import (
    API_VERSION,
    DNS_LABEL_PATTERN,
    GROUP,
    MODEL_DEPLOYMENT_NAME_MAX,
    MODEL_DEPLOYMENT_NAME_PATTERN,
    SLO_POLICY_NAME_MAX,
)
from roost.api.messages import Loc, Problem

M = TypeVar("M", bound=BaseModel)

# A document whose conversion visits more values than this is refused (a YAML alias
# bomb expands exponentially; kubectl refuses "excessive aliasing" too).
MAX_VALUES = 200_000


class ManifestError(ValueError):
    """Text that is not a YAML stream of documents; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Document:
    """One document of a file, with the line of every key and item in it."""

    index: int  # 1-based position in the file
    data: Any
    line: int
    lines: dict[Loc, int] = field(default_factory=dict)
    texts: dict[Loc, str] = field(default_factory=dict)  # plain scalars as written
    prefix: Loc = ()  # ("items", 3) for the fourth object of a kind: List

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest enclosing key."""
        full = self.prefix + loc
        for end in range(len(full), 0, -1):
            if full[:end] in self.lines:
                return self.lines[full[:end]]
        return self.line

    def text_of(self, loc: Loc) -> str | None:
        return self.texts.get(self.prefix + loc)


@dataclass(frozen=True)
class Finding:
    """An error or a warning about one document."""

    severity: Literal["error", "warning"]
    line: int
    path: str
    message: str

    def text(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Verdict:
    """What admission would say about one document."""

    document: Document
    kind: str | None
    name: str | None
    findings: tuple[Finding, ...]
    skipped: bool = False  # not a Roost object: kubectl would send it elsewhere

    @property
    def valid(self) -> bool:
        return not self.skipped and not any(f.severity == "error" for f in self.findings)


# --- YAML ------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (as kubectl does)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML reports it below
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is given twice in one mapping (first on line {first}); "
                    "keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


# kubectl's YAML reader takes 1e3 and .5e1 as numbers; YAML 1.1 (PyYAML) wants a dot.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], texts: dict[Loc, str]) -> None:
    if len(lines) > MAX_VALUES:
        return
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            here = (*loc, key_node.value)
            lines[here] = key_node.start_mark.line + 1
            _index(value_node, here, lines, texts)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            here = (*loc, position)
            lines[here] = item.start_mark.line + 1
            _index(item, here, lines, texts)
    elif isinstance(node, yaml.ScalarNode) and node.style is None:
        texts[loc] = node.value


def problem_line(error: yaml.YAMLError) -> tuple[str, int | None]:
    """A YAML error as (message with a hint, 1-based line)."""
    mark = getattr(error, "problem_mark", None)
    problem = str(getattr(error, "problem", None) or error).replace("\n", " ")
    if "\\t" in problem or "'\t'" in problem:
        problem += "; YAML indents with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        problem += "; a value containing ': ' must be quoted"
    column = f", column {mark.column + 1}" if mark is not None else ""
    return f"not valid YAML{column}: {problem}", (mark.line + 1 if mark is not None else None)


def load(text: str) -> list[Document]:
    """Every non-empty document of a YAML (or JSON) stream; ManifestError on bad syntax."""
    loader = _Loader(text)
    found: list[Document] = []
    try:
        position = 0
        while loader.check_node():
            node = loader.get_node()
            position += 1
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is None:
                continue
            lines: dict[Loc, int] = {}
            texts: dict[Loc, str] = {}
            _index(node, (), lines, texts)
            found.append(Document(position, data, node.start_mark.line + 1, lines, texts))
    except yaml.YAMLError as error:
        message, line = problem_line(error)
        raise ManifestError(message, line) from None
    finally:
        loader.dispose()
    return found


def unpack(documents: list[Document]) -> list[Document]:
    """``kind: List`` documents replaced by their items, as kubectl applies them."""
    out: list[Document] = []
    for document in documents:
        data = document.data
        if isinstance(data, dict) and data.get("kind") == "List" and "items" in data:
            items = data["items"] if isinstance(data["items"], list) else []
            for position, item in enumerate(items):
                loc: Loc = ("items", position)
                out.append(
                    Document(
                        document.index,
                        item,
                        document.lines.get(loc, document.line),
                        document.lines,
                        document.texts,
                        loc,
                    )
                )
        else:
            out.append(document)
    return out


# --- YAML values as JSON ------------------------------------------------------------------


def to_json(value: Any) -> tuple[Any, list[Problem]]:
    """``value`` as kubectl would send it, and what JSON cannot carry (NaN, binary)."""
    problems: list[Problem] = []
    budget = [MAX_VALUES]

    def convert(item: Any, loc: Loc) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise ManifestError(
                f"more than {MAX_VALUES} values (aliases expanding?): not a manifest"
            )
        if isinstance(item, float) and not math.isfinite(item):
            shown = ".nan" if math.isnan(item) else ("-.inf" if item < 0 else ".inf")
            problems.append(
                Problem(
                    loc,
                    f"got {shown}; write a finite number (JSON, and so Kubernetes, has no NaN "
                    "or infinity)",
                )
            )
            return None
        if isinstance(item, float) and item.is_integer() and abs(item) < 2**63:
            return int(item)  # JSON has one number type: the apiserver takes 5.0 as 5
        if isinstance(item, bool | int | float | str) or item is None:
            return item
        if isinstance(item, dt.datetime | dt.date):
            return item.isoformat()
        if isinstance(item, dict):
            out: dict[str, Any] = {}
            for key, inner in item.items():
                name = _key(key)
                out[name] = convert(inner, (*loc, name))
            return out
        if isinstance(item, list):
            return [convert(inner, (*loc, i)) for i, inner in enumerate(item)]
        problems.append(
            Problem(loc, f"got a YAML {type(item).__name__}; write a string, number or mapping")
        )
        return None

    return convert(value, ()), problems


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def validate_strict(model: type[M], data: Any) -> M:
    """``data`` (JSON-compatible) validated with the apiserver's type rules: no coercion."""
    return model.model_validate_json(json.dumps(data, allow_nan=False), strict=True)


# --- documents --------------------------------------------------------------------------


def _name_problem(kind: str, metadata: Any) -> Problem | None:
    if not isinstance(metadata, dict):
        return Problem(("metadata",), "required: write metadata: {name: NAME}")
    name = metadata.get("name")
    if kind == "ModelDeployment":
        pattern, longest = MODEL_DEPLOYMENT_NAME_PATTERN, MODEL_DEPLOYMENT_NAME_MAX
        what = (
            f"a name such as fraud-scorer: a lowercase letter first, then lowercase letters, "
            f"digits and '-', at most {longest} characters (Roost derives NAME-canary and "
            f"NAME-<revision> from it)"
        )
    else:
        pattern, longest = DNS_LABEL_PATTERN, SLO_POLICY_NAME_MAX
        what = (
            f"a name such as fraud-scorer: lowercase letters, digits and '-', at most "
            f"{longest} characters (sloPolicyRef.name refers to it)"
        )
    if name is None:
        return Problem(("metadata", "name"), f"required: write {what}")
    if not isinstance(name, str) or not re.match(pattern, name) or len(name) > longest:
        return Problem(("metadata", "name"), f"got {messages.describe(name)}; write {what}")
    namespace = metadata.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not re.match(DNS_LABEL_PATTERN, namespace)
    ):
        return Problem(
            ("metadata", "namespace"),
            f"got {messages.describe(namespace)}; write a namespace such as models",
        )
    return None


def check(
    document: Document,
    kinds: dict[str, type[BaseModel]],
    warnings: Callable[[BaseModel], list[str]] | None = None,
) -> Verdict:
    """What admission would say about one document (``kinds``: the Roost kinds by name)."""

    def finding(problem: Problem, severity: Literal["error", "warning"] = "error") -> Finding:
        return Finding(severity, document.line_of(problem.loc), problem.path, problem.message)

    data = document.data
    if not isinstance(data, dict):
        return Verdict(
            document,
            None,
            None,
            (
                finding(
                    Problem(
                        (),
                        f"got {messages.describe(data)}; write a Kubernetes object: a mapping "
                        "with apiVersion, kind, metadata and spec",
                    )
                ),
            ),
        )
    kind, api_version = data.get("kind"), data.get("apiVersion")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    name = name if isinstance(name, str) else None
    group = api_version.split("/")[0] if isinstance(api_version, str) else None
    if kind not in kinds:
        if kind is not None and group not in (None, GROUP):
            return Verdict(document, str(kind), name, (), skipped=True)
        close = difflib.get_close_matches(str(kind), list(kinds), n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}?)" if close and kind is not None else ""
        return Verdict(
            document,
            None if kind is None else str(kind),
            name,
            (
                finding(
                    Problem(
                        ("kind",),
                        ("required" if kind is None else f"got {messages.describe(kind)}")
                        + f"; write {' or '.join(kinds)}{hint}",
                    )
                ),
            ),
        )
    found: list[Finding] = []
    if api_version != API_VERSION:
        given = "required" if api_version is None else f"got {messages.describe(api_version)}"
        found.append(finding(Problem(("apiVersion",), f"{given}; write {API_VERSION}")))
    if (problem := _name_problem(str(kind), metadata)) is not None:
        found.append(finding(problem))
    body, conversion = to_json({k: v for k, v in data.items() if k != "status"})
    found += [finding(p) for p in conversion]
    reported = {p.loc for p in conversion}
    model = kinds[str(kind)]
    body.update(apiVersion=API_VERSION, kind=kind, metadata=body.get("metadata") or {})
    if not isinstance(body["metadata"], dict):
        body["metadata"] = {}
    try:
        parsed = validate_strict(model, body)
    except ValidationError as error:
        for problem in messages.problems(error, model, source=document.text_of):
            # A value JSON cannot carry was sent as null; its field (and the object
            # holding it) complain about that null, which says nothing new.
            if not any(loc[: len(problem.loc)] == problem.loc for loc in reported):
                found.append(finding(problem))
    else:
        for text in warnings(parsed) if warnings else ():
            found.append(Finding("warning", document.line, "", text))
    return Verdict(document, str(kind), name, tuple(found))
