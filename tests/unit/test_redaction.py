"""Redaction by default: secrets and personal data never leave in a JSON log line, a span's attributes,
events or status, whatever field they hide in; ordinary values (ids, durations, hashes) stay readable."""

from __future__ import annotations

import json
import logging
import random
import re
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lookout.instrument.json_logs import JsonFormatter
from lookout.instrument.tracing import SpanAccount, _CountingExporter
from lookout.security.redact import _CARD, _KEY_VALUE, DEFAULT_PATTERNS, Redactor, _card, configure_redaction, redact

SECRETS = {
    "bearer": "Authorization: Bearer 9f8e7d6c5b4a39281706abcdef",
    "basic": "authorization=Basic dXNlcjpodW50ZXIy",
    "password": "login failed for user=bob password=hunter2-Secret!",
    "json-token": '{"access_token": "ya29.A0ARrdaM-very-secret"}',
    "api-key": "OPENAI key sk-proj-abcdefghijklmnopqrstuvwx1234",
    "aws": "using AKIAIOSFODNN7EXAMPLE for s3",
    "github": "clone with ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack": "posting with xoxb-1234567890-abcdefghij",
    "jwt": "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLWhlcmU",
    "url": "fetching https://admin:pa55w0rd@db.internal:5432/x",
    "pem": "key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----",
    "email": "ticket from Jane.Doe+mcp@example.co.uk about billing",
    "card": "charged 4111-1111-1111-1111 today",
    "card-spaced": "card 5500 0000 0000 0004 declined",
}
LEAKS = {
    "bearer": "9f8e7d6c5b4a39281706abcdef",
    "basic": "dXNlcjpodW50ZXIy",
    "password": "hunter2",
    "json-token": "ya29.A0ARrdaM",
    "api-key": "abcdefghijklmnopqrstuvwx1234",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack": "xoxb-1234567890",
    "jwt": "eyJhbGciOiJIUzI1NiJ9",
    "url": "pa55w0rd",
    "pem": "MHcCAQEEIBkg",
    "email": "Jane.Doe",
    "card": "4111-1111-1111-1111",
    "card-spaced": "5500 0000 0000 0004",
}
KEPT = [
    "tools/call echo took 1234 ms, HTTP 200, 3 retries",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "tools hash 281474976710655 (sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08)",
    "order 1234567890123 shipped",  # 13 digits failing the Luhn check: not a card
    "token budget exceeded",  # the word alone is no secret
]


@pytest.fixture(autouse=True)
def default_redaction() -> Iterator[None]:
    configure_redaction()
    yield
    configure_redaction()


@pytest.mark.parametrize("kind", list(SECRETS))
def test_each_kind_of_secret_is_redacted(kind: str) -> None:
    out = redact(SECRETS[kind])
    assert LEAKS[kind] not in out, out
    assert "[REDACTED:" in out


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_values_stay(text: str) -> None:
    assert redact(text) == text


# Each default pattern alone, with none of the characters that other patterns key on (``:``, ``=``, ``@``)
# where the pattern allows it: the pre-check that lets most strings skip the patterns must pass each of them.
ALONE = {
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLWhlcmU",
    "bearer": "BEARER 9f8e7d6c5b4a39281706abcdef",
    "basic": "basic dXNlcjpodW50ZXIy",
    "url-credentials": "https://admin:pa55w0rd@db.internal",
    "aws-key": "ASIAIOSFODNN7EXAMPLE",
    "github-token": "github_pat_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack-token": "xoxp-1234567890-abcdefghij",
    "api-key": "sk-abcdefghijklmnopqrstuvwx1234",
    "email": "jane@example.org",
}


def _reference(text: str, extra: list[str]) -> str:
    """Every pattern in order over every text: what :class:`Redactor` must return, however it gets there."""
    kinds = [*DEFAULT_PATTERNS, *(("custom", p) for p in extra)]
    for kind, pattern in kinds:
        text = re.sub(pattern, f"[REDACTED:{kind}]", text)
    text = _KEY_VALUE.sub(lambda m: m.group("key") + "[REDACTED:secret]", text)
    return _CARD.sub(_card, text)


def test_each_default_pattern_alone_passes_the_pre_check() -> None:
    assert set(ALONE) == {kind for kind, _ in DEFAULT_PATTERNS}, "a default pattern needs a sample here"
    for kind, text in ALONE.items():
        assert redact(text) == _reference(text, []) != text, kind
        assert f"[REDACTED:{kind}]" in redact(text), kind
    assert redact("4111 1111 1111 1111") == "[REDACTED:card]"
    assert redact("password hunter2") == "password hunter2" and redact("pwd=x") == "pwd=[REDACTED:secret]"


def test_redaction_equals_every_pattern_applied_in_order() -> None:
    fragments = [
        *ALONE.values(), *SECRETS.values(), *KEPT, "tools/call", "noop", " ", "=", ":", "@", "-", "token", "4111",
        "1111", "eyJ", "sk-", "cust-123456", "cust-", "123456", "\n", "Bearer", "xox", "é",
    ]  # fmt: skip
    rng = random.Random(7)
    custom = [r"\bcust-\d{6}\b", r"(?i)internal-\w+"]
    for extra in ([], custom):
        redactor = Redactor(extra)
        for _ in range(3000):
            text = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 5)))
            assert redactor.redact(text) == _reference(text, extra), text


def test_configured_patterns_and_off() -> None:
    configure_redaction(patterns=[r"\bcust-\d{6}\b"])
    assert redact("customer cust-123456") == "customer [REDACTED:custom]"
    configure_redaction(enabled=False)
    assert redact(SECRETS["password"]) == SECRETS["password"]


def test_no_secret_in_any_field_of_a_json_log_line() -> None:
    formatter = JsonFormatter(service="svc", tenant="acme")
    for kind, text in SECRETS.items():
        record = logging.LogRecord("lookout.test", logging.ERROR, __file__, 1, "failed: %s", (text,), None)
        record.detail = {"nested": [text]}
        try:
            raise RuntimeError(text)
        except RuntimeError:
            record.exc_info = sys.exc_info()
        line = formatter.format(record)
        fields = formatter.format_fields(0.0, "info", "lookout.access", text, {"error": text, "duration": 0.5})
        for out in (line, fields):
            assert LEAKS[kind] not in out, (kind, out)
            parsed = json.loads(out)
            assert parsed["service"] == "svc"
        assert json.loads(fields)["duration"] == 0.5


def test_no_secret_in_an_exported_span() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_CountingExporter(memory, SpanAccount())))
    tracer = provider.get_tracer("test")
    for text in SECRETS.values():
        with tracer.start_as_current_span("tools/call") as span:
            span.set_attribute("mcp.tool.error", text)
            span.set_attribute("enduser.id", "alice@example.org")
            span.record_exception(RuntimeError(text))
            span.set_status(trace.Status(trace.StatusCode.ERROR, text))
    with tracer.start_as_current_span("clean") as clean:
        clean.set_attribute("http.status_code", 200)
    exported = memory.get_finished_spans()
    assert len(exported) == len(SECRETS) + 1
    for done, kind in zip(exported, SECRETS, strict=False):
        everything = json.dumps(
            [dict(done.attributes or {}), [dict(e.attributes or {}) for e in done.events], done.status.description]
        )
        assert LEAKS[kind] not in everything, (kind, everything)
        assert "alice@example.org" not in everything
    assert dict(exported[-1].attributes or {}) == {"http.status_code": 200}


def test_a_probe_log_and_error_quote_no_credentials() -> None:
    from lookout.probe.on_demand import format_human, format_json
    from lookout.probe.result import ProbeResult

    result = ProbeResult(target="api", module="discover")
    result.log("GET https://admin:pa55w0rd@db.internal/mcp answered: token=abc123secret")
    result.error = "HTTP 401: invalid api_key=abc123secret"
    for text in (result.log.text(), format_human(result, True), format_json(result, True)):
        assert "pa55w0rd" not in text and "abc123secret" not in text, text


def test_plain_text_error_logs_of_lookouts_servers_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    from lookout.serving import limit_error_logs

    limit_error_logs()
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
        logger = logging.getLogger("uvicorn.error")
        try:
            raise ValueError("bad header Authorization: Bearer 9f8e7d6c5b4a39281706abcdef")
        except ValueError:
            logger.exception("request from %s failed", "jane@example.org")
    text = caplog.text
    assert "jane@example.org" not in text and "9f8e7d6c5b4a39281706abcdef" not in text, text
    assert "request from [REDACTED:email] failed" in text


def test_a_value_under_a_key_naming_a_secret_is_redacted_at_any_depth() -> None:
    r = Redactor()
    value = {
        "password": "hunter2",
        "user": {"db_password": 1234, "clientSecret": ["a", "b"], "X-Api-Key": "k", "name": "bob"},
        "items": [{"token": "t0k"}, {"token_count": 3, "passwordless": True}],
        "auth": None,
    }
    assert r.value(value) == {
        "password": "[REDACTED:secret]",
        "user": {
            "db_password": "[REDACTED:secret]",
            "clientSecret": "[REDACTED:secret]",
            "X-Api-Key": "[REDACTED:secret]",
            "name": "bob",
        },
        "items": [{"token": "[REDACTED:secret]"}, {"token_count": 3, "passwordless": True}],
        "auth": None,
    }
    record = logging.LogRecord("app", logging.WARNING, __file__, 1, "x", None, None)
    record.password = "hunter2"
    line = json.loads(JsonFormatter().format(record))
    assert line["password"] == "[REDACTED:secret]"
    fields = JsonFormatter().format_fields(0.0, "info", "app", "x", {"api_key": "abc123def", "ms": 1.0})
    assert json.loads(fields)["api_key"] == "[REDACTED:secret]" and json.loads(fields)["ms"] == 1.0
