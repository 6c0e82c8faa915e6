"""What a report says, independent of its format: sections of paragraphs, tables and images, plus the figures
as plain data for JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Image:
    name: str
    """File name without extension, unique within the report."""
    data: bytes
    mime: str
    extension: str
    caption: str
    width: int
    height: int


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)


@dataclass
class Document:
    kind: str
    """``sla``, ``capacity`` or ``cost``: the file names start with it."""
    title: str
    subtitle: str
    sections: list[Section]
    data: dict[str, Any]
    """The figures for ``--format json`` (numbers unrounded)."""

    @property
    def images(self) -> list[Image]:
        return [image for section in self.sections for image in section.images]


def pct(share: float, digits: int = 3) -> str:
    return f"{share * 100:.{digits}f} %"


def share_pct(share: float, digits: int = 3) -> str:
    """Like :func:`pct`, but a share short of 1 never reads 100 %: it stops at the largest figure below (a
    99.9996 % availability with failed requests is 99.999 %, not 100.000 %)."""
    text = pct(share, digits)
    if share < 1 and share * 100 >= 100 - 10**-digits / 2:
        return f"{100 - 10**-digits:.{digits}f} %"
    return text


def setting_pct(share: float) -> str:
    """A configured percentage as it was written: 99.999, not 100.00 rounded to two digits."""
    return f"{share * 100:.10g} %"


def number(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{value:,.0f} B"
        value /= 1024
    raise AssertionError("unreachable")
