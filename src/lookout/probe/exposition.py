"""One probe's result as Prometheus exposition text (a fresh registry per probe, like blackbox_exporter).

Every name comes from :mod:`lookout.metrics`; series that the probe could not measure are left out
rather than reported as zero (e.g. no ``probe_http_status_code`` for stdio).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lookout import metrics
from lookout.metrics import MetricSpec
from lookout.probe.result import ProbeResult


def _family(spec: MetricSpec, samples: Iterable[tuple[Sequence[str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
    for labels, value in samples:
        family.add_metric(list(labels), value)
    return family


class ProbeCollector(Collector):
    """Yields the ``probe_*`` families of one :class:`ProbeResult`."""

    def __init__(self, result: ProbeResult) -> None:
        self.result = result

    def collect(self) -> Iterable[Metric]:
        r = self.result
        yield _family(metrics.PROBE_SUCCESS, [((), 1.0 if r.success else 0.0)])
        yield _family(metrics.PROBE_DURATION, [((), r.duration_seconds)])
        yield _family(metrics.PROBE_PHASE_DURATION, [((phase,), s) for phase, s in sorted(r.phases.items())])
        if r.protocol_version is not None:
            yield _family(metrics.PROBE_PROTOCOL_VERSION, [((r.protocol_version,), 1.0)])
        if r.server_name is not None or r.server_version is not None:
            yield _family(metrics.PROBE_SERVER_INFO, [((r.server_name or "", r.server_version or ""), 1.0)])
        if r.tools_hash is not None:
            yield _family(metrics.PROBE_TOOLS, [((), float(len(r.tools)))])
            yield _family(metrics.PROBE_TOOLS_HASH, [((), float(r.tools_hash))])
        if r.jsonrpc_error_code is not None:
            yield _family(metrics.PROBE_JSONRPC_ERROR, [((), float(r.jsonrpc_error_code))])
        if r.http_status is not None:
            yield _family(metrics.PROBE_HTTP_STATUS, [((), float(r.http_status))])
        if r.ssl_earliest_expiry is not None:
            yield _family(metrics.PROBE_SSL_EXPIRY, [((), r.ssl_earliest_expiry)])


def render(result: ProbeResult) -> bytes:
    """The exposition text of one probe."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProbeCollector(result))
    return generate_latest(registry)
