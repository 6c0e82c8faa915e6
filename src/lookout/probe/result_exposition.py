"""One probe's result as Prometheus exposition text (a fresh set of series per probe, like blackbox_exporter).

Every name comes from :mod:`lookout.metrics`; series that the probe could not measure are left out
rather than reported as zero (e.g. no ``probe_http_status_code`` for stdio).

:func:`render` writes the text format directly: the exporter renders once per scrape, and building a
``CollectorRegistry`` for ten gauges costs more than the rest of a probe's bookkeeping. Its output is
byte-identical to ``prometheus_client.generate_latest`` over :class:`ProbeCollector` (a tested property),
and values are formatted by ``prometheus_client`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString as _untyped_float_to_go

from lookout import metrics
from lookout.metrics import MetricSpec
from lookout.probe.result import ProbeResult

Samples = list[tuple[Sequence[str], float]]


def families(r: ProbeResult) -> Iterator[tuple[MetricSpec, Samples]]:
    """The gauges of one result, each with its samples (label values in the spec's label order)."""
    yield metrics.PROBE_SUCCESS, [((), 1.0 if r.success else 0.0)]
    yield metrics.PROBE_DURATION, [((), r.duration_seconds)]
    yield metrics.PROBE_PHASE_DURATION, [((phase,), s) for phase, s in sorted(r.phases.items())]
    if r.protocol_version is not None:
        yield metrics.PROBE_PROTOCOL_VERSION, [((r.protocol_version,), 1.0)]
    if r.server_name is not None or r.server_version is not None:
        yield metrics.PROBE_SERVER_INFO, [((r.server_name or "", r.server_version or ""), 1.0)]
    if r.tools_hash is not None:
        yield metrics.PROBE_TOOLS, [((), float(len(r.tools)))]
        yield metrics.PROBE_TOOLS_HASH, [((), float(r.tools_hash))]
    if r.footprint is not None:
        yield metrics.PROBE_TOOLS_DEFINITION_BYTES, [((), float(r.footprint.bytes))]
        yield metrics.PROBE_TOOLS_DEFINITION_TOKENS, [((), float(r.footprint.tokens))]
        top = r.footprint.top(r.max_tool_series, metrics.OTHER)
        yield metrics.PROBE_TOOL_DEFINITION_BYTES, [((t.name,), float(t.bytes)) for t in top]
    if r.jsonrpc_error_code is not None:
        yield metrics.PROBE_JSONRPC_ERROR, [((), float(r.jsonrpc_error_code))]
    if r.http_status is not None:
        yield metrics.PROBE_HTTP_STATUS, [((), float(r.http_status))]
    if r.ssl_earliest_expiry is not None:
        yield metrics.PROBE_SSL_EXPIRY, [((), r.ssl_earliest_expiry)]


class ProbeCollector(Collector):
    """The same families as a ``prometheus_client`` collector (for registries and for checking :func:`render`)."""

    def __init__(self, result: ProbeResult) -> None:
        self.result = result

    def collect(self) -> Iterable[Metric]:
        for spec, samples in families(self.result):
            family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
            for labels, value in samples:
                family.add_metric(list(labels), value)
            yield family


def _value(value: float) -> str:
    text: str = _untyped_float_to_go(value)  # type: ignore[no-untyped-call]
    return text


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render(result: ProbeResult) -> bytes:
    """The exposition text of one probe (text format 0.0.4)."""
    out: list[str] = []
    for spec, samples in families(result):
        out.append(f"# HELP {spec.name} {_escape_help(spec.help)}\n# TYPE {spec.name} gauge\n")
        for labels, value in samples:
            pairs = ",".join(f'{name}="{_escape_label(v)}"' for name, v in zip(spec.labels, labels, strict=True))
            out.append(f"{spec.name}{{{pairs}}} {_value(value)}\n" if pairs else f"{spec.name} {_value(value)}\n")
    return "".join(out).encode()
