"""MCP revisions and transports are defined once (lookout/protocol.py); everything else uses that definition."""

from __future__ import annotations

import json
import re

import pytest

from lookout import protocol
from lookout.config import ConfigError, Transport, parse_config
from lookout.config.model import Alerting
from lookout.config.probe import Module, ModuleKind, ProtocolPin
from lookout.instrument.recorder import PROTOCOL_VERSIONS
from lookout.probe.exporter import resolve_target
from lookout.probe.kinds import PROBERS
from lookout.probe.on_demand import UsageError, probe_once, resolve_cli_target
from lookout.probe.transports.sse import SseTransport
from lookout.probe.transports.stdio import StdioTransport
from lookout.probe.transports.streamable_http import StreamableHttpTransport

BASE = """\
version: 1
tenants:
  - name: t
    targets: [TARGETS]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/"}}]
  routes: {P0: [sink]}
"""


def test_one_transport_enum_from_the_config_to_the_transports() -> None:
    assert Transport is protocol.Transport
    config = parse_config(
        """\
version: 1
tenants:
  - name: t
    targets: [{name: local, url: "python server.py", transport: stdio}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/"}}]
  routes: {P0: [sink]}
"""
    )
    assert resolve_target(config, "local").transport is Transport.STDIO
    assert resolve_cli_target(None, "http://127.0.0.1:9/mcp", "sse").transport is Transport.SSE
    assert [t.network_transport for t in (StreamableHttpTransport, SseTransport, StdioTransport)] == list(Transport)


def test_an_unknown_transport_names_the_choices() -> None:
    with pytest.raises(UsageError, match=r"--transport 'ws': use one of streamable-http, sse, stdio"):
        resolve_cli_target(None, "http://127.0.0.1:9/mcp", "ws")


UNREACHABLE = [
    ("http://127.0.0.1:99999/mcp", None, "port out of range"),
    ("http://127.0.0.1:abc/mcp", None, "could not be cast to integer"),
    ("http://[::1/mcp", None, "invalid ipv6 url"),
    ("http:///mcp", None, "is not http(s)://host[:port]/path"),
    ("python3 'x", "stdio", "no closing quotation"),
    ("", "stdio", "empty command"),
]


@pytest.mark.parametrize(("address", "transport", "message"), UNREACHABLE)
def test_an_address_its_transport_cannot_reach_is_refused_before_any_probe(
    address: str, transport: str | None, message: str
) -> None:
    """In lookout.yaml (one line naming the field) and on `lookout probe`'s command line (a usage error)."""
    kind = transport or "streamable-http"
    target = f"{{name: t1, url: {json.dumps(address)}, transport: {kind}}}"
    with pytest.raises(ConfigError, match=r"tenants\[0\]\.targets\[0\]: url .*" + re.escape(message)):
        parse_config(BASE.replace("TARGETS", target))
    with pytest.raises(UsageError, match=re.escape(message)):
        resolve_cli_target(None, address, transport)


def test_a_configured_target_is_refused_over_a_transport_that_cannot_reach_it() -> None:
    config = parse_config(BASE.replace("TARGETS", '{name: web, url: "http://127.0.0.1:9/mcp"}'))
    with pytest.raises(UsageError, match=re.escape("target 'web': 'http://127.0.0.1:9/mcp' is a URL, not a command")):
        resolve_cli_target(config, "web", "stdio")
    assert resolve_cli_target(config, "web", "sse").transport is Transport.SSE


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_timeout_that_is_no_number_of_seconds_is_a_usage_error(seconds: float) -> None:
    with pytest.raises(UsageError, match="--timeout must be a positive number of seconds"):
        probe_once(None, "http://127.0.0.1:9/mcp", None, None, seconds)


def test_every_revision_anyone_names_is_a_known_one() -> None:
    known = set(protocol.KNOWN_PROTOCOL_VERSIONS)
    assert {pin.value for pin in ProtocolPin} - {"auto"} <= known
    assert set(Alerting.model_fields["deprecated_protocol_versions"].get_default(call_default_factory=True)) <= known
    assert known == PROTOCOL_VERSIONS
    assert protocol.MODERN_PROTOCOL_VERSIONS | set(protocol.HANDSHAKE_PROTOCOL_VERSIONS) == known
    assert protocol.HANDSHAKE_PROTOCOL_VERSIONS[-1] == protocol.LATEST_HANDSHAKE_VERSION


def test_every_module_kind_has_a_prober() -> None:
    assert set(PROBERS) == set(ModuleKind)
    assert Module().kind in PROBERS
