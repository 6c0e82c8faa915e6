"""Service level objectives per tenant and service, Pyrra-like: objective, attainment over the SLO period,
error budget left, and the burn rate of every burn-rate alert's windows with whether that alert fires.

Numbers come from the recording rules (:mod:`lookout.stack.rules.recording`) the alerts read, the
objectives from ``alerting.slo``, the burn-rate alerts (windows and thresholds) from the alert rules generated
for the same lookout.yaml, and whether each fires from Prometheus's ``ALERTS`` series (which a long-term store
behind ``Config.query_url()`` has too): the page and the alerts cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import SLO_PERIOD, Config
from lookout.console.clients import PrometheusClient, Sample
from lookout.stack.grafana.promql import ALERTS
from lookout.stack.rules import recording as rec

AVAILABILITY, LATENCY = "availability", "latency"
_SLI: Final = {AVAILABILITY: rec.availability_error_ratio, LATENCY: rec.latency_slow_ratio}
_NUMBER: Final = r"([0-9.]+(?:[eE][-+]?[0-9]+)?)"


@dataclass(frozen=True)
class BurnWindow:
    window: str
    burn_rate: float | None
    """How many times faster than the objective allows the budget burns over ``window``; None: no traffic."""


@dataclass(frozen=True)
class BurnAlert:
    alert: str
    factor: float
    """The burn rate above which (in every window) the alert fires."""
    windows: tuple[BurnWindow, ...]
    state: str
    """firing, pending or inactive, for this tenant and service."""


@dataclass(frozen=True)
class Objective:
    sli: str
    objective: float
    """Fraction, e.g. 0.9999."""
    attained: float | None
    budget_remaining: float | None
    burns: tuple[BurnAlert, ...] = ()

    @property
    def budget(self) -> float:
        return round(1 - self.objective, 10)


@dataclass(frozen=True)
class ServiceSlo:
    tenant: str
    service: str
    objectives: tuple[Objective, ...]


@dataclass(frozen=True)
class BurnRule:
    """A burn-rate alert: the SLI it reads, its windows and the ratio above which it fires."""

    name: str
    sli: str
    windows: tuple[str, ...]
    threshold: float


def burn_rules(rules: list[dict[str, Any]]) -> list[BurnRule]:
    """The burn-rate alerts among alerting rules (``{"alert", "expr"}``): those comparing an SLI ratio with a
    threshold."""
    found = []
    for rule in rules:
        expr = str(rule.get("expr", ""))
        for sli, name_of in _SLI.items():
            pattern = re.escape(name_of("WINDOW")).replace("WINDOW", r"(\w+)") + r"\s*>\s*" + _NUMBER
            hits = re.findall(pattern, expr)
            if hits:
                windows = tuple(dict.fromkeys(w for w, _ in hits))
                found.append(BurnRule(str(rule["alert"]), sli, windows, float(hits[0][1])))
                break
    return found


def generated_burn_rules(config: Config) -> list[BurnRule]:
    from lookout.stack.rules import alert_rules

    return burn_rules([rule for group in alert_rules(config)["groups"] for rule in group["rules"]])


def _key(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get(m.TENANT, ""), labels.get(m.SERVICE, "")


def _by_service(samples: list[Sample]) -> dict[tuple[str, str, str], float]:
    return {(*_key(s.labels), s.labels.get("__name__", "")): s.value for s in samples}


def _states(samples: list[Sample]) -> dict[tuple[str, str, str], str]:
    """(alert, tenant, service) -> firing or pending, from the ALERTS series."""
    states: dict[tuple[str, str, str], str] = {}
    for s in samples:
        key = (s.labels.get(m.ALERT_NAME, ""), *_key(s.labels))
        if states.get(key) != "firing":
            states[key] = s.labels.get(m.ALERT_STATE, "")
    return states


def objectives_of(config: Config) -> dict[str, float]:
    slo = config.alerting.slo
    return {AVAILABILITY: slo.availability / 100, LATENCY: slo.latency / 100}


async def service_slos(config: Config, prometheus: PrometheusClient, at: float) -> list[ServiceSlo]:
    rules = generated_burn_rules(config)
    alerts = "|".join(re.escape(r.name) for r in rules) or "^$"
    states = _states(await prometheus.instant(f'{ALERTS}{{{m.ALERT_NAME}=~"{alerts}"}}', at))
    names = {rec.AVAILABILITY_BUDGET_REMAINING, rec.LATENCY_BUDGET_REMAINING}
    names |= {name_of(w) for name_of in _SLI.values() for w in (*rec.WINDOWS, SLO_PERIOD)}
    selector = '{__name__=~"' + "|".join(re.escape(n).replace("\\", "\\\\") for n in sorted(names)) + '"}'
    values = _by_service(await prometheus.instant(selector, at))
    services = sorted({(t, s) for t, s, name in values if name in names and t and s})
    remaining = {AVAILABILITY: rec.AVAILABILITY_BUDGET_REMAINING, LATENCY: rec.LATENCY_BUDGET_REMAINING}
    objectives = objectives_of(config)
    result = []
    for tenant, service in services:
        per_sli = []
        for sli, objective in objectives.items():
            budget = round(1 - objective, 10)
            ratio = values.get((tenant, service, _SLI[sli](SLO_PERIOD)))
            burns = tuple(
                BurnAlert(
                    rule.name,
                    round(rule.threshold / budget, 6),
                    tuple(
                        BurnWindow(
                            w, None if (v := values.get((tenant, service, _SLI[sli](w)))) is None else v / budget
                        )
                        for w in rule.windows
                    ),
                    states.get((rule.name, tenant, service), "inactive"),
                )
                for rule in rules
                if rule.sli == sli
            )
            per_sli.append(
                Objective(
                    sli,
                    objective,
                    None if ratio is None else 1 - ratio,
                    values.get((tenant, service, remaining[sli])),
                    burns,
                )
            )
        result.append(ServiceSlo(tenant, service, tuple(per_sli)))
    return result
