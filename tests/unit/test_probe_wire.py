"""Framing helpers of the lean client: SSE decoding, byte budgets, JSON-RPC matching, tools hash, paths."""

from __future__ import annotations

from typing import Any

import pytest

from lookout.config.probe import ToolCall
from lookout.probe.errors import AssertionFailure, ProtocolViolation, ResponseTooLarge
from lookout.probe.kinds.tool_call import check_tool_result, json_path
from lookout.probe.modules import tools_hash
from lookout.probe.protocol import _header_value, version_at_least
from lookout.probe.transports.base import ByteBudget, SseDecoder, SseEvent, decode_message, match_response


def feed_all(chunks: list[bytes]) -> list[SseEvent]:
    decoder = SseDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_sse_decoder_handles_split_line_endings_comments_and_multiline_data() -> None:
    stream = b': hello\r\nevent: message\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: endpoint\ndata: /m\n\ndata: x\r\r\n'
    expected = [SseEvent("message", '{"a":\n1}'), SseEvent("endpoint", "/m"), SseEvent("message", "x")]
    assert feed_all([stream]) == expected
    assert feed_all([bytes([b]) for b in stream]) == expected  # byte by byte: \r\n split across chunks


def test_sse_decoder_ignores_events_without_data() -> None:
    assert feed_all([b"event: ping\n\n: comment\n\n"]) == []


def test_byte_budget_raises_past_the_limit() -> None:
    budget = ByteBudget(10)
    budget.spend(b"12345")
    budget.spend(b"12345")
    with pytest.raises(ResponseTooLarge, match="max_response_bytes \\(10 bytes\\)"):
        budget.spend(b"1")


@pytest.mark.parametrize("raw", [b"{nope", b"[]", b'{"jsonrpc": "1.0", "id": 1}', b"null"])
def test_decode_message_rejects_non_jsonrpc(raw: bytes) -> None:
    with pytest.raises(ProtocolViolation):
        decode_message(raw, "tools/list")


def test_match_response() -> None:
    assert match_response({"jsonrpc": "2.0", "id": 3, "result": {}}, 3, "m") == {
        "jsonrpc": "2.0",
        "id": 3,
        "result": {},
    }
    assert match_response({"jsonrpc": "2.0", "method": "notifications/progress"}, 3, "m") is None
    assert match_response({"jsonrpc": "2.0", "id": 9, "method": "ping"}, 3, "m") is None  # a server request
    with pytest.raises(ProtocolViolation, match="response id 4 does not match request id 3"):
        match_response({"jsonrpc": "2.0", "id": 4, "result": {}}, 3, "m")


def test_tools_hash_is_stable_and_sensitive_to_definitions() -> None:
    a: dict[str, Any] = {
        "name": "a",
        "description": "A.",
        "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}}},
    }
    b = {"name": "b", "description": "B.", "inputSchema": {"type": "object"}}
    assert tools_hash([a, b]) == tools_hash([b, a])
    assert tools_hash([a, b]) == tools_hash(
        [{**a, "inputSchema": {"properties": a["inputSchema"]["properties"], "type": "object"}}, b]
    )
    assert tools_hash([a, b]) != tools_hash([{**a, "description": "A, but evil."}, b])
    assert tools_hash([a, b]) != tools_hash([a])
    assert 0 <= tools_hash([a, b]) < 2**48
    assert float(tools_hash([a, b])) == tools_hash([a, b])  # exact in a float64 gauge


def test_json_path() -> None:
    value = {"content": [{"text": "hi"}], "structuredContent": {"result": 3}}
    assert json_path(value, "content.0.text") == "hi"
    assert json_path(value, "content.-1.text") == "hi"
    assert json_path(value, "structuredContent.result") == 3
    assert json_path(value, "content.5.text") is not None and json_path(value, "content.5.text") != "hi"


def test_tool_result_assertions() -> None:
    result = {"content": [{"type": "text", "text": "ok 42"}], "isError": False, "structuredContent": {"n": 42}}
    check_tool_result(
        ToolCall(name="t", expect_text_regex=r"ok \d+", expect_json=[{"path": "structuredContent.n", "equals": 42}]),
        result,
    )
    with pytest.raises(AssertionFailure, match="isError"):
        check_tool_result(ToolCall(name="t"), {**result, "isError": True})
    check_tool_result(ToolCall(name="t", expect_not_error=False), {**result, "isError": True})
    with pytest.raises(AssertionFailure, match=r"has no structuredContent\.missing"):
        check_tool_result(ToolCall(name="t", expect_json=[{"path": "structuredContent.missing", "equals": 1}]), result)


@pytest.mark.parametrize(
    ("found", "expected", "same"),
    [
        (True, True, True),
        (1, True, False),  # Python's True == 1; JSON's true is not 1
        (True, 1, False),
        (0, False, False),
        (1, 1.0, True),
        ({"ok": [1, True]}, {"ok": [1, True]}, True),
        ({"ok": [1, 1]}, {"ok": [1, True]}, False),
        ([1], [1, 2], False),
        (None, None, True),
    ],
)
def test_expect_json_compares_json_values(found: object, expected: object, same: bool) -> None:
    spec = ToolCall(name="t", expect_json=[{"path": "structuredContent.v", "equals": expected}])
    result = {"content": [], "structuredContent": {"v": found}}
    if same:
        check_tool_result(spec, result)
    else:
        with pytest.raises(AssertionFailure, match=r"structuredContent\.v is"):
            check_tool_result(spec, result)


def test_versions_compare_by_position_and_unknown_is_never_enough() -> None:
    assert version_at_least("2026-07-28", "2025-06-18")
    assert not version_at_least("2025-03-26", "2025-06-18")
    assert not version_at_least("2099-01-01", "2025-06-18")
    assert not version_at_least(None, "2025-06-18")


def test_mcp_name_header_encoding_matches_the_sdk() -> None:
    from mcp.shared.inbound import decode_header_value

    for value in ("echo", "docs://pages/x", "héllo", " padded ", "=?base64?abc?="):
        assert decode_header_value(_header_value(value)) == value


def test_probe_log_is_bounded_but_keeps_the_outcome() -> None:
    from lookout.probe.result import ProbeLog

    log = ProbeLog(max_lines=3)
    for i in range(10):
        log(f"line {i}")
    log.always("probe failed: because")
    lines = log.text().splitlines()
    assert len(lines) == 5 and lines[3] == "... (log truncated)" and lines[4].endswith("probe failed: because")
