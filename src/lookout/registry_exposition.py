"""``/metrics`` rendered straight from the values of the collectors that hold most series.

prometheus_client's encoders go through ``registry.collect()``, which builds one ``Sample`` namedtuple
(and a sorted label dict) per line: about 70 ms for 10,000 histogram lines before a byte is written.
A collector that implements :class:`DirectRendered` instead writes its own lines from label strings
it escaped once, when the series was created; every other collector in the registry (process,
platform, GC, prometheus_client's own metric classes) still goes through prometheus_client's encoder,
and the pieces are joined in registration order. The output is byte for byte what prometheus_client
writes for the same registry (``tests/unit/test_exposition.py`` pins it), for the text format 0.0.4
and OpenMetrics 1.0.0; any other negotiated format falls back to prometheus_client entirely.

It depends on nothing in Lookout but the metric contract, so the prober's exporter can share it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

from lookout.metrics import Kind

EOF = "# EOF\n"
_SAME_OUTPUT_ESCAPINGS = (openmetrics.UNDERSCORES, openmetrics.ALLOWUTF8)
"""Escapings under which legacy-valid metric and label names (all of Lookout's) are written unchanged."""


@runtime_checkable
class DirectRendered(Protocol):
    """A collector that can append its exposition lines to ``out`` without building samples."""

    def render_exposition(self, openmetrics: bool, out: list[str]) -> None: ...


def escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def escape_help(text: str, openmetrics: bool) -> str:
    # The text format leaves double quotes in HELP alone; OpenMetrics escapes them like label values.
    escaped = text.replace("\\", r"\\").replace("\n", r"\n")
    return escaped.replace('"', r"\"") if openmetrics else escaped


def number(value: float) -> str:
    """A sample value as prometheus_client writes it (Go's float formatting)."""
    if type(value) is int and 0 <= value < 1_000_000:  # counts: the common case, without the float repr
        return f"{value}.0"
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text


def label_pairs(names: Sequence[str], values: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, 'name="escaped value"')`` sorted by name, the order prometheus_client writes them in."""
    return sorted((name, f'{name}="{escape_label_value(value)}"') for name, value in zip(names, values, strict=True))


def le_pair(le: str) -> tuple[str, str]:
    return ("le", f'le="{le}"')


def labels_text(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(text for _, text in pairs)
    return f"{{{inner}}}" if inner else ""


def exemplar_text(exemplar: Exemplar) -> str:
    labels = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(exemplar.labels.items()))
    text = f" # {{{labels}}} {floatToGoString(exemplar.value)}"  # type: ignore[no-untyped-call]
    return text if exemplar.timestamp is None else f"{text} {exemplar.timestamp}"


def header(out: list[str], name: str, kind: str, help_text: str, openmetrics: bool) -> None:
    out.append(f"# HELP {name} {escape_help(help_text, openmetrics)}\n# TYPE {name} {kind}\n")


class HistogramSeriesText:
    """The fixed part of every line of one histogram series: rendered once, when the series appears."""

    __slots__ = ("buckets", "count", "created", "sum")

    def __init__(self, name: str, label_names: Sequence[str], values: Sequence[str], les: Sequence[str]) -> None:
        pairs = label_pairs(label_names, values)
        labels = labels_text(pairs)
        self.buckets = [f"{name}_bucket{labels_text(sorted([*pairs, le_pair(le)]))} " for le in les]
        self.count = f"{name}_count{labels} "
        self.sum = f"{name}_sum{labels} "
        self.created = f"{name}_created{labels} "


class PlainSeriesText:
    """Counter and gauge line prefixes, one per label set."""

    def __init__(self, name: str, kind: Kind, label_names: Sequence[str]) -> None:
        self.sample_name = f"{name}_total" if kind is Kind.COUNTER else name
        self.label_names = label_names
        self.prefixes: dict[tuple[str, ...], str] = {}

    def prefix(self, key: tuple[str, ...]) -> str:
        prefix = self.prefixes.get(key)
        if prefix is None:
            prefix = self.prefixes[key] = f"{self.sample_name}{labels_text(label_pairs(self.label_names, key))} "
        return prefix


class _Collectors:
    """Some of a registry's collectors, for prometheus_client's encoders (they only call ``collect``)."""

    def __init__(self, collectors: Sequence[Collector]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[object]:
        for collector in self.collectors:
            yield from collector.collect()


Encoder = Callable[[CollectorRegistry], bytes]


def direct_format(encoder: Callable[..., bytes]) -> str | None:
    """``"text"`` or ``"openmetrics"`` when ``encoder`` is one this module reproduces, else None."""
    if encoder is generate_latest:
        return "text"
    if isinstance(encoder, functools.partial) and encoder.keywords.get("escaping") in _SAME_OUTPUT_ESCAPINGS:
        if encoder.func is generate_latest:
            return "text"
        if encoder.func is openmetrics.generate_latest and encoder.keywords.get("version") == "1.0.0":
            return "openmetrics"
    return None


def _plain_collectors(registry: CollectorRegistry) -> list[Collector] | None:
    """The registry's collectors in registration order, or None when the registry adds series of its
    own (target info) or is not prometheus_client's plain registry. Reads a private field, pinned by
    ``tests/unit/test_exposition.py``."""
    if type(registry) is not CollectorRegistry or registry._target_info:
        return None
    with registry._lock:
        return list(registry._collector_to_names)


def render(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """The body and content type of ``/metrics`` for a scraper's ``Accept`` header."""
    encoder, content_type = choose_encoder(accept)
    fmt = direct_format(encoder)
    collectors = _plain_collectors(registry) if fmt is not None else None
    if fmt is None or collectors is None:
        return encoder(registry), content_type
    om = fmt == "openmetrics"
    out: list[str] = []
    pending: list[Collector] = []

    def flush() -> None:
        if pending:
            text = encoder(_Collectors(pending)).decode()  # type: ignore[arg-type]
            out.append(text.removesuffix(EOF) if om else text)  # one EOF, at the very end
            pending.clear()

    for collector in collectors:
        if isinstance(collector, DirectRendered):
            flush()
            collector.render_exposition(om, out)
        else:
            pending.append(collector)
    flush()
    if om:
        out.append(EOF)
    return "".join(out).encode(), content_type
