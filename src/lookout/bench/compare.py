"""Regression test between runs: Mann-Whitney U on the latency distributions (from the stored HDR
histograms) and on the per-second throughput, plus a minimum relative change, so that neither noise
(a significant but tiny shift) nor a single outlier run (a big but insignificant one) fails a CI gate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lookout.bench.gate import DEFAULT_ALPHA, DEFAULT_THRESHOLD
from lookout.bench.histogram import LatencyHistogram
from lookout.bench.results import RunResult

LATENCY_PERCENTILES = (50.0, 90.0, 99.0)
ERROR_RATIO_RISE = 0.001
"""A rise of the error ratio by more than 0.1 percentage point fails, whatever the threshold: the error
budget of the 99.9 % policy is that small."""


@dataclass(frozen=True)
class Check:
    name: str
    baseline: float
    candidate: float
    change: float
    """Relative change, positive when the candidate is worse (slower, or fewer requests per second)."""
    p_value: float | None
    """One-sided Mann-Whitney U p-value that the candidate is worse; None when there are too few samples."""
    regression: bool
    unit: str


@dataclass(frozen=True)
class Comparison:
    checks: tuple[Check, ...]
    threshold: float
    alpha: float
    baseline_runs: int

    @property
    def regression(self) -> bool:
        return any(check.regression for check in self.checks)


def _samples(histogram: LatencyHistogram) -> NDArray[np.float64]:
    values, counts = zip(*histogram.buckets(), strict=True) if histogram.count else ((), ())
    return np.repeat(np.asarray(values, dtype=np.float64), np.asarray(counts, dtype=np.int64))


def _worse_p(baseline: NDArray[np.float64], candidate: NDArray[np.float64], alternative: str) -> float | None:
    if len(baseline) < 2 or len(candidate) < 2:
        return None
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]  # lazy: only compare pays for scipy

    return float(mannwhitneyu(baseline, candidate, alternative=alternative).pvalue)


def _relative(baseline: float, candidate: float) -> float:
    if baseline == 0:
        return 0.0 if candidate == 0 else float("inf")
    return (candidate - baseline) / baseline


def compare_runs(
    baseline: list[RunResult], candidate: RunResult, threshold: float = DEFAULT_THRESHOLD, alpha: float = DEFAULT_ALPHA
) -> Comparison:
    """Is ``candidate`` worse than the pooled ``baseline`` runs by more than ``threshold`` (relative) at ``alpha``?"""
    if not baseline:
        raise ValueError("compare_runs needs at least one baseline run")
    pooled = LatencyHistogram()
    for run in baseline:
        pooled.add(LatencyHistogram.decode(run.overall.response_histogram))
    latest = LatencyHistogram.decode(candidate.overall.response_histogram)
    # "less": the baseline's latencies are stochastically smaller, i.e. the candidate is slower.
    latency_p = _worse_p(_samples(pooled), _samples(latest), "less")
    checks: list[Check] = []
    for percent in LATENCY_PERCENTILES:
        before, after = pooled.percentile(percent), latest.percentile(percent)
        change = _relative(before, after)
        significant = latency_p is not None and latency_p < alpha
        name = f"latency p{percent:g}"
        checks.append(Check(name, before, after, change, latency_p, significant and change > threshold, "s"))

    before_rates = np.asarray([r for run in baseline for r in run.per_second], dtype=np.float64)
    after_rates = np.asarray(candidate.per_second, dtype=np.float64)
    before_tp = sum(run.overall.throughput_rps for run in baseline) / len(baseline)
    after_tp = candidate.overall.throughput_rps
    drop = -_relative(before_tp, after_tp)
    throughput_p = _worse_p(before_rates, after_rates, "greater")
    significant = throughput_p is not None and throughput_p < alpha
    checks.append(Check("throughput", before_tp, after_tp, drop, throughput_p, significant and drop > threshold, "/s"))

    before_errors = sum(run.failed for run in baseline) / max(sum(run.overall.requests for run in baseline), 1)
    after_errors = candidate.overall.error_ratio
    error_rise = after_errors - before_errors
    regressed = error_rise > ERROR_RATIO_RISE
    checks.append(Check("error ratio", before_errors, after_errors, error_rise, None, regressed, ""))
    return Comparison(tuple(checks), threshold, alpha, len(baseline))
