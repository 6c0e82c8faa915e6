"""What `lookout bench --pushgateway` pushes: the BENCH_* families of the metric contract, nothing else."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lookout import metrics
from lookout.bench.capacity import Capacity
from lookout.bench.export import capacity_registry, results_registry
from tests.unit.bench_fakes import synthetic


def test_results_use_the_contract_names_and_labels() -> None:
    result = synthetic(1, target="demo")
    text = generate_latest(results_registry(result)).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {metrics.BENCH_THROUGHPUT.name, metrics.BENCH_LATENCY.name, metrics.BENCH_ERROR_RATIO.name}
    for spec in (metrics.BENCH_THROUGHPUT, metrics.BENCH_LATENCY, metrics.BENCH_ERROR_RATIO):
        for sample in families[spec.name].samples:
            assert tuple(sorted(sample.labels)) == tuple(sorted(spec.labels))
            assert (sample.labels["target"], sample.labels["scenario"]) == ("demo", "default")
    latency = {s.labels["quantile"]: s.value for s in families[metrics.BENCH_LATENCY.name].samples}
    summary = result.overall.response_time
    assert latency == {
        "0.5": summary.p50,
        "0.9": summary.p90,
        "0.99": summary.p99,
        "0.999": summary.p999,
        "1": summary.max,
    }
    assert families[metrics.BENCH_THROUGHPUT.name].samples[0].value == result.overall.throughput_rps


def test_capacity_is_one_series_per_target() -> None:
    registry = capacity_registry(Capacity("demo", 812.5, 7, "2026-01-01T00:00:00+00:00", "default"))
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    assert [(f.name, [(s.labels, s.value) for s in f.samples]) for f in families] == [
        (metrics.BENCH_CAPACITY.name, [({"target": "demo"}, 812.5)])
    ]
