"""A module with ``follow_redirects: true`` follows redirects only within the target's own origin: a target
answering 302 to another host:port cannot send the prober (and so the exporter) anywhere nobody configured."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from typing import ClassVar

import pytest

from lookout.config.probe import Module
from lookout.probe.modules import ProbeTarget, run_probe
from tests.support import http_server

pytestmark = pytest.mark.integration


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []
    location = ""

    def _answer(self) -> None:
        type(self).hits.append(self.path)
        if self.location:
            self.send_response(302)
            self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[str]]]:
    """A target redirecting to another loopback port, and the requests that other port received."""
    elsewhere_handler: type[_Recorder] = type("Elsewhere", (_Recorder,), {"hits": [], "location": ""})
    with http_server(elsewhere_handler) as elsewhere:
        target_handler = type("Target", (_Recorder,), {"hits": [], "location": f"{elsewhere}/mcp"})
        with http_server(target_handler) as target:
            yield f"{target}/mcp", elsewhere_handler.hits


async def test_redirect_to_another_origin_is_refused_before_any_request(redirecting: tuple[str, list[str]]) -> None:
    url, elsewhere_hits = redirecting
    module = Module.model_validate({"timeout": "3s", "follow_redirects": True})
    result = await run_probe(ProbeTarget("redirecting", url), "test", module)
    assert not result.success
    assert result.error is not None and "redirects are followed only within" in result.error, result.log.text()
    assert elsewhere_hits == []
