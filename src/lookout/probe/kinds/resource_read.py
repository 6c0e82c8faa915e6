"""``resource_read``: read one resource and check that it has contents (and, optionally, their text)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lookout.config.probe import Module, ResourceRead
from lookout.probe.errors import AssertionFailure
from lookout.probe.kinds.content import text_of
from lookout.probe.protocol import McpSession
from lookout.probe.result import ProbeResult


async def probe(session: McpSession, module: Module, result: ProbeResult) -> None:
    spec = module.resource_read
    if spec is None:  # the config model refuses this kind without its section
        return
    with result.phase("read"):
        check_resource(spec, await session.read_resource(spec.uri))


def check_resource(spec: ResourceRead, result: Mapping[str, Any]) -> None:
    contents = result.get("contents")
    if not isinstance(contents, list) or not contents:
        raise AssertionFailure(f"resources/read {spec.uri}: no contents")
    text = text_of(contents)
    if spec.expect_text_regex is not None and not re.search(spec.expect_text_regex, text):
        raise AssertionFailure(
            f"resources/read {spec.uri}: text {text[:120]!r} does not match /{spec.expect_text_regex}/"
        )
