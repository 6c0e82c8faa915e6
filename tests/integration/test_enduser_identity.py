"""The caller's identity from a real authenticated transport: an ``MCPServer`` over streamable HTTP (uvicorn in the
test's loop, loopback) with the SDK's own bearer authentication (a ``TokenVerifier`` accepting one token), an
``mcp`` client sending that token. The request span and the audit record carry ``enduser.id``; a request without
the token is refused with 401 and audited as nothing; the token itself is nowhere in what Lookout emits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from prometheus_client import CollectorRegistry, generate_latest

from lookout.instrument import Audit, instrument
from lookout.instrument.spans import ENDUSER_ID
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, Otel, otel, serve_http

pytestmark = pytest.mark.integration

TOKEN = "planted-bearer-7f3c9d2e41b8a6"
CLIENT_ID = "weather-app"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}


class OneTokenVerifier:
    """The SDK's TokenVerifier protocol: the one token this test hands its client, nothing else."""

    async def verify_token(self, token: str) -> AccessToken | None:
        if token != TOKEN:
            return None
        return AccessToken(token=token, client_id=CLIENT_ID, scopes=["tools"])


@pytest.fixture
def tracing() -> Iterator[Otel]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield o
    o.reset(ALWAYS_OFF)


def protected_server() -> MCPServer:
    server = MCPServer(
        "protected",
        token_verifier=OneTokenVerifier(),
        auth=AuthSettings(issuer_url="https://auth.example.org", resource_server_url=None),
    )

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    return server


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_authenticated_caller_is_on_the_span_and_in_the_audit_record(
    tmp_path: Path, tracing: Otel, mode: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    server = protected_server()
    handle = instrument(server, CollectorRegistry(), service="protected", audit=Audit(path=str(audit)))
    app = handle.wrap_asgi(server.streamable_http_app())
    async with serve_http(app) as base:
        async with httpx.AsyncClient(base_url=base, headers=HEADERS) as anonymous:
            assert (await anonymous.post("/mcp", json=CALL)).status_code == 401
            wrong = await anonymous.post("/mcp", json=CALL, headers={"authorization": "Bearer not-the-token"})
            assert wrong.status_code == 401
        assert not audit.read_text()  # refused before it reached the server: no call to audit
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            transport = streamable_http_client(f"{base}/mcp", http_client=http)
            async with Client(transport, mode=mode) as client:
                result = await client.call_tool("add", {"a": 2, "b": 3})
                assert not result.is_error
    handle.uninstrument()

    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["tool"], r["outcome"], r[ENDUSER_ID]) for r in records] == [("add", "ok", CLIENT_ID)]
    spans = tracing.exporter.get_finished_spans()
    calls = [
        s for s in spans if (s.attributes or {}).get("mcp.method.name") == "tools/call" and s.kind.name == "SERVER"
    ]
    assert len(calls) == 1
    attributes = dict(calls[0].attributes or {})
    assert attributes[ENDUSER_ID] == CLIENT_ID
    assert records[0]["trace_id"] == format(calls[0].context.trace_id, "032x")
    # Only the principal's id: no token, no scope, no claim.
    emitted = json.dumps(
        [[dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events], s.status.description] for s in spans],
        default=str,
    )
    assert TOKEN not in emitted and TOKEN not in audit.read_text()
    assert TOKEN not in generate_latest(handle.registry).decode()
    assert set(records[0]) <= {
        "timestamp", "stream", "tenant", "service", "tool", "outcome", "duration_ms", "trace_id", ENDUSER_ID,
    }  # fmt: skip
