"""The direct renderer writes what prometheus_client writes for the same registry, in both formats."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from lookout import metrics as m
from lookout import registry_exposition
from lookout.instrument.recorder import RequestRecorder

TEXT_ACCEPT = "text/plain;version=0.0.4"
PROMETHEUS_ACCEPT = (  # what Prometheus 2.x sends
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
UTF8_ACCEPT = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;q=0.4"
ACCEPTS = ("", TEXT_ACCEPT, PROMETHEUS_ACCEPT, UTF8_ACCEPT)

label_value = st.text(max_size=12)
observation = st.tuples(
    st.sampled_from(["tools/call", "prompts/get", "initialize"]),
    label_value,  # tool
    label_value,  # prompt
    st.sampled_from(["", m.TOOL_ERROR, "-32602", "ZeroDivisionError"]),
    st.sampled_from(["2025-11-25", ""]),
    st.sampled_from(["tcp", "pipe"]),
    st.floats(min_value=0, max_value=1e7, allow_nan=False),
    # Trace ids are hex; prometheus_client's OpenMetrics parser cannot read escapes in exemplar labels.
    st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=32),
)


def recorded(observations: list[tuple[str, str, str, str, str, str, float, str | None]]) -> CollectorRegistry:
    registry = CollectorRegistry()
    before = Counter("before_recorder", "A prometheus_client counter registered first.", ["k"], registry=registry)
    before.labels('a"b').inc(2)
    recorder = RequestRecorder(registry, max_in_flight=4)
    for method, tool, prompt, error, version, network, seconds, trace_id in observations:
        recorder.observe_operation(method, tool, prompt, error, version, network, seconds, trace_id)
        recorder.begin(method)
        recorder.message("stdio", "in", 1)
        recorder.message(tool, "out", 2)
    recorder.session_closed("tcp", "2025-11-25", recorder.session_opened("tcp"))
    Gauge("after_recorder", 'Registered last; help with "quotes" and \\ backslash.', registry=registry).set(1.5)
    Histogram("plain_histogram", "prometheus_client's own histogram.", registry=registry).observe(0.3)
    return registry


def assert_same_as_prometheus_client(registry: CollectorRegistry, accept: str) -> None:
    encoder, content_type = choose_encoder(accept)
    body, rendered_type = registry_exposition.render(registry, accept)
    expected = encoder(registry)
    assert rendered_type == content_type
    assert body == expected
    parse = parse_openmetrics if "openmetrics" in content_type else parse_text
    assert list(parse(body.decode())) == list(parse(expected.decode()))


@settings(max_examples=40, deadline=None)
@given(st.lists(observation, max_size=12))
def test_same_bytes_and_same_parsed_families_as_prometheus_client(
    observations: list[tuple[str, str, str, str, str, str, float, str | None]],
) -> None:
    registry = recorded(observations)
    for accept in ACCEPTS:
        assert_same_as_prometheus_client(registry, accept)


def test_exemplars_reach_openmetrics_only() -> None:
    registry = recorded([("tools/call", "t", "", "", "2025-11-25", "tcp", 0.004, "4bf92f3577b34da6")])
    openmetrics, _ = registry_exposition.render(registry, PROMETHEUS_ACCEPT)
    text, _ = registry_exposition.render(registry, TEXT_ACCEPT)
    families = {f.name: f for f in parse_openmetrics(openmetrics.decode())}
    exemplars = [s.exemplar for s in families[m.OPERATION_DURATION.name].samples if s.exemplar]
    assert [(e.labels, e.value) for e in exemplars] == [({"trace_id": "4bf92f3577b34da6"}, 0.004)]
    assert b"trace_id" not in text


def test_process_platform_and_gc_collectors_are_joined_with_one_eof() -> None:
    registry = recorded([("tools/call", "t", "", "", "2025-11-25", "tcp", 0.1, "ab")])
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    body, _ = registry_exposition.render(registry, PROMETHEUS_ACCEPT)
    text = body.decode()
    assert text.count("# EOF") == 1 and text.endswith("# EOF\n")
    names = {f.name for f in parse_openmetrics(text)}
    assert {m.OPERATION_DURATION.name, "python_info", "python_gc_objects_collected"} <= names


def test_formats_it_does_not_reproduce_fall_back_to_prometheus_client() -> None:
    registry = recorded([("tools/call", "t", "", "", "2025-11-25", "tcp", 0.1, None)])
    for accept in ("text/plain;version=1.0.0;escaping=dots", "application/openmetrics-text;version=0.0.1"):
        assert_same_as_prometheus_client(registry, accept)
    with_target_info = CollectorRegistry(target_info={"service": "x"})
    RequestRecorder(with_target_info).observe_operation("ping", "", "", "", "", "tcp", 0.1)
    for accept in ACCEPTS:
        assert_same_as_prometheus_client(with_target_info, accept)


def test_pins_the_registry_internals_it_reads() -> None:
    """``_plain_collectors`` reads prometheus_client's private registration dict: registration order, and
    unregistered collectors gone."""
    registry = CollectorRegistry()
    recorder = RequestRecorder(registry)
    extra = Counter("extra", "An extra counter.", registry=registry)
    collectors = registry_exposition._plain_collectors(registry)
    assert collectors is not None
    assert collectors[0] is recorder.operation and collectors[-1] is extra
    registry.unregister(extra)
    assert extra not in (registry_exposition._plain_collectors(registry) or [])
    direct: list[Collector] = [c for c in collectors if isinstance(c, registry_exposition.DirectRendered)]
    assert recorder.operation in direct and recorder.in_flight in direct and recorder.errors in direct
