"""Regression test between runs: for each latency percentile a test of that percentile (from the stored HDR
histograms), Mann-Whitney U on the per-second throughput, plus a minimum relative change and, for latency, a
minimum absolute one, so that neither noise (a significant but tiny shift, sub-millisecond jitter in a tail)
nor a single outlier run (a big but insignificant one) fails a CI gate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lookout.bench.gate import DEFAULT_ALPHA, DEFAULT_MIN_LATENCY_CHANGE_S, DEFAULT_THRESHOLD
from lookout.bench.histogram import LatencyHistogram
from lookout.bench.results import RunResult

LATENCY_PERCENTILES = (50.0, 90.0, 99.0)
ERROR_RATIO = "error ratio"
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
    """One-sided p-value that the candidate is worse (for a latency percentile, of that percentile); None when
    there are too few samples."""
    regression: bool
    unit: str
    insufficient: bool = False
    """Too few samples for the test to reach alpha whatever they were: the check cannot tell, it did not pass."""


@dataclass(frozen=True)
class Comparison:
    checks: tuple[Check, ...]
    threshold: float
    alpha: float
    baseline_runs: int
    min_latency_change_s: float = DEFAULT_MIN_LATENCY_CHANGE_S

    @property
    def regression(self) -> bool:
        return any(check.regression for check in self.checks)

    @property
    def insufficient(self) -> tuple[str, ...]:
        """The checks that had too few samples to reach alpha."""
        return tuple(check.name for check in self.checks if check.insufficient)

    @property
    def judged_nothing(self) -> bool:
        """No statistical check could reach alpha: nothing was measured well enough to pass or fail."""
        return all(check.insufficient for check in self.checks if check.name != ERROR_RATIO)


def _samples(histogram: LatencyHistogram) -> NDArray[np.float64]:
    values, counts = zip(*histogram.buckets(), strict=True) if histogram.count else ((), ())
    return np.repeat(np.asarray(values, dtype=np.float64), np.asarray(counts, dtype=np.int64))


def _worse_p(baseline: NDArray[np.float64], candidate: NDArray[np.float64]) -> tuple[float, float] | None:
    """One-sided Mann-Whitney U p-value that the baseline's values are greater, and that of the most extreme
    samples of the same sizes (the smallest the test can give them); None with fewer than two on a side."""
    if len(baseline) < 2 or len(candidate) < 2:
        return None
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]  # lazy: only compare pays for scipy

    p = float(mannwhitneyu(baseline, candidate, alternative="greater").pvalue)
    above = np.arange(len(baseline), dtype=np.float64) + len(candidate)
    below = np.arange(len(candidate), dtype=np.float64)
    return p, float(mannwhitneyu(above, below, alternative="greater").pvalue)


def _percentile_worse_p(
    baseline: NDArray[np.float64], candidate: NDArray[np.float64], percent: float
) -> tuple[float, float] | None:
    """One-sided test that the candidate's ``percent`` percentile is higher: Mood's median test taken to any
    percentile. Cut both samples at the pooled percentile and ask (Fisher's exact test) whether more of the
    candidate's requests lie above the cut than chance allows. A whole-distribution test would call a p99
    worse because the p50 moved by 1 %. Also the p-value had every request above the cut been the
    candidate's: the smallest these sample sizes allow."""
    if len(baseline) < 2 or len(candidate) < 2:
        return None
    from scipy.stats import fisher_exact

    cut = float(np.percentile(np.concatenate([baseline, candidate]), percent))
    candidate_above, baseline_above = int((candidate > cut).sum()), int((baseline > cut).sum())
    table = [[candidate_above, len(candidate) - candidate_above], [baseline_above, len(baseline) - baseline_above]]
    most = min(candidate_above + baseline_above, len(candidate))
    rest = candidate_above + baseline_above - most
    extreme = [[most, len(candidate) - most], [rest, len(baseline) - rest]]
    return (
        float(fisher_exact(table, alternative="greater").pvalue),
        float(fisher_exact(extreme, alternative="greater").pvalue),
    )


def _relative(baseline: float, candidate: float) -> float:
    if baseline == 0:
        return 0.0 if candidate == 0 else float("inf")
    return (candidate - baseline) / baseline


def compare_runs(
    baseline: list[RunResult],
    candidate: RunResult,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    min_latency_change_s: float = DEFAULT_MIN_LATENCY_CHANGE_S,
) -> Comparison:
    """Is ``candidate`` worse than the pooled ``baseline`` runs by more than ``threshold`` (relative) at ``alpha``,
    and for a latency percentile by at least ``min_latency_change_s``?"""
    if not baseline:
        raise ValueError("compare_runs needs at least one baseline run")
    pooled = LatencyHistogram()
    for run in baseline:
        pooled.add(LatencyHistogram.decode(run.overall.response_histogram))
    latest = LatencyHistogram.decode(candidate.overall.response_histogram)
    before_samples, after_samples = _samples(pooled), _samples(latest)
    checks: list[Check] = []
    for percent in LATENCY_PERCENTILES:
        before, after = pooled.percentile(percent), latest.percentile(percent)
        change = _relative(before, after)
        latency_p, latency_floor = _percentile_worse_p(before_samples, after_samples, percent) or (None, 1.0)
        significant = latency_p is not None and latency_p < alpha
        large = change > threshold and after - before >= min_latency_change_s
        regressed = significant and large
        name = f"latency p{percent:g}"
        checks.append(Check(name, before, after, change, latency_p, regressed, "s", latency_floor >= alpha))

    before_rates = np.asarray([r for run in baseline for r in run.per_second], dtype=np.float64)
    after_rates = np.asarray(candidate.per_second, dtype=np.float64)
    before_tp = sum(run.overall.throughput_rps for run in baseline) / len(baseline)
    after_tp = candidate.overall.throughput_rps
    drop = -_relative(before_tp, after_tp)
    throughput_p, throughput_floor = _worse_p(before_rates, after_rates) or (None, 1.0)
    significant = throughput_p is not None and throughput_p < alpha
    regressed = significant and drop > threshold
    checks.append(
        Check("throughput", before_tp, after_tp, drop, throughput_p, regressed, "/s", throughput_floor >= alpha)
    )

    before_errors = sum(run.failed for run in baseline) / max(sum(run.overall.requests for run in baseline), 1)
    after_errors = candidate.overall.error_ratio
    error_rise = after_errors - before_errors
    checks.append(Check(ERROR_RATIO, before_errors, after_errors, error_rise, None, error_rise > ERROR_RATIO_RISE, ""))
    return Comparison(tuple(checks), threshold, alpha, len(baseline), min_latency_change_s)
