"""HTML of the console's pages: server-rendered, escaped, with the data a page's script needs inlined as JSON."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from lookout import metrics as m
from lookout.console.bench import BenchRun
from lookout.console.dashboards import ConsoleDashboard
from lookout.console.probes import ProbeTarget
from lookout.console.slo import ServiceSlo

NAV = (
    ("/", "Dashboards"),
    ("/alerts", "Alerts"),
    ("/silences", "Silences"),
    ("/slo", "SLOs"),
    ("/probes", "Probes"),
    ("/bench", "Benchmarks"),
    ("/reports", "Reports"),
)
REPORTS = (
    ("sla", "SLA: availability, downtime, error budget, latency and incidents per service"),
    ("capacity", "Capacity: request-rate trend and forecast against the benchmarked capacity"),
    ("cost", "Metrics cost: active series, cardinality, disk, tool-definition footprint"),
)
"""The reports `lookout report` writes, by file stem, as the reports page lists them."""


WEB_LINK = re.compile(r"^(?:https?://|/)[^\s\x00-\x1f\x7f]*$", re.IGNORECASE)
"""An annotation's URL the console makes a link: http(s), or a path of its own. An annotation comes from any
rule file, and a ``javascript:`` URL there would run in the console's origin, where silences are made; the whole
string is checked as a browser reads it (it drops tabs and newlines anywhere, and leading spaces)."""


def _quoted(value: str) -> str:
    """*value* inside a matcher's double quotes (Alertmanager's escapes)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def e(value: object) -> str:
    return escape(str(value), quote=True)


def _json(value: object) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/")


def layout(title: str, body: str, active: str = "", scripts: Sequence[str] = ()) -> str:
    nav = "".join(f'<a href="{href}"{" class=active" if href == active else ""}>{e(label)}</a>' for href, label in NAV)
    tags = "".join(f'<script src="/static/{e(s)}"></script>' for s in scripts)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · Lookout</title>"
        '<link rel=icon href="data:,">'
        '<link rel=stylesheet href="/static/vendor/uplot/uPlot.min.css">'
        '<link rel=stylesheet href="/static/console.css">'
        f'</head><body><header><a class=brand href="/">Lookout</a><nav>{nav}</nav></header>'
        f"<main>{body}</main>{tags}</body></html>"
    )


def problem(message: str) -> str:
    """The one way a page says an upstream is down or a query failed."""
    return f'<div class="problem" role="alert">{e(message)}</div>'


def _fmt_time(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pct(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def _phase_order(phase: tuple[str, float]) -> tuple[int, str]:
    """A probe's phases in the order it goes through them; a name the list does not know goes last."""
    name = phase[0]
    return (m.PROBE_PHASES.index(name) if name in m.PROBE_PHASES else len(m.PROBE_PHASES), name)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


# ------------------------------------------------------------------------------------------------ dashboards
def index(dashboards: Iterable[ConsoleDashboard]) -> str:
    folders: dict[str, list[ConsoleDashboard]] = {}
    for d in dashboards:
        folders.setdefault(d.folder, []).append(d)
    sections = "".join(
        f"<section><h2>{e(folder)}</h2><ul class=dash-list>"
        + "".join(f'<li><a href="/d/{e(d.uid)}">{e(d.title)}</a> <span>{e(d.description)}</span></li>' for d in ds)
        + "</ul></section>"
        for folder, ds in folders.items()
    )
    return layout("Dashboards", f"<h1>Dashboards</h1>{sections}", "/")


def dashboard(d: ConsoleDashboard, scrape_interval: float, siblings: Sequence[ConsoleDashboard]) -> str:
    links = "".join(
        f'<a data-keep-vars href="/d/{e(s.uid)}"{" class=active" if s.uid == d.uid else ""}>{e(s.title)}</a>'
        for s in siblings
    )
    config = {"dashboard": d.as_json(), "scrapeInterval": scrape_interval}
    body = (
        f"<div class=dash-head><h1>{e(d.title)}</h1><div class=dash-links>{links}</div></div>"
        f"<p class=muted>{e(d.description)}</p>"
        "<form id=controls class=controls></form>"
        "<div id=status></div><div id=panels class=grid></div>"
        f'<script id=dashboard-json type="application/json">{_json(config)}</script>'
    )
    return layout(d.title, body, "/", scripts=("vendor/uplot/uPlot.iife.min.js", "units.js", "dashboard.js"))


# ------------------------------------------------------------------------------------------------ alerts
def _alert_row(alert: dict[str, Any], console_base: str) -> str:
    labels: dict[str, str] = alert.get("labels", {})
    annotations: dict[str, str] = alert.get("annotations", {})
    status = alert.get("status", {})
    receivers = ", ".join(r.get("name", "") for r in alert.get("receivers", []))
    links = []
    for kind in ("runbook", "dashboard"):
        if url := annotations.get(f"{kind}_url"):
            if WEB_LINK.match(url):
                links.append(f'<a class={kind} href="{e(url)}">{kind}</a>')
            else:  # shown, not followed
                links.append(f'<span class={kind} title="{e(url)}">{kind}: not a web link</span>')
    # Every label, not only tenant and service: a silence for one replica (instance) or one tool must not silence
    # the same alert of the service's other replicas and tools.
    matchers = {m.ALERT_NAME: labels.get(m.ALERT_NAME, ""), **dict(sorted(labels.items()))}
    query = urlencode([("matcher", f'{k}="{_quoted(v)}"') for k, v in matchers.items()])
    links.append(f'<a class=silence href="/silences?{e(query)}#new">silence</a>')
    other = ", ".join(
        f"{k}={v}" for k, v in sorted(labels.items()) if k not in (m.ALERT_NAME, m.TENANT, m.PRIORITY, m.SEVERITY)
    )
    state = status.get("state", "")
    return (
        f'<tr class="alert {e(state)}" data-alertname="{e(labels.get(m.ALERT_NAME, ""))}">'
        f"<td><b>{e(labels.get(m.ALERT_NAME, ''))}</b><div class=muted>{e(annotations.get('summary', ''))}</div></td>"
        f"<td>{e(other)}</td><td>{e(state)}</td><td>{e(alert.get('startsAt', '')[:19])}</td>"
        f"<td class=receivers>{e(receivers)}</td><td>{' · '.join(links)}</td></tr>"
    )


def alerts(items: list[dict[str, Any]] | None, error: str | None, console_base: str) -> str:
    body = "<h1>Alerts</h1>"
    if error:
        body += problem(error)
    if items is not None:
        if not items:
            body += "<p class=empty>No alerts: Alertmanager holds none right now.</p>"
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for alert in items:
            labels = alert.get("labels", {})
            groups.setdefault((labels.get(m.TENANT, "(no tenant)"), labels.get(m.PRIORITY, "(none)")), []).append(alert)
        for (tenant, priority), group in sorted(groups.items()):
            rows = "".join(
                _alert_row(a, console_base) for a in sorted(group, key=lambda a: a["labels"].get(m.ALERT_NAME, ""))
            )
            body += (
                f'<section class=alert-group data-tenant="{e(tenant)}" data-priority="{e(priority)}">'
                f"<h2>{e(tenant)} · <span class=prio>{e(priority)}</span> <small>({len(group)})</small></h2>"
                "<table><thead><tr><th>alert</th><th>labels</th><th>state</th><th>since</th><th>receivers</th>"
                f"<th>links</th></tr></thead><tbody>{rows}</tbody></table></section>"
            )
    return layout("Alerts", body, "/alerts")


def silences(
    items: list[dict[str, Any]] | None,
    error: str | None,
    notice: str | None,
    prefill: Sequence[str],
    author: str,
    signed_in: bool = False,
) -> str:
    """The silences page; ``signed_in``: ``author`` is the signed-in user, whose name every silence carries."""
    body = "<h1>Silences</h1>"
    if notice:
        body += f"<div class=notice role=status>{e(notice)}</div>"
    if error:
        body += problem(error)
    body += (
        '<form id=new class=silence-form method=post action="/silences">'
        "<h2>New silence</h2>"
        '<label>Matchers <input name=matchers required placeholder=\'alertname="MCPServerDown", service="demo"\''
        f' value="{e(", ".join(prefill))}"></label>'
        '<label>Duration <input name=duration required value="2h" pattern="([0-9]+(ms|[smhdwy]))+"'
        ' title="a Prometheus duration: 2h, 1h30m, 1w"></label>'
        f'<label>Author <input name=author required value="{e(author)}"{" readonly" if signed_in else ""}></label>'
        '<label>Comment <input name=comment required placeholder="why, and the ticket"></label>'
        "<button type=submit>Create silence</button></form>"
    )
    if items is not None:
        rows = ""
        for s in sorted(items, key=lambda s: s.get("startsAt", ""), reverse=True):
            state = s.get("status", {}).get("state", "")
            matchers = ", ".join(
                f"{mt['name']}{'=' if mt.get('isEqual', True) else '!'}{'~' if mt.get('isRegex') else ''}"
                f'"{mt["value"]}"'
                if mt.get("isEqual", True) or mt.get("isRegex")
                else f'{mt["name"]}!="{mt["value"]}"'
                for mt in s.get("matchers", [])
            )
            expire = (
                f'<form method=post action="/silences/{e(s["id"])}/expire"><button>expire</button></form>'
                if state != "expired"
                else ""
            )
            rows += (
                f'<tr class="silence {e(state)}" data-id="{e(s["id"])}"><td>{e(matchers)}</td><td>{e(state)}</td>'
                f"<td>{e(s.get('startsAt', '')[:19])}</td><td>{e(s.get('endsAt', '')[:19])}</td>"
                f"<td>{e(s.get('createdBy', ''))}</td><td>{e(s.get('comment', ''))}</td><td>{expire}</td></tr>"
            )
        body += "<h2>Silences</h2>" + (
            "<table><thead><tr><th>matchers</th><th>state</th><th>starts</th><th>ends</th><th>author</th>"
            f"<th>comment</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
            if rows
            else "<p class=empty>No silences.</p>"
        )
    return layout("Silences", body, "/silences")


# ------------------------------------------------------------------------------------------------ SLOs
def _burn_cell(rate: float | None, factor: float) -> str:
    if rate is None:
        return '<span class=muted title="no requests in this window">—</span>'
    cls = "bad" if rate > factor else "good"
    return f'<span class={cls} data-burn="{rate:.6g}">{rate:.2f}x</span>'


def slo(items: list[ServiceSlo] | None, error: str | None, at: float, window: str) -> str:
    body = f'<h1>Service level objectives</h1><p class=muted data-time="{at:.3f}">Evaluated at {_fmt_time(at)}; '
    body += f"objectives from alerting.slo over {e(window)}.</p>"
    if error:
        body += problem(error)
    if items is not None and not items:
        body += "<p class=empty>No SLO series yet: the recording rules need traffic to the MCP servers.</p>"
    for item in items or []:
        cards = ""
        for o in item.objectives:
            burns = "".join(
                f'<tr class="burn {e(b.state)}" data-alert="{e(b.alert)}"><td>{e(b.alert)}</td>'
                f"<td>{b.factor:g}x</td>"
                f"<td>{' '.join(f'{e(w.window)}: ' + _burn_cell(w.burn_rate, b.factor) for w in b.windows)}</td>"
                f"<td class=state>{e(b.state)}</td></tr>"
                for b in o.burns
            )
            left = o.budget_remaining
            # An exhausted budget is a full red bar, not an empty one.
            width = 0.0 if left is None else 100.0 if left < 0 else min(1.0, left) * 100
            cards += (
                f'<div class=slo-card data-sli="{e(o.sli)}">'
                f"<h3>{e(o.sli.capitalize())} {o.objective * 100:g} %</h3>"
                f"<div>attained over {e(window)}: <b class=attained>{_pct(o.attained)}</b></div>"
                f'<div>error budget left: <b class=budget data-value="{"" if left is None else f"{left:.9g}"}">'
                f"{_pct(left, 1)}</b></div>"
                f'<div class=bar><div class="fill{" bad" if left is not None and left < 0 else ""}"'
                f' style="width:{width:.1f}%"></div></div>'
                "<table><thead><tr><th>burn-rate alert</th><th>fires above</th><th>burn rate per window</th>"
                f"<th>alert</th></tr></thead><tbody>{burns}</tbody></table></div>"
            )
        body += (
            f'<section class=slo data-tenant="{e(item.tenant)}" data-service="{e(item.service)}">'
            f"<h2>{e(item.tenant)} / {e(item.service)}</h2><div class=slo-cards>{cards}</div></section>"
        )
    return layout("SLOs", body, "/slo")


# ------------------------------------------------------------------------------------------------ probes
def probes(items: list[ProbeTarget] | None, error: str | None, at: float) -> str:
    body = "<h1>Probes</h1>"
    if error:
        body += problem(error)
    if items is not None and not items:
        body += "<p class=empty>No probe results yet: the prober exporter has not been scraped.</p>"
    for t in items or []:
        ok = t.success == 1
        phases = " · ".join(f"{e(k)} {_seconds(v)}" for k, v in sorted(t.phases.items(), key=_phase_order))
        history = (
            "".join(
                f"<li>{_fmt_time(ts)}: hash changed to {m.tools_hash_text(value)}</li>" for ts, value in t.hash_changes
            )
            or "<li>no change in the last 7 days</li>"
        )
        if t.cert_expiry is None:
            cert = "no certificate (plain HTTP or stdio)"
        else:
            days = (t.cert_expiry - at) / 86400
            cert = f"{_fmt_time(t.cert_expiry)} ({days:.0f} days)"
        body += (
            f'<section class="probe {"ok" if ok else "failing"}" data-target="{e(t.service)}" data-job="{e(t.job)}">'
            f"<h2>{e(t.tenant)} / {e(t.service)} <small>{e(t.job)} · {e(t.instance)}</small> "
            f'<span class="result {"good" if ok else "bad"}">{"success" if ok else "failing"}</span></h2>'
            "<dl>"
            f"<dt>duration</dt><dd>{_seconds(t.duration)}</dd>"
            f"<dt>phases</dt><dd class=phases>{phases or '—'}</dd>"
            f"<dt>protocol revision</dt><dd class=protocol>{e(t.protocol or '—')}</dd>"
            f"<dt>tools</dt><dd class=tools>{'—' if t.tools is None else f'{t.tools:.0f}'}</dd>"
            f"<dt>tools hash</dt><dd class=hash>{'—' if t.tools_hash is None else m.tools_hash_text(t.tools_hash)}</dd>"
            f"<dt>tools drift</dt><dd><ul class=drift>{history}</ul></dd>"
            f"<dt>certificate expiry</dt><dd class=cert>{e(cert)}</dd>"
            "</dl></section>"
        )
    return layout("Probes", body, "/probes")


# ------------------------------------------------------------------------------------------------ benchmarks
def bench(runs: dict[str, list[BenchRun]] | None, error: str | None) -> str:
    body = "<h1>Benchmarks</h1><p class=muted>Runs of <code>lookout bench</code>; each run is judged against "
    body += "the complete runs of the same target and scenario before it.</p>"
    if error:
        body += problem(error)
    plots = {}
    for target, target_runs in (runs or {}).items():
        plots[target] = [
            {
                "id": r.id,
                "t": datetime.fromisoformat(r.started_at).timestamp(),
                "throughput": r.throughput,
                "p50": r.p50,
                "p99": r.p99,
                "errors": r.errors,
            }
            for r in target_runs
        ]
        rows = "".join(
            f'<tr class="run {e(r.verdict)}"><td>{r.id}</td><td>{e(r.started_at[:19])}</td><td>{e(r.scenario)}</td>'
            f"<td>{r.throughput:.1f}/s</td><td>{_seconds(r.p50)}</td><td>{_seconds(r.p99)}</td><td>{r.errors}</td>"
            f"<td class=verdict>{e(r.verdict)}{': ' + e(', '.join(r.regressed_checks)) if r.regressed_checks else ''}"
            "</td></tr>"
            for r in reversed(target_runs)
        )
        body += (
            f'<section class=bench data-target="{e(target)}"><h2>{e(target)}</h2>'
            f'<div class=bench-plots data-target="{e(target)}"></div>'
            "<table><thead><tr><th>run</th><th>started</th><th>scenario</th><th>throughput</th><th>p50</th>"
            f"<th>p99</th><th>errors</th><th>verdict</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    body += f'<script id=bench-json type="application/json">{_json(plots)}</script>'
    return layout("Benchmarks", body, "/bench", scripts=("vendor/uplot/uPlot.iife.min.js", "units.js", "bench.js"))


def now() -> float:
    return time.time()


# ------------------------------------------------------------------------------------------------ reports
def reports(found: dict[str, float], directory: Path) -> str:
    """The reports `lookout report` wrote into ``directory`` (stem → modification time), newest first."""
    body = (
        "<h1>Reports</h1><p class=muted>Self-contained HTML that <code>lookout report</code> wrote into "
        f"<code>{e(directory)}</code>; each is a snapshot of its period, made from Prometheus when it ran.</p>"
    )
    rows = "".join(
        f'<tr><td><a href="/reports/{e(kind)}.html">{e(kind)}.html</a></td><td>{e(about)}</td>'
        f"<td>{_fmt_time(found[kind])}</td></tr>"
        for kind, about in sorted(REPORTS, key=lambda item: -found.get(item[0], 0.0))
        if kind in found
    )
    if rows:
        body += f"<table><thead><tr><th>report</th><th>what it shows</th><th>written</th></tr></thead>{rows}</table>"
    missing = [kind for kind, _ in REPORTS if kind not in found]
    if missing:
        commands = "".join(f"<li><code>lookout report {e(k)} --out {e(directory)}</code></li>" for k in missing)
        body += f"<p>Not written yet: run</p><ul>{commands}</ul>"
    return layout("Reports", body, "/reports")
