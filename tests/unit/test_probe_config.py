"""The probe: section of lookout.yaml: defaults, validation messages, and the root Config wiring."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lookout.config import ConfigError, parse_config
from lookout.config.probe import DEFAULT_MODULE, Module, ProbeSettings

BASE = """\
version: 1
tenants:
  - name: acme
    targets: [{name: demo, url: "http://127.0.0.1:8000/mcp"}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/"}}]
  routes: {P0: [sink]}
"""


def test_defaults_give_a_discover_module_for_every_target() -> None:
    config = parse_config(BASE)
    assert list(config.probe.modules) == [DEFAULT_MODULE]
    assert config.probe.modules_for("demo") == [DEFAULT_MODULE]
    assert config.probe.allowed_urls == []
    assert config.probe.modules[DEFAULT_MODULE].timeout_seconds == 10


def test_full_probe_section_parses() -> None:
    config = parse_config(
        BASE
        + """\
probe:
  allowed_urls: ['https://mcp\\.example\\.com/.*']
  default_modules: [discover]
  target_modules: {demo: [discover, echo]}
  modules:
    discover: {protocol: "2026-07-28", min_protocol_version: "2025-06-18", expected_tools: [echo]}
    echo:
      kind: tool_call
      timeout: 5s
      headers: {X-Team: platform}
      credentials: {bearer_token_file: /run/secrets/token}
      tool_call: {name: echo, arguments: {text: hi}, expect_json: [{path: structuredContent.result, equals: hi}]}
"""
    )
    assert config.probe.modules_for("demo") == ["discover", "echo"]
    assert config.probe.url_allowed("https://mcp.example.com/mcp")
    assert not config.probe.url_allowed("https://mcp.example.com.evil.org/mcp")
    assert config.probe.modules["echo"].timeout_seconds == 5


def test_protocol_revisions_may_be_written_unquoted_as_in_the_docs() -> None:
    """YAML reads an unquoted ``2025-06-18`` as a date; a revision is what it means here."""
    config = parse_config(
        BASE + "probe:\n  modules:\n    discover: {protocol: 2025-06-18, min_protocol_version: 2025-06-18}\n"
    )
    module = config.probe.modules["discover"]
    assert (module.protocol, module.min_protocol_version) == ("2025-06-18", "2025-06-18")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("modules: {x: {headers: {Authorization: 'Bearer abc'}}}", "carries a secret"),
        ("modules: {x: {headers: {X-Auth-Token: abc}}}", "header 'X-Auth-Token' carries a secret"),
        ("modules: {x: {headers: {Api-Key: abc}}}", "header 'Api-Key' carries a secret"),
        ("modules: {x: {kind: tool_call}}", "kind tool_call needs a tool_call"),
        ("modules: {x: {kind: resource_read}}", "kind resource_read needs a resource_read"),
        ("modules: {x: {min_protocol_version: '2030-01-01'}}", "unknown protocol version"),
        ("modules: {x: {protocol: '1999-01-01'}}", "protocol"),
        ("modules: {x: {timeout: soon}}", "not a Prometheus duration"),
        ("default_modules: [missing]", "unknown module 'missing'"),
        ("allowed_urls: ['(']", "not a valid regex"),
        ("modules: {x: {tool_call: {name: a, expect_text_regex: '['}}}", "not a valid regex"),
        ("modules: {x: {credentials: {bearer_token: abc}}}", "bearer_token_file"),
        ("modules: {x: {max_tool_series: 0}}", "max_tool_series"),
    ],
)
def test_bad_probe_config_is_one_line_naming_the_field(section: str, message: str) -> None:
    text = BASE + "probe:\n  " + section + "\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "probe" in str(caught.value)


def test_module_and_settings_are_frozen_models() -> None:
    with pytest.raises(ValidationError):
        Module.model_validate({"no_such_field": 1})
    settings = ProbeSettings()
    with pytest.raises(ValidationError):
        settings.allowed_urls = ["x"]  # type: ignore[misc]


def test_probe_byte_budget_must_cover_one_response() -> None:
    with pytest.raises(ConfigError, match=r"max_probe_bytes \(1000\) is smaller than max_response_bytes"):
        parse_config(BASE + "probe:\n  modules:\n    discover: {max_response_bytes: 2000, max_probe_bytes: 1000}\n")
    module = Module()
    assert module.max_probe_bytes >= module.max_response_bytes and module.max_list_pages > 0
