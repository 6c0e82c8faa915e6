"""Redaction of secrets and personal data from what Lookout emits: every JSON log line, every exported span's
attributes, events (exception messages and stack traces) and status, and error messages.

On by default (``security.redaction`` in lookout.yaml, :func:`configure_redaction` in a process). A match is
replaced by ``[REDACTED:<kind>]``; for ``key=value`` and ``"key": "value"`` forms the key stays so a reader
still knows what was there, and so does the key of a mapping entry (a log line's field, a tool argument, a span
attribute) whose name says it holds a secret, at any depth. Standard library only: the instrumentation imports it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

_SECRET_KEYS = (
    r"password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|session[_-]?key|authorization|auth|credentials?|cookie|set-cookie"
)
DEFAULT_PATTERNS: Final[tuple[tuple[str, str], ...]] = (
    ("private-key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    ("bearer", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    ("basic", r"(?i)\bbasic\s+[A-Za-z0-9+/]{8,}={0,2}"),
    ("url-credentials", r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    ("aws-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github-token", r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
    ("slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("api-key", r"\bsk-(?:[A-Za-z0-9_-]{2,}-)?[A-Za-z0-9_-]{20,}"),
    ("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
)
_KEY_VALUE = re.compile(
    rf"(?i)(?P<key>\b(?:{_SECRET_KEYS})\b[\"']?\s*[:=]\s*[\"']?)(?P<value>(?!\[REDACTED)[^\s\"',;&}}\]]+)"
)
SECRET: Final = "[REDACTED:secret]"
_SECRET_KEY = re.compile(rf"(?:.*[^a-z0-9])?(?:{_SECRET_KEYS})")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@functools.lru_cache(maxsize=4096)  # the same few field and argument names on every line
def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret: one of the secret words, alone or ending the name
    (``password``, ``db_password``, ``x-api-key``, ``clientSecret``; not ``token_count``)."""
    return _SECRET_KEY.fullmatch(_CAMEL.sub("_", key).lower()) is not None


# Not inside a longer token (a hex trace id, a hash): its digits are no card number.
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
# What every default pattern, the key-value form and a card number need somewhere in a text: one search that
# finds none of it proves that none of them can match, so most strings (names, methods, identifiers) skip a
# dozen substitutions. Kept next to the patterns: a new default pattern adds its own necessary part here.
_MAYBE_SECRET = re.compile(
    r"[@:=]|-----BEGIN|eyJ|(?i:bearer|basic)|A[KS]IA|gh[pousr]_|github_pat_|xox|sk-|(?:\d[ -]?){12}\d"
)

_CLEAN_MAX_CHARS = 128
_CLEAN_MAX_TEXTS = 4096


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class Redactor:
    """Replaces what the patterns match. ``extra`` adds (kind, regex) pairs, e.g. from ``redaction.patterns``."""

    def __init__(self, extra: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._defaults = [(re.compile(p), f"[REDACTED:{kind}]") for kind, p in DEFAULT_PATTERNS]
        self._custom = [(re.compile(p), "[REDACTED:custom]") for p in extra]
        # Short texts seen to need no redaction (method, tool and logger names, messages: the same few strings
        # on every line). Only texts that go out verbatim anyway are kept; bounded, emptied when full.
        self._clean: set[str] = set()

    def redact(self, text: str) -> str:
        if not self.enabled or not text or text in self._clean:
            return text
        if _MAYBE_SECRET.search(text) is None:
            # No default pattern, key-value or card can match: only custom patterns can change the text, and
            # the key-value and card passes see something new only if they did.
            cleaned = text
            for pattern, replacement in self._custom:
                cleaned = pattern.sub(replacement, cleaned)
            if cleaned == text:
                if len(text) <= _CLEAN_MAX_CHARS:
                    if len(self._clean) >= _CLEAN_MAX_TEXTS:
                        self._clean.clear()
                    self._clean.add(text)
                return text
            return _CARD.sub(_card, _KEY_VALUE.sub(_secret_value, cleaned))
        for pattern, replacement in self._defaults:
            text = pattern.sub(replacement, text)
        for pattern, replacement in self._custom:
            text = pattern.sub(replacement, text)
        return _CARD.sub(_card, _KEY_VALUE.sub(_secret_value, text))

    def value(self, value: Any) -> Any:
        """``value`` with every string in it redacted (strings, sequences of strings, mappings), and the whole
        value of a mapping entry whose key names a secret."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {
                k: SECRET if v is not None and isinstance(k, str) and is_secret_key(k) else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value


def _secret_value(match: re.Match[str]) -> str:
    return match.group("key") + SECRET


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[REDACTED:card]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


_current = Redactor()


def redactor() -> Redactor:
    """The process's redactor (on, default patterns, unless :func:`configure_redaction` said otherwise)."""
    return _current


def configure_redaction(enabled: bool = True, patterns: Iterable[str] = ()) -> Redactor:
    """Set the process's redaction: off only when asked; ``patterns`` are regexes redacted besides the defaults."""
    global _current
    _current = Redactor(patterns, enabled=enabled)
    return _current


def redact(text: str) -> str:
    return _current.redact(text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record's message and exception text before any handler formats it
    (the plain-text logs of Lookout's servers; the JSON formatter redacts its fields itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _current
        if not current.enabled:
            return True
        message = record.getMessage()
        cleaned = current.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = current.redact(record.exc_text)
        return True
