"""The tool-definition footprint: bytes per tool and listing, the offline token estimate, bounded series."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics
from lookout.probe.footprint import estimate_tokens, measure
from lookout.probe.result import ProbeResult
from lookout.probe.result_exposition import render

TICKET: dict[str, Any] = {
    "name": "create_ticket",
    "title": "Create ticket",
    "description": "Open a support ticket for a customer. Use it when the customer reports a problem that cannot be "
    "solved in the conversation; returns the ticket number and its URL.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "customer_id": {"type": "string", "description": "The customer's account id, e.g. C-10492."},
            "subject": {"type": "string", "maxLength": 120, "description": "One line summary shown in the queue."},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"], "default": "normal"},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels such as billing or outage."},
        },
        "required": ["customer_id", "subject"],
        "additionalProperties": False,
    },
    "outputSchema": {
        "type": "object",
        "properties": {"number": {"type": "integer"}, "url": {"type": "string", "format": "uri"}},
        "required": ["number", "url"],
    },
    "annotations": {"readOnlyHint": False},
}
ORDERS: dict[str, Any] = {
    "name": "search_orders",
    "description": "Search orders by date range, status and free text. Results are paginated: pass the returned "
    "cursor to get the next page. At most 100 orders per page.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "paid", "shipped", "delivered", "refunded"]},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "cursor": {"type": ["string", "null"]},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
        },
    },
}
PING: dict[str, Any] = {
    "name": "ping",
    "description": "Check that the service answers.",
    "inputSchema": {"type": "object", "properties": {}},
}
O200K_TOKENS: dict[str, int] = {"create_ticket": 187, "search_orders": 130, "ping": 25}
"""The three definitions above as OpenAI's o200k_base tokenizer counts them (measured once, offline)."""


def test_bytes_are_the_compact_json_of_name_description_and_schemas() -> None:
    footprint = measure([PING])
    expected = (
        b'{"name":"ping","description":"Check that the service answers.",'
        b'"inputSchema":{"type":"object","properties":{}}}'
    )
    assert footprint.bytes == len(expected) == 111
    assert [(t.name, t.bytes) for t in footprint.tools] == [("ping", 111)]


def test_title_annotations_and_meta_are_not_counted() -> None:
    bare = {k: TICKET[k] for k in ("name", "description", "inputSchema", "outputSchema")}
    dressed = {**TICKET, "_meta": {"x": "y" * 500}, "icons": [{"src": "data:..."}]}
    assert measure([dressed]).bytes == measure([bare]).bytes == 833


def test_non_ascii_counts_utf8_bytes() -> None:
    tool = {"name": "météo", "description": "天気"}
    assert measure([tool]).bytes == len('{"name":"météo","description":"天気"}'.encode()) == 41


def test_listing_is_the_sum_of_its_tools_largest_first() -> None:
    footprint = measure([PING, ORDERS, TICKET])
    assert [t.name for t in footprint.tools] == ["create_ticket", "search_orders", "ping"]
    assert [t.bytes for t in footprint.tools] == [833, 531, 111]
    assert footprint.bytes == 833 + 531 + 111
    assert footprint.tokens == sum(t.tokens for t in footprint.tools)


@pytest.mark.parametrize("tool", [TICKET, ORDERS, PING], ids=lambda t: str(t["name"]))
def test_token_estimate_is_close_to_a_real_tokenizer(tool: dict[str, Any]) -> None:
    estimate = measure([tool]).tokens
    assert abs(estimate - O200K_TOKENS[tool["name"]]) <= 0.05 * O200K_TOKENS[tool["name"]]


def test_token_estimate_of_json_punctuation_and_words() -> None:
    assert estimate_tokens('{"type":"string"}') == 5  # {"  type  ":"  string  "}
    assert estimate_tokens("") == 0
    assert estimate_tokens("天気予報") == 4  # a token per CJK character, not one per run of letters


def test_top_keeps_the_largest_and_sums_the_rest_as_other() -> None:
    footprint = measure([PING, ORDERS, TICKET])
    assert footprint.top(5, metrics.OTHER) == list(footprint.tools)
    top = footprint.top(1, metrics.OTHER)
    assert [(t.name, t.bytes) for t in top] == [("create_ticket", 833), (metrics.OTHER, 531 + 111)]
    assert sum(t.tokens for t in top) == footprint.tokens


def test_a_name_listed_twice_is_one_tool() -> None:
    footprint = measure([PING, PING])
    assert [(t.name, t.bytes) for t in footprint.tools] == [("ping", 222)]


def _result(tools: list[dict[str, Any]], max_tool_series: int) -> ProbeResult:
    result = ProbeResult(target="t", module="m", success=True)
    result.tools, result.tools_hash = sorted(str(t["name"]) for t in tools), 1
    result.footprint, result.max_tool_series = measure(tools), max_tool_series
    return result


def test_exposition_reports_the_listing_and_at_most_max_tool_series_tools() -> None:
    text = render(_result([PING, ORDERS, TICKET], max_tool_series=2)).decode()
    samples = {
        (s.name, tuple(s.labels.values())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }
    assert samples[(metrics.PROBE_TOOLS_DEFINITION_BYTES.name, ())] == 833 + 531 + 111
    assert samples[(metrics.PROBE_TOOLS_DEFINITION_TOKENS.name, ())] == measure([PING, ORDERS, TICKET]).tokens
    per_tool = {labels: v for (name, labels), v in samples.items() if name == metrics.PROBE_TOOL_DEFINITION_BYTES.name}
    assert per_tool == {("create_ticket",): 833, ("search_orders",): 531, (metrics.OTHER,): 111}


def test_exposition_without_a_footprint_has_no_footprint_series() -> None:
    result = _result([PING], 1)
    result.footprint = None
    names = {f.name for f in text_string_to_metric_families(render(result).decode())}
    assert not names & {
        metrics.PROBE_TOOLS_DEFINITION_BYTES.name,
        metrics.PROBE_TOOLS_DEFINITION_TOKENS.name,
        metrics.PROBE_TOOL_DEFINITION_BYTES.name,
    }


def test_json_output_carries_the_footprint() -> None:
    view = _result([PING], 1).as_dict()["tools_definition"]
    assert json.loads(json.dumps(view)) == {
        "bytes": 111,
        "tokens_estimate": measure([PING]).tokens,
        "per_tool": [{"name": "ping", "bytes": 111, "tokens_estimate": measure([PING]).tokens}],
    }


@pytest.mark.parametrize("tools", [[], [{"name": 'we"ird', "description": "x"}, PING, ORDERS]], ids=["none", "some"])
def test_render_with_a_footprint_is_byte_identical_to_prometheus_client(tools: list[dict[str, Any]]) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from lookout.probe.result_exposition import ProbeCollector

    result = _result(tools, max_tool_series=2)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProbeCollector(result))
    assert render(result) == generate_latest(registry)
