"""Bad input to the commands that listen or call out: one line on stderr, never a traceback."""

from __future__ import annotations

import http.server
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookout.cli import _last_resort
from lookout.config import ConfigError
from lookout.serving import PortInUse
from tests.support import LOOPBACK, http_server, lookout_argv

CONFIG = """version: 1
tenants: [{name: acme, targets: [{name: api, url: "http://127.0.0.1:9/mcp"}]}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9/notify"}}]
  routes: {P0: [sink]}
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lookout_argv(*args), capture_output=True, text=True, timeout=60)


def _one_line(result: subprocess.CompletedProcess[str], code: int, expected: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith("lookout: ") and expected in line, line


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def not_the_demo_server() -> Iterator[str]:
    """Some other HTTP server answering with HTML, where --url should point at the demo's management port."""
    with http_server(http.server.BaseHTTPRequestHandler) as url:
        yield url


@pytest.mark.parametrize("listen", ["garbage", "127.0.0.1:99999", ":9095"])
def test_sink_listen_that_is_not_host_port(listen: str) -> None:
    _one_line(_run("sink", "--listen", listen), 2, f"--listen {listen!r} is not host:port")


def test_exporter_on_a_taken_port_is_one_line(tmp_path: Path, taken_port: int) -> None:
    """The bind fails inside the exporter's task group: still the one line, not an exception group."""
    config = tmp_path / "lookout.yaml"
    config.write_text(CONFIG)
    result = _run("exporter", "--config", str(config), "--listen", f"{LOOPBACK}:{taken_port}")
    _one_line(result, 2, f"{LOOPBACK}:{taken_port} (exporter, --listen) is already in use")


@pytest.mark.parametrize(("command", "key"), [("exporter", "exporter"), ("console", "grafana")])
def test_a_taken_port_from_the_config_names_its_key(command: str, key: str, tmp_path: Path, taken_port: int) -> None:
    """Without --listen the address is lookout.yaml's listen.<key>: the line names that key, which the user set,
    not an option they never gave."""
    config = tmp_path / "lookout.yaml"
    config.write_text(CONFIG + f"listen: {{{key}: '{LOOPBACK}:{taken_port}'}}\n")
    result = _run(command, "--config", str(config))
    _one_line(result, 2, f"{LOOPBACK}:{taken_port} ({command}, listen.{key}) is already in use")


def test_demo_commands_with_a_malformed_url() -> None:
    _one_line(_run("demo", "faults", "--url", "http://[::1"), 2, "--url 'http://[::1/faults'")


def test_demo_commands_against_something_else(not_the_demo_server: str) -> None:
    _one_line(_run("demo", "clear", "--url", not_the_demo_server), 1, "not JSON: is --url the demo server's")


@pytest.mark.parametrize(
    "args",
    [
        ["demo-server", "--port", "99999"],
        ["demo-server", "--management-port", "0"],
        ["up", "--demo-port", "70000"],
    ],
)
def test_ports_out_of_range_are_usage_errors(args: list[str]) -> None:
    result = _run(*args)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    assert f"Invalid value for '{args[-2]}'" in result.stderr, result.stderr


def test_one_line_errors_raised_inside_a_task_group_stay_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    group = ExceptionGroup("unhandled errors in a TaskGroup", [PortInUse("127.0.0.1:1 (x) is already in use")])
    with pytest.raises(SystemExit) as exited:
        _last_resort(group)
    assert exited.value.code == 2
    assert capsys.readouterr().err == "lookout: 127.0.0.1:1 (x) is already in use\n"
    with pytest.raises(SystemExit):
        _last_resort(ConfigError("lookout.yaml: bad"))
    assert capsys.readouterr().err == "lookout: lookout.yaml: bad\n"


def test_anything_unforeseen_is_one_line_with_the_way_to_see_more(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOKOUT_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        _last_resort(RuntimeError("first line\nsecond line"))
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err == "lookout: unexpected RuntimeError: first line (LOOKOUT_DEBUG=1 shows where; please report it)\n"
    monkeypatch.setenv("LOOKOUT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="first line"):
        _last_resort(RuntimeError("first line"))


@pytest.mark.parametrize("flag", ["--prometheus", "--alertmanager"])
def test_a_console_upstream_with_a_login_in_its_url_is_refused(flag: str, tmp_path: Path) -> None:
    config = tmp_path / "lookout.yaml"
    config.write_text(CONFIG)
    result = _run("console", "--config", str(config), flag, "http://admin:s3cret@127.0.0.1:9090")
    _one_line(result, 2, f"{flag}: a login in the URL would be on the command line")
    assert "s3cret" not in result.stderr
