"""The operator's settings: read once from the environment, a bad value one line."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from roost import cli
from roost.rollout import metric_path
from roost.settings import Settings, SettingsError


def test_the_defaults_are_the_operators() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.tick_seconds == 5.0
    assert settings.io_threads == 16
    assert settings.patch_slots == 16
    assert settings.kopf_workers == 64
    assert settings.checkpoint_seconds == 30.0
    assert settings.metric_grace_seconds == metric_path.DEFAULT_GRACE_SECONDS
    assert settings.metrics_port is None
    assert settings.metrics_address == "0.0.0.0"
    assert settings.kubeconfig is None
    assert settings.watch_namespaces == ()
    assert settings.prometheus_url is None


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("ROOST_TICK_SECONDS", "2.5", "tick_seconds", 2.5),
        ("ROOST_TICK_SECONDS", "0", "tick_seconds", 0.0),
        ("ROOST_IO_THREADS", "4", "io_threads", 4),
        ("ROOST_PATCH_SLOTS", "2", "patch_slots", 2),
        ("ROOST_KOPF_WORKERS", "8", "kopf_workers", 8),
        ("ROOST_CHECKPOINT_SECONDS", "0.0", "checkpoint_seconds", 0.0),
        ("ROOST_CHECKPOINT_SECONDS", "120", "checkpoint_seconds", 120.0),
        ("ROOST_METRIC_GRACE_SECONDS", "5", "metric_grace_seconds", 5.0),
        ("ROOST_LEARN_EVERY_SECONDS", "5", "learn_every_seconds", 5.0),
        ("ROOST_REPLAN_SECONDS", "5", "replan_seconds", 5.0),
        ("ROOST_METRICS_PORT", "9090", "metrics_port", 9090),
        ("ROOST_METRICS_PORT", "", "metrics_port", None),
        ("ROOST_METRICS_ADDRESS", "127.0.0.1", "metrics_address", "127.0.0.1"),
        ("KUBECONFIG", "/tmp/kubeconfig", "kubeconfig", "/tmp/kubeconfig"),
        ("ROOST_WATCH_NAMESPACES", "a,b", "watch_namespaces", ("a", "b")),
        ("ROOST_WATCH_NAMESPACES", "a,,b,", "watch_namespaces", ("a", "b")),
        ("ROOST_WATCH_NAMESPACES", "", "watch_namespaces", ()),
        ("ROOST_PROMETHEUS_URL", "http://prom:9090", "prometheus_url", "http://prom:9090"),
        ("ROOST_PROMETHEUS_URL", "", "prometheus_url", None),
        ("ROOST_PEERING_LIFETIME_SECONDS", "20", "peering_lifetime_seconds", 20),
    ],
)
def test_each_variable_overrides_its_setting_only(
    variable: str, value: str, field: str, expected: Any
) -> None:
    settings = Settings.from_env({variable: value})
    assert getattr(settings, field) == expected
    assert type(getattr(settings, field)) is type(expected)
    others = {f.name for f in dataclasses.fields(Settings)} - {field}
    assert {f: getattr(settings, f) for f in others} == {f: getattr(Settings(), f) for f in others}


def test_variables_roost_does_not_read_change_nothing() -> None:
    assert Settings.from_env({"HOME": "/root", "ROOST_DEBUG": "1"}) == Settings()


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().tick_seconds = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "ROOST_TICK_SECONDS",
            "abc",
            "ROOST_TICK_SECONDS='abc': expected a number of seconds, "
            "0 or more, e.g. ROOST_TICK_SECONDS=5",
        ),
        ("ROOST_TICK_SECONDS", "5s", "e.g. ROOST_TICK_SECONDS=5"),
        ("ROOST_TICK_SECONDS", "", "ROOST_TICK_SECONDS='': expected a number of seconds"),
        ("ROOST_TICK_SECONDS", "-1", "ROOST_TICK_SECONDS='-1': expected a number of seconds"),
        ("ROOST_TICK_SECONDS", "nan", "ROOST_TICK_SECONDS='nan'"),
        ("ROOST_CHECKPOINT_SECONDS", "inf", "e.g. ROOST_CHECKPOINT_SECONDS=30"),
        ("ROOST_METRIC_GRACE_SECONDS", "1m", "e.g. ROOST_METRIC_GRACE_SECONDS=60"),
        (
            "ROOST_IO_THREADS",
            "many",
            "ROOST_IO_THREADS='many': expected a whole number, 1 or more, e.g. ROOST_IO_THREADS=16",
        ),
        ("ROOST_IO_THREADS", "0", "ROOST_IO_THREADS='0': expected a whole number"),
        ("ROOST_PATCH_SLOTS", "1.5", "e.g. ROOST_PATCH_SLOTS=16"),
        ("ROOST_KOPF_WORKERS", "-2", "e.g. ROOST_KOPF_WORKERS=64"),
        (
            "ROOST_METRICS_PORT",
            "http",
            "ROOST_METRICS_PORT='http': expected a TCP port, "
            "0 to 65535, e.g. ROOST_METRICS_PORT=8080",
        ),
        ("ROOST_METRICS_PORT", "70000", "ROOST_METRICS_PORT='70000'"),
        (
            "ROOST_PEERING_LIFETIME_SECONDS",
            "10",
            "ROOST_PEERING_LIFETIME_SECONDS='10': expected a whole number, 15 or more, "
            "e.g. ROOST_PEERING_LIFETIME_SECONDS=60",
        ),
        ("ROOST_PEERING_LIFETIME_SECONDS", "1m", "e.g. ROOST_PEERING_LIFETIME_SECONDS=60"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_what_to_write(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    message = str(raised.value)
    assert expected in message
    assert message.startswith(f"{variable}={value!r}: expected ")
    assert "\n" not in message


# --- roost run: the flags, the environment and the settings handed to kopf ------------

# What _cmd_run writes to os.environ; monkeypatch restores them after each test.
RUN_VARIABLES = (
    "KUBECONFIG",
    "ROOST_PROMETHEUS_URL",
    "ROOST_METRICS_PORT",
    "ROOST_TICK_SECONDS",
    "ROOST_CHECKPOINT_SECONDS",
    "ROOST_WATCH_NAMESPACES",
)


@pytest.fixture
def kopf_run(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments roost run starts kopf with, instead of starting it."""
    import kopf

    for variable in (*RUN_VARIABLES, "ROOST_IO_THREADS", "ROOST_METRICS_ADDRESS"):
        monkeypatch.setenv(variable, "")  # recorded: removed again after the test
        monkeypatch.delenv(variable)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(kopf, "configure", lambda **_: None)
    monkeypatch.setattr(kopf, "run", lambda **kwargs: calls.append(kwargs))
    return calls


def test_roost_run_hands_its_flags_to_the_handlers_as_settings(
    kopf_run: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOST_IO_THREADS", "4")
    code = cli.main(
        [
            "run",
            "--kubeconfig",
            "/tmp/kubeconfig",
            "--prometheus-url",
            "http://prom:9090",
            "--metrics-port",
            "9100",
            "--tick",
            "2s",
            "--checkpoint",
            "1m",
            "-n",
            "a",
            "-n",
            "b",
            "--standalone",
        ]
    )
    assert code == 0
    assert len(kopf_run) == 1
    assert kopf_run[0]["memo"].config == Settings(
        tick_seconds=2.0,
        io_threads=4,
        checkpoint_seconds=60.0,
        metrics_port=9100,
        kubeconfig="/tmp/kubeconfig",
        watch_namespaces=("a", "b"),
        prometheus_url="http://prom:9090",
    )
    assert kopf_run[0]["namespaces"] == ["a", "b"]
    # The environment as before: what the flags stand for, for anything that reads it.
    assert os.environ["ROOST_TICK_SECONDS"] == "2.0"
    assert os.environ["ROOST_CHECKPOINT_SECONDS"] == "60.0"
    assert os.environ["ROOST_WATCH_NAMESPACES"] == "a,b"


def test_roost_run_watches_all_deployments_with_a_namespace_glob(
    kopf_run: list[dict[str, Any]],
) -> None:
    assert cli.main(["run", "-n", "models-*", "-n", "b", "--standalone"]) == 0
    assert kopf_run[0]["memo"].config == Settings(watch_namespaces=())


def test_roost_run_with_a_bad_variable_is_one_line_and_exit_2(
    kopf_run: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ROOST_IO_THREADS", "abc")
    assert cli.main(["run", "--standalone"]) == cli.EXIT_USAGE
    assert kopf_run == []
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "roost: error: ROOST_IO_THREADS='abc': expected a whole number, 1 or more, "
        "e.g. ROOST_IO_THREADS=16\n"
    )
