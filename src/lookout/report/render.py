"""A :class:`Document` as HTML (self-contained: images as data URIs, inline CSS, no fonts or scripts from
anywhere), Markdown (images beside it) or JSON (the figures), written into an output directory."""

from __future__ import annotations

import base64
import html
import json
import os
from datetime import datetime
from pathlib import Path

from lookout.report.document import Document, Image, Table
from lookout.report.errors import ReportError

FORMATS = ("html", "md", "json")

_CSS = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
.subtitle { color: #555; } table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; } th { background: #f3f3f3; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; } img { max-width: 100%; }
"""


def data_uri(image: Image) -> str:
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode()}"


def image_file(document: Document, image: Image) -> str:
    return f"{document.kind}-{image.name}.{image.extension}"


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(document: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(document.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(document.title)}</h1>",
        f'<p class="subtitle">{html.escape(document.subtitle)}</p>',
    ]
    for section in document.sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
        parts += [_html_table(t) for t in section.tables]
        for image in section.images:
            alt = html.escape(image.caption)
            parts.append(
                f'<figure><img src="{data_uri(image)}" alt="{alt}" width="{image.width}" height="{image.height}">'
                f"<figcaption>{alt}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(document: Document) -> str:
    lines = [f"# {document.title}", "", document.subtitle, ""]
    for section in document.sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        for table in section.tables:
            lines.append("| " + " | ".join(_md_cell(h) for h in table.headers) + " |")
            lines.append("|" + "---|" * len(table.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
            lines.append("")
        for image in section.images:
            lines += [f"![{image.caption}]({image_file(document, image)})", ""]
    return "\n".join(lines)


def to_json(document: Document) -> str:
    body = {
        "report": document.kind,
        "title": document.title,
        "subtitle": document.subtitle,
        **document.data,
        "images": [image_file(document, image) for image in document.images],
    }
    return json.dumps(body, indent=2, sort_keys=False, default=_plain) + "\n"


def _plain(value: object) -> str:
    """Times as ISO 8601; anything else JSON has no type for as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that cannot become a writable directory, before any query: the nearest existing path
    must be a directory this process may write in (``out`` itself is created only when the report is written)."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ReportError(f"--out {out}: {existing} is not a directory: choose a directory (it is created if missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ReportError(f"--out {out}: cannot write in {existing}: choose a directory you may write in")


def _replace(path: Path, data: bytes) -> None:
    """Write beside ``path`` and rename: a report read while it is rewritten is the old or the new one, whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write(document: Document, fmt: str, out: Path) -> list[Path]:
    """Write the report and its images into ``out``; returns the paths written, the report first."""
    text = {"html": to_html, "md": to_markdown, "json": to_json}[fmt](document)
    files = [(out / f"{document.kind}.{fmt}", text.encode("utf-8"))]
    files += [(out / image_file(document, image), image.data) for image in document.images]
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, data in files:
            _replace(path, data)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = exc.filename or out
        raise ReportError(f"--out {out}: cannot write {where}: {reason}: choose a directory you may write in") from None
    return [path for path, _ in files]
