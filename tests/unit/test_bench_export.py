"""What `lookout bench --pushgateway` pushes: the BENCH_* families of the metric contract, nothing else; a
malformed Pushgateway URL is refused before the load, an unreachable one costs no printed results."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from lookout import metrics
from lookout.bench import cli as bench_cli
from lookout.bench.capacity import Capacity
from lookout.bench.export import capacity_registry, results_registry
from lookout.cli import app
from tests.unit.bench_fakes import execute_synthetic, synthetic


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


@pytest.mark.parametrize("gateway", ["http://[::1", "http://127.0.0.1:99999", "http://"])
def test_a_malformed_pushgateway_is_refused_before_the_load(tmp_path: Path, gateway: str) -> None:
    for command in (["run"], ["capacity"]):
        # No server listens on port 9 (discard): a load that ran would end with exit 1 instead.
        result = CliRunner().invoke(
            app, ["bench", *command, "http://127.0.0.1:9/mcp", "--pushgateway", gateway, "--data-dir", str(tmp_path)]
        )
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"lookout: --pushgateway {gateway!r}: not a URL"), lines
    assert not (tmp_path / "bench.sqlite").exists()


def test_results_are_printed_before_a_push_that_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_cli, "_execute", execute_synthetic)
    gateway = "http://127.0.0.1:9"  # nothing listens on the discard port
    result = CliRunner().invoke(
        app, ["bench", "http://127.0.0.1:9/mcp", "--pushgateway", gateway, "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1, result.output
    assert "p99" in result.stdout and f"saved as run 1 in {tmp_path}" in result.stdout
    assert result.stderr.startswith(f"lookout: cannot push to the Pushgateway at {gateway}")
