"""Every panel's requirement is computed from its queries through the recording rules, and only a panel that the
OpenTelemetry convention's series cannot fill carries an explanation (Grafana's noValue) instead of an empty chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookout import metrics as m
from lookout.config import Config, load_config
from lookout.stack import grafana
from lookout.stack.grafana import catalog
from lookout.stack.grafana.model import Panel
from lookout.stack.grafana.promql import Policy, series
from lookout.stack.grafana.requirements import requirement
from lookout.stack.rules import recording as rec
from lookout.stack.rules.inputs import Inputs

EXAMPLE = Path(__file__).parents[2] / "examples" / "lookout.yaml"
OPS_COUNT = series(m.OPERATION_DURATION, "count")
OPS_BUCKET = series(m.OPERATION_DURATION, "bucket")


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(EXAMPLE)


@pytest.fixture(scope="module")
def inputs(config: Config) -> Inputs:
    return Inputs.of(config)


def _panel(config: Config, slug: str, title: str) -> Panel:
    policy = Policy.from_config(config)
    for make in (*catalog.TENANT_DASHBOARDS, *catalog.SHARED_DASHBOARDS):
        spec = make(policy)
        if spec.slug == slug:
            return next(p for row in spec.rows for p in row.panels if p.title == title)
    raise AssertionError(f"no dashboard {slug}")


@pytest.mark.parametrize(
    ("slug", "title", "reads", "needs"),
    [
        # Read directly: an extension gauge and its limit.
        (
            "server",
            "Requests in flight",
            {series(m.REQUESTS_IN_FLIGHT), series(m.REQUESTS_IN_FLIGHT_LIMIT)},
            (series(m.REQUESTS_IN_FLIGHT), series(m.REQUESTS_IN_FLIGHT_LIMIT)),
        ),
        ("server", "Telemetry Lookout lost", {series(m.TELEMETRY_DROPPED)}, (series(m.TELEMETRY_DROPPED),)),
        ("capacity", "Active sessions and 7-day forecast", {series(m.SESSIONS_ACTIVE)}, (series(m.SESSIONS_ACTIVE),)),
        (
            "probes",
            "Tool definitions footprint",
            {m.PROBE_TOOLS_DEFINITION_TOKENS.name},
            (m.PROBE_TOOLS_DEFINITION_TOKENS.name,),
        ),
        ("benchmarks", "Throughput", {m.BENCH_THROUGHPUT.name}, (m.BENCH_THROUGHPUT.name,)),
        # The convention's histograms alone.
        ("server", "Latency quantiles", {OPS_BUCKET}, ()),
        ("server", "Session duration p90", {series(m.SESSION_DURATION, "bucket")}, ()),
        # Through a recording rule that prefers the primed extension counter but falls back on the histogram.
        ("server", "Error ratio by method", {OPS_COUNT, rec.ERRORS_TOTAL}, ()),
        ("slo", "Error budget remaining", {OPS_COUNT, rec.ERRORS_TOTAL}, ()),
        ("slo", "Latency budget remaining", {OPS_COUNT, OPS_BUCKET}, ()),
        # Through the limit rules: the process's own limit, else lookout.yaml's; process_* is third-party.
        (
            "infra",
            "CPU utilization (share of the replica's limit)",
            {"process_cpu_seconds_total", m.PROCESS_CPU_LIMIT.name},
            (),
        ),
        # The measured capacity from lookout bench, else the configured fallback.
        (
            "capacity",
            "Utilization of measured capacity (per replica)",
            {OPS_COUNT, m.BENCH_CAPACITY.name},
            (),
        ),
        ("fleet", "Targets down", {"up"}, ()),
    ],
)
def test_a_panel_requires_what_its_queries_read(
    config: Config, inputs: Inputs, slug: str, title: str, reads: set[str], needs: tuple[str, ...]
) -> None:
    found = requirement(_panel(config, slug, title), inputs)
    assert found.reads == reads
    assert found.needs == needs


def test_explanation_names_the_series_and_who_emits_them(config: Config, inputs: Inputs) -> None:
    inflight = requirement(_panel(config, "server", "Requests in flight"), inputs).explanation
    assert inflight == (
        f"Needs {series(m.REQUESTS_IN_FLIGHT)}, {series(m.REQUESTS_IN_FLIGHT_LIMIT)} (Lookout instrumentation); "
        "not emitted by OpenTelemetry-convention servers"
    )
    probe = requirement(_panel(config, "probes", "Probe success"), inputs).explanation
    assert probe.startswith(f"Needs {m.PROBE_SUCCESS.name} (the Lookout prober")
    assert requirement(_panel(config, "server", "Requests by method"), inputs).explanation == ""


def test_no_value_is_set_exactly_on_panels_the_convention_cannot_fill(config: Config, inputs: Inputs) -> None:
    explained, plain = 0, 0
    for model in grafana.dashboards(config).values():
        for raw in model["panels"]:
            if raw["type"] == "row":
                continue
            no_value = raw["fieldConfig"]["defaults"].get("noValue")
            exprs = [t["expr"] for t in raw["targets"] if raw["datasource"]["type"] == "prometheus"]
            reads = frozenset().union(*(inputs.reads(e) for e in exprs))
            if not any(m.is_extension(name) for name in reads):
                assert no_value is None, raw["title"]
            if no_value is None:
                assert any(inputs.has_data(e) for e in exprs) or not exprs, raw["title"]
                plain += 1
                continue
            assert not any(inputs.has_data(e) for e in exprs), raw["title"]
            assert no_value in raw["description"], raw["title"]
            assert all(m.is_extension(name) and name in reads for name in no_value[6:].split(" (")[0].split(", "))
            explained += 1
    assert explained and plain


def test_or_and_unless_and_scalars_decide_what_has_data() -> None:
    inputs = Inputs({"rule:fallback": ["primed or convention", "vector(1)"], "rule:both": ["primed / convention"]})
    only_convention = {"convention"}.__contains__
    assert inputs.has_data("primed or convention", only_convention)
    assert not inputs.has_data("primed and convention", only_convention)
    assert not inputs.has_data("primed unless convention", only_convention)
    assert inputs.has_data("convention unless primed", only_convention)
    assert not inputs.has_data("primed / convention", only_convention)
    assert inputs.has_data("convention / 2", only_convention) and not inputs.has_data("2 * primed", only_convention)
    assert inputs.has_data("count(primed) or vector(0)", only_convention)
    assert inputs.has_data("absent(primed)", only_convention)
    assert inputs.has_data("min(rate(convention[$__rate_interval])) - time()", only_convention)
    assert inputs.has_data("rule:fallback", lambda name: False)
    assert not inputs.has_data("sum(rule:both)", only_convention)
    assert inputs.reads("sum(rule:both) or up") == {"primed", "convention", "up"}
