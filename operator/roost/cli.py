"""The ``roost`` command line.

Bad input ends with exit code 2 and one line naming the field and what was
expected; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from roost import __version__, durations

EXIT_USAGE = 2


class InputError(Exception):
    """User input Roost cannot use; the message is the one line the user sees."""


def _validation_line(error: ValidationError, prefix: str = "") -> str:
    """pydantic's first error as ``field.path: message``."""
    first = error.errors()[0]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    where = f"{prefix}.{path}" if prefix and path else (prefix or path)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


def _duration(text: str) -> float:
    try:
        return durations.parse_seconds(text)
    except durations.DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
            target.mkdir(parents=True, exist_ok=True)
            for name, body in crd.crd_files().items():
                (target / name).write_text(body)
                print(f"wrote {target / name}")
        return 0
    if args.reference:
        from roost.api import reference

        print(reference.render(), end="")
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
    """Prometheus recording rules and burn-rate alerts for SLOPolicy manifests."""
    from roost.api.slopolicy import SLOPolicy
    from roost.slo.recording import RulesError, rule_file

    try:
        with open(args.policy, encoding="utf-8") as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d]
    except OSError as error:
        raise InputError(f"{args.policy}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{args.policy}: not YAML ({error})".replace("\n", " ")) from None
    if not documents:
        raise InputError(f"{args.policy}: no SLOPolicy in the file")
    labels = dict(args.selector_labels or [])
    outputs = []
    for document in documents:
        kind = document.get("kind") if isinstance(document, dict) else None
        if kind != "SLOPolicy":
            raise InputError(f"{args.policy}: kind: expected SLOPolicy, got {kind!r}")
        try:
            policy = SLOPolicy.model_validate(document)
        except ValidationError as error:
            raise InputError(f"{args.policy}: {_validation_line(error)}") from None
        name = str(policy.metadata.get("name") or "")
        if not name:
            raise InputError(f"{args.policy}: metadata.name: an SLOPolicy needs a name")
        try:
            rules = rule_file(name, policy.spec, selector_labels=labels, group_by=args.group_by)
        except RulesError as error:
            raise InputError(f"{args.policy}: {error}") from None
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


# --- roost plan ----------------------------------------------------------------


def _cmd_plan(args: argparse.Namespace) -> int:
    from roost.capacity import plan_capacity

    try:
        plan = plan_capacity(
            arrival_rate=args.arrival_rate,
            service_time=args.service_time,
            slots_per_replica=args.slots_per_replica,
            wait_budget=args.p99_wait,
            min_replicas=args.min_replicas,
            max_replicas=args.max_replicas,
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    data = plan.to_dict()

    def text(d: dict[str, Any]) -> str:
        return (
            f"replicas {d['replicas']} ({d['slots']} slots) for offered load "
            f"{d['offered_load']:.2f} Erlangs; P(wait) {d['p_wait']:.4f}, "
            f"p99 wait {d['p99_wait_seconds'] * 1000:.2f} ms"
        )

    _emit(data, args.output, text)
    return 0


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
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as error:
        raise InputError(f"{path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not YAML ({error})".replace("\n", " ")) from None


def _cmd_simulate(args: argparse.Namespace) -> int:
    from roost import simulation

    document = _load_yaml(args.scenario)
    if not isinstance(document, dict):
        raise InputError(f"{args.scenario}: expected a mapping with modelDeployment and sloPolicy")
    if args.seed is not None:
        document["seed"] = args.seed
    try:
        scenario = simulation.load(document)
    except ValidationError as error:
        raise InputError(_validation_line(error)) from None
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


def _cmd_validate(args: argparse.Namespace) -> int:
    """Check ModelDeployment and SLOPolicy manifests offline, as admission would."""
    from roost.api.modeldeployment import ModelDeployment
    from roost.api.slopolicy import SLOPolicy
    from roost.slo.rules import policy_warnings

    kinds: dict[str, Any] = {"ModelDeployment": ModelDeployment, "SLOPolicy": SLOPolicy}
    for path in args.files:
        with open(path, encoding="utf-8") as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d]
        for document in documents:
            kind = document.get("kind") if isinstance(document, dict) else None
            if kind not in kinds:
                raise InputError(
                    f"{path}: kind: expected ModelDeployment or SLOPolicy, got {kind!r}"
                )
            try:
                parsed = kinds[kind].model_validate(document)
            except ValidationError as error:
                raise InputError(f"{path}: {_validation_line(error)}") from None
            print(f"{path}: {kind} {document.get('metadata', {}).get('name', '')} valid")
            if isinstance(parsed, SLOPolicy):
                for warning in policy_warnings(parsed.spec):
                    print(f"{path}: warning: {warning}", file=sys.stderr)
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
    )
    return 0


# --- roost promote|abort|pause|resume, roost status -----------------------------


def _kube(args: argparse.Namespace) -> Any:
    from roost.adapters.kube import Kube, api_client

    return Kube(api_client(args.kubeconfig))


def _cmd_control(args: argparse.Namespace) -> int:
    """Ask the operator to promote, abort, pause or resume through the command annotation."""
    import asyncio

    from roost.adapters.kube import NotFoundError
    from roost.workloads import ANNOTATION_COMMAND

    kube = _kube(args)
    body = {"metadata": {"annotations": {ANNOTATION_COMMAND: args.command}}}
    try:
        asyncio.run(
            kube.get_custom("roost.dev", "v1alpha1", "modeldeployments", args.ns, args.name)
        )
        asyncio.run(
            kube.patch_custom("roost.dev", "v1alpha1", "modeldeployments", args.ns, args.name, body)
        )
    except NotFoundError as error:
        raise InputError(str(error)) from None
    print(f"modeldeployment {args.ns}/{args.name}: {args.command} requested")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from roost.adapters.kube import NotFoundError
    from roost.rollout.view import render_tree

    kube = _kube(args)
    while True:
        try:
            body = asyncio.run(
                kube.get_custom("roost.dev", "v1alpha1", "modeldeployments", args.ns, args.name)
            )
        except NotFoundError as error:
            raise InputError(str(error)) from None
        text = render_tree(body)
        if not args.watch:
            print(text)
            return 0
        print("\033[2J\033[H" + text, flush=True)
        time.sleep(args.interval)


# --- roost drift ------------------------------------------------------------------


def _histogram_from_file(path: str, name: str | None, match: Sequence[tuple[str, str]]) -> Any:
    """Cumulative counts per le from a JSON mapping or a Prometheus text exposition."""
    import math

    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = Path(path).read_text()
    except OSError as error:
        raise InputError(f"{path}: {error.strerror}") from None
    if path.endswith(".json"):
        try:
            raw = json.loads(text)
            return {math.inf if k == "+Inf" else float(k): float(v) for k, v in raw.items()}
        except (ValueError, AttributeError) as error:
            raise InputError(
                f"{path}: expected a JSON object of le bound to cumulative count, e.g. "
                f'{{"0.1": 4, "+Inf": 10}} ({error})'
            ) from None
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
    return counts


def _histograms_from_prometheus(args: argparse.Namespace) -> tuple[Any, Any]:
    import asyncio
    from datetime import UTC, datetime

    from roost.adapters.metrics_reader import answer
    from roost.adapters.prometheus import PrometheusClient
    from roost.slo import promql, selectors

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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="roost", description=__doc__)
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
    crds.set_defaults(run=_cmd_crds)

    rules = commands.add_parser("rules", help="Prometheus recording rules and SLO burn alerts")
    rules.add_argument("policy", help="SLOPolicy YAML")
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
    rules.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    rules.set_defaults(run=_cmd_rules)

    plan = commands.add_parser("plan", help="replicas for a load (Little's law, Erlang C)")
    plan.add_argument("--arrival-rate", type=float, required=True, help="requests per second")
    plan.add_argument("--service-time", type=_duration, required=True, help="mean, e.g. 50ms")
    plan.add_argument("--slots-per-replica", type=int, required=True)
    plan.add_argument(
        "--p99-wait", type=_duration, required=True, help="queueing budget, e.g. 10ms"
    )
    plan.add_argument("--min-replicas", type=int, default=1)
    plan.add_argument("--max-replicas", type=int, default=None)
    plan.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    plan.set_defaults(run=_cmd_plan)

    slo = commands.add_parser("slo", help="error-budget arithmetic")
    slo_commands = slo.add_subparsers(dest="slo_command", required=True)
    budget = slo_commands.add_parser("budget", help="burn rate and budget left for counts")
    budget.add_argument("--objective", type=float, required=True, help="e.g. 0.999")
    budget.add_argument("--total", type=float, required=True, help="requests in the period")
    budget.add_argument("--bad", type=float, required=True, help="bad requests in the period")
    budget.add_argument("--period", type=_duration, default=30 * 86400.0, help="e.g. 30d")
    budget.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    budget.set_defaults(run=_cmd_slo_budget)

    sim = commands.add_parser("simulate", help="run a rollout scenario through the real core")
    sim.add_argument("scenario", help="scenario YAML (see examples/scenarios/)")
    sim.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
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
    status.add_argument("--interval", type=float, default=2.0)
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
    drift.add_argument("-o", "--output", choices=("text", "json"), default="text")
    drift.set_defaults(run=_cmd_drift)

    validate = commands.add_parser("validate", help="check manifests offline")
    validate.add_argument("files", nargs="+")
    validate.set_defaults(run=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except InputError as error:
        print(f"roost: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
