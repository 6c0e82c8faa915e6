"""Percentiles from the HDR histogram against exact order statistics of known distributions."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.bench.histogram import LatencyHistogram

PERCENTS = (50.0, 90.0, 99.0, 99.9, 100.0)


def exact(values: list[float], percent: float) -> float:
    """The order statistic HdrHistogram reports: the value at rank round(p * n), at least rank 1."""
    ordered = sorted(round(v * 1e6) / 1e6 for v in values)
    rank = max(int(percent * len(ordered) / 100 + 0.5), 1)
    return ordered[rank - 1]


def filled(values: list[float]) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for v in values:
        histogram.record(v)
    return histogram


@pytest.mark.parametrize(
    "distribution",
    [
        pytest.param(lambda r: r.uniform(0.001, 0.1), id="uniform 1-100 ms"),
        pytest.param(lambda r: r.expovariate(1 / 0.005), id="exponential mean 5 ms"),
        pytest.param(lambda r: r.lognormvariate(-4.0, 1.2), id="lognormal heavy tail"),
        pytest.param(lambda r: 0.002 if r.random() < 0.95 else 0.5, id="bimodal 2 ms / 500 ms"),
    ],
)
def test_percentiles_match_the_distribution_within_three_significant_digits(
    distribution: Callable[[random.Random], float],
) -> None:
    rng = random.Random(7)
    values = [max(distribution(rng), 1e-6) for _ in range(50_000)]
    histogram = filled(values)
    assert histogram.count == 50_000
    for percent in PERCENTS:
        assert histogram.percentile(percent) == pytest.approx(exact(values, percent), rel=1e-3, abs=1e-6)
    assert histogram.max == pytest.approx(max(values), rel=1e-3)
    assert histogram.min == pytest.approx(min(values), rel=1e-3, abs=1e-6)
    assert histogram.mean == pytest.approx(sum(values) / len(values), rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-6, max_value=3000.0), min_size=1, max_size=300))
def test_percentiles_of_any_sample(values: list[float]) -> None:
    histogram = filled(values)
    for percent in PERCENTS:
        assert histogram.percentile(percent) == pytest.approx(exact(values, percent), rel=1e-3, abs=1e-6)


def test_bimodal_tail_is_not_averaged_away() -> None:
    histogram = filled([0.001] * 990 + [1.0] * 10)
    assert histogram.percentile(99.0) == pytest.approx(0.001, rel=1e-3)
    assert histogram.percentile(99.9) == pytest.approx(1.0, rel=1e-3)


def test_encode_decode_and_merge_keep_every_count() -> None:
    a, b = filled([0.001 * i for i in range(1, 501)]), filled([0.002 * i for i in range(1, 501)])
    copy = LatencyHistogram.decode(a.encode())
    assert copy.count == 500 and copy.percentile(99) == a.percentile(99)
    a.add(b)
    assert a.count == 1000
    assert a.max == pytest.approx(1.0, rel=1e-3)
    assert sum(count for _, count in a.buckets()) == 1000


def test_empty_and_out_of_range_values() -> None:
    empty = LatencyHistogram()
    assert (empty.count, empty.percentile(99), empty.max, empty.encode()) == (0, 0.0, 0.0, "")
    assert LatencyHistogram.decode("").count == 0
    clamped = filled([0.0, 7200.0])
    assert clamped.count == 2  # never dropped...
    assert clamped.min == pytest.approx(1e-6) and clamped.max == pytest.approx(3600.0, rel=1e-3)  # ...but clamped
