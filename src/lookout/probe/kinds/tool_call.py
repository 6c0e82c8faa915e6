"""``tool_call``: call one tool and check its result (not an error, a text regex, JSON path values)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lookout.config.probe import Module, ToolCall
from lookout.probe.errors import AssertionFailure
from lookout.probe.kinds.content import text_of
from lookout.probe.protocol import McpSession
from lookout.probe.result import ProbeResult


async def probe(session: McpSession, module: Module, result: ProbeResult) -> None:
    spec = module.tool_call
    if spec is None:  # the config model refuses this kind without its section
        return
    with result.phase("call"):
        check_tool_result(spec, await session.call_tool(spec.name, spec.arguments))


_MISSING = object()


def json_path(value: Any, path: str) -> Any:
    """Follow a dotted path (``structuredContent.result``, ``content.0.text``); missing → a sentinel."""
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def same_json(found: Any, expected: Any) -> bool:
    """Equal as JSON values: ``true`` is not ``1`` (as it is in Python), ``1`` is ``1.0``."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return type(found) is type(expected) and found == expected
    if isinstance(found, dict) and isinstance(expected, dict):
        return found.keys() == expected.keys() and all(same_json(found[key], expected[key]) for key in found)
    if isinstance(found, list) and isinstance(expected, list):
        return len(found) == len(expected) and all(map(same_json, found, expected))
    return bool(found == expected)


def check_tool_result(spec: ToolCall, result: Mapping[str, Any]) -> None:
    text = text_of(result.get("content"))
    if spec.expect_not_error and result.get("isError") is True:
        raise AssertionFailure(f"tools/call {spec.name}: the result is an error (isError): {text[:200]}")
    if spec.expect_text_regex is not None and not re.search(spec.expect_text_regex, text):
        raise AssertionFailure(f"tools/call {spec.name}: text {text[:120]!r} does not match /{spec.expect_text_regex}/")
    for expectation in spec.expect_json:
        found = json_path(result, expectation.path)
        if found is _MISSING:
            raise AssertionFailure(f"tools/call {spec.name}: the result has no {expectation.path}")
        if not same_json(found, expectation.equals):
            raise AssertionFailure(
                f"tools/call {spec.name}: {expectation.path} is {found!r}, expected {expectation.equals!r}"
            )
