"""The prober's part of ``lookout.yaml`` (the ``probe:`` section): modules, the URL allowlist, limits.

A module says *how* to probe (which MCP calls, which assertions, timeouts, protocol pin, headers,
credentials, TLS); a target says *what* to probe. Secrets are only ever read from files.
"""

from __future__ import annotations

import re
import urllib.parse
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from lookout import protocol
from lookout.config.types import FrozenModel as _Model
from lookout.config.types import (
    Name,
    PositiveDuration,
    absolute_path,
    check_regex,
    check_regexes,
    duration_seconds,
    refuse_secret_headers,
)
from lookout.protocol import KNOWN_PROTOCOL_VERSIONS


class ProtocolPin(StrEnum):
    """Which MCP revision a module speaks: ``auto`` tries ``server/discover`` and falls back to ``initialize``."""

    AUTO = "auto"
    V2025_03_26 = protocol.V2025_03_26
    V2025_06_18 = protocol.V2025_06_18
    V2025_11_25 = protocol.V2025_11_25
    V2026_07_28 = protocol.V2026_07_28


class ModuleKind(StrEnum):
    DISCOVER = "discover"
    TOOL_CALL = "tool_call"
    RESOURCE_READ = "resource_read"


class BasicAuth(_Model):
    username: str
    password_file: str = Field(description="File holding the password (a secret).")

    # Absolute, like security:'s files: the exporter's container reads it at the path lookout.yaml names.
    _file_absolute = field_validator("password_file")(lambda v: absolute_path(v))


class Credentials(_Model):
    """HTTP credentials, read from files at probe time (so rotated secrets are picked up)."""

    bearer_token_file: str | None = Field(default=None, description="File holding a bearer token (a secret).")
    basic_auth: BasicAuth | None = None

    _file_absolute = field_validator("bearer_token_file")(lambda v: absolute_path(v))

    @model_validator(mode="after")
    def _at_most_one(self) -> Self:
        if self.bearer_token_file and self.basic_auth:
            raise ValueError("give at most one of bearer_token_file and basic_auth")
        return self


class TlsSettings(_Model):
    ca_file: str | None = Field(default=None, description="PEM bundle of CAs to trust instead of the system store.")
    insecure_skip_verify: bool = Field(
        default=False, description="Accept any certificate (expiry is still reported). For tests only."
    )

    _file_absolute = field_validator("ca_file")(lambda v: absolute_path(v))


class JsonPathEquals(_Model):
    """``path`` is a dotted path into the result, e.g. ``structuredContent.result`` or ``content.0.text``."""

    path: str = Field(min_length=1)
    equals: Any


class ToolCall(_Model):
    name: str = Field(min_length=1, description="The tool to call.")
    arguments: dict[str, Any] = Field(default_factory=dict)
    expect_not_error: bool = Field(default=True, description="Fail when the result has isError: true.")
    expect_text_regex: str | None = Field(default=None, description="A regex the result's text content must match.")
    expect_json: list[JsonPathEquals] = Field(default_factory=list, description="JSON path equals value assertions.")

    @field_validator("expect_text_regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return None if value is None else check_regex("expect_text_regex", value)


class ResourceRead(_Model):
    uri: str = Field(min_length=1, description="The resource to read.")
    expect_text_regex: str | None = Field(default=None, description="A regex the resource's text must match.")

    @field_validator("expect_text_regex")
    @classmethod
    def _regex_compiles(cls, value: str | None) -> str | None:
        return ToolCall._regex_compiles(value)


class Module(_Model):
    """How to probe: the MCP calls to make and what counts as success."""

    kind: ModuleKind = ModuleKind.DISCOVER
    timeout: PositiveDuration = Field(
        default="10s", description="Upper bound of one probe (the scrape timeout may lower it)."
    )
    protocol: ProtocolPin = ProtocolPin.AUTO
    min_protocol_version: str | None = Field(default=None, description="Fail when the negotiated revision is older.")
    expected_tools: list[str] = Field(default_factory=list, description="Fail when any of these tools is missing.")
    max_response_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Fail on any larger response.")
    max_probe_bytes: int = Field(
        default=16 * 1024 * 1024,
        gt=0,
        description="Fail when the responses of one probe (every call, every page) add up to more bytes.",
    )
    max_list_pages: int = Field(
        default=50, gt=0, description="Fail when the list calls of one probe need more pages than this, together."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers (no secrets: see credentials)."
    )
    credentials: Credentials = Field(default_factory=Credentials)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    follow_redirects: bool = Field(default=False, description="Follow up to 5 HTTP redirects (off: a 3xx fails).")
    list_resources: bool = Field(default=True, description="discover: also list resources when advertised.")
    list_prompts: bool = Field(default=True, description="discover: also list prompts when advertised.")
    max_tool_series: int = Field(
        default=50,
        ge=1,
        description="discover: per-tool footprint series for at most this many tools (the largest); the rest are "
        "summed into one series (tool _OTHER).",
    )
    tool_call: ToolCall | None = None
    resource_read: ResourceRead | None = None

    @field_validator("min_protocol_version")
    @classmethod
    def _known_version(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_PROTOCOL_VERSIONS:
            raise ValueError(f"unknown protocol version {value!r}; use one of {', '.join(KNOWN_PROTOCOL_VERSIONS)}")
        return value

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        return refuse_secret_headers(headers, "credentials.bearer_token_file or credentials.basic_auth.password_file")

    @model_validator(mode="after")
    def _probe_bytes_cover_a_response(self) -> Self:
        if self.max_probe_bytes < self.max_response_bytes:
            raise ValueError(
                f"max_probe_bytes ({self.max_probe_bytes}) is smaller than max_response_bytes "
                f"({self.max_response_bytes}): raise max_probe_bytes or lower max_response_bytes"
            )
        return self

    @model_validator(mode="after")
    def _kind_has_its_spec(self) -> Self:
        if self.kind is ModuleKind.TOOL_CALL and self.tool_call is None:
            raise ValueError("kind tool_call needs a tool_call: {name: ..., arguments: {...}} section")
        if self.kind is ModuleKind.RESOURCE_READ and self.resource_read is None:
            raise ValueError("kind resource_read needs a resource_read: {uri: ...} section")
        return self

    @property
    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout)


DEFAULT_MODULE = "discover"


def _default_modules() -> dict[str, Module]:
    return {DEFAULT_MODULE: Module()}


class ProbeSettings(_Model):
    """The ``probe:`` section: modules, which targets use which, and the exporter's limits."""

    modules: dict[Name, Module] = Field(default_factory=_default_modules, description="Probe modules by name.")
    default_modules: list[str] = Field(
        default_factory=lambda: [DEFAULT_MODULE], description="Modules for targets not listed in target_modules."
    )
    target_modules: dict[str, list[str]] = Field(
        default_factory=dict, description="Per-target module names (target name -> modules)."
    )
    allowed_urls: list[str] = Field(
        default_factory=list,
        description="Regexes (full match) of URLs the exporter may probe besides configured targets. "
        "Empty: only target names. The exporter never fetches any other URL.",
    )
    timeout_offset: float = Field(
        default=0.5, ge=0, description="Seconds subtracted from Prometheus' scrape timeout to leave time to answer."
    )
    max_concurrent_probes: int = Field(default=256, gt=0, description="Probes the exporter runs at once.")

    @field_validator("allowed_urls")
    @classmethod
    def _regexes_compile(cls, patterns: list[str]) -> list[str]:
        return check_regexes("allowed_urls", patterns)

    @model_validator(mode="after")
    def _module_references(self) -> Self:
        for where, names in [("default_modules", self.default_modules)] + [
            (f"target_modules.{t}", m) for t, m in self.target_modules.items()
        ]:
            for name in names:
                if name not in self.modules:
                    raise ValueError(f"{where}: unknown module {name!r}; define it under probe.modules")
        return self

    def modules_for(self, target_name: str) -> list[str]:
        return list(self.target_modules.get(target_name, self.default_modules))

    def url_allowed(self, url: str) -> bool:
        """Whether ``url`` is a plain http(s) URL in canonical form that a pattern fully matches. The pattern
        sees exactly the scheme, host, port and path the client connects to: user info (``host:port@other``),
        fragments, backslashes, whitespace and anything the parser would rewrite are refused outright."""
        canonical = canonical_url(url)
        return canonical is not None and any(re.fullmatch(pattern, canonical) for pattern in self.allowed_urls)


def canonical_url(url: str) -> str | None:
    """``url`` itself when it is an unambiguous http(s) URL (parsing and re-assembling it gives it back), else None."""
    if any(c in url for c in "@\\#") or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    rebuilt = f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{parts.path}"
    rebuilt += f"?{parts.query}" if parts.query else ""
    return url if rebuilt == url else None
