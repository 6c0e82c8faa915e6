"""JSON logs and the access log, through a real in-memory client."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.client.client import Client
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry

from lookout import metrics as m
from lookout.demo.server import build_server
from lookout.instrument import Audit, Logs, instrument
from lookout.instrument.json_logs import JsonLogging, configure_json_logging
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, otel

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def json_logs() -> Iterator[tuple[JsonLogging, io.StringIO]]:
    buf = io.StringIO()
    logger = logging.getLogger("lookout.test.app")
    handle = configure_json_logging(service="search", tenant="acme", stream=buf)
    o = otel()
    o.reset(ALWAYS_ON)
    yield handle, buf
    o.reset(ALWAYS_OFF)
    handle.stop()
    logger.handlers.clear()


def lines(handle: JsonLogging, buf: io.StringIO) -> list[dict[str, Any]]:
    handle.flush()
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


async def test_access_line_per_request_with_trace_context(json_logs: tuple[JsonLogging, io.StringIO]) -> None:
    handle, buf = json_logs
    server = build_server()

    @server.tool()
    async def noisy(secret: str) -> str:
        logging.getLogger("lookout.test.app").warning("inside the tool")
        return "ok"

    instrument(server, CollectorRegistry(), logs=Logs(access_log=True))
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("noisy", {"secret": "hunter2"})
        await client.call_tool("get_weather", {"city": "atlantis"})
    records = lines(handle, buf)
    access = [r for r in records if r["logger"] == "lookout.access" and r["mcp_method"] == "tools/call"]
    assert [(r["mcp_method"], r.get("target"), r["outcome"]) for r in access] == [
        ("tools/call", "noisy", "ok"),
        ("tools/call", "get_weather", "error"),
    ]
    first = access[0]
    assert RFC3339_UTC.match(first["timestamp"])
    assert first["level"] == "info" and first["message"] == "mcp request"
    assert first["service"] == "search" and first["tenant"] == "acme"
    assert first["mcp_tool"] == "noisy" and isinstance(first["duration_ms"], float)
    assert re.fullmatch(r"[0-9a-f]{32}", first["trace_id"]) and re.fullmatch(r"[0-9a-f]{16}", first["span_id"])
    assert access[1]["error_type"] == "tool_error"
    # Application logs written while handling the request carry the same context.
    app_line = next(r for r in records if r["logger"] == "lookout.test.app")
    assert app_line["mcp_method"] == "tools/call" and app_line["mcp_tool"] == "noisy"
    assert app_line["trace_id"] == first["trace_id"] and app_line["level"] == "warning"
    # Arguments and results are never logged by default.
    assert "hunter2" not in buf.getvalue()


async def test_arguments_are_logged_only_for_opted_in_tools(json_logs: tuple[JsonLogging, io.StringIO]) -> None:
    handle, buf = json_logs
    server = build_server()
    instrument(server, CollectorRegistry(), logs=Logs(access_log=True, arguments_for=["echo"]))
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("echo", {"text": "visible"})
        await client.call_tool("search_docs", {"query": "invisible-query"})
    records = [r for r in lines(handle, buf) if r.get("target") in ("echo", "search_docs")]
    echo = next(r for r in records if r["target"] == "echo")
    assert echo["arguments"] == {"text": "visible"} and "visible" in json.dumps(echo["result"])
    assert "invisible-query" not in buf.getvalue()


def test_logging_never_blocks_when_the_writer_is_stuck() -> None:
    gate = threading.Event()

    class StuckStream(io.StringIO):
        def write(self, s: str) -> int:
            gate.wait(30)
            return super().write(s)

    logger = logging.getLogger("lookout.test.stuck")
    logger.propagate = False
    handle = configure_json_logging(stream=StuckStream(), logger=logger, queue_size=10)
    try:
        for i in range(200):  # would hang here if emitting waited for the writer
            logger.warning("line %d", i)
        assert handle.dropped >= 200 - 10 - 1
    finally:
        gate.set()
        handle.stop()
        logger.propagate = True


def test_only_low_cardinality_fields_are_label_candidates() -> None:
    buf = io.StringIO()
    logger = logging.getLogger("lookout.test.fields")
    logger.propagate = False
    handle = configure_json_logging(stream=buf, logger=logger, service="svc", tenant="t")
    try:
        logger.error("boom", exc_info=ValueError("bad"))
        record = lines(handle, buf)[0]
    finally:
        handle.stop()
        logger.propagate = True
    assert {"timestamp", "level", "logger", "message", "service", "tenant"} <= set(record)
    assert "ValueError: bad" in record["exception"]


def _writer_rounds(handle: JsonLogging, n: int = 2) -> None:
    """Let the writer run ``n`` full rounds (its re-attach check runs after each round's write)."""
    for i in range(n):
        handle.handler.emit_fields("debug", "lookout.test", f"round {i}", {})
        handle.flush()


def test_an_applications_extra_named_like_a_label_does_not_relabel_the_line() -> None:
    from lookout.instrument.json_logs import JsonFormatter

    record = logging.makeLogRecord(
        {"name": "app", "levelno": logging.WARNING, "levelname": "WARNING", "msg": "charged"}
        | {"tenant": "customer-4711", "level": "debug", "service": "billing"}  # what extra={...} sets
    )
    line = json.loads(JsonFormatter("search", "acme").format(record))
    # level, service and tenant are Loki stream labels (Alloy): the line's own, the application's beside them.
    assert (line["level"], line["service"], line["tenant"]) == ("warning", "search", "acme")
    assert (line["extra_level"], line["extra_service"], line["extra_tenant"]) == ("debug", "billing", "customer-4711")


def test_a_configuration_that_removes_the_handler_does_not_end_the_json_lines() -> None:
    buf = io.StringIO()
    logger = logging.getLogger("lookout.test.reattach")
    logger.propagate = False
    handle = configure_json_logging(stream=buf, logger=logger)
    try:
        handle.handler.close()  # what dictConfig does to every handler (every uvicorn.Config runs one)
        logger.removeHandler(handle.handler)  # what a configuration of this logger's handlers does
        _writer_rounds(handle)
        assert handle.handler in logger.handlers
        logger.warning("after the configuration")
        records = lines(handle, buf)
    finally:
        handle.stop()
        logger.propagate = True
    assert any("removed Lookout's JSON log handler" in r["message"] for r in records)
    assert records[-1]["message"] == "after the configuration"


def test_a_handler_replaced_or_stopped_on_purpose_stays_detached() -> None:
    logger = logging.getLogger("lookout.test.replaced")
    logger.propagate = False
    first = configure_json_logging(stream=io.StringIO(), logger=logger)
    second = configure_json_logging(stream=io.StringIO(), logger=logger)  # exclusive: replaces the first
    try:
        _writer_rounds(first)
        assert logger.handlers == [second.handler]
    finally:
        second.stop()
    assert logger.handlers == [first.handler]  # given back when the replacement stops
    first.stop()
    assert logger.handlers == []
    logger.propagate = True


def test_an_access_line_is_the_json_of_its_redacted_fields() -> None:
    from lookout.instrument.json_logs import JsonFormatter

    fields: dict[str, Any] = {
        "mcp_method": "tools/call",
        "duration_ms": 1.25,
        "outcome": "ok",
        "target": 'é\u2028"quoted"\n',
        "mcp_tool": 'é\u2028"quoted"\n',
        "not_a_number": float("nan"),
        "flag": True,
        "nothing": None,
        "count": 3,
        "arguments": {"query": "mail jane@example.org", "limits": [1, 2.5, {"token": "token=abc123"}]},
        "result": object(),
    }
    line = JsonFormatter("svc", "acme").format_fields(1764470000.25, "info", "lookout.access", "mcp request", fields)
    expected = {
        "timestamp": "2025-11-30T02:33:20.250000Z",
        "level": "info",
        "logger": "lookout.access",
        "message": "mcp request",
        "service": "svc",
        "tenant": "acme",
        **fields,
        "arguments": {"query": "mail [REDACTED:email]", "limits": [1, 2.5, {"token": "[REDACTED:secret]"}]},
    }
    assert line == json.dumps(expected, default=str, ensure_ascii=False)


@pytest.mark.parametrize("redaction", [True, False])
def test_an_access_line_from_its_values_is_the_line_of_its_fields(redaction: bool) -> None:
    """format_access (the access log's path when Lookout's handler is the only one) writes exactly what
    format_fields writes for the same request's fields, redaction included, whatever the method, target,
    error, sampling, ids and duration; and keeps its text per distinct request kind bounded."""
    from lookout.instrument import json_logs
    from lookout.instrument.json_logs import ACCESS_LOGGER, ACCESS_MESSAGE, JsonFormatter, access_fields
    from lookout.security.redact import configure_redaction

    requests = [
        ("tools/call", "search", 0.0019, "", 0, 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7),
        ("tools/call", "search", 0.25, "TimeoutError", 0, 0, 0),
        ("prompts/get", "summary", 1e-7, "-32602", 0, 1, 2),
        ("tools/list", "", 0.5, "", 10, 0, 0),
        ("resources/read", "file:///etc/passwd?token=abc123", 3.0, "", 0, 5, 6),
        ("tools/call", 'mail jane@example.org é\u2028"quoted"\n', 12.3456789, "", 3, 7, 8),
        ("tools/call", "sk-" + "a" * 40, 0.0, "-32603", 0, 0, 0),
        ("initialize", "", 1e6, "", 0, 2**128 - 1, 2**64 - 1),
        ("tools/call", "x", float("inf"), "", 0, 0, 0),
        ("tools/call", "x", float("nan"), "", 0, 0, 0),
    ]
    configure_redaction(enabled=redaction)
    try:
        formatter = JsonFormatter('svc "quoted"', "acme")
        for created in (1764470000.25, 1764470001.5):
            for request in requests:
                expected = formatter.format_fields(
                    created, "info", ACCESS_LOGGER, ACCESS_MESSAGE, access_fields(*request)
                )
                assert formatter.format_access(created, *request) == expected, request
                json.loads(expected)
        for i in range(json_logs._MAX_ACCESS_PARTS + 10):  # client-chosen targets cannot grow it
            formatter.format_access(0.0, "tools/call", f"tool-{i}", 0.1, "", 0, 0, 0)
        assert len(formatter._access_parts) <= json_logs._MAX_ACCESS_PARTS
    finally:
        configure_redaction()


def test_access_lines_without_fields_or_with_a_field_named_like_the_lines_own() -> None:
    from lookout.instrument.json_logs import JsonFormatter
    from lookout.security.redact import configure_redaction

    formatter = JsonFormatter('svc "quoted"', "é")
    base = {"level": "warning", "logger": "lookout", "message": "mail jane@example.org", "service": 'svc "quoted"'}
    for fields in ({}, {"message": "instead", "extra": 1}, {"tenant": "other"}):
        line = formatter.format_fields(1764470000.0, "warning", "lookout", "mail jane@example.org", fields)
        expected = {"timestamp": "2025-11-30T02:33:20.000000Z", **base, "tenant": "é", **fields}
        if "message" not in fields:
            expected["message"] = "mail [REDACTED:email]"
        assert line == json.dumps(expected, default=str, ensure_ascii=False)
    configure_redaction(enabled=False)  # a change of redaction is seen by the next line
    try:
        line = formatter.format_fields(1764470000.0, "warning", "lookout", "mail jane@example.org", {})
        assert json.loads(line)["message"] == "mail jane@example.org"
    finally:
        configure_redaction()


async def test_secrets_named_by_their_key_are_redacted_in_access_audit_and_extra_fields(
    json_logs: tuple[JsonLogging, io.StringIO], tmp_path: Path
) -> None:
    handle, buf = json_logs
    server = MCPServer("login")

    @server.tool()
    def login(username: str, password: str, api_key: str = "") -> str:
        logging.getLogger("lookout.test.app").warning("login", extra={"password": password, "n": {"apiKey": api_key}})
        return "ok"

    path = tmp_path / "audit.jsonl"
    instrument(
        server,
        CollectorRegistry(),
        logs=Logs(access_log=True, arguments_for=["login"]),
        audit=Audit(path=str(path), arguments_for=["login"]),
    )
    async with Client(server, mode="2026-07-28") as client:
        await client.call_tool("login", {"username": "bob", "password": "hunter2", "api_key": "abc123def"})
    records = lines(handle, buf)
    access = next(r for r in records if r.get("target") == "login")
    expected = {"username": "bob", "password": "[REDACTED:secret]", "api_key": "[REDACTED:secret]"}
    assert access["arguments"] == expected
    app_line = next(r for r in records if r["logger"] == "lookout.test.app")
    assert app_line["password"] == "[REDACTED:secret]" and app_line["n"] == {"apiKey": "[REDACTED:secret]"}
    assert json.loads(path.read_text())["arguments"] == expected
    for text in (buf.getvalue(), path.read_text()):
        assert "hunter2" not in text and "abc123def" not in text


async def test_a_tool_name_the_server_does_not_have_stays_out_of_logs_and_the_audit_trail(
    json_logs: tuple[JsonLogging, io.StringIO], tmp_path: Path
) -> None:
    """A client's text in place of a tool or prompt name (a pasted secret) is recorded as ``_OTHER``, as in the
    metrics."""
    handle, buf = json_logs
    server = build_server()
    path = tmp_path / "audit.jsonl"
    instrument(server, CollectorRegistry(), logs=Logs(access_log=True), audit=Audit(path=str(path)))
    secret = "hunter2-pasted-in-the-wrong-box"
    async with Client(server, mode="2026-07-28") as client:
        assert (await client.call_tool(secret, {})).is_error
        with pytest.raises(Exception):  # noqa: B017 - whatever the SDK answers an unknown prompt with
            await client.get_prompt(secret, {})
        await client.call_tool("echo", {"text": "x"})
    records = lines(handle, buf)
    access = [r for r in records if r["logger"] == "lookout.access" and "target" in r]
    assert [(r["mcp_method"], r["target"], r["mcp_tool"]) for r in access] == [
        ("tools/call", m.OTHER, m.OTHER),
        ("prompts/get", m.OTHER, m.OTHER),
        ("tools/call", "echo", "echo"),
    ]
    assert [json.loads(line)["tool"] for line in path.read_text().splitlines()] == [m.OTHER, "echo"]
    assert secret not in json.dumps([r for r in records if r["logger"].startswith("lookout")])
    assert secret not in path.read_text()
    # The SDK's own log line quotes the name; the context Lookout adds to it does not.
    assert {r.get("mcp_tool") for r in records if secret in r["message"]} == {m.OTHER}
