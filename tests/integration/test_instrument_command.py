"""`lookout instrument -- COMMAND`: unchanged MCP server programs (the SDK weather example under
examples/instrument/ and a FastMCP program under instrumented_programs/, never imported here) run instrumented
over stdio and streamable HTTP; the error cases end in one line, exit 2."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics as m
from lookout.protocol import Transport
from tests.support import LOOPBACK, free_port, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration

PROGRAMS = Path(__file__).parent / "instrumented_programs"
WEATHER = Path(__file__).parents[2] / "examples" / "instrument" / "weather_server.py"
LEGACY = "2025-11-25"
# program, framework, (tool, arguments), (failing tool, arguments, error_type)
CASES = {
    "sdk": (WEATHER, ("forecast", {"city": "Oslo"}), ("divide", {"a": 1, "b": 0}, "ZeroDivisionError")),
    "fastmcp": (PROGRAMS / "fastmcp_server.py", ("word_count", {"text": "a b c"}), ("crash", {}, "RuntimeError")),
}


def operations(text: str) -> dict[tuple[str, ...], float]:
    """Non-zero ``mcp_server_operation_duration_seconds_count`` series by their label values."""
    found: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{m.OPERATION_DURATION.name}_count" and sample.value:
                found[tuple(sample.labels[label] for label in m.OPERATION_DURATION.labels)] = sample.value
    return found


def management_text(port: int) -> str:
    return httpx.get(f"http://{LOOPBACK}:{port}/metrics", timeout=5).text


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://{LOOPBACK}:{port}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def expected_calls(case: str, network: str) -> dict[tuple[str, ...], float]:
    _, (tool, _args), (failing, _fargs, error_type) = CASES[case]
    return {
        ("tools/call", tool, "", "", LEGACY, network): 2.0,
        ("tools/call", failing, "", error_type, LEGACY, network): 1.0,
    }


async def call_tools(client: Client, case: str) -> None:
    _, (tool, arguments), (failing, failing_arguments, _) = CASES[case]
    for _ in range(2):
        assert not (await client.call_tool(tool, arguments)).is_error
    assert (await client.call_tool(failing, failing_arguments)).is_error


def tool_calls(text: str) -> dict[tuple[str, ...], float]:
    return {key: value for key, value in operations(text).items() if key[0] == "tools/call"}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_stdio_program_is_instrumented(case: str) -> None:
    mport = free_port()
    program = str(CASES[case][0])
    argv = lookout_argv("instrument", "--management", f"{LOOPBACK}:{mport}", "--", program, "stdio")
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(Path.cwd()))
    async with Client(params, mode="legacy") as client:
        await call_tools(client, case)
        wait_until(lambda: ready(mport), 20, what="/health/ready of the instrumented stdio server")
        text = management_text(mport)
    assert tool_calls(text) == expected_calls(case, "pipe")
    assert f'{m.OPERATION_ERRORS.name}_total{{error_class="server"' in text


@pytest.mark.parametrize("case", sorted(CASES))
async def test_streamable_http_program_is_instrumented(case: str, tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    program = str(CASES[case][0])
    argv = lookout_argv("instrument", "--management", f"{LOOPBACK}:{mport}", "--", program, "http", str(port))
    proc = start(argv, tmp_path / "server.log")
    try:
        wait_until(lambda: proc.alive() and ready(mport), 30, what="/health/ready of the instrumented HTTP server")
        async with Client(f"http://{LOOPBACK}:{port}/mcp", mode="legacy") as client:
            await call_tools(client, case)
        text = management_text(mport)
        assert tool_calls(text) == expected_calls(case, "tcp")
        # The app the program built counts its HTTP transport too.
        assert (
            f'{m.TRANSPORT_BYTES.name}_total{{direction="in",mcp_transport="{Transport.STREAMABLE_HTTP.value}"}}'
            in text
        )
        # SIGTERM reaches the program through the launcher, which ends the way the program did.
        assert proc.stop() in (0, -signal.SIGTERM), proc.output()
    finally:
        proc.stop()


def _initialize(request_id: int) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    }


def test_stdout_carries_only_protocol_messages(tmp_path: Path) -> None:
    """Logs, the launcher's own line and the management app never reach stdout, the stdio protocol channel."""
    mport = free_port()
    argv = lookout_argv("instrument", "--management", f"{LOOPBACK}:{mport}", "--", str(WEATHER))
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    assert popen.stdin is not None and popen.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(popen.stdout or []), daemon=True)
    reader.start()
    try:
        messages = [
            _initialize(1),
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "forecast", "arguments": {"city": "Rome"}},
            },
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "divide", "arguments": {"a": 1, "b": 0}},
            },
        ]
        popen.stdin.write(b"".join(json.dumps(message).encode() + b"\n" for message in messages))
        popen.stdin.flush()
        wait_until(lambda: ready(mport) and "lookout.access" in stderr.read_text(), 20, what="access lines on stderr")
        wait_until(lambda: sum(b'"id":3' in line for line in lines), 20, what="the third answer")
        popen.stdin.close()  # end of input: the program exits, and so does the launcher
        assert popen.wait(20) == 0
        reader.join(10)
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait(5)
    answers = [json.loads(line) for line in lines]  # every line is JSON ...
    assert all(answer.get("jsonrpc") == "2.0" for answer in answers)  # ... and JSON-RPC
    assert sorted(answer["id"] for answer in answers) == [1, 2, 3]
    log = stderr.read_text()
    assert "management app on" in log and '"logger": "lookout.access"' in log


def run_instrument(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lookout_argv("instrument", *args), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lookout: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_program_that_is_not_python_is_refused(tmp_path: Path) -> None:
    binary = shutil.which("true")
    assert binary is not None
    assert_one_line(run_instrument("--", binary), "is not a Python program")
    script = tmp_path / "serve.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    assert_one_line(run_instrument("--", str(script)), "serve.sh is not a Python program")


def test_a_program_that_builds_no_server_in_time_is_stopped() -> None:
    result = run_instrument("--server-timeout", "3", "--", sys.executable, str(PROGRAMS / "no_server.py"))
    assert_one_line(result, "no_server.py", "built no MCP server", "3 s", "--server-timeout")


def test_a_taken_management_port_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_instrument("--management", f"{LOOPBACK}:{port}", "--", str(WEATHER))
    assert_one_line(result, f"management address {LOOPBACK}:{port} is not available", "--management")


def test_bad_settings_are_refused_before_the_program_starts() -> None:
    result = run_instrument("--management", "nowhere", "--", str(PROGRAMS / "no_server.py"))
    assert_one_line(result, "management address 'nowhere' is not HOST:PORT")


@pytest.mark.parametrize("form", ["console script", "python -m"])
def test_console_scripts_and_modules_are_instrumented(form: str, tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    if form == "console script":  # what pip writes for a package's entry point: a Python shebang
        script = tmp_path / "weather-mcp"
        script.write_text(f"#!{sys.executable}\nimport runpy\nrunpy.run_path({str(WEATHER)!r}, run_name='__main__')\n")
        script.chmod(0o755)
        command = [str(script), "http", str(port)]
    else:
        command = [sys.executable, "-m", WEATHER.stem, "http", str(port)]
    argv = lookout_argv("instrument", "--management", f"{LOOPBACK}:{mport}", "--", *command)
    proc = start(argv, tmp_path / "server.log", cwd=WEATHER.parent)
    try:
        wait_until(lambda: proc.alive() and ready(mport), 30, what=f"/health/ready of the {form}")
        assert f'{m.SERVER_NAME}="weather"' in management_text(mport)
    finally:
        proc.stop()
