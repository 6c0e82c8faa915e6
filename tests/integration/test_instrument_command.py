"""`lookout instrument -- COMMAND`: unchanged MCP server programs (the SDK weather example under
examples/instrument/ and a FastMCP program under instrumented_programs/, never imported here) run instrumented
over stdio and streamable HTTP; the error cases end in one line, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
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
from tests.support import LOOPBACK, Proc, free_port, lookout_argv, start, wait_until

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
        # uvicorn's start-up lines are the program's only: none names the management port.
        log = proc.output()
        assert log.count("Started server process") == 1, log
        assert not [line for line in log.splitlines() if "Uvicorn running" in line and f":{mport}" in line], log
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


def _management_tls(tmp: Path) -> tuple[Path, Path, Path, Path, str]:
    """CA, server certificate and key for 127.0.0.1, and an htpasswd-style users file; returns them and the
    password (which only the test knows: the files hold its bcrypt hash)."""
    import datetime as dt
    import secrets

    import bcrypt

    from lookout.security.certs import _key, _pem_cert, _pem_key, make_certificate

    ca_key, leaf_key = _key(), _key()
    ca = make_certificate("test CA", ca_key, None, dt.timedelta(days=1))
    leaf = make_certificate("server", leaf_key, (ca, ca_key), dt.timedelta(days=1), hosts=[LOOPBACK])
    paths = tmp / "ca.crt", tmp / "server.crt", tmp / "server.key", tmp / "users"
    paths[0].write_bytes(_pem_cert(ca))
    paths[1].write_bytes(_pem_cert(leaf))
    paths[2].write_bytes(_pem_key(leaf_key))
    password = secrets.token_urlsafe(16)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    paths[3].write_text(f"# who may scrape\nprometheus:{hashed}\n")
    return *paths, password


def test_the_management_port_serves_tls_with_logins_from_files(tmp_path: Path) -> None:
    ca, cert, key, users, password = _management_tls(tmp_path)
    port, mport = free_port(), free_port()
    argv = lookout_argv(
        "instrument", "--management", f"{LOOPBACK}:{mport}", "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--", str(WEATHER), "http", str(port),
    )  # fmt: skip
    env = {**os.environ, "LOOKOUT_USERS_FILE": str(users)}  # the environment works as the options do
    proc = start(argv, tmp_path / "server.log", env=env)
    base = f"https://{LOOPBACK}:{mport}"
    login = ("prometheus", password)
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=5) as client:

            def live() -> bool:
                assert proc.alive(), proc.output()
                try:
                    return client.get(f"{base}/health/live").status_code == 200  # open: the kubelet's probe
                except httpx.HTTPError:
                    return False

            wait_until(live, 30, what="/health/live of the instrumented server over TLS")
            assert f"management app on https://{LOOPBACK}:{mport}" in proc.output()
            with pytest.raises(httpx.HTTPError):  # plain HTTP: no answer but a dropped handshake
                httpx.get(f"http://{LOOPBACK}:{mport}/metrics", auth=login, timeout=5)
            assert client.get(f"{base}/metrics").status_code == 401
            assert client.get(f"{base}/metrics", auth=("prometheus", "wrong")).status_code == 401
            assert client.get(f"{base}/health", auth=("nobody", password)).status_code == 401
            scraped = client.get(f"{base}/metrics", auth=login)
            assert scraped.status_code == 200 and m.OPERATION_DURATION.name in scraped.text
            assert client.get(f"{base}/health/ready", auth=login).status_code == 200
        assert password not in Path(f"/proc/{proc.popen.pid}/cmdline").read_bytes().decode(errors="replace")
    finally:
        proc.stop()
    assert password not in proc.output()


def test_closed_health_and_bad_management_files_are_refused(tmp_path: Path) -> None:
    ca, cert, _, users, password = _management_tls(tmp_path)
    result = run_instrument("--tls-cert-file", str(cert), "--", str(WEATHER))
    assert_one_line(result, "--tls-cert-file (LOOKOUT_TLS_CERT_FILE)", "--tls-key-file", "give both")
    result = run_instrument("--tls-cert-file", str(cert), "--tls-key-file", str(ca), "--", str(WEATHER))
    assert_one_line(result, "cannot serve TLS", str(cert))
    (tmp_path / "plain").write_text(f"prometheus:{password}\n")  # a password where the hash belongs
    result = run_instrument("--users-file", str(tmp_path / "plain"), "--", str(WEATHER))
    assert_one_line(result, "--users-file (LOOKOUT_USERS_FILE)", "line 1 is not NAME:BCRYPT-HASH")
    assert password not in result.stderr
    # Without open health every path wants the login (plain HTTP here: logins without TLS are allowed on loopback).
    mport = free_port()
    argv = lookout_argv(
        "instrument", "--management", f"{LOOPBACK}:{mport}", "--users-file", str(users), "--open-health", "off",
        "--", str(WEATHER), "http", str(free_port()),
    )  # fmt: skip
    proc = start(argv, tmp_path / "closed.log")
    try:

        def answers() -> bool:
            assert proc.alive(), proc.output()
            try:
                return httpx.get(f"http://{LOOPBACK}:{mport}/health/live", timeout=2).status_code == 401
            except httpx.HTTPError:
                return False

        wait_until(answers, 30, what="/health/live refusing a request without a login")
        live = httpx.get(f"http://{LOOPBACK}:{mport}/health/live", auth=("prometheus", password), timeout=5)
        assert live.status_code == 200
    finally:
        proc.stop()


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _serve_weather(tmp_path: Path, new_session: bool = False) -> tuple[Proc, int, int]:
    """The weather example under `lookout instrument` over HTTP, ready: (launcher, its program's PID, mport)."""
    port, mport = free_port(), free_port()
    argv = lookout_argv("instrument", "--management", f"{LOOPBACK}:{mport}", "--", str(WEATHER), "http", str(port))
    log = tmp_path / "server.log"
    with log.open("wb") as out:  # a new session: no terminal, as under a supervisor or in a container
        popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=new_session
        )
    proc = Proc(popen, log)
    try:
        wait_until(lambda: proc.alive() and ready(mport), 30, what="/health/ready of the instrumented program")
        (program,) = _children(proc.pid)
    except BaseException:
        proc.stop()
        raise
    return proc, program, mport


def test_the_program_ends_with_its_launcher_even_a_killed_one(tmp_path: Path) -> None:
    proc, program, mport = _serve_weather(tmp_path)
    try:
        proc.stop(signal.SIGKILL)  # e.g. the OOM killer: the launcher cannot pass anything on
        wait_until(lambda: not _running(program), 20, what="the program to end after its launcher was killed")
        assert not ready(mport)
    finally:
        proc.stop()
        if _running(program):
            os.kill(program, signal.SIGKILL)


def test_sigint_to_the_launcher_alone_reaches_the_program(tmp_path: Path) -> None:
    proc, program, _ = _serve_weather(tmp_path, new_session=True)
    try:
        os.kill(proc.pid, signal.SIGINT)  # `docker kill -s INT`, systemd KillSignal=SIGINT: no terminal sent it
        wait_until(lambda: not proc.alive(), 30, what="the launcher to end after SIGINT")
        wait_until(lambda: not _running(program), 10, what="the program to end after SIGINT")
    finally:
        proc.stop()
        if _running(program):
            os.kill(program, signal.SIGKILL)


def test_a_program_that_closes_the_status_pipe_before_its_server_is_reported(tmp_path: Path) -> None:
    program = tmp_path / "closes_fds.py"
    program.write_text(
        "import os, time\n"
        "os.closerange(3, 4096)  # as daemonizing programs and some re-executing launchers do\n"
        "from mcp.server.mcpserver import MCPServer\n"
        "server = MCPServer('closer')\n"
        "time.sleep(60)\n"
    )
    result = run_instrument("--server-timeout", "3", "--management", "off", "--", sys.executable, str(program))
    assert_one_line(result, "closes_fds.py", "built no MCP server within 3 s", "closed Lookout's status pipe")
