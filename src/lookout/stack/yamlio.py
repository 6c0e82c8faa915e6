"""The stack's one writer of file formats: deterministic YAML and JSON, the same data always giving the same bytes.

Generators return data (``{"groups": [...]}``, a dashboard's JSON model); :func:`serialize` turns a
document into the file's text by the file's type, so nothing renders text only to parse it back.

PyYAML's libyaml emitter (``CSafeDumper``) is an order of magnitude faster than a pure-Python one;
with a thousand targets the generators emit over a thousand documents, so this is the hot path of
``lookout generate``. Keys keep the generators' order; multi-line strings are written as blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import yaml

from lookout.stack import naming

Document = str | Mapping[str, Any] | list[Any]
"""A generated file: its text, or data the writer serializes by the file's extension."""

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # PyYAML without libyaml: same output, slower


class _BlockDumper(_Dumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        # A generator may reuse one dict in several places; users read and edit these files, so every place
        # is written out in full instead of as an &id001 anchor and *id001 alias.
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def dump_yaml(data: Any, header: str = "") -> str:
    body = yaml.dump(
        data,
        Dumper=_BlockDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,  # long PromQL stays on one line
    )
    prefix = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return prefix + body


def dump_json(data: Any) -> str:
    """Indented JSON with sorted keys (orjson indents in C; a large fleet renders hundreds of dashboards)."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"


def serialize(path: str, document: Document) -> str:
    """The text of the file at ``path``: YAML with the generated header for ``.yml``/``.yaml``, JSON for
    ``.json``; text is written as it is."""
    if isinstance(document, str):
        return document
    if path.endswith((".yml", ".yaml")):
        return dump_yaml(document, naming.GENERATED_HEADER)
    if path.endswith(".json"):
        return dump_json(document)
    raise ValueError(f"{path}: no serialization for this file type; return its text instead")
