"""Dashboard specs -> Grafana dashboard JSON models (data; the stack's writer serializes them), through the
Grafana Foundation SDK.

Why the SDK (pinned to its Grafana 11.6 build, ``1769699379!11.6.0``): its builders are generated from
Grafana's own schemas, so every field we set exists with the right type and the output carries the
matching ``schemaVersion`` (41); an unpinned install would pick an old Grafana 10.1 build.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import heatmap, logs, loki, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, ReduceDataOptions
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from lookout import metrics as m
from lookout.stack import naming
from lookout.stack.grafana import model
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.requirements import requirement
from lookout.stack.rules.inputs import Inputs

PROMETHEUS_VAR: Final = "datasource"
LOKI_VAR: Final = "loki"
PROMETHEUS_REF: Final = dm.DataSourceRef(type_val="prometheus", uid=f"${{{PROMETHEUS_VAR}}}")
LOKI_REF: Final = dm.DataSourceRef(type_val="loki", uid=f"${{{LOKI_VAR}}}")

PanelBuilder = timeseries.Panel | stat.Panel | heatmap.Panel | table.Panel | logs.Panel


def _plain(value: Any) -> Any:
    """The SDK's models as plain data (what its JSON encoder writes): dicts, lists, strings and numbers."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return _plain(to_json())
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


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


def _panel(panel: model.Panel, panel_id: int, inputs: Inputs) -> PanelBuilder:
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
    # A panel that only Lookout's own series can fill says so, rather than look like an outage when empty.
    explanation = requirement(panel, inputs).explanation
    description = " ".join(text for text in (panel.description, f"{explanation}." if explanation else "") if text)
    if description:
        builder = builder.description(description)
    if explanation:
        builder = builder.no_value(explanation)
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
            # From `up` (the scrapes of its servers and of their probes), not every series: an alert's own
            # `service` (MCPTenantDown's "all") is no service to pick.
            _query_variable(
                m.SERVICE,
                "Service",
                f'label_values({q.UP}{{{m.TENANT}="{q.TENANT_VAR}", {m.SERVICE}!=""}}, {m.SERVICE})',
            ),
            # service!="": *All* (.*) also matches no service, and in the long-term store the stack's own `up`
            # (Prometheus, Alertmanager …) carries a single tenant's external label: not instances of its servers.
            _query_variable(
                m.INSTANCE,
                "Instance",
                f'label_values({q.UP}{{{m.TENANT}="{q.TENANT_VAR}", {m.SERVICE}=~"{q.SERVICE_VAR}", {m.SERVICE}!=""}}, '
                f"{m.INSTANCE})",
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


def dashboard_json(spec: model.Dashboard, folder: str, tenant: str | None, inputs: Inputs) -> dict[str, Any]:
    """Grafana's JSON model of ``spec`` for ``tenant`` (None: a fleet-wide dashboard such as Benchmarks);
    ``inputs`` resolves the recorded series its panels read."""
    tags = ["lookout", f"tenant:{tenant}" if tenant else folder.lower()]
    builder = (
        gd.Dashboard(spec.title)
        .uid(naming.dashboard_uid(folder, spec.slug))
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
            builder = builder.with_panel(_panel(panel, panel_id, inputs))
    plain: dict[str, Any] = _plain(builder.build())
    return plain
