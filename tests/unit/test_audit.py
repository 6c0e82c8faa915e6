"""The audit trail: one JSON line per tool call in its own file (through a real in-memory client), arguments
only for opted-in tools and redacted even then, the caller's identity from the transport, and the Loki/Alloy
pipeline shipping it as its own stream with its own retention."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mcp.client.client import Client
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from prometheus_client import CollectorRegistry
from starlette.authentication import SimpleUser, UnauthenticatedUser

from lookout.config import parse_config
from lookout.demo.server import build_server
from lookout.instrument import Audit, instrument
from lookout.instrument.audit import PRINCIPAL_SCOPE_KEY, principal_of
from lookout.security import auth
from lookout.stack.loki import render_logs
from tests.instrument_support import ALWAYS_OFF, ALWAYS_ON, otel


@pytest.fixture
def sampled() -> Iterator[None]:
    o = otel()
    o.reset(ALWAYS_ON)
    yield
    o.reset(ALWAYS_OFF)


async def test_one_record_per_tool_call_and_arguments_only_when_opted_in(tmp_path: Path, sampled: None) -> None:
    path = tmp_path / "audit" / "calls.jsonl"
    server = build_server()
    handle = instrument(
        server,
        CollectorRegistry(),
        service="search",
        tenant="acme",
        audit=Audit(path=str(path), arguments_for=["echo"]),
    )
    async with Client(server, mode="2026-07-28") as client:
        await client.list_tools()
        await client.call_tool("echo", {"text": "reach me at jane@example.org"})
        await client.call_tool("search_docs", {"query": "invisible-query"})
        await client.call_tool("get_weather", {"city": "atlantis"})
    handle.uninstrument()
    text = path.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["tool"], r["outcome"]) for r in records] == [
        ("echo", "ok"),
        ("search_docs", "ok"),
        ("get_weather", "error"),
    ]
    for record in records:
        assert record["stream"] == "audit" and record["tenant"] == "acme" and record["service"] == "search"
        assert re.fullmatch(r"[0-9a-f]{32}", record["trace_id"])
        assert record["duration_ms"] >= 0 and record["timestamp"].endswith("Z")
    assert records[0]["arguments"] == {"text": "reach me at [REDACTED:email]"}
    assert "arguments" not in records[1] and "invisible-query" not in text
    assert path.stat().st_mode & 0o077 == 0


def test_the_callers_identity_comes_from_the_transport() -> None:
    assert PRINCIPAL_SCOPE_KEY == auth.PRINCIPAL_SCOPE_KEY  # what the authentication middleware sets
    assert principal_of({PRINCIPAL_SCOPE_KEY: "alice"}) == "alice"

    class User:
        display_name = "bob"

    assert principal_of({"user": User()}) == "bob"
    assert principal_of({}) is None and principal_of(None) is None
    # Starlette's AuthenticationMiddleware: request.user; an unauthenticated user is nobody.
    assert principal_of({"user": SimpleUser("carol")}) == "carol"
    assert principal_of({"user": UnauthenticatedUser()}) is None
    # The MCP SDK's bearer authentication: the token's subject (the resource owner) when the verifier gives one,
    # else the client id; never the token.
    app = AccessToken(token="secret-token-value", client_id="weather-app", scopes=["tools"])
    assert principal_of({"user": AuthenticatedUser(app)}) == "weather-app"
    owned = app.model_copy(update={"subject": "user-42"})
    assert principal_of({"user": AuthenticatedUser(owned)}) == "user-42"


def test_loki_keeps_the_audit_stream_for_its_own_retention_and_alloy_ships_it() -> None:
    config = parse_config(
        """version: 1
tenants: [{name: acme, targets: [{name: api, url: "http://127.0.0.1:9/mcp"}]}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
security: {audit: {files: /srv/audit/*.jsonl, retention: 365d}}
"""
    )
    files = render_logs(config)
    streams = yaml.safe_load(files["loki/loki.yaml"])["limits_config"]["retention_stream"]
    assert {"selector": '{stream="audit"}', "priority": 2, "period": "365d"} in streams
    alloy = files["alloy/config.alloy"]
    assert '{__path__ = "/srv/audit/*.jsonl", stream = "audit"}' in alloy
    assert 'loki.source.file "audit"' in alloy
    off = config.model_copy(
        update={
            "security": config.security.model_copy(
                update={"audit": config.security.audit.model_copy(update={"enabled": False})}
            )
        }
    )
    assert "audit" not in render_logs(off)["alloy/config.alloy"]


def test_the_logs_dashboard_leaves_the_audit_stream_out() -> None:
    """The audit trail carries the tenant's and service's labels too; its lines are no log lines (no level), so
    the Logs dashboard's panels select every stream of the service but the audit one."""
    from lookout.config import load_config
    from lookout.stack import render_stack
    from lookout.stack.loki import AUDIT_STREAM

    ((label, value),) = AUDIT_STREAM.items()
    files = render_stack(load_config(Path(__file__).resolve().parents[2] / "examples" / "lookout.yaml"))
    [logs] = [json.loads(text) for name, text in files.items() if name.endswith("/logs.json")]
    exprs = [target["expr"] for panel in logs["panels"] for target in panel.get("targets", [])]
    assert exprs and all(f'{label}!="{value}"' in expr for expr in exprs), exprs
