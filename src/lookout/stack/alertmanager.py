"""``alertmanager.yml``: a routing tree by tenant, then priority, to the configured receivers; the
Watchdog to the heartbeat receiver; P3 only in business hours; inhibitions. An alert no route matches
(unknown or missing tenant, missing or unknown priority) reaches the default receiver, never nobody.

Secrets are referenced by file (``*_file`` fields), never inlined. Everything here must pass
``amtool check-config`` 0.25 (so no inhibit-rule ``name`` or route ``labels`` fields).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lookout import metrics as m
from lookout.config.model import Config, Priority, Receiver, RouteTiming
from lookout.stack import naming
from lookout.stack.prometheus import client_http_config
from lookout.stack.rules import FAMILY, STACK_TENANT, WATCHDOG
from lookout.stack.yamlio import dump_yaml

BUSINESS_HOURS = "business-hours"
HEARTBEAT_TIMING = RouteTiming(group_wait="0s", group_interval="1m", repeat_interval="5m")
"""The Watchdog is re-sent every 5 minutes so that a dead-man's switch notices silence quickly."""
NULL_RECEIVER = "lookout-null"
"""Receives what lookout.yaml deliberately sends nowhere: a priority without receivers, the Watchdog without a
heartbeat receiver."""

DEFAULT_TIMINGS = {
    Priority.P0: RouteTiming(group_wait="10s", group_interval="1m", repeat_interval="1h"),
    Priority.P1: RouteTiming(group_wait="30s", group_interval="5m", repeat_interval="4h"),
    Priority.P2: RouteTiming(group_wait="1m", group_interval="10m", repeat_interval="12h"),
    Priority.P3: RouteTiming(group_wait="5m", group_interval="30m", repeat_interval="24h"),
}


def _receiver(receiver: Receiver, priority: Priority | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.name if priority is None else f"{receiver.name}-{priority.value}"}
    if receiver.webhook:
        hook: dict[str, Any] = {"url": str(receiver.webhook.url), "send_resolved": True}
        if receiver.webhook.bearer_token_file:
            hook["http_config"] = {"authorization": {"credentials_file": receiver.webhook.bearer_token_file}}
        out["webhook_configs"] = [hook]
    if receiver.slack:
        out["slack_configs"] = [
            {
                "api_url_file": receiver.slack.api_url_file,
                "channel": receiver.slack.channel,
                "send_resolved": True,
                "title": '{{ template "lookout.title" . }}',
                "text": '{{ template "lookout.text" . }}',
            }
        ]
    if receiver.pagerduty:
        urgency = receiver.pagerduty.urgency or ("high" if priority is Priority.P0 else "low")
        out["pagerduty_configs"] = [
            {
                "routing_key_file": receiver.pagerduty.routing_key_file,
                "severity": "critical" if urgency == "high" else "warning",
                "description": '{{ template "lookout.title" . }}',
            }
        ]
    if receiver.email:
        email: dict[str, Any] = {
            "to": receiver.email.to,
            "from": receiver.email.from_,
            "smarthost": receiver.email.smarthost,
            "require_tls": receiver.email.require_tls,
            "send_resolved": True,
        }
        if receiver.email.auth_username:
            email["auth_username"] = receiver.email.auth_username
        if receiver.email.auth_password_file:
            email["auth_password_file"] = receiver.email.auth_password_file
        out["email_configs"] = [email]
    return out


def _needs_per_priority(receiver: Receiver) -> bool:
    # PagerDuty urgency depends on the priority, so that receiver is emitted once per priority.
    return receiver.pagerduty is not None and receiver.pagerduty.urgency is None


def _receiver_name(receiver: Receiver, priority: Priority) -> str:
    return f"{receiver.name}-{priority.value}" if _needs_per_priority(receiver) else receiver.name


def receiver_names(config: Config, names: list[str], priority: Priority) -> list[str]:
    """The generated receiver names that lookout.yaml receivers ``names`` become for ``priority``."""
    by_name = {r.name: r for r in config.alerting.receivers}
    return [_receiver_name(by_name[n], priority) for n in names]


def priority_matcher(*priorities: Priority) -> str:
    """Priorities match case-insensitively: a hand-written rule saying ``p0`` still pages."""
    return f'{m.PRIORITY}=~"(?i){"|".join(p.value for p in priorities)}"'


def default_receiver(config: Config) -> str:
    """The generated name of the receiver that gets what no tenant/priority route matches."""
    by_name = {r.name: r for r in config.alerting.receivers}
    return _receiver_name(by_name[config.default_receiver()], Priority.P0)


def _priority_routes(config: Config, routes: dict[Priority, list[str]]) -> list[dict[str, Any]]:
    by_name = {r.name: r for r in config.alerting.receivers}
    timings = {**DEFAULT_TIMINGS, **config.alerting.timings}
    out: list[dict[str, Any]] = []
    for priority in Priority:
        names = routes.get(priority, [])
        timing = timings[priority]
        # A priority without receivers is silenced on purpose; it must not fall through to the default receiver.
        targets = [_receiver_name(by_name[n], priority) for n in names] or [NULL_RECEIVER]
        # One route per receiver; `continue` lets an alert reach every receiver of its priority.
        for i, receiver_name in enumerate(targets):
            route: dict[str, Any] = {
                "receiver": receiver_name,
                "matchers": [priority_matcher(priority)],
                "group_wait": timing.group_wait,
                "group_interval": timing.group_interval,
                "repeat_interval": timing.repeat_interval,
            }
            if priority is Priority.P3 and config.alerting.business_hours is not None:
                route["active_time_intervals"] = [BUSINESS_HOURS]
            if i < len(targets) - 1:
                route["continue"] = True
            out.append(route)
    return out


def _heartbeat_route(config: Config) -> dict[str, Any]:
    by_name = {r.name: r for r in config.alerting.receivers}
    heartbeat = config.alerting.heartbeat_receiver
    # Without a heartbeat receiver the Watchdog still must not reach the P3 receivers.
    receiver = _receiver_name(by_name[heartbeat], Priority.P3) if heartbeat else NULL_RECEIVER
    return {
        "receiver": receiver,
        "matchers": [f'alertname="{WATCHDOG}"'],
        "group_wait": HEARTBEAT_TIMING.group_wait,
        "group_interval": HEARTBEAT_TIMING.group_interval,
        "repeat_interval": HEARTBEAT_TIMING.repeat_interval,
    }


def _lower(priority: Priority) -> str:
    return priority_matcher(*(p for p in Priority if p > priority))


def inhibit_rules() -> list[dict[str, Any]]:
    """One incident, one page. An alert about one replica (it carries ``instance``) silences only alerts of that
    replica, never the healthy replicas' or the service's."""
    rules: list[dict[str, Any]] = [
        # Every replica down explains every lesser symptom of that server, and its failing probe.
        {
            "source_matchers": ['alertname="MCPServerDown"'],
            "target_matchers": [_lower(Priority.P0)],
            "equal": [m.TENANT, m.SERVICE],
        },
        {
            "source_matchers": ['alertname="MCPServerDown"'],
            "target_matchers": ['alertname="MCPProbeFailing"'],
            "equal": [m.TENANT, m.SERVICE],
        },
        # A whole tenant down explains each of its servers being down and everything lesser.
        {
            "source_matchers": ['alertname="MCPTenantDown"'],
            "target_matchers": ['alertname=~"MCPServerDown|MCPProbeFailing"'],
            "equal": [m.TENANT],
        },
        {
            "source_matchers": ['alertname="MCPTenantDown"'],
            "target_matchers": [_lower(Priority.P0)],
            "equal": [m.TENANT],
        },
        # One replica down explains that replica's lesser symptoms.
        {
            "source_matchers": ['alertname="MCPServerInstanceDown"'],
            "target_matchers": [_lower(Priority.P1)],
            "equal": [m.TENANT, m.SERVICE, m.INSTANCE],
        },
    ]
    # Within one family (errors, latency, ...), the higher priority silences the lower ones: service-wide alerts
    # those of the whole service, per-replica alerts only the same replica's.
    for priority in (Priority.P0, Priority.P1, Priority.P2):
        source = priority_matcher(priority)
        targets = [_lower(priority), f'{FAMILY}!=""']
        rules.append(
            {
                "source_matchers": [source, f'{m.INSTANCE}=""'],
                "target_matchers": targets,
                "equal": [m.TENANT, m.SERVICE, FAMILY],
            }
        )
        rules.append(
            {
                "source_matchers": [source, f'{m.INSTANCE}!=""'],
                "target_matchers": targets,
                "equal": [m.TENANT, m.SERVICE, m.INSTANCE, FAMILY],
            }
        )
    return rules


def _time_intervals(config: Config) -> list[dict[str, Any]]:
    hours = config.alerting.business_hours
    if hours is None:
        return []
    interval = {
        "weekdays": list(hours.weekdays),
        "times": [{"start_time": t.start_time, "end_time": t.end_time} for t in hours.times],
        "location": hours.location,
    }
    return [{"name": BUSINESS_HOURS, "time_intervals": [interval]}]


def alertmanager_config(config: Config) -> dict[str, Any]:
    fallback = default_receiver(config)
    tenant_routes = [
        {
            "receiver": fallback,
            "matchers": [f'{m.TENANT}="{tenant.name}"'],
            "routes": _priority_routes(config, config.routes_for(tenant)),
        }
        for tenant in config.tenants
    ]
    stack_route = {
        "receiver": fallback,
        "matchers": [f'{m.TENANT}="{STACK_TENANT}"'],
        "routes": _priority_routes(config, dict(config.alerting.routes)),
    }

    receivers: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]
    for receiver in config.alerting.receivers:
        if _needs_per_priority(receiver):
            receivers.extend(_receiver(receiver, p) for p in Priority)
        else:
            receivers.append(_receiver(receiver, None))
    data: dict[str, Any] = {
        "global": {"resolve_timeout": "5m"},
        "templates": ["templates/*.tmpl"],
        "route": {
            "receiver": fallback,
            "group_by": ["alertname", m.TENANT, m.SERVICE],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [_heartbeat_route(config), *tenant_routes, stack_route],
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": receivers,
    }
    intervals = _time_intervals(config)
    if intervals:
        data["time_intervals"] = intervals
    _secure_sink_webhooks(config, receivers)
    return data


def _secure_sink_webhooks(config: Config, receivers: list[dict[str, Any]]) -> None:
    """Webhooks to Lookout's own sink connect as Prometheus does under ``security:`` (TLS, the client user)."""
    client = client_http_config(config)
    if not client:
        return
    scheme = client.pop("scheme", None)
    for receiver in receivers:
        for hook in receiver.get("webhook_configs", []):
            url = urlsplit(hook["url"])
            if url.netloc == config.listen.sink:
                if scheme is not None:
                    hook["url"] = urlunsplit(url._replace(scheme=scheme))
                hook["http_config"] = {**hook.get("http_config", {}), **client}


TEMPLATES = (
    '{{ define "lookout.title" }}[{{ .Status | toUpper }}'
    '{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.priority }} {{ .CommonLabels.alertname }} "
    "({{ .CommonLabels.tenant }}/{{ .CommonLabels.service }}){{ end }}\n"
    '{{ define "lookout.text" }}{{ range .Alerts }}*{{ .Annotations.summary }}*\n'
    "{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n"
    "{{ if .Annotations.dashboard_url }}Dashboard: {{ .Annotations.dashboard_url }}\n{{ end }}"
    "{{ end }}{{ end }}\n"
)


def cluster_flags(config: Config, index: int) -> list[str]:
    """Alertmanager ``index``'s gossip flags: an empty listen address (no cluster) for a single Alertmanager;
    in HA its own loopback gossip address and every other peer, so notifications are deduplicated cluster-wide."""
    peers = config.alertmanager_cluster_addresses()
    if not peers:
        return ["--cluster.listen-address="]
    own = peers[index]
    return [
        f"--cluster.listen-address={own}",
        f"--cluster.advertise-address={own}",
        *(f"--cluster.peer={peer}" for peer in peers if peer != own),
    ]


def render_alertmanager(config: Config) -> str:
    return dump_yaml(alertmanager_config(config), naming.GENERATED_HEADER)
