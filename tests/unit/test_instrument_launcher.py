"""`lookout instrument`'s launcher side: COMMAND resolution, settings from options and the OTEL_* variables,
the child's environment, and the example stack that scrapes an instrumented program's management port."""

from __future__ import annotations

import itertools
import math
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.cli import app
from lookout.config.loader import load_config
from lookout.health.app import DEFAULT_HOST, DEFAULT_PORT
from lookout.instrument import autoinstrument as auto
from lookout.instrument.spans import DEFAULT_TARGET_PER_SECOND
from lookout.stack.prometheus import prometheus_config

ROOT = Path(__file__).resolve().parents[2]


def _script(tmp_path: Path, name: str, first_line: str) -> Path:
    path = tmp_path / name
    path.write_text(f"{first_line}\nprint('hi')\n")
    path.chmod(0o755)
    return path


def test_python_programs_are_resolved(tmp_path: Path) -> None:
    program = _script(tmp_path, "server.py", "import sys")
    assert auto.resolve_command([str(program), "stdio"]) == [sys.executable, str(program), "stdio"]
    assert auto.resolve_command([sys.executable, "-m", "pkg"]) == [sys.executable, "-m", "pkg"]
    for shebang in (f"#!{sys.executable}", "#!/usr/bin/env python3", "#!/usr/bin/env -S python3.11 -u"):
        console_script = _script(tmp_path, "weather-mcp", shebang)
        assert auto.resolve_command([str(console_script), "--port", "1"]) == [str(console_script), "--port", "1"]


def test_console_scripts_pip_writes_in_other_forms_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip's /bin/sh launcher, for an interpreter whose path has a space or is too long for a shebang
    spaced = tmp_path / "sp ace" / "bin"
    spaced.mkdir(parents=True)
    launcher = spaced / "weather-mcp"
    launcher.write_text(
        "#!/bin/sh\n" + "'" * 3 + f'exec\' "{spaced}/python3.13t" "$0" "$@"\n\' ' + "'" * 3 + "\nimport sys\n"
    )
    launcher.chmod(0o755)
    assert auto.resolve_command([str(launcher), "stdio"]) == [str(launcher), "stdio"]
    # a .py script installed on PATH (setuptools scripts=)
    (tmp_path / "bin").mkdir()
    on_path = _script(tmp_path / "bin", "serve_mcp.py", "import sys")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert auto.resolve_command(["serve_mcp.py", "x"]) == [sys.executable, str(on_path), "x"]


@pytest.mark.parametrize(
    ("argv", "flags"),
    [
        (["-I", "server.py"], "-I"),
        (["-E", "-m", "server"], "-E"),
        (["-SB", "server.py"], "-S"),
        (["-u", "-bI", "server.py"], "-I"),
        (["-Im", "server"], "-I"),
    ],
)
def test_python_options_that_keep_lookout_out_are_refused(argv: list[str], flags: str) -> None:
    with pytest.raises(auto.LaunchError, match=rf"runs Python with {flags}, which ignores PYTHONPATH"):
        auto.resolve_command([sys.executable, *argv])


def test_python_options_after_the_program_are_the_programs(tmp_path: Path) -> None:
    assert auto.resolve_command([sys.executable, "-u", "server.py", "-I"])[-1] == "-I"
    assert auto.resolve_command([sys.executable, "-W", "ignore", "-m", "pkg", "-E"])[-1] == "-E"
    assert auto.resolve_command([sys.executable, "-X", "importtime", "-mSomeModule"])[-1] == "-mSomeModule"
    assert auto.resolve_command([sys.executable, "-WError", "-cimport sys"])[-1] == "-cimport sys"
    with pytest.raises(auto.LaunchError, match="runs Python with -I"):
        auto.resolve_command([sys.executable, "-W", "ignore", "-I", "server.py"])
    isolated = _script(tmp_path, "isolated-mcp", f"#!{sys.executable} -I")
    with pytest.raises(auto.LaunchError, match="runs Python with -I"):
        auto.resolve_command([str(isolated)])


def test_other_programs_are_refused(tmp_path: Path) -> None:
    shell = _script(tmp_path, "serve", "#!/bin/sh")
    with pytest.raises(auto.LaunchError, match=r"serve is not a Python program"):
        auto.resolve_command([str(shell)])
    binary = shutil.which("true")
    assert binary is not None
    with pytest.raises(auto.LaunchError, match=r"is not a Python program"):
        auto.resolve_command([binary])
    with pytest.raises(auto.LaunchError, match=r"command not found"):
        auto.resolve_command(["no-such-command-anywhere"])
    with pytest.raises(auto.LaunchError, match=r"missing\.py: no such file"):
        auto.resolve_command([str(tmp_path / "missing.py")])


def test_defaults() -> None:
    settings = auto.AutoSettings.from_env({})
    assert settings.management == (DEFAULT_HOST, DEFAULT_PORT)
    assert settings.json_logs and settings.traces and not settings.export_traces
    assert settings.traces_per_second == DEFAULT_TARGET_PER_SECOND


def test_lookout_variables_win_over_opentelemetry_ones() -> None:
    env = {"OTEL_SERVICE_NAME": "otel-name", "LOOKOUT_SERVICE": "lookout-name", "LOOKOUT_MANAGEMENT": "[::1]:9464"}
    settings = auto.AutoSettings.from_env(env)
    assert settings.service == "lookout-name"
    assert settings.management == ("::1", 9464)
    assert auto.AutoSettings.from_env({"OTEL_SERVICE_NAME": "otel-name"}).service == "otel-name"
    assert auto.AutoSettings.from_env({"LOOKOUT_MANAGEMENT": "off"}).management is None


def test_opentelemetry_variables_drive_tracing() -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert auto.AutoSettings.from_env(endpoint).export_traces
    assert not auto.AutoSettings.from_env({**endpoint, "OTEL_TRACES_EXPORTER": "none"}).export_traces
    off = auto.AutoSettings.from_env({**endpoint, "OTEL_TRACES_SAMPLER": "always_off"})
    assert not off.traces and not off.export_traces
    assert not auto.AutoSettings.from_env({**endpoint, "OTEL_SDK_DISABLED": "true"}).traces
    assert math.isinf(auto.AutoSettings.from_env({"OTEL_TRACES_SAMPLER": "always_on"}).traces_per_second)
    own = auto.AutoSettings.from_env({"LOOKOUT_OTLP_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert own.export_traces and own.otlp_endpoint == "http://127.0.0.1:4318/v1/traces"


def test_options_and_lookout_variables_win_over_opentelemetry_tracing_ones() -> None:
    ratio = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    assert not auto.AutoSettings.from_env({**ratio, "LOOKOUT_TRACES": "off"}).traces  # --traces off starts
    budget = auto.AutoSettings.from_env({**ratio, "LOOKOUT_TRACES_PER_SECOND": "5"})
    assert budget.traces and budget.traces_per_second == 5
    assert (
        auto.AutoSettings.from_env(
            {"OTEL_TRACES_SAMPLER": "always_on", "LOOKOUT_TRACES_PER_SECOND": "5"}
        ).traces_per_second
        == 5
    )
    assert auto.AutoSettings.from_env({"OTEL_SDK_DISABLED": "true", "LOOKOUT_TRACES": "on"}).traces
    assert auto.AutoSettings.from_env({"OTEL_TRACES_SAMPLER": "always_off", "LOOKOUT_TRACES": "on"}).traces
    own = {"OTEL_TRACES_EXPORTER": "none", "LOOKOUT_OTLP_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    exporting = auto.AutoSettings.from_env(own)
    assert exporting.export_traces and exporting.otlp_endpoint == own["LOOKOUT_OTLP_ENDPOINT"]
    # left to OTEL_*: exporter none turns tracing off, as documented
    assert not auto.AutoSettings.from_env({"OTEL_TRACES_EXPORTER": "none"}).traces
    both = {"OTEL_TRACES_EXPORTER": "otlp,console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert auto.AutoSettings.from_env(both).export_traces
    http = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert auto.AutoSettings.from_env({**http, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}).export_traces
    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "LOOKOUT_OTLP_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    assert auto.AutoSettings.from_env(grpc).export_traces  # the option's endpoint is Lookout's own: OTLP/HTTP


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_TRACES_SAMPLER": "traceidratio"}, "OTEL_TRACES_SAMPLER=traceidratio is not supported"),
        (
            {"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
            "OTEL_TRACES_EXPORTER=console is not supported: Lookout exports over OTLP",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"},
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: Lookout exports OTLP over HTTP",
        ),
        (
            {"LOOKOUT_OTLP_ENDPOINT": "127.0.0.1:4318"},
            "--otlp-endpoint (LOOKOUT_OTLP_ENDPOINT) must be an http:// or https:// URL",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, not 'collector:4318'",
        ),
        ({"LOOKOUT_MANAGEMENT": "9464"}, "management address '9464' is not HOST:PORT"),
        ({"LOOKOUT_MANAGEMENT": "localhost:99999"}, "is not HOST:PORT"),
        ({"LOOKOUT_LOGS": "text"}, "--logs (LOOKOUT_LOGS): 'text' is not one of json, off"),
        ({"LOOKOUT_TRACES": "maybe"}, "--traces (LOOKOUT_TRACES): 'maybe' is not one of on, off"),
        (
            {"LOOKOUT_SERVER_TIMEOUT": "-1"},
            "--server-timeout (LOOKOUT_SERVER_TIMEOUT): '-1' must be a non-negative number of seconds",
        ),
        (
            {"LOOKOUT_TRACES_PER_SECOND": "0"},
            "--traces-per-second (LOOKOUT_TRACES_PER_SECOND): '0' must be a positive number of traces per second",
        ),
    ],
)
def test_bad_settings_are_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(auto.LaunchError) as raised:
        auto.AutoSettings.from_env(env)
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--otlp-endpoint", "collector:4318"], "--otlp-endpoint (LOOKOUT_OTLP_ENDPOINT) must be an http://"),
        (["--traces", "maybe"], "--traces (LOOKOUT_TRACES): 'maybe' is not one of on, off"),
        (["--traces-per-second", "-3"], "--traces-per-second (LOOKOUT_TRACES_PER_SECOND): '-3.0' must be a positive"),
    ],
)
def test_a_bad_option_is_named_as_the_option_given(options: list[str], message: str) -> None:
    # The options reach the settings as LOOKOUT_* variables; the one line must still name what was typed.
    result = CliRunner().invoke(app, ["instrument", *options, "--", sys.executable, "server.py"])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_the_site_directory_goes_first_on_the_path() -> None:
    child = auto.child_environment({"PYTHONPATH": f"/a{os.pathsep}/b", "HOME": "/h"}, {"LOOKOUT_TENANT": "acme"}, 7)
    assert child["PYTHONPATH"].split(os.pathsep) == [str(auto.SITE_DIR), "/a", "/b"]
    assert child[auto.ENV_STATUS_FD] == "7" and child["LOOKOUT_TENANT"] == "acme" and child["HOME"] == "/h"
    assert sorted(p.name for p in auto.SITE_DIR.iterdir() if p.suffix == ".py") == ["sitecustomize.py"]


def test_the_example_scrapes_the_management_port() -> None:
    config = load_config(ROOT / "examples/instrument/lookout.yaml")
    scraped = [
        target
        for job in prometheus_config(config)["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static.get("targets", [])
    ]
    assert "127.0.0.1:9464" in scraped


def test_the_examples_command_labels_its_logs_as_the_logs_dashboard_selects_them() -> None:
    # The Logs dashboard selects {tenant="<tenant>", service=~"<target>"}: the documented command must set both.
    example = ROOT / "examples/instrument/lookout.yaml"
    config = load_config(example)
    command = next(line for line in example.read_text().splitlines() if "lookout instrument" in line)
    argv = shlex.split(command.lstrip("# "))
    options = dict(itertools.pairwise(argv))
    tenant = config.tenants[0]
    assert (options.get("--tenant"), options.get("--service")) == (tenant.name, tenant.targets[0].name)


def test_a_program_ended_by_sigkill_ends_the_launcher_by_sigkill() -> None:
    import subprocess

    code = "from lookout.instrument.autoinstrument import exit_like; exit_like(-9); raise SystemExit(3)"
    assert subprocess.run([sys.executable, "-c", code], timeout=30, capture_output=True).returncode == -9
