"""Deterministic YAML: the same data always gives the same bytes.

PyYAML's libyaml emitter (``CSafeDumper``) is an order of magnitude faster than a pure-Python one;
with a thousand targets the generators emit over a thousand documents, so this is the hot path of
``lookout generate``. Keys keep the generators' order; multi-line strings are written as blocks.
"""

from __future__ import annotations

from typing import Any

import yaml

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # PyYAML without libyaml: same output, slower
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _BlockDumper(_Dumper):  # type: ignore[misc]
    pass


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


def load_yaml(text: str) -> Any:
    """Parse YAML the generators wrote (for generators that embed another generator's output)."""
    return yaml.load(text, Loader=_Loader)
