"""MCP revisions and transports are defined once (lookout/protocol.py); everything else uses that definition."""

from __future__ import annotations

import pytest

from lookout import protocol
from lookout.config import Transport, parse_config
from lookout.config.model import Alerting
from lookout.config.probe import Module, ModuleKind, ProtocolPin
from lookout.instrument.recorder import PROTOCOL_VERSIONS
from lookout.probe.exporter import resolve_target
from lookout.probe.kinds import PROBERS
from lookout.probe.on_demand import UsageError, resolve_cli_target
from lookout.probe.transports.sse import SseTransport
from lookout.probe.transports.stdio import StdioTransport
from lookout.probe.transports.streamable_http import StreamableHttpTransport


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
