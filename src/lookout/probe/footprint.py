"""The tool-definition footprint: what a server's ``tools/list`` costs every model context that loads it.

Clients put each tool's name, description and schemas into the model's context on every request, so a
server's footprint is paid per request, by every client, whether its tools are called or not. The prober
measures it in bytes and estimates it in tokens, offline (no tokenizer download, no network).

Bytes of one tool: its ``name``, ``description``, ``inputSchema`` and ``outputSchema`` (the fields of
``probe_mcp_tools_hash``; absent ones left out) as compact JSON (no whitespace between tokens, non-ASCII as
UTF-8, keys in the server's order), encoded in UTF-8. The listing's bytes are the sum over its tools.

Tokens: :func:`estimate_tokens` splits the text the way byte-pair tokenizers pre-split it (runs of letters,
of digits, of punctuation) and charges long runs by length. Against OpenAI's o200k_base (cl100k_base) on 122
real tool definitions it is within 2 % (7 %) for a whole listing and 15 % for one tool; ``bytes / 4`` is 12 %
high (docs/metrics.md has the numbers). Its constants are fitted to English descriptions and JSON Schema;
letters outside ASCII are charged by their UTF-8 bytes, a rough guess.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

DEFINITION_FIELDS: Final = ("name", "description", "inputSchema", "outputSchema")
"""What a client hands the model of each tool (and what ``probe_mcp_tools_hash`` covers)."""

# A byte-pair tokenizer never merges across these pieces: letters (with one leading non-letter such as a
# space, quote or underscore), digits in threes, punctuation runs, whitespace.
_PIECES: Final = re.compile(
    r"""'(?:[sdmt]|ll|ve|re)|(?:[^\r\n\w]|_)?[^\W\d_]+|\d{1,3}| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
_WORD_CHARS_PER_TOKEN: Final = 8
"""Common words are one token; longer runs (identifiers, rare words) split every few characters."""
_PUNCT_CHARS_PER_TOKEN: Final = 4
"""JSON's punctuation runs (``":"``, ``"},"``, ``":{"``) are mostly merged into one token."""
_NON_ASCII_BYTES_PER_TOKEN: Final = 3
"""CJK text costs about a token per character (three UTF-8 bytes); accented words are overcharged a little."""


def definition(tool: Mapping[str, Any]) -> bytes:
    """The bytes of one tool definition a client loads into the model's context."""
    fields = {key: value for key, value in tool.items() if key in DEFINITION_FIELDS and value is not None}
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` takes in a byte-pair-encoding model context, estimated without a vocabulary."""
    tokens = 0
    for piece in _PIECES.findall(text):
        core = piece.strip()
        if not core:
            tokens += 1
        elif core[-1].isalpha():
            tokens += math.ceil(
                len(core) / _WORD_CHARS_PER_TOKEN if core.isascii() else len(core.encode()) / _NON_ASCII_BYTES_PER_TOKEN
            )
        elif core[0].isdigit():
            tokens += 1
        else:
            tokens += math.ceil(len(core) / _PUNCT_CHARS_PER_TOKEN)
    return tokens


@dataclass(frozen=True)
class ToolFootprint:
    name: str
    bytes: int
    tokens: int


@dataclass(frozen=True)
class Footprint:
    """One listing's footprint: the whole and each tool (largest first, then by name)."""

    bytes: int
    tokens: int
    tools: tuple[ToolFootprint, ...]

    def top(self, limit: int, other: str) -> list[ToolFootprint]:
        """The ``limit`` largest tools, the rest summed under ``other`` (a bounded set of series)."""
        if len(self.tools) <= limit:
            return list(self.tools)
        kept, rest = self.tools[:limit], self.tools[limit:]
        return [*kept, ToolFootprint(other, sum(t.bytes for t in rest), sum(t.tokens for t in rest))]


def _merged(tools: list[ToolFootprint]) -> list[ToolFootprint]:
    """One entry per name: a server listing a name twice must not produce two series with one label set."""
    by_name: dict[str, ToolFootprint] = {}
    for tool in tools:
        seen = by_name.get(tool.name)
        by_name[tool.name] = (
            tool if seen is None else ToolFootprint(tool.name, seen.bytes + tool.bytes, seen.tokens + tool.tokens)
        )
    return list(by_name.values())


def measure(tools: Sequence[Mapping[str, Any]]) -> Footprint:
    """The footprint of a ``tools/list`` result (every page's tools)."""
    per_tool = []
    for tool in tools:
        blob = definition(tool)
        per_tool.append(ToolFootprint(str(tool.get("name")), len(blob), estimate_tokens(blob.decode())))
    per_tool = sorted(_merged(per_tool), key=lambda t: (-t.bytes, t.name))
    return Footprint(sum(t.bytes for t in per_tool), sum(t.tokens for t in per_tool), tuple(per_tool))
