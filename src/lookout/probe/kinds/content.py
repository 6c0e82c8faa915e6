"""What the assertions of the call kinds read from a result: its text content."""

from __future__ import annotations

from typing import Any


def text_of(items: Any, key: str = "text") -> str:
    """The ``key`` strings of a content list, one per line (anything else in the list is skipped)."""
    if not isinstance(items, list):
        return ""
    return "\n".join(str(item[key]) for item in items if isinstance(item, dict) and isinstance(item.get(key), str))
