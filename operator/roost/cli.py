"""The ``roost`` command line.

Exit codes: 0 ok; 1 a finding (``roost drift`` found drift, ``roost plan`` cannot
meet its wait budget within ``--max-replicas``); 2 bad input or usage (one line
naming the field or argument and what to write), or a file, cluster or
Prometheus Roost cannot use; 3 an internal error (a bug in Roost: one line, the
traceback only with ``ROOST_DEBUG=1``). No traceback reaches the user otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from roost import __version__, durations

M = TypeVar("M", bound=BaseModel)

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class InputError(Exception):
    """User input Roost cannot use; the message is the one line the user sees."""


def _strict(model: type[M], data: Any, name: str) -> M:
    """``data`` read from YAML, validated as the apiserver would (JSON types, no coercion)."""
    from roost.api import manifests, messages

    body, problems = manifests.to_json(data)
    if problems:
        raise InputError(f"{name}: {problems[0].line()}")
    try:
        return manifests.validate_strict(model, body)
    except ValidationError as error:
        raise InputError(f"{name}: {messages.one_line(error, model, limit=2000)}") from None


def _roost_documents(path: str, kind: str, model: type[M]) -> list[M]:
    """Every ``kind`` object in a file, checked as ``roost validate`` checks it."""
    from roost.api import manifests

    try:
        documents = manifests.unpack(manifests.load(read_text(path)))
    except manifests.ManifestError as error:
        raise InputError(f"{path}:{error.line or ''}: {error}".replace(":: ", ": ")) from None
    if not documents:
        raise InputError(f"{path}: no {kind} in the file")
    found = []
    for document in documents:
        verdict = manifests.check(document, {kind: model})
        errors = [f for f in verdict.findings if f.severity == "error"]
        if verdict.skipped or (verdict.kind != kind and not errors):
            raise InputError(f"{path}: kind: expected {kind}, got {verdict.kind!r}")
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InputError(f"{path}:{errors[0].line}: {errors[0].text()}{more}")
        data = {k: v for k, v in document.data.items() if k != "status"}
        found.append(_strict(model, manifests.to_json(data)[0], path))
    return found


# The longest duration a flag takes (an SLO period is at most a year, as in an SLOPolicy).
MAX_FLAG_SECONDS = 365 * 86400.0


def _duration(text: str) -> float:
    try:
        seconds = durations.parse_seconds(text)
    except durations.DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if seconds > MAX_FLAG_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is longer than 365d: expected a duration such as 30s, 5m or 30d"
        )
    return seconds


def _number(low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """An argparse type for a finite number within [low, high]."""

    def parse(text: str) -> float:
        import math

        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if (
            not math.isfinite(value)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            bounds = (
                f"from {low:g} to {high:g}"
                if low is not None and high is not None
                else f">= {low:g}"
                if low is not None
                else f"<= {high:g}"
            )
            raise argparse.ArgumentTypeError(f"{text!r}: expected a finite number {bounds}")
        return value

    return parse


def _integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for a whole number within [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a whole number from {low} to {high}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a whole number from {low} to {high}"
            )
        return value

    return parse


# Larger than any manifest the apiserver takes (its request limit is 3 MiB).
MAX_INPUT_BYTES = 16 * 1024 * 1024


def read_text(path: str) -> str:
    """A text file (or ``-`` for stdin) as str; every way it can fail is an InputError."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    name = "stdin" if path == "-" else path
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: larger than {MAX_INPUT_BYTES // 2**20} MiB; not a manifest")
    if b"\0" in data:
        raise InputError(f"{name}: a binary file, not YAML or JSON text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
            "save the file as UTF-8"
        ) from None


def yaml_problem(name: str, error: yaml.YAMLError) -> str:
    """One line locating a YAML syntax error, with a hint for the usual causes."""
    mark = getattr(error, "problem_mark", None)
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    problem = str(getattr(error, "problem", None) or error).replace("\n", " ")
    hint = ""
    if "'\\t'" in problem or "\t" in problem:
        hint = "; YAML indents with spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "; a value containing ': ' must be quoted"
    return f"{where}: not valid YAML: {problem}{hint}"


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number such as 7") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 0, such as 7")
    return value


def _emit(data: dict[str, Any], output: str, text: Callable[[dict[str, Any]], str]) -> None:
    if output == "json":
        print(json.dumps(data, indent=2, allow_nan=False))
    elif output == "yaml":
        print(yaml.safe_dump(data, sort_keys=False), end="")
    else:
        print(text(data))


# --- roost crds ----------------------------------------------------------------


def _cmd_crds(args: argparse.Namespace) -> int:
    from roost.api import crd

    if args.write:
        # Repeatable: `--write crds --write charts/roost/crds` keeps the chart's copy identical.
        for folder in args.write:
            target = Path(folder)
            try:
                target.mkdir(parents=True, exist_ok=True)
                for name, body in crd.crd_files().items():
                    (target / name).write_text(body)
                    print(f"wrote {target / name}")
            except OSError as error:
                raise InputError(f"--write {folder}: {error.strerror or error}") from None
        return 0
    if args.reference:
        from roost.api import reference

        print(reference.render(), end="")
        return 0
    if args.output == "json":
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": crd.all_crds()}, indent=2))
        return 0
    print(crd.render_all(), end="")
    return 0


# --- roost rules ---------------------------------------------------------------


def _label_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=VALUE, e.g. model=fraud")
    return name, value


def _cmd_rules(args: argparse.Namespace) -> int:
    """Prometheus recording rules and burn-rate alerts for SLOPolicy manifests; with
    ``--prometheus-adapter`` the adapter's rules for the metrics Roost's HPAs read; with
    ``--demand`` the recording rules of the demand an HPA of ``metric: Demand`` reads."""
    if args.demand:
        return _demand_rules(args)
    if args.namespace:
        raise InputError("--namespace: only with --demand")
    if args.prometheus_adapter:
        return _adapter_rules(args)
    _refuse(_adapter_flags(args), "only with --prometheus-adapter")
    if len(args.files) != 1:
        raise InputError(
            f"give one SLOPolicy file, got {len(args.files)} (several: one `roost rules` each; "
            "--prometheus-adapter takes any number of ModelDeployment files)"
        )
    path = args.files[0]
    from roost.api.slopolicy import SLOPolicy
    from roost.slo.recording import RulesError, rule_file

    labels = dict(args.selector_labels or [])
    outputs = []
    for policy in _roost_documents(path, "SLOPolicy", SLOPolicy):
        name = str(policy.metadata.get("name") or "")
        if not name:
            raise InputError(f"{path}: metadata.name: an SLOPolicy needs a name")
        try:
            rules = rule_file(name, policy.spec, selector_labels=labels, group_by=args.group_by)
        except RulesError as error:
            raise InputError(f"{path}: {error}") from None
        if args.prometheus_rule:
            metadata: dict[str, Any] = {"name": f"roost-slo-{name}"}
            if policy.metadata.get("namespace"):
                metadata["namespace"] = policy.metadata["namespace"]
            metadata["labels"] = {"app.kubernetes.io/managed-by": "roost"}
            rules = {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": metadata,
                "spec": rules,
            }
        outputs.append(rules)
    if not args.prometheus_rule:  # one rule file: every policy's groups together
        outputs = [{"groups": [g for out in outputs for g in out["groups"]]}]
    if args.output == "json":
        print(json.dumps(outputs[0] if len(outputs) == 1 else outputs, indent=2))
    else:
        print(yaml.safe_dump_all(outputs, sort_keys=False, width=1000), end="")
    return 0


def _adapter_flags(args: argparse.Namespace) -> list[tuple[str, object]]:
    """The flags of `roost rules --prometheus-adapter` alone, with what was given."""
    return [
        ("--inflight-metric", args.inflight_metric),
        ("--external-metric", args.external_metric),
        ("--namespace-label", args.namespace_label),
        ("--pod-label", args.pod_label),
        ("--configmap", args.configmap),
        ("--helm-values", args.helm_values),
    ]


def _refuse(flags: list[tuple[str, object]], why: str) -> None:
    """An InputError naming the first of ``flags`` that was given, and ``why`` not."""
    for flag, given in flags:
        if given:
            raise InputError(f"{flag}: {why}")


def _roost_objects(path: str) -> list[BaseModel]:
    """Every ModelDeployment and SLOPolicy in a file, checked as ``roost validate``
    checks them; any other kind is an error."""
    from roost.api import manifests
    from roost.api.modeldeployment import ModelDeployment
    from roost.api.slopolicy import SLOPolicy

    kinds: dict[str, type[BaseModel]] = {"ModelDeployment": ModelDeployment, "SLOPolicy": SLOPolicy}
    try:
        documents = manifests.unpack(manifests.load(read_text(path)))
    except manifests.ManifestError as error:
        raise InputError(f"{path}:{error.line or ''}: {error}".replace(":: ", ": ")) from None
    if not documents:
        raise InputError(f"{path}: no ModelDeployment in the file")
    found = []
    for document in documents:
        verdict = manifests.check(document, kinds)
        errors = [f for f in verdict.findings if f.severity == "error"]
        if verdict.skipped or (verdict.kind not in kinds and not errors):
            raise InputError(
                f"{path}: kind: expected ModelDeployment (or SLOPolicy), got {verdict.kind!r}"
            )
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise InputError(f"{path}:{errors[0].line}: {errors[0].text()}{more}")
        assert verdict.kind is not None
        data = {k: v for k, v in document.data.items() if k != "status"}
        found.append(_strict(kinds[verdict.kind], manifests.to_json(data)[0], path))
    return found


def _inflight_metrics(path: str) -> list[str]:
    """The in-flight metric of every ModelDeployment with autoscaling in a file; an
    SLOPolicy in the same file names no HPA metric and is passed over."""
    from roost.api.modeldeployment import ModelDeployment

    return [
        found.spec.autoscaling.inflight_metric
        for found in _roost_objects(path)
        if isinstance(found, ModelDeployment) and found.spec.autoscaling is not None
    ]


def _demand_rules(args: argparse.Namespace) -> int:
    """The demand rules of every ModelDeployment of ``autoscaling.metric: Demand`` in the
    files, each with the SLOPolicy it names (which must be in the files too)."""
    from roost.api.modeldeployment import ModelDeployment, ScalingMetric
    from roost.api.slopolicy import SLOPolicy
    from roost.slo import demand
    from roost.slo.recording import RulesError

    _refuse(
        [
            ("--selector-labels", args.selector_labels),
            ("--group-by", args.group_by),
            ("--prometheus-adapter", args.prometheus_adapter),
            *_adapter_flags(args),
        ],
        "not with --demand",
    )
    if not args.files:
        raise InputError("--demand: give the ModelDeployment files and their SLOPolicies")
    default_ns = args.namespace
    models: list[tuple[str, ModelDeployment]] = []
    policies: dict[tuple[str, str], SLOPolicy] = {}
    for path in args.files:
        for found in _roost_objects(path):
            if not isinstance(found, SLOPolicy | ModelDeployment):
                continue
            name = str(found.metadata.get("name") or "")
            if not name:
                raise InputError(f"{path}: metadata.name: every object needs a name")
            namespace = str(found.metadata.get("namespace") or default_ns or "")
            if isinstance(found, SLOPolicy):
                policies[(namespace, name)] = found
            elif isinstance(found, ModelDeployment):
                models.append((path, found))
    groups, wrapped = [], []
    for path, md in models:
        autoscaling = md.spec.autoscaling
        if autoscaling is None or autoscaling.metric is not ScalingMetric.DEMAND:
            continue
        name = str(md.metadata["name"])
        namespace = str(md.metadata.get("namespace") or default_ns or "")
        if not namespace:
            raise InputError(
                f"{path}: ModelDeployment {name}: metadata.namespace: the rules label the "
                "demand with its namespace; set it, or pass --namespace NS"
            )
        ref = md.spec.slo_policy_ref.name
        # A policy that names no namespace goes wherever it is applied, as with kubectl.
        policy = policies.get((namespace, ref)) or policies.get(("", ref))
        if policy is None:
            raise InputError(
                f"{path}: ModelDeployment {namespace}/{name} names SLOPolicy {ref}, which is "
                "not in the files given: add its file (the demand counts the requests its "
                "objectives count)"
            )
        try:
            group = demand.demand_rule_group(namespace, name, md.spec, policy.spec)
        except RulesError as error:
            raise InputError(f"{path}: {error}") from None
        groups.append(group)
        wrapped.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": {
                    "name": f"roost-demand-{name}",
                    "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "roost"},
                },
                "spec": demand.rule_file([group]),
            }
        )
    if not groups:
        raise InputError(
            "no ModelDeployment with autoscaling.metric: Demand in "
            + ", ".join(args.files)
            + ": the demand rules are for those"
        )
    outputs = wrapped if args.prometheus_rule else [demand.rule_file(groups)]
    if args.output == "json":
        print(json.dumps(outputs[0] if len(outputs) == 1 else outputs, indent=2))
    else:
        print(yaml.safe_dump_all(outputs, sort_keys=False, width=1000), end="")
    return 0


def _adapter_rules(args: argparse.Namespace) -> int:
    from roost.api.modeldeployment import DEMAND_METRIC
    from roost.capacity import adapter_rules
    from roost.capacity.hpa import DEFAULT_INFLIGHT_METRIC, DEFAULT_RECOMMENDED_REPLICAS_METRIC

    _refuse(
        [
            ("--selector-labels", args.selector_labels),
            ("--group-by", args.group_by),
            ("--prometheus-rule", args.prometheus_rule),
        ],
        "not with --prometheus-adapter (SLO rules only)",
    )
    # The defaults always: a ModelDeployment not given here still finds its metric.
    inflight = [DEFAULT_INFLIGHT_METRIC, *(args.inflight_metric or [])]
    for path in args.files:
        inflight += _inflight_metrics(path)
    try:
        config = adapter_rules.prometheus_adapter_config(
            inflight_metrics=inflight,
            external_metrics=[
                DEFAULT_RECOMMENDED_REPLICAS_METRIC,
                DEMAND_METRIC,
                *(args.external_metric or []),
            ],
            namespace_label=args.namespace_label or adapter_rules.DEFAULT_NAMESPACE_LABEL,
            pod_label=args.pod_label or adapter_rules.DEFAULT_POD_LABEL,
        )
    except adapter_rules.AdapterRulesError as error:
        raise InputError(str(error)) from None
    document: dict[str, Any] = config
    if args.configmap and args.helm_values:
        raise InputError("--configmap and --helm-values: give one (a ConfigMap, or chart values)")
    if args.helm_values:
        # Values of the prometheus-community/prometheus-adapter chart: its rules.custom
        # and rules.external become the config, and each registers its APIService.
        document = {
            "rules": {
                "default": False,
                "custom": config["rules"],
                "external": config["externalRules"],
            }
        }
    elif args.configmap:
        # For an adapter installed with its own chart: prometheus-adapter reads
        # config.yaml from the ConfigMap it mounts.
        document = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": args.configmap,
                "labels": {"app.kubernetes.io/managed-by": "roost"},
            },
            "data": {"config.yaml": yaml.safe_dump(config, sort_keys=False, width=1000)},
        }
    if args.output == "json":
        print(json.dumps(document, indent=2))
    else:
        print(yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, width=1000), end="")
    return 0


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (a ConfigMap's file) as YAML literal blocks, readable as files."""


_BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


# --- roost plan ----------------------------------------------------------------


def _cmd_plan(args: argparse.Namespace) -> int:
    import math

    from roost.capacity import PlanInputs, plan_capacity

    try:
        plan = plan_capacity(
            PlanInputs(
                arrival_rate=args.arrival_rate,
                service_time=args.service_time,
                slots_per_replica=args.slots_per_replica,
                wait_budget=args.p99_wait,
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
            )
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    data = plan.to_dict()

    def text(d: dict[str, Any]) -> str:
        wait = d["p99_wait_seconds"]
        return (
            f"replicas {d['replicas']} ({d['provisioned_slots']} slots, {d['slots']} needed) "
            f"for offered load {d['offered_load']:.2f} Erlangs; P(wait) {d['p_wait']:.4f}, "
            + (
                "p99 wait unbounded (more load than slots: the queue grows without limit)"
                if wait is None
                else f"p99 wait {wait * 1000:.2f} ms"
            )
        )

    _emit(data, args.output, text)
    if not plan.meets_wait_budget:
        wait = plan.p99_wait_seconds
        missed = (
            "an unbounded wait"
            if not math.isfinite(wait)
            else f"a p99 wait of {wait * 1000:.4g} ms ({wait / args.p99_wait:.3g}x the budget)"
        )
        print(
            f"roost: warning: --max-replicas {args.max_replicas} caps the plan at "
            f"{plan.replicas} replicas, which gives {missed}; {plan.slots} slots "
            f"({-(-plan.slots // args.slots_per_replica)} replicas) meet --p99-wait",
            file=sys.stderr,
        )
        return EXIT_FINDING
    return 0


# --- roost capacity replay -----------------------------------------------------


def _replay_settings(args: argparse.Namespace) -> Any:
    """The replay's settings: the flags, over the ModelDeployment's autoscaling (-f)."""
    from roost.api.modeldeployment import ModelDeployment
    from roost.replay.compare import Settings

    autoscaling = None
    if args.filename is not None:
        found = _roost_documents(args.filename, "ModelDeployment", ModelDeployment)
        autoscaling = found[0].spec.autoscaling
        if autoscaling is None:
            raise InputError(
                f"{args.filename}: spec.autoscaling: not set; replay compares Roost's "
                "autoscaling, so write an autoscaling block (or leave out -f)"
            )
    declared_time = (
        durations.parse_seconds(autoscaling.service_time)
        if autoscaling is not None and autoscaling.service_time is not None
        else None
    )
    service_time = args.service_time or declared_time
    if service_time is None:
        where = "and the ModelDeployment declares no serviceTime" if autoscaling else "(no -f)"
        raise InputError(
            f"--service-time: not given {where}; write the model's mean service time, "
            "e.g. --service-time 80ms"
        )

    def pick(flag: Any, field: str, default: Any) -> Any:
        if flag is not None:
            return flag
        value = None if autoscaling is None else getattr(autoscaling, field)
        return default if value is None else value

    wait = pick(args.wait_budget, "wait_budget", 0.05)
    startup = pick(args.pod_startup, "pod_startup", 60.0)
    return Settings(
        service_time=service_time,
        service_cv=args.service_time_cv,
        slots=pick(args.slots_per_replica, "slots_per_replica", 1),
        wait_budget=durations.parse_seconds(wait) if isinstance(wait, str) else wait,
        slo=args.slo,
        burst_factor=pick(args.burst_factor, "burst_factor", 1.0),
        arrival_rate=pick(args.arrival_rate, "arrival_rate", None),
        pod_startup=durations.parse_seconds(startup) if isinstance(startup, str) else startup,
        demand=str(pick(args.metric, "metric", "InflightPerPod")) == "Demand",
        declared_cv=None if autoscaling is None else autoscaling.service_time_cv,
        declared_service_time=declared_time,
        min_replicas=pick(args.min_replicas, "min_replicas", 1),
        max_replicas=pick(args.max_replicas, "max_replicas", 60),
        routing=args.routing,
        cpu_targets=tuple(args.cpu_target or (50, 70, 90)),
    )


def _cmd_capacity_replay(args: argparse.Namespace) -> int:
    import numpy as np

    from roost.replay import compare, trace

    try:
        replayed = trace.read(read_text(args.trace))
    except trace.TraceError as error:
        raise InputError(f"{args.trace}: {error}") from None
    settings = _replay_settings(args)
    # The first seed's arrivals (the others draw a time,rate trace's again).
    requests = len(replayed.arrivals(np.random.default_rng([0, 7])))
    if requests > MAX_REPLAY_REQUESTS:
        raise InputError(
            f"{args.trace}: {requests:,} requests; replay takes at most "
            f"{MAX_REPLAY_REQUESTS:,} (sample the trace, or give a shorter one)"
        )
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError(
                "--plot needs matplotlib, which roost does not install: pip install matplotlib"
            ) from None
    rows = compare.compare(replayed, settings, args.seeds)
    per_second = replayed.per_second()
    data = {
        "trace": {
            "seconds": replayed.seconds,
            "requests": requests,
            "mean_rate": float(per_second.mean()) if len(per_second) else 0.0,
            "peak_minute_rate": max(
                (float(per_second[i : i + 60].mean()) for i in range(0, len(per_second), 60)),
                default=0.0,
            ),
        },
        "model": {
            "service_time": settings.service_time,
            "service_time_cv": settings.service_cv,
            "slots_per_replica": settings.slots,
            "slo": settings.slo_seconds,
            "routing": settings.routing,
            "startup_seconds": list(compare.model_of(settings).startup_seconds),
            "seeds": args.seeds,
        },
        "policies": [
            {
                "policy": row.policy,
                "replica_hours": row.replica_hours[0],
                "violation_minutes": row.violation_minutes[0],
                "attainment": row.attainment[0],
                "p99_seconds": row.p99[0],
                "interval_95": {
                    "replica_hours": _finite(row.replica_hours[1]),
                    "violation_minutes": _finite(row.violation_minutes[1]),
                    "attainment": _finite(row.attainment[1]),
                },
            }
            for row in rows
        ],
    }

    def text(d: dict[str, Any]) -> str:
        t, m = d["trace"], d["model"]
        lines = [
            f"Trace: {t['seconds']:,} s, {t['requests']:,} requests, mean "
            f"{t['mean_rate']:.3g} req/s, busiest minute {t['peak_minute_rate']:.3g} req/s",
            f"Model: service {m['service_time'] * 1000:.3g} ms (CV {m['service_time_cv']:g}), "
            f"{m['slots_per_replica']} slots a pod, pods ready "
            f"{m['startup_seconds'][0]:g}-{m['startup_seconds'][1]:g} s after creation, "
            f"{m['routing']} routing; a request is good within {m['slo'] * 1000:.3g} ms; "
            f"{m['seeds']} seed(s), ± the 95 % interval",
            "",
            f"{'policy':<58} {'replica-hours':>15} {'violation-min':>15} {'attainment':>16}",
        ]
        for row in rows:
            lines.append(
                f"{row.policy:<58} {_pm(row.replica_hours, '.2f'):>15} "
                f"{_pm(row.violation_minutes, '.1f'):>15} "
                f"{_pm((100 * row.attainment[0], 100 * row.attainment[1]), '.2f') + ' %':>16}"
            )
        return "\n".join(lines)

    _emit(data, args.output, text)
    if args.plot is not None:
        _replay_plot(args.plot, per_second, rows)
        print(f"roost: wrote {args.plot}", file=sys.stderr)
    return 0


MAX_REPLAY_REQUESTS = 5_000_000


def _finite(value: float) -> float | None:
    return None if value != value else value


def _pm(pair: tuple[float, float], spec: str) -> str:
    mean, half = pair
    return format(mean, spec) if half != half else f"{mean:{spec}} ± {half:{spec}}"


def _replay_plot(path: str, per_second: Any, rows: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    minutes = [float(per_second[i : i + 60].mean()) for i in range(0, len(per_second), 60)]
    top.step([60 * i / 60 for i in range(len(minutes))], minutes, where="post")
    top.set_ylabel("requests/s (1-min mean)")
    for row in rows:
        times = [t / 60 for t, _ in row.trajectory] + [len(per_second) / 60]
        counts = [n for _, n in row.trajectory]
        bottom.step(times, [*counts, counts[-1]], where="post", label=row.policy)
    bottom.set_ylabel("replicas (first seed)")
    bottom.set_xlabel("minutes")
    bottom.legend(fontsize="small")
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=100)
    except OSError as error:
        raise InputError(f"--plot {path}: {error.strerror or error}") from None
    finally:
        plt.close(figure)


# --- roost slo budget ----------------------------------------------------------


def _cmd_slo_budget(args: argparse.Namespace) -> int:
    from roost.slo.budget import BudgetReport

    if not 0 < args.objective < 1:
        raise InputError(f"--objective: expected a ratio in (0, 1), got {args.objective}")
    if args.total < 0 or args.bad < 0 or args.bad > args.total:
        raise InputError(f"--bad: expected 0 <= bad <= total, got {args.bad} of {args.total}")
    report = BudgetReport(
        target=args.objective, total=args.total, bad=args.bad, period_seconds=args.period
    )
    data = report.to_dict()

    def text(d: dict[str, Any]) -> str:
        tte = d["time_to_exhaustion_seconds"]
        remaining = d["budget_remaining"]
        when = "never at this rate" if tte is None else durations.format_seconds(max(tte, 0.001))
        return (
            f"burn rate {d['burn_rate']}, budget remaining "
            f"{'n/a' if remaining is None else f'{remaining:.1%}'}, "
            f"allowed bad {d['allowed_bad']:g}, exhausted in {when}"
        )

    _emit(data, args.output, text)
    return 0


# --- roost simulate ------------------------------------------------------------


def _load_yaml(path: str) -> Any:
    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(yaml_problem(path, error)) from None


# Simulated ticks are bounded so that a scenario always finishes in seconds: 20160 ticks
# are 7d at the default 30s analysisInterval, and a tick's cost grows with the ticks
# before it, so a scenario of 1s ticks over 7d would run for many minutes.
MAX_SIMULATED_TICKS = 20160


def _cmd_simulate(args: argparse.Namespace) -> int:
    from roost import simulation

    document = _load_yaml(args.scenario)
    if not isinstance(document, dict):
        raise InputError(f"{args.scenario}: expected a mapping with modelDeployment and sloPolicy")
    if args.seed is not None:
        document["seed"] = args.seed
    scenario = _strict(simulation.Scenario, document, args.scenario)
    simulated = durations.parse_seconds(scenario.duration) + (
        durations.parse_seconds(scenario.watch) if scenario.watch else 0.0
    )
    interval = scenario.model_deployment.rollout.analysis_interval
    ticks = simulated / durations.parse_seconds(interval)
    if ticks > MAX_SIMULATED_TICKS:
        raise InputError(
            f"{args.scenario}: duration: {scenario.duration}"
            + (f" and watch {scenario.watch}" if scenario.watch else "")
            + f" at analysisInterval {interval} are {ticks:.0f} analysis ticks; roost "
            f"simulate runs at most {MAX_SIMULATED_TICKS} (7d at 30s): write a shorter "
            "duration such as 4h or a longer modelDeployment.rollout.analysisInterval"
        )
    result = simulation.simulate(scenario)
    data = result.to_dict()

    def text(d: dict[str, Any]) -> str:
        lines = [
            f"{e['at_seconds'] / 60:7.1f} min  {e['weight']:3d}%  {e['kind']:<22} {e['message']}"
            for e in d["timeline"]
        ]
        lines.append(
            f"outcome: {d['outcome']} ({d['reason']}) after {d['duration_seconds'] / 60:.1f} min; "
            f"canary served {d['canary_requests']} requests, harmed {d['harmed_requests']}"
        )
        for watch in d["drift"]:
            lines.append(f"drift watch {watch['name']}: {watch['stage']}; {watch['message']}")
        return "\n".join(lines)

    _emit(data, args.output, text)
    return 0


# --- roost validate ------------------------------------------------------------


def _manifest_files(path: str, recursive: bool) -> list[str]:
    """``path`` itself, or the YAML and JSON files in a directory (as kubectl -f, -R)."""
    if path == "-" or not Path(path).is_dir():
        return [path]
    pattern = "**/*" if recursive else "*"
    return sorted(
        str(p)
        for p in Path(path).glob(pattern)
        if p.suffix in (".yaml", ".yml", ".json") and p.is_file()
    )


def _cmd_validate(args: argparse.Namespace) -> int:
    """Check ModelDeployment and SLOPolicy manifests offline, as admission would."""
    from roost.api import manifests
    from roost.api.modeldeployment import ModelDeployment
    from roost.api.slopolicy import SLOPolicy
    from roost.slo.rules import policy_warnings

    kinds: dict[str, Any] = {"ModelDeployment": ModelDeployment, "SLOPolicy": SLOPolicy}

    def warnings(parsed: Any) -> list[str]:
        return policy_warnings(parsed.spec) if isinstance(parsed, SLOPolicy) else []

    given = [*(args.filename or []), *args.files]
    if not given:
        raise InputError("give manifests to check: FILE, a directory, - (stdin) or -f FILE")
    report: list[dict[str, Any]] = []
    errors = 0

    def file_error(name: str, message: str, line: int | None = None) -> None:
        nonlocal errors
        errors += 1
        report.append({"file": name, "line": line, "valid": False, "errors": [message]})
        if args.output == "text":
            where = f"{name}:{line}" if line else name
            print(f"roost: error: {where}: {message}", file=sys.stderr)

    for argument in given:
        paths = _manifest_files(argument, args.recursive)
        if not paths:
            file_error(argument, "no .yaml, .yml or .json files in the directory")
        for path in paths:
            name = "stdin" if path == "-" else path
            try:
                documents = manifests.unpack(manifests.load(read_text(path)))
            except InputError as error:
                file_error(name, str(error).removeprefix(f"{name}: "))
                continue
            except manifests.ManifestError as error:
                file_error(name, str(error), error.line)
                continue
            if not documents:
                file_error(name, "no manifest in the file (an empty file is an error)")
                continue
            several = len(documents) > 1
            for document in documents:
                verdict = manifests.check(document, kinds, warnings)
                label = " ".join(str(x) for x in (verdict.kind, verdict.name) if x)
                entry: dict[str, Any] = {
                    "file": name,
                    "document": document.index,
                    "line": document.line,
                    "kind": verdict.kind,
                    "name": verdict.name,
                    "valid": verdict.valid,
                    "skipped": verdict.skipped,
                    "errors": [],
                    "warnings": [],
                }
                for item in verdict.findings:
                    key = "errors" if item.severity == "error" else "warnings"
                    entry[key].append(
                        {"line": item.line, "path": item.path, "message": item.message}
                    )
                    errors += item.severity == "error"
                    if args.output == "text":
                        where = f"{name}:{item.line}"
                        if several:
                            where += f" (document {document.index}{', ' + label if label else ''})"
                        print(f"roost: {item.severity}: {where}: {item.text()}", file=sys.stderr)
                report.append(entry)
                if args.output == "text" and verdict.skipped:
                    print(f"{name}: {label} skipped: not a Roost object")
                elif args.output == "text" and verdict.valid:
                    print(f"{name}: {label} valid")
    if args.output != "text":
        result = {"valid": errors == 0, "errors": errors, "documents": report}
        _emit(result, args.output, lambda d: "")
    return EXIT_USAGE if errors else EXIT_OK


def _cmd_completion(args: argparse.Namespace) -> int:
    from roost import completion

    print(completion.SCRIPTS[args.shell], end="")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with errors as one line (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"roost: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


# --- roost run -----------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    """Start the operator (kopf underneath) with Roost's handlers."""
    import os

    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    if args.prometheus_url:
        os.environ["ROOST_PROMETHEUS_URL"] = args.prometheus_url
    if args.metrics_port:
        os.environ["ROOST_METRICS_PORT"] = str(args.metrics_port)
    os.environ["ROOST_TICK_SECONDS"] = str(args.tick)
    os.environ["ROOST_CHECKPOINT_SECONDS"] = str(args.checkpoint)
    # The Deployment watch follows the same namespaces; a kopf glob pattern means all.
    plain = [ns for ns in args.namespace or [] if not any(c in ns for c in "*?[],!")]
    scoped = not args.all_namespaces and plain and len(plain) == len(args.namespace or [])
    os.environ["ROOST_WATCH_NAMESPACES"] = ",".join(plain) if scoped else ""
    from roost.settings import Settings, SettingsError

    try:
        # Once, here: a bad value is one line before kopf starts (the handlers get them
        # through kopf's memo).
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        raise InputError(str(error)) from None

    import kopf

    import roost.handlers  # noqa: F401  (registers the handlers)

    kopf.configure(
        verbose=args.verbose,
        debug=args.debug,
        log_format={
            "plain": kopf.LogFormat.PLAIN,
            "full": kopf.LogFormat.FULL,
            "json": kopf.LogFormat.JSON,
        }[args.log_format],
    )
    kopf.run(
        standalone=args.standalone,
        priority=args.priority,
        peering_name=args.peering,
        liveness_endpoint=args.liveness,
        clusterwide=args.all_namespaces,
        namespaces=args.namespace or [],
        memo=kopf.Memo(config=settings),
    )
    return 0


# --- roost promote|abort|pause|resume, roost status -----------------------------


def _kube(args: argparse.Namespace) -> Any:
    from roost.adapters.kube import Kube, api_client

    where = f"--kubeconfig {args.kubeconfig}" if args.kubeconfig else "kubeconfig"
    if args.kubeconfig and not os.path.isfile(args.kubeconfig):
        raise InputError(f"{where}: no such file")
    try:
        return Kube(api_client(args.kubeconfig))
    except Exception as error:  # any failure to load the user's kubeconfig is about that file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"{where}: not a usable kubeconfig ({reason})") from None


def _read_model_deployment(kube: Any, args: argparse.Namespace) -> Any:
    """The ModelDeployment's body; a missing object or an unreachable apiserver is an InputError."""
    import asyncio

    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    from roost.adapters.kube import NotFoundError

    try:
        return asyncio.run(
            kube.get_custom("roost.dev", "v1alpha1", "modeldeployments", args.ns, args.name)
        )
    except NotFoundError as error:
        raise InputError(str(error)) from None
    except ApiException as error:
        raise InputError(
            f"modeldeployment {args.ns}/{args.name}: the apiserver answered "
            f"{error.status} {error.reason}"
        ) from None
    except (HTTPError, OSError) as error:
        raise InputError(f"cannot reach the apiserver: {error}") from None


def _cmd_control(args: argparse.Namespace) -> int:
    """Ask the operator to promote, abort, pause or resume through the command annotation."""
    import asyncio

    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    from roost.adapters.kube import NotFoundError
    from roost.workloads import ANNOTATION_COMMAND

    kube = _kube(args)
    body = {"metadata": {"annotations": {ANNOTATION_COMMAND: args.command}}}
    _read_model_deployment(kube, args)
    try:
        asyncio.run(
            kube.patch_custom("roost.dev", "v1alpha1", "modeldeployments", args.ns, args.name, body)
        )
    except NotFoundError as error:
        raise InputError(str(error)) from None
    except ApiException as error:
        raise InputError(
            f"modeldeployment {args.ns}/{args.name}: the apiserver refused the "
            f"{args.command} request: {error.status} {error.reason}"
        ) from None
    except (HTTPError, OSError) as error:
        raise InputError(f"cannot reach the apiserver: {error}") from None
    print(f"modeldeployment {args.ns}/{args.name}: {args.command} requested")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    """A rollout as a tree, or the object as JSON/YAML; --watch redraws (on a terminal)
    or prints each new state (in a pipe: no screen-clearing escape codes)."""
    import time

    from roost.rollout.view import render_tree

    kube = _kube(args)
    terminal = sys.stdout.isatty()
    last: str | None = None
    while True:
        body = _read_model_deployment(kube, args)
        if args.output == "json":
            text = json.dumps(body, indent=2, default=str)
        elif args.output == "yaml":
            text = yaml.safe_dump(json.loads(json.dumps(body, default=str)), sort_keys=False)
        else:
            text = render_tree(body)
        if not args.watch:
            print(text.rstrip("\n"))
            return 0
        if text != last:
            if terminal and args.output == "text":
                print("\033[2J\033[H" + text, flush=True)
            else:
                separator = "---\n" if args.output == "yaml" and last is not None else ""
                print(separator + text.rstrip("\n"), flush=True)
            last = text
        time.sleep(args.interval)


# --- roost drift ------------------------------------------------------------------


def _histogram_from_file(path: str, name: str | None, match: Sequence[tuple[str, str]]) -> Any:
    """Cumulative counts per le from a JSON mapping or a Prometheus text exposition."""
    import math

    from prometheus_client.parser import text_string_to_metric_families

    text = read_text(path)
    if path.endswith(".json"):
        try:
            raw = json.loads(text)
            parsed = {math.inf if k == "+Inf" else float(k): float(v) for k, v in raw.items()}
        except (ValueError, AttributeError, TypeError) as error:
            raise InputError(
                f"{path}: expected a JSON object of le bound to cumulative count, e.g. "
                f'{{"0.1": 4, "+Inf": 10}} ({error})'
            ) from None
        return _checked_histogram(path, parsed)
    counts: dict[float, float] = {}
    found: set[str] = set()
    try:
        families = list(text_string_to_metric_families(text))
    except ValueError as error:
        raise InputError(f"{path}: not Prometheus text exposition format ({error})") from None
    for family in families:
        for sample in family.samples:
            if not sample.name.endswith("_bucket") or "le" not in sample.labels:
                continue
            base = sample.name.removesuffix("_bucket")
            if name is not None and base != name:
                continue
            if any(sample.labels.get(k) != v for k, v in match):
                continue
            found.add(base)
            bound = float(sample.labels["le"])
            counts[bound] = counts.get(bound, 0.0) + float(sample.value)
    if len(found) > 1:
        raise InputError(
            f"{path}: several histograms ({', '.join(sorted(found))}); use --histogram"
        )
    if not counts:
        raise InputError(
            f"{path}: no histogram buckets"
            + (f" named {name}_bucket" if name else "")
            + (" matching " + ",".join(f"{k}={v}" for k, v in match) if match else "")
        )
    return _checked_histogram(path, counts)


def _checked_histogram(path: str, counts: dict[float, float]) -> dict[float, float]:
    """Cumulative bucket counts a histogram can have: finite bounds (and +Inf), finite
    counts >= 0 that never decrease with le, a +Inf bucket."""
    import math

    def le(bound: float) -> str:
        return "+Inf" if bound == math.inf else f"{bound:g}"

    for bound, count in counts.items():
        if math.isnan(bound) or bound == -math.inf:
            raise InputError(f"{path}: le {bound}: expected a number or +Inf as a bucket bound")
        if not math.isfinite(count) or count < 0:
            raise InputError(
                f"{path}: le {le(bound)}: count {count:g}: expected a finite count >= 0"
            )
    if math.inf not in counts:
        raise InputError(f'{path}: no +Inf bucket: a histogram ends with le="+Inf"')
    previous: tuple[float, float] | None = None
    for bound in sorted(counts):
        if previous is not None and counts[bound] < previous[1]:
            raise InputError(
                f"{path}: le {le(bound)}: count {counts[bound]:g} is below le "
                f"{le(previous[0])}'s {previous[1]:g}: expected cumulative counts (each bucket "
                "counts every observation at or below its bound)"
            )
        previous = (bound, counts[bound])
    return counts


def _histograms_from_prometheus(args: argparse.Namespace) -> tuple[Any, Any]:
    import asyncio
    from datetime import UTC, datetime

    from roost import selectors
    from roost.adapters.metrics_reader import answer
    from roost.adapters.prometheus import PrometheusClient
    from roost.slo import promql

    if not args.histogram:
        raise InputError("--histogram is required with --prometheus")
    if not (args.baseline and args.candidate):
        raise InputError("--baseline and --candidate (version label values) are required")
    try:
        histogram = selectors.parse(args.histogram)
        matchers = [selectors.equal(k, v) for k, v in args.match]
        matchers.append(selectors.one_of(args.version_label, [args.baseline, args.candidate]))
    except ValueError as error:
        raise InputError(str(error)) from None
    query, group_by = promql.histogram_buckets_query(
        histogram=histogram, seconds=args.window, matchers=matchers, group_by=(args.version_label,)
    )
    client = PrometheusClient(url=args.prometheus, timeout=30.0)
    result = asyncio.run(client.query(query, at=datetime.now(UTC)))
    answered = answer(result, group_by)
    if isinstance(answered, str):
        raise InputError(f"Prometheus: {answered} (query: {query})")
    a = promql.arm_histogram(answered, (args.baseline,))
    b = promql.arm_histogram(answered, (args.candidate,))
    for version, counts in ((args.baseline, a), (args.candidate, b)):
        if counts is None:
            raise InputError(
                f"Prometheus has no {args.histogram}_bucket series with "
                f"{args.version_label}={version} over the last {args.window:g}s (query: {query})"
            )
    return a, b


def _cmd_drift(args: argparse.Namespace) -> int:
    """Compare two prediction histograms: PSI, KS, chi-squared and the sequential test."""
    import math

    from roost.analysis import distribution, sequential

    if not 0 < args.alpha < 1:
        raise InputError(f"--alpha: expected a level in (0, 1), got {args.alpha:g}")
    if args.threshold is not None and not args.threshold > 0:
        raise InputError(f"--threshold: expected a positive number, got {args.threshold:g}")
    if args.prometheus:
        if args.files:
            raise InputError("give two histogram files or --prometheus, not both")
        a, b = _histograms_from_prometheus(args)
        names = (f"{args.version_label}={args.baseline}", f"{args.version_label}={args.candidate}")
    else:
        if len(args.files) != 2:
            raise InputError("give two histogram files (baseline, candidate) or --prometheus URL")
        a = _histogram_from_file(args.files[0], args.histogram, args.match)
        b = _histogram_from_file(args.files[1], args.histogram, args.match)
        names = (args.files[0], args.files[1])
    try:
        result = distribution.compare(a, b)
    except ValueError as error:
        raise InputError(str(error)) from None
    from roost.api.slopolicy import DRIFT_DEFAULTS, DriftStatistic

    statistic = DriftStatistic(args.statistic)
    threshold = args.threshold if args.threshold is not None else DRIFT_DEFAULTS[statistic][1]
    value = result.statistic(statistic.value)
    ln_alarm = sequential.ln_threshold(args.alpha)
    drift = value is not None and value >= threshold and result.ln_e >= ln_alarm
    report = {
        "baseline": names[0],
        "candidate": names[1],
        "observations": {"baseline": sum(result.a), "candidate": sum(result.b)},
        "psi": result.psi,
        "ks": result.ks,
        "chi2": result.chi2,
        "cohensW": result.cohens_w,
        "statistic": statistic.value,
        "value": value,
        "threshold": threshold,
        "lnE": result.ln_e,
        "pValueBound": result.p_value,
        "alpha": args.alpha,
        "drift": drift,
        "buckets": [
            {
                "le": "+Inf" if math.isinf(bound) else bound,
                "baseline": x,
                "candidate": y,
            }
            for bound, x, y in zip(result.bounds, result.a, result.b, strict=True)
        ],
    }
    if args.output == "json":
        print(json.dumps(report, indent=2))
    elif args.output == "yaml":
        print(yaml.safe_dump(report, sort_keys=False), end="")
    else:
        total_a, total_b = sum(result.a), sum(result.b)
        print(f"baseline  {names[0]}: {total_a:.0f} observations")
        print(f"candidate {names[1]}: {total_b:.0f} observations")
        print(f"{'le':>10}  {'baseline':>9}  {'candidate':>9}")
        for bound, x, y in zip(result.bounds, result.a, result.b, strict=True):
            le = "+Inf" if math.isinf(bound) else f"{bound:g}"
            print(f"{le:>10}  {x / total_a:>9.1%}  {y / total_b:>9.1%}")

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.4f}"

        print(
            f"PSI {fmt(result.psi)}  KS {fmt(result.ks)}  chi2 {fmt(result.chi2)}  "
            f"Cohen's w {fmt(result.cohens_w)}"
        )
        print(
            f"test: ln e {result.ln_e:.2f} (significant at alpha {args.alpha:g} from "
            f"{ln_alarm:.2f}; p <= {result.p_value:.3g})"
        )
        verdict = "DRIFT" if drift else "no drift"
        print(f"{verdict}: {statistic.value} {fmt(value)} vs threshold {threshold:g}")
    return 1 if drift else 0


EPILOG = """\
exit codes: 0 ok; 1 a finding (drift found, a plan capped below its wait budget);
2 bad input or usage, or a file, kubeconfig, apiserver or Prometheus roost cannot
use; 3 an internal error (a bug: ROOST_DEBUG=1 prints the traceback).
As a kubectl plugin: kubectl roost COMMAND (the kubectl-roost executable)."""


def _parser(prog: str = "roost") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"roost {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    crds = commands.add_parser("crds", help="print the CRDs generated from the API models")
    crds.add_argument(
        "--write",
        metavar="DIR",
        action="append",
        help="write one file per CRD into DIR (repeatable, e.g. crds and charts/roost/crds)",
    )
    crds.add_argument(
        "--reference", action="store_true", help="print the CRD reference (docs/crd-reference.md)"
    )
    crds.add_argument(
        "-o", "--output", choices=("yaml", "json"), default="yaml", help="json: one v1 List"
    )
    crds.set_defaults(run=_cmd_crds)

    rules = commands.add_parser(
        "rules",
        help="Prometheus recording rules and SLO burn alerts, prometheus-adapter rules, or "
        "the demand's recording rules (--demand)",
    )
    rules.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="an SLOPolicy YAML; with --prometheus-adapter, ModelDeployment YAMLs (any "
        "number); with --demand, ModelDeployment and SLOPolicy YAMLs",
    )
    rules.add_argument(
        "--selector-labels",
        nargs="+",
        action="extend",
        type=_label_pair,
        metavar="LABEL=VALUE",
        help="equality matchers added to every SLI selector (and labels on every rule)",
    )
    rules.add_argument(
        "--group-by",
        action="append",
        default=[],
        metavar="LABEL",
        help="keep this label through the sums, e.g. version (repeatable)",
    )
    rules.add_argument(
        "--prometheus-rule", action="store_true", help="wrap as prometheus-operator PrometheusRule"
    )
    rules.add_argument(
        "--prometheus-adapter",
        action="store_true",
        help="write prometheus-adapter's config for the metrics Roost's HPAs read (the "
        "in-flight Pods metric and the recommended-replicas External metric)",
    )
    rules.add_argument(
        "--demand",
        action="store_true",
        help="record the demand the HPAs of autoscaling.metric: Demand read, for the "
        "ModelDeployments in the files (with their SLOPolicies)",
    )
    rules.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="with --demand: the namespace of objects that name none",
    )
    rules.add_argument(
        "--inflight-metric",
        action="append",
        metavar="NAME",
        help="with --prometheus-adapter: another per-pod in-flight gauge (repeatable)",
    )
    rules.add_argument(
        "--external-metric",
        action="append",
        metavar="NAME",
        help="with --prometheus-adapter: another recommended-replicas metric (repeatable)",
    )
    rules.add_argument(
        "--namespace-label",
        metavar="LABEL",
        help="with --prometheus-adapter: the label naming a series' namespace (namespace)",
    )
    rules.add_argument(
        "--pod-label",
        metavar="LABEL",
        help="with --prometheus-adapter: the label naming a series' pod (pod)",
    )
    rules.add_argument(
        "--configmap",
        metavar="NAME",
        help="with --prometheus-adapter: wrap as a ConfigMap NAME (key config.yaml)",
    )
    rules.add_argument(
        "--helm-values",
        action="store_true",
        help="with --prometheus-adapter: as values of the prometheus-community "
        "prometheus-adapter chart (rules.custom, rules.external)",
    )
    rules.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    rules.set_defaults(run=_cmd_rules)

    plan = commands.add_parser("plan", help="replicas for a load (Little's law, Erlang C)")
    plan.add_argument(
        "--arrival-rate", type=_number(low=0), required=True, help="requests per second"
    )
    plan.add_argument("--service-time", type=_duration, required=True, help="mean, e.g. 50ms")
    plan.add_argument("--slots-per-replica", type=_integer(1, 4096), required=True)
    plan.add_argument(
        "--p99-wait", type=_duration, required=True, help="queueing budget, e.g. 10ms"
    )
    plan.add_argument("--min-replicas", type=_integer(0, 10000), default=1)
    plan.add_argument("--max-replicas", type=_integer(1, 10000), default=None)
    plan.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    plan.set_defaults(run=_cmd_plan)

    capacity = commands.add_parser("capacity", help="capacity planning on your own traffic")
    capacity_commands = capacity.add_subparsers(dest="capacity_command", required=True)
    replay = capacity_commands.add_parser(
        "replay",
        help="your traffic through Roost's autoscaling, CPU HPAs and a static deployment",
        description="Replay a trace (CSV of time,rate rows, or one request timestamp per "
        "line, in seconds) through B2's simulator: Roost's plan and HPA, CPU HPAs and a "
        "static deployment at the busiest minute's plan, side by side.",
    )
    replay.add_argument("trace", help="CSV file (- for stdin)")
    replay.add_argument(
        "-f", "--filename", help="a ModelDeployment whose autoscaling Roost plans with"
    )
    replay.add_argument(
        "--service-time", type=_duration, help="the model's mean service time, e.g. 80ms"
    )
    replay.add_argument(
        "--service-time-cv",
        type=_number(low=0.01, high=4),
        default=0.3,
        help="its coefficient of variation (default 0.3)",
    )
    replay.add_argument("--slots-per-replica", type=_integer(1, 4096), default=None)
    replay.add_argument("--wait-budget", type=_duration, default=None, help="p99, e.g. 50ms")
    replay.add_argument(
        "--slo", type=_duration, default=None, help="good within (default wait + 2 x service)"
    )
    replay.add_argument("--burst-factor", type=_number(low=1, high=100), default=None)
    replay.add_argument(
        "--arrival-rate",
        type=_number(low=0),
        default=None,
        help="plan Roost for this many requests per second instead of the measured rate "
        "(default: the ModelDeployment's arrivalRate, else measured)",
    )
    replay.add_argument(
        "--pod-startup",
        type=_duration,
        default=None,
        help="creation to Ready of a new pod; the simulated ones take 0.75-1.25 x this "
        "(default: the ModelDeployment's podStartup, 60s)",
    )
    replay.add_argument(
        "--metric",
        choices=("InflightPerPod", "Demand"),
        default=None,
        help="what Roost's HPA scales on (default: the ModelDeployment's, else InflightPerPod)",
    )
    replay.add_argument("--min-replicas", type=_integer(1, 10000), default=None)
    replay.add_argument("--max-replicas", type=_integer(1, 1000), default=None)
    replay.add_argument(
        "--cpu-target",
        type=_integer(1, 100),
        action="append",
        help="a CPU HPA's utilisation target, percent (repeatable; default 50, 70, 90)",
    )
    replay.add_argument("--routing", choices=("least-request", "random"), default="least-request")
    replay.add_argument("--seeds", type=_integer(1, 100), default=3)
    replay.add_argument("--plot", help="also draw the rate and each policy's replicas (PNG)")
    replay.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    replay.set_defaults(run=_cmd_capacity_replay)

    slo = commands.add_parser("slo", help="error-budget arithmetic")
    slo_commands = slo.add_subparsers(dest="slo_command", required=True)
    budget = slo_commands.add_parser("budget", help="burn rate and budget left for counts")
    budget.add_argument("--objective", type=float, required=True, help="e.g. 0.999")
    budget.add_argument(
        "--total", type=_number(low=0), required=True, help="requests in the period"
    )
    budget.add_argument(
        "--bad", type=_number(low=0), required=True, help="bad requests in the period"
    )
    budget.add_argument("--period", type=_duration, default=30 * 86400.0, help="e.g. 30d")
    budget.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    budget.set_defaults(run=_cmd_slo_budget)

    sim = commands.add_parser("simulate", help="run a rollout scenario through the real core")
    sim.add_argument("scenario", help="scenario YAML (see examples/scenarios/)")
    sim.add_argument(
        "--seed", type=_non_negative_int, default=None, help="override the scenario's seed"
    )
    sim.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    sim.set_defaults(run=_cmd_simulate)

    run = commands.add_parser("run", help="run the operator")
    run.add_argument("--kubeconfig", help="default: in-cluster, then ~/.kube/config")
    run.add_argument("-n", "--namespace", action="append", help="namespace(s) to watch")
    run.add_argument("-A", "--all-namespaces", action="store_true")
    run.add_argument("--prometheus-url", help="default Prometheus for ModelDeployments")
    run.add_argument("--metrics-port", type=int, help="serve the operator's /metrics here")
    run.add_argument("--liveness", help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--standalone", action="store_true", help="no peering")
    run.add_argument("--peering", help="peering object name (several replicas)")
    run.add_argument("--priority", type=int, default=0, help="peering priority")
    run.add_argument("--tick", type=_duration, default=5.0, help="reconcile period, e.g. 5s")
    run.add_argument(
        "--checkpoint",
        type=_duration,
        default=30.0,
        help="longest wait before analysis evidence that changed no decision is written "
        "to status, e.g. 30s (0s: after every window)",
    )
    run.add_argument("--log-format", choices=("plain", "full", "json"), default="full")
    run.add_argument("-v", "--verbose", action="store_true")
    run.add_argument("--debug", action="store_true")
    run.set_defaults(run=_cmd_run)

    for verb, text in (
        ("promote", "promote the canary now, skipping the remaining analysis"),
        ("abort", "roll the canary back now"),
        ("pause", "hold the rollout at its current weight"),
        ("resume", "continue a paused rollout (or one held by the budget guard)"),
        ("reset-reference", "collect a new drift reference for the stable version"),
    ):
        control = commands.add_parser(verb, help=text)
        control.add_argument("name")
        control.add_argument("-n", "--namespace", dest="ns", default="default")
        control.add_argument("--kubeconfig")
        control.set_defaults(run=_cmd_control, command=verb)

    status = commands.add_parser("status", help="show a rollout as a tree")
    status.add_argument("name")
    status.add_argument("-n", "--namespace", dest="ns", default="default")
    status.add_argument("--kubeconfig")
    status.add_argument("-w", "--watch", action="store_true")
    status.add_argument(
        "-o",
        "--output",
        choices=("text", "json", "yaml"),
        default="text",
        help="json|yaml: the object",
    )
    status.add_argument(
        "--interval", type=_duration, default=2.0, help="with --watch, e.g. 2s (default)"
    )
    status.set_defaults(run=_cmd_status)

    drift = commands.add_parser(
        "drift",
        help="compare two prediction histograms (files or Prometheus); exit 1 on drift",
    )
    drift.add_argument(
        "files",
        nargs="*",
        help="baseline and candidate: JSON {le: cumulative count} or Prometheus text format",
    )
    drift.add_argument("--histogram", help="histogram base name (without _bucket)")
    drift.add_argument(
        "--match",
        nargs="+",
        action="extend",
        type=_label_pair,
        default=[],
        metavar="LABEL=VALUE",
        help="only series with these labels",
    )
    drift.add_argument("--prometheus", metavar="URL", help="query the two versions from here")
    drift.add_argument("--version-label", default="version")
    drift.add_argument("--baseline", metavar="VERSION")
    drift.add_argument("--candidate", metavar="VERSION")
    drift.add_argument("--window", type=_duration, default=3600.0, help="e.g. 1h (Prometheus)")
    drift.add_argument("--statistic", choices=("psi", "ks", "chi2"), default="psi")
    drift.add_argument("--threshold", type=float, help="default psi 0.25, ks 0.1, chi2 (w) 0.3")
    drift.add_argument("--alpha", type=float, default=0.01, help="test level (default 0.01)")
    drift.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    drift.set_defaults(run=_cmd_drift)

    completion = commands.add_parser(
        "completion",
        help="print a shell completion script: source <(roost completion bash)",
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(run=_cmd_completion)

    validate = commands.add_parser(
        "validate",
        help="check manifests offline, as admission would; exit 2 when any is invalid",
    )
    validate.add_argument(
        "files", nargs="*", help="files, directories or - (stdin); YAML or JSON, multi-document"
    )
    validate.add_argument(
        "-f", "--filename", action="append", metavar="FILE", help="as kubectl -f (repeatable)"
    )
    validate.add_argument(
        "-R", "--recursive", action="store_true", help="also read directories' subdirectories"
    )
    validate.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    validate.set_defaults(run=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "roost") -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["__complete"]:
        from roost import completion

        for candidate in completion.candidates(_parser(prog), words[1:]):
            print(candidate)
        return EXIT_OK
    parser = _parser(prog)
    argv = words
    try:
        args = parser.parse_args(argv)
        code: int = args.run(args)
    except InputError as error:
        print(f"roost: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`roost crds | head`): nothing left to tell anyone.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (no flush error at exit)
        return EXIT_OK
    except Exception as error:  # a bug in Roost: one line, the traceback on request
        if os.environ.get("ROOST_DEBUG"):
            traceback.print_exc()
        print(
            f"roost: internal error: {type(error).__name__}: {error} (a bug in Roost; "
            "ROOST_DEBUG=1 prints the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


def kubectl_main() -> int:
    """``kubectl roost ...``: kubectl runs the ``kubectl-roost`` executable on PATH."""
    return main(prog="kubectl roost")


def kubectl_complete_main() -> int:
    """``kubectl_complete-roost``: kubectl (1.26+) asks it to complete ``kubectl roost``
    and reads candidates, then a Cobra directive (4: no file completion; 0: default)."""
    from roost import completion

    found = completion.candidates(_parser("kubectl roost"), sys.argv[1:])
    for candidate in found:
        print(candidate)
    print(":4" if found else ":0")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
