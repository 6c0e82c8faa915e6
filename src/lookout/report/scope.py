"""Which services a report covers (``--tenant``/``--service`` against lookout.yaml) and how query results are
laid onto a common time grid per service."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lookout import metrics as m
from lookout.config.model import Config
from lookout.report.errors import ReportError
from lookout.report.period import Period
from lookout.report.prom import FloatArray, PromClient, Series, matcher
from lookout.stack.rules import recording as r


@dataclass(frozen=True, order=True)
class ServiceKey:
    tenant: str
    service: str

    def __str__(self) -> str:
        return f"{self.tenant}/{self.service}"


def select(config: Config, tenant: str | None, service: str | None) -> list[ServiceKey]:
    """The targets of lookout.yaml the report covers, in file order."""
    keys = [ServiceKey(t.name, target.name) for t, target in config.targets()]
    if not keys:
        raise ReportError("lookout.yaml lists no targets: add tenants[].targets to report on")
    if tenant is not None:
        tenants = sorted({k.tenant for k in keys})
        keys = [k for k in keys if k.tenant == tenant]
        if not keys:
            raise ReportError(f"--tenant {tenant!r} has no targets in lookout.yaml; known: {', '.join(tenants)}")
    if service is not None:
        services = [k.service for k in keys]
        keys = [k for k in keys if k.service == service]
        if not keys:
            raise ReportError(f"--service {service!r} is not a target in lookout.yaml; known: {', '.join(services)}")
    return keys


def selector(name: str, keys: Iterable[ServiceKey]) -> str:
    """``name{tenant=..., service=...}`` narrowed to the covered services."""
    keys = list(keys)
    tenants = sorted({k.tenant for k in keys})
    services = sorted({k.service for k in keys})
    return f"{name}{{{matcher(m.TENANT, tenants)},{matcher(m.SERVICE, services)}}}"


def key_of(series: Series) -> ServiceKey:
    return key_of_labels(series.labels)


def key_of_labels(labels: dict[str, str]) -> ServiceKey:
    return ServiceKey(labels.get(m.TENANT, ""), labels.get(m.SERVICE, ""))


def on_grid(results: list[Series], grid: FloatArray, keys: Iterable[ServiceKey]) -> dict[ServiceKey, FloatArray]:
    """Each covered service's values at the grid's times (NaN where the series has no point)."""
    wanted = set(keys)
    laid: dict[ServiceKey, FloatArray] = {}
    for series in results:
        key = key_of(series)
        if key not in wanted:
            continue
        values = laid.setdefault(key, np.full(grid.shape, np.nan))
        index = np.searchsorted(grid, series.times)
        inside = (index < grid.size) & (grid[np.minimum(index, grid.size - 1)] == series.times)
        values[index[inside]] = series.values[inside]
    return laid


def require_recorded_traffic(client: PromClient, period: Period) -> None:
    """Called when no selected service had traffic: an idle service is an answer, but a Prometheus that recorded no
    request rate of any service in the period is the wrong one (or the stack was not running): one line, not a
    report of empty rows."""
    if client.instant(f"count(last_over_time({r.REQUESTS_RATE}[{int(period.seconds)}s]))", period.end):
        return
    raise ReportError(
        f"no traffic: Prometheus at {client.url} recorded no {r.REQUESTS_RATE} of any service from "
        f"{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC: is it the stack of this lookout.yaml "
        "(--prometheus), and was it running then (--month, --from)?"
    )
