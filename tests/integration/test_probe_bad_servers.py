"""Every misbehaving server ends in probe_success 0 with a reason, within the timeout, leaking nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lookout.config.probe import Module
from lookout.probe.modules import ProbeTarget, run_probe
from lookout.probe.result import ProbeResult
from lookout.probe.result_exposition import render
from lookout.protocol import Transport
from tests.integration.probe_support import (
    BadServers,
    child_pids,
    other_tasks,
    server_argv,
    socket_fds,
    start_bad_servers,
)

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
SLACK = 8.0  # a hang guard only: the shared machine is noisy, and stdio reaping adds its grace periods


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BadServers]:
    servers = start_bad_servers(tmp_path_factory.mktemp("bad"))
    try:
        yield servers
    finally:
        servers.proc.stop()


async def probe_without_leaks(target: ProbeTarget, **module: Any) -> ProbeResult:
    spec = Module.model_validate({"timeout": f"{int(TIMEOUT * 1000)}ms", **module})
    sockets, children = socket_fds(), child_pids()
    started = time.monotonic()
    result = await run_probe(target, "test", spec)
    assert time.monotonic() - started < TIMEOUT + SLACK, "the probe overran its timeout"
    assert other_tasks() == set(), "a task outlived the probe"
    assert socket_fds() == sockets, "a socket outlived the probe"
    assert child_pids() == children, "a child process outlived the probe"
    return result


def assert_failed(result: ProbeResult, reason: str) -> None:
    assert not result.success
    assert result.error is not None and reason in result.error, result.log.text()
    assert "\n" not in result.error  # one line, whatever the server sent
    assert reason in result.log.text()  # what /probe?debug=true shows
    assert b"probe_success 0.0" in render(result)


@pytest.mark.parametrize(
    ("path", "module", "reason"),
    [
        ("/hang", {}, "timed out after 2.00s in phase handshake"),
        ("/trickle", {}, "timed out"),
        ("/oversized", {"max_response_bytes": 10_000, "protocol": "2026-07-28"}, "larger than max_response_bytes"),
        ("/invalid-json", {}, "invalid JSON"),
        ("/wrong-id", {}, "does not match request id"),
        ("/sse-forever", {}, "timed out"),
        ("/redirect", {"follow_redirects": True}, "redirect loop"),
        ("/redirect", {}, "HTTP 302 redirect to /redirect"),
        ("/http-500", {}, "HTTP 500 Internal Server Error: boom"),
        ("/html-404", {}, "HTTP 404 Not Found"),
        ("/jsonrpc-error-lines", {}, "JSON-RPC error -32603: broken at line 2 at line 3"),
        ("/auth", {}, "HTTP 401"),
    ],
)
async def test_bad_http_server_fails_the_probe_with_a_reason(
    bad: BadServers, path: str, module: dict[str, Any], reason: str
) -> None:
    result = await probe_without_leaks(ProbeTarget("bad", bad.url(path)), **module)
    assert_failed(result, reason)


@pytest.mark.parametrize(
    ("path", "reason"), [("/hang", "timed out"), ("/redirect", "HTTP 302"), ("/sse-forever", "timed out")]
)
async def test_bad_legacy_sse_server_fails_the_probe(bad: BadServers, path: str, reason: str) -> None:
    result = await probe_without_leaks(ProbeTarget("bad", bad.url(path), Transport.SSE))
    assert_failed(result, reason)


async def test_jsonrpc_error_is_reported_with_its_code(bad: BadServers) -> None:
    result = await probe_without_leaks(ProbeTarget("bad", bad.url("/jsonrpc-error")))
    assert_failed(result, "JSON-RPC error -32603")
    assert result.jsonrpc_error_code == -32603
    assert b"probe_mcp_jsonrpc_error_code -32603.0" in render(result)


async def test_sse_stream_that_stays_open_after_the_answer_succeeds(bad: BadServers) -> None:
    result = await probe_without_leaks(ProbeTarget("sse-open", bad.url("/sse-open")), protocol="2026-07-28")
    assert result.success, result.log.text()
    assert result.tools == ["echo"]


async def test_expired_certificate_fails(bad: BadServers) -> None:
    result = await probe_without_leaks(ProbeTarget("tls", bad.tls_url("expired")), tls={"ca_file": str(bad.certs.ca)})
    assert_failed(result, "certificate has expired")


async def test_certificate_for_another_host_fails(bad: BadServers) -> None:
    result = await probe_without_leaks(
        ProbeTarget("tls", bad.tls_url("other_host")), tls={"ca_file": str(bad.certs.ca)}
    )
    assert_failed(result, "mismatch")


async def test_valid_certificate_reports_expiry_and_tls_phase(bad: BadServers) -> None:
    result = await probe_without_leaks(ProbeTarget("tls", bad.tls_url("good")), tls={"ca_file": str(bad.certs.ca)})
    assert result.success, result.log.text()
    assert result.ssl_earliest_expiry is not None
    assert 9 * 86400 < result.ssl_earliest_expiry - time.time() < 11 * 86400
    assert "tls" in result.phases and "connect" in result.phases
    assert b"probe_ssl_earliest_cert_expiry" in render(result)


async def test_insecure_skip_verify_still_reports_a_past_expiry(bad: BadServers) -> None:
    result = await probe_without_leaks(ProbeTarget("tls", bad.tls_url("expired")), tls={"insecure_skip_verify": True})
    assert result.success, result.log.text()
    assert result.ssl_earliest_expiry is not None and result.ssl_earliest_expiry < time.time()


async def test_credentials_are_read_from_files(bad: BadServers, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    password = tmp_path / "password"
    password.write_text("pa55word")
    bearer = await probe_without_leaks(
        ProbeTarget("auth", bad.url("/auth")), credentials={"bearer_token_file": str(token)}
    )
    assert bearer.success, bearer.log.text()
    basic = await probe_without_leaks(
        ProbeTarget("auth", bad.url("/auth")),
        credentials={"basic_auth": {"username": "probe", "password_file": str(password)}},
    )
    assert basic.success, basic.log.text()
    missing = await probe_without_leaks(
        ProbeTarget("auth", bad.url("/auth")), credentials={"bearer_token_file": str(tmp_path / "nope")}
    )
    assert_failed(missing, "cannot read bearer_token_file")


async def test_custom_headers_are_sent(bad: BadServers) -> None:
    without = await probe_without_leaks(ProbeTarget("hdr", bad.url("/needs-header")), protocol="2026-07-28")
    assert_failed(without, "X-Team header missing")
    with_header = await probe_without_leaks(
        ProbeTarget("hdr", bad.url("/needs-header")), protocol="2026-07-28", headers={"X-Team": "lookout"}
    )
    assert with_header.success, with_header.log.text()


async def test_stdio_server_ignoring_sigterm_is_killed_and_reaped() -> None:
    command = " ".join(server_argv("bad_stdio.py", "ignore-sigterm"))
    result = await probe_without_leaks(ProbeTarget("stdio", command, Transport.STDIO))
    assert_failed(result, "timed out")
    assert "SIGKILL" in result.log.text()


async def test_stdio_server_writing_garbage_fails() -> None:
    command = " ".join(server_argv("bad_stdio.py", "garbage"))
    result = await probe_without_leaks(ProbeTarget("stdio", command, Transport.STDIO))
    assert_failed(result, "invalid JSON")


async def test_stdio_server_that_exits_is_reported_with_its_exit_status() -> None:
    command = " ".join(server_argv("bad_stdio.py", "exit-on-request"))
    result = await probe_without_leaks(ProbeTarget("stdio", command, Transport.STDIO))
    assert_failed(result, "the server closed stdout (exit status 3)")


async def test_stdio_command_that_does_not_exist_fails() -> None:
    result = await probe_without_leaks(ProbeTarget("stdio", "/nonexistent/mcp-server --flag", Transport.STDIO))
    assert_failed(result, "cannot start")
