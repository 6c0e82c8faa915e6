"""Dashboard specs -> Grafana dashboard JSON, through the Grafana Foundation SDK.

Why the SDK (pinned to its Grafana 11.6 build, ``1769699379!11.6.0``): its builders are generated from
Grafana's own schemas, so every field we set exists with the right type and the output carries the
matching ``schemaVersion`` (41); an unpinned install would pick an old Grafana 10.1 build.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

import orjson
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import heatmap, logs, loki, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, ReduceDataOptions
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from lookout import metrics as m
from lookout.stack.grafana import model
from lookout.stack.grafana import promql as q

PROMETHEUS_VAR: Final = "datasource"
LOKI_VAR: Final = "loki"
PROMETHEUS_REF: Final = dm.DataSourceRef(type_val="prometheus", uid=f"${{{PROMETHEUS_VAR}}}")
LOKI_REF: Final = dm.DataSourceRef(type_val="loki", uid=f"${{{LOKI_VAR}}}")
UID_MAX: Final = 40  # Grafana's limit on dashboard uids

PanelBuilder = timeseries.Panel | stat.Panel | heatmap.Panel | table.Panel | logs.Panel


def dashboard_uid(folder: str, slug: str) -> str:
    uid = f"lookout-{folder}-{slug}"
    if len(uid) > UID_MAX:
        uid = f"lookout-{hashlib.sha256(folder.encode()).hexdigest()[:12]}-{slug}"
    return uid[:UID_MAX]


def _thresholds(panel: model.Panel) -> gd.ThresholdsConfig:
    assert panel.policy_line is not None
    below, above = ("red", "green") if panel.good_above else ("green", "red")
    return (
        gd.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=None, color=below), dm.Threshold(value=panel.policy_line, color=above)])
    )


def _target(query: model.Query, ref_id: str, kind: model.PanelKind) -> Builder[Dataquery]:
    if query.language is model.QueryLanguage.LOGQL:
        return loki.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref_id)
    target = prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(ref_id)
    if q.OPS_BUCKET in query.expr:
        # Latency panels show exemplars; their trace_id links to Jaeger (datasource provisioning).
        target = target.exemplar(True)
    if kind is model.PanelKind.HEATMAP:
        return target.format(PromQueryFormat.HEATMAP)
    if kind is model.PanelKind.TABLE:
        return target.format(PromQueryFormat.TABLE).instant()
    return target.instant() if query.instant else target.range()


def _panel_builder(panel: model.Panel) -> PanelBuilder:
    kind = panel.kind
    if kind is model.PanelKind.TIMESERIES:
        ts = timeseries.Panel().fill_opacity(10).line_width(1)
        if panel.policy_line is not None:
            ts = ts.thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.DASHED))
        return ts
    if kind is model.PanelKind.STAT:
        return stat.Panel().reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
    if kind is model.PanelKind.HEATMAP:
        return heatmap.Panel().calculate(False).y_axis(heatmap.YAxisConfig().unit(panel.unit))
    if kind is model.PanelKind.TABLE:
        return table.Panel()
    return logs.Panel().show_time(True).wrap_log_message(True).enable_log_details(True)


def _panel(panel: model.Panel, panel_id: int) -> PanelBuilder:
    is_logql = any(query.language is model.QueryLanguage.LOGQL for query in panel.queries)
    builder = (
        _panel_builder(panel)
        .id(panel_id)
        .title(panel.title)
        .datasource(LOKI_REF if is_logql else PROMETHEUS_REF)
        .unit(panel.unit)
        .span(panel.width)
        .height(panel.height)
        .targets([_target(query, chr(ord("A") + i), panel.kind) for i, query in enumerate(panel.queries)])
    )
    if panel.description:
        builder = builder.description(panel.description)
    if panel.policy_line is not None:
        builder = builder.thresholds(_thresholds(panel))
    if panel.min_value is not None:
        builder = builder.min(panel.min_value)
    if panel.max_value is not None:
        builder = builder.max(panel.max_value)
    return builder


def _query_variable(name: str, label: str, query: str) -> gd.QueryVariable:
    return (
        gd.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS_REF)
        .query(query)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .multi(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )


def _variables(spec: model.Dashboard, tenant: str | None) -> list[Builder[dm.VariableModel]]:
    variables: list[Builder[dm.VariableModel]] = [
        gd.DatasourceVariable(PROMETHEUS_VAR).label("Prometheus").type("prometheus")
    ]
    if spec.logs:
        variables.append(gd.DatasourceVariable(LOKI_VAR).label("Loki").type("loki"))
    if tenant is not None:
        variables += [
            gd.CustomVariable(m.TENANT)
            .label("Tenant")
            .values(tenant)
            .current(dm.VariableOption(selected=True, text=tenant, value=tenant)),
            _query_variable(
                m.SERVICE, "Service", f'label_values({{{m.TENANT}="{q.TENANT_VAR}", {m.SERVICE}!=""}}, {m.SERVICE})'
            ),
            _query_variable(
                m.INSTANCE,
                "Instance",
                f'label_values({q.UP}{{{m.TENANT}="{q.TENANT_VAR}", {m.SERVICE}=~"{q.SERVICE_VAR}"}}, {m.INSTANCE})',
            ),
        ]
    else:
        bench = q.series(m.BENCH_THROUGHPUT)
        variables += [
            _query_variable(m.TARGET, "Target", f"label_values({bench}, {m.TARGET})"),
            _query_variable(
                m.SCENARIO, "Scenario", f'label_values({bench}{{{m.TARGET}=~"${m.TARGET}"}}, {m.SCENARIO})'
            ),
        ]
    return variables


def render_dashboard(spec: model.Dashboard, folder: str, tenant: str | None) -> str:
    """Grafana JSON of ``spec`` for ``tenant`` (None: a fleet-wide dashboard such as Benchmarks)."""
    tags = ["lookout", f"tenant:{tenant}" if tenant else folder.lower()]
    builder = (
        gd.Dashboard(spec.title)
        .uid(dashboard_uid(folder, spec.slug))
        .description(spec.description)
        .tags(tags)
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .time("now-6h", "now")
        .refresh("30s")
        .timezone("browser")
        .variables(_variables(spec, tenant))
        .link(
            gd.DashboardLink("Dashboards")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([tags[1]])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )
    panel_id = 0
    for row in spec.rows:
        panel_id += 1
        builder = builder.with_row(gd.Row(row.title).id(panel_id))
        for panel in row.panels:
            panel_id += 1
            builder = builder.with_panel(_panel(panel, panel_id))
    # The SDK's encoder turns its builders into plain data; orjson then indents in C (json's indenting
    # encoder is pure Python, and a 50-tenant fleet renders hundreds of dashboards).
    plain = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return orjson.dumps(plain, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
