"""Loki, Alloy and OpenTelemetry Collector configs. None of these binaries exists here, so the checks are
structural: the settings that carry the behaviour (retention, parsing, sampling) and the references
between components; Alloy gets a syntax sanity check (balanced blocks, attributes, component references)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.config.loader import parse_config
from lookout.config.model import Config, duration_seconds
from lookout.stack import DeployTarget, render_stack
from lookout.stack.compose import compose_config
from lookout.stack.loki import ALLOY_FILE, LOKI_FILE, LOKI_PUSH_URL
from lookout.stack.otelcol import JAEGER_OTLP, OTELCOL_FILE

CONFIG = """
version: 1
tenants:
  - name: acme
    targets: [{name: search, url: "http://127.0.0.1:8000/mcp"}]
  - name: globex
    targets: [{name: weather, url: "http://127.0.0.1:8001/mcp"}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
  slo: {latency_p99_threshold: 0.25}
retention: {logs: 14d}
"""
_BLOCK = re.compile(r'^(?P<name>[a-z_][a-z0-9_.]*)(?: "(?P<label>[A-Za-z0-9_-]+)")? \{$')
_ATTRIBUTE = re.compile(r"^[a-z_][a-z0-9_]* += .+$")
_REFERENCE = re.compile(r"\b((?:[a-z_]+\.)+[a-z_]+)\.([A-Za-z0-9_]+)\.(receiver|targets|output)\b")


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def files(config: Config) -> dict[str, str]:
    return render_stack(config, DeployTarget.NATIVE)


def _yaml(text: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(text)
    return data


def alloy_problems(text: str) -> list[str]:
    """Syntax sanity of an Alloy file: blocks balance, lines are blocks/attributes/comments, references resolve."""
    problems, depth, components = [], 0, set()
    in_list = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        if in_list:
            in_list += line.count("[") - line.count("]")
            continue
        if line == "}":
            depth -= 1
            if depth < 0:
                problems.append(f"line {number}: unbalanced }}")
        elif block := _BLOCK.match(line):
            if depth == 0:
                if not block["label"]:
                    problems.append(f"line {number}: top-level component without a label")
                components.add(f"{block['name']}.{block['label']}")
            depth += 1
        elif _ATTRIBUTE.match(line):
            in_list = line.count("[") - line.count("]")
            if line.count("{") != line.count("}") or line.count('"') % 2:
                problems.append(f"line {number}: unbalanced attribute value")
        else:
            problems.append(f"line {number}: neither a block, an attribute nor a comment: {line!r}")
    if depth:
        problems.append(f"{depth} block(s) not closed")
    for component, label, _ in _REFERENCE.findall(text):
        if f"{component}.{label}" not in components and not component.startswith(("sys.", "env")):
            problems.append(f"reference to undefined component {component}.{label}")
    return problems


def test_loki_keeps_each_tenants_logs_for_the_configured_retention(files: dict[str, str]) -> None:
    loki = _yaml(files[LOKI_FILE])
    limits = loki["limits_config"]
    assert duration_seconds(limits["retention_period"]) == 14 * 86400
    *tenants, audit = limits["retention_stream"]
    assert [s["selector"] for s in tenants] == ['{tenant="acme"}', '{tenant="globex"}']
    assert all(duration_seconds(s["period"]) == 14 * 86400 for s in tenants)
    # The audit trail of tool calls outranks the tenants' streams with its own retention (security.audit).
    assert (audit["selector"], audit["period"]) == ('{stream="audit"}', "400d") and audit["priority"] > 1
    assert loki["compactor"]["retention_enabled"] is True  # retention is ignored without it
    assert loki["compactor"]["delete_request_store"] == "filesystem"
    [schema] = loki["schema_config"]["configs"]
    assert (schema["store"], schema["schema"]) == ("tsdb", "v13")


def test_alloy_parses_lookout_json_and_pushes_to_loki(files: dict[str, str]) -> None:
    alloy = files[ALLOY_FILE]
    assert alloy_problems(alloy) == []
    assert "stage.json" in alloy and 'trace_id = "trace_id"' in alloy
    assert 'values = {level = "", tenant = "", service = ""}' in alloy  # bounded labels only
    assert f'url = "{LOKI_PUSH_URL}"' in alloy
    assert "promtail" not in alloy.lower()


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("}\n", "unbalanced }"),
        ('loki.write "x" {\n', "not closed"),
        ("forward_to = [loki.process.nowhere.receiver]\n", "undefined component loki.process.nowhere"),
        ("this is not alloy\n", "neither a block"),
    ],
)
def test_the_alloy_sanity_check_can_fail(files: dict[str, str], bad: str, problem: str) -> None:
    assert any(problem in p for p in alloy_problems(files[ALLOY_FILE] + bad))


def test_collector_keeps_errors_and_slow_traces_and_exports_to_jaeger(files: dict[str, str]) -> None:
    otel = _yaml(files[OTELCOL_FILE])
    policies = {p["type"]: p for p in otel["processors"]["tail_sampling"]["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert policies["latency"]["latency"]["threshold_ms"] == 250  # alerting.slo.latency_p99_threshold
    assert 0 < policies["probabilistic"]["probabilistic"]["sampling_percentage"] < 100
    pipeline = otel["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(otel[kind]), kind
    assert pipeline["processors"][0] == "memory_limiter" and pipeline["processors"][-1] == "batch"
    assert set(otel["service"]["extensions"]) <= set(otel["extensions"])
    assert otel["exporters"][pipeline["exporters"][0]]["endpoint"] == JAEGER_OTLP


def test_compose_publishes_jaeger_otlp_where_the_collector_sends(config: Config) -> None:
    jaeger = compose_config(config)["services"]["jaeger"]
    assert f"{JAEGER_OTLP}:4317" in jaeger["ports"]


def test_the_collector_keeps_every_trace_lookouts_sampler_kept(files: dict[str, str]) -> None:
    """The adaptive sampler's roots are the exemplars' traces: the collector's baseline share must not drop them
    (an exemplar's link would find no trace). The policy names what the real SDK span carries."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from lookout.instrument.sampler import AdaptiveSampler

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=AdaptiveSampler(10, rng=lambda: 0.0))  # within the budget: sampled
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("tools/call echo", attributes={"mcp.method.name": "tools/call"}):
        tracer.start_span("a child").end()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    policies = {p["name"]: p for p in _yaml(files[OTELCOL_FILE])["processors"]["tail_sampling"]["policies"]}
    wanted = policies["keep-head-sampled"]["string_attribute"]
    root = dict(spans["tools/call echo"].attributes or {})
    assert root[wanted["key"]] in wanted["values"] and root["mcp.method.name"] == "tools/call"
    assert wanted["key"] not in dict(spans["a child"].attributes or {})  # the trace is kept by its root
