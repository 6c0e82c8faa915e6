"""What the prober last saw of each target: result, phase timings, protocol revision, tools (count, hash and
when the hash changed: drift) and certificate expiry, from the prober's series in Prometheus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from lookout import metrics as m
from lookout.console.clients import PrometheusClient, Sample

HISTORY_SECONDS: Final = 7 * 86400
"""How far back the tools-hash history looks for changes."""
HISTORY_POINTS: Final = 500

_PHASE: Final = m.PROBE_PHASE_DURATION.labels[0]
_VERSION: Final = m.PROBE_PROTOCOL_VERSION.labels[0]
_JOB: Final = "job"


@dataclass
class ProbeTarget:
    tenant: str
    service: str
    instance: str
    job: str
    success: float | None = None
    duration: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    protocol: str | None = None
    tools: float | None = None
    tools_hash: float | None = None
    hash_changes: list[tuple[float, float]] = field(default_factory=list)
    """(time, new hash) for each change within the history window."""
    cert_expiry: float | None = None
    """Unix time of the earliest certificate expiry; None on plain HTTP."""

    @property
    def module(self) -> str:
        return self.job


Key = tuple[str, str, str, str]


def _key(labels: dict[str, str]) -> Key:
    return (labels.get(m.TENANT, ""), labels.get(m.SERVICE, ""), labels.get(m.INSTANCE, ""), labels.get(_JOB, ""))


async def probe_targets(prometheus: PrometheusClient, at: float) -> list[ProbeTarget]:
    targets: dict[Key, ProbeTarget] = {}

    def target(sample: Sample) -> ProbeTarget:
        key = _key(sample.labels)
        return targets.setdefault(key, ProbeTarget(*key))

    for s in await prometheus.instant(m.PROBE_SUCCESS.name, at):
        target(s).success = s.value
    for s in await prometheus.instant(m.PROBE_DURATION.name, at):
        target(s).duration = s.value
    for s in await prometheus.instant(m.PROBE_PHASE_DURATION.name, at):
        target(s).phases[s.labels.get(_PHASE, "?")] = s.value
    for s in await prometheus.instant(m.PROBE_PROTOCOL_VERSION.name, at):
        target(s).protocol = s.labels.get(_VERSION)
    for s in await prometheus.instant(m.PROBE_TOOLS.name, at):
        target(s).tools = s.value
    for s in await prometheus.instant(m.PROBE_TOOLS_HASH.name, at):
        target(s).tools_hash = s.value
    for s in await prometheus.instant(m.PROBE_SSL_EXPIRY.name, at):
        target(s).cert_expiry = s.value
    start = at - HISTORY_SECONDS
    step = max(HISTORY_SECONDS / HISTORY_POINTS, 15.0)
    for labels, points in await prometheus.series_range(m.PROBE_TOOLS_HASH.name, start, at, step):
        key = _key(labels)
        if key not in targets:
            continue
        previous: float | None = None
        for t, value in points:
            if previous is not None and value != previous:
                targets[key].hash_changes.append((t, value))
            previous = value
    return sorted(targets.values(), key=lambda t: (t.tenant, t.service, t.instance, t.job))
