"""The adaptive sampler: converges to the target rate after a load step (simulated clock)."""

from __future__ import annotations

import random

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from lookout.instrument.sampler import AdaptiveSampler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_load(sampler: AdaptiveSampler, clock: Clock, rate: int, seconds: int) -> list[int]:
    """Offer ``rate`` evenly spaced root spans per second; return the kept count of each second."""
    kept_per_second = []
    for _ in range(seconds):
        kept = 0
        for i in range(rate):
            clock.now += 1.0 / rate
            result = sampler.should_sample(None, random.getrandbits(128), "tools/call echo")
            kept += result.decision is Decision.RECORD_AND_SAMPLE
            assert result.decision in (Decision.RECORD_AND_SAMPLE, Decision.DROP), i
        kept_per_second.append(kept)
    return kept_per_second


def test_kept_rate_converges_to_the_target_within_one_window_after_a_load_step() -> None:
    clock = Clock()
    target, window = 10.0, 10.0
    sampler = AdaptiveSampler(target, window=window, buckets=10, clock=clock, rng=random.Random(42).random)
    steady = run_load(sampler, clock, rate=50, seconds=30)
    assert 9.0 <= sum(steady[-10:]) / 10 <= 11.0  # 50/s: keeps ~10/s
    after_step = run_load(sampler, clock, rate=2000, seconds=30)
    # The stated window: from one window (+ one bucket) after the step on, the kept rate is on target.
    settled = after_step[int(window) + 1 :]
    mean = sum(settled) / len(settled)
    assert 9.0 <= mean <= 11.0, after_step
    assert all(3 <= k <= 20 for k in settled), settled  # no second far off (seeded, deterministic)
    assert abs(sampler.current_ratio() - target / 2000) < 0.002
    # While the window still holds the old rate its ratio would keep 400/s; the token bucket holds the
    # transition to the target plus one burst.
    assert max(after_step) <= target + sampler.burst
    assert after_step[0] >= target  # the budget is used, not starved


def test_bursts_after_quiet_spells_keep_the_budget() -> None:
    """Traffic that comes in bursts: 0.5 s at 1,100 roots/s, then quiet. The window's rate still holds the
    quiet spell at each burst's start, so its ratio alone would keep ~70 traces per burst (a quiet spell of
    5.5 s) or all of the burst's first ones (a spell longer than the window); the bucket keeps at most one
    burst plus the target rate over the burst's length, and every burst keeps traces."""
    target = 10.0
    for quiet in (5.5, 11.5):
        clock = Clock()
        sampler = AdaptiveSampler(target, clock=clock, rng=random.Random(7).random)
        per_burst = []
        for _burst in range(30):
            kept = 0
            for _root in range(550):
                clock.now += 1 / 1100
                kept += sampler.sample_root()
            per_burst.append(kept)
            clock.now += quiet
        assert max(per_burst) <= sampler.burst + target * 0.5, (quiet, per_burst)
        assert min(per_burst) >= target * 0.5, (quiet, per_burst)


def test_below_the_target_everything_is_kept() -> None:
    clock = Clock()
    sampler = AdaptiveSampler(10, clock=clock, rng=random.Random(1).random)
    assert run_load(sampler, clock, rate=5, seconds=20) == [5] * 20


def test_a_sampled_parent_is_always_honoured_and_an_unsampled_one_is_recorded_only() -> None:
    clock = Clock()
    sampler = AdaptiveSampler(1, clock=clock, rng=lambda: 0.999999, record_unsampled=True)  # drops roots
    sampled = SpanContext(trace_id=1, span_id=2, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    unsampled = SpanContext(trace_id=1, span_id=2, is_remote=True, trace_flags=TraceFlags(0))
    for _ in range(1000):
        clock.now += 0.001
        ctx = trace.set_span_in_context(NonRecordingSpan(sampled))
        assert sampler.should_sample(ctx, 1, "x").decision is Decision.RECORD_AND_SAMPLE
    ctx = trace.set_span_in_context(NonRecordingSpan(unsampled))
    assert sampler.should_sample(ctx, 1, "x").decision is Decision.RECORD_ONLY
    # Spans with parents did not use up the budget: the first root is kept although rng says drop.
    assert sampler.should_sample(None, 5, "root").decision is Decision.RECORD_AND_SAMPLE
    assert sampler.current_ratio() == 1.0


def test_unsampled_spans_are_dropped_by_default_and_kept_spans_bypass_the_budget() -> None:
    clock = Clock()
    sampler = AdaptiveSampler(1, clock=clock, rng=lambda: 0.999999)
    sampler.should_sample(None, 1, "first")
    assert sampler.should_sample(None, 2, "second").decision is Decision.DROP
    for _ in range(100):
        clock.now += 0.001
        kept = sampler.should_sample(None, 3, "tools/call x", attributes={"lookout.kept": "error"})
        assert kept.decision is Decision.RECORD_AND_SAMPLE
    unsampled_parent = SpanContext(trace_id=1, span_id=2, is_remote=True, trace_flags=TraceFlags(0))
    ctx = trace.set_span_in_context(NonRecordingSpan(unsampled_parent))
    assert (
        sampler.should_sample(ctx, 1, "x", attributes={"lookout.kept": "slow"}).decision is Decision.RECORD_AND_SAMPLE
    )


def test_a_root_decided_before_its_span_is_taken_once_and_counted_once() -> None:
    """The middleware that decides a new trace before the framework's span (sample_root) hands the decision to
    the sampler through ROOT_SAMPLED: the span's own decision is that one, not a second draw against the
    budget, and only the first root decision in the context takes it."""
    from lookout.instrument.spans import ROOT_SAMPLED

    sampler = AdaptiveSampler(1, clock=Clock(), rng=lambda: 0.999999)  # draws never sample after the first
    sampler.should_sample(None, 1, "first")
    assert sampler.sample_root() is False and sampler._total == 2
    token = ROOT_SAMPLED.set([True])
    try:
        assert sampler.should_sample(None, 3, "granted").decision is Decision.RECORD_AND_SAMPLE
        assert sampler._total == 2  # the grant was counted when sample_root decided it
        assert sampler.should_sample(None, 4, "a second root").decision is Decision.DROP
        assert sampler._total == 3
    finally:
        ROOT_SAMPLED.reset(token)
