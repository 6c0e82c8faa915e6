"""Adaptive head sampling: keep about ``target_per_second`` traces per second whatever the load.

The sampler counts root decisions (spans without a parent) in a sliding window of ``window`` seconds
split into ``buckets`` buckets, and samples each new
root with probability ``target / observed_rate`` (clamped to ``[min_ratio, 1]``). After a load step
the observed rate catches up within one window, so the kept rate converges to the target within one
window (``tests/unit/test_sampler.py`` proves it for 50 -> 2,000 requests/s).

The window's rate lags traffic that comes in bursts: a burst after a quiet spell is sampled at the quiet
spell's ratio. A token bucket caps what the ratio keeps (``burst`` roots at once, refilled at the target
rate), so a burst keeps at most ``burst`` traces plus the target rate over its length, and the budget holds
for any traffic; under steady load the ratio alone keeps about the target and the bucket seldom runs dry.

A parent that is sampled is always honoured (the trace is kept whatever the budget); a parent that
decided not to sample is honoured too (no orphan spans).

Error and slow requests are kept beyond the budget (see :mod:`lookout.instrument.tracing`): by default
by reconstruction - an unsampled span stays a cheap non-recording span and the middleware records the
span of a request that ended in error or ran slow after the fact (a span carrying ``lookout.kept`` is
always sampled, outside the budget), so only those requests pay; optionally (``record_unsampled``) by
recording every unsampled span (``RECORD_ONLY``) so that ``KeepErrorsAndSlow`` can export the full span
with its events, which costs a recorded span on every request.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.util.types import Attributes

from lookout import metrics as m
from lookout.instrument.current_span import INVALID_SPAN, current_span
from lookout.instrument.spans import DEFAULT_TARGET_PER_SECOND, KEEP_ATTRIBUTE, ROOT_SAMPLED

_DROPPED = SamplingResult(Decision.DROP)  # shared: a dropped root's span is non-recording, its attributes unused


def _sampled_root(attributes: Attributes) -> SamplingResult:
    """A root sampled within the budget, marked so that the collector's tail sampling keeps its trace."""
    return SamplingResult(
        Decision.RECORD_AND_SAMPLE, {**(attributes or {}), m.HEAD_SAMPLED_ATTRIBUTE: m.HEAD_SAMPLED_BY}
    )


class AdaptiveSampler(Sampler):
    def __init__(
        self,
        target_per_second: float = DEFAULT_TARGET_PER_SECOND,
        *,
        window: float = 10.0,
        buckets: int = 10,
        min_ratio: float = 1e-4,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] | None = None,
        record_unsampled: bool = False,
        burst: float | None = None,
    ) -> None:
        if target_per_second <= 0:
            raise ValueError("target_per_second must be positive")
        self.target = target_per_second
        self.burst = max(1.0, target_per_second if burst is None else burst)
        """Roots the ratio may keep at once; the bucket refills at ``target`` per second."""
        self.window = window
        self.bucket_width = window / buckets
        self._counts = [0] * buckets
        self._total = 0
        self.min_ratio = min_ratio
        self._clock = clock
        self._rng = rng or random.Random().random
        self._record_unsampled = record_unsampled
        self._lock = threading.Lock()
        self._started = clock()
        self._slot = int(self._started / self.bucket_width)
        self.ratio = 1.0
        self._tokens = self.burst
        self._refilled = self._started

    # ------------------------------------------------------------------ rate estimate
    def _observe(self, now: float) -> float:
        """Count one root at ``now``; return the observed roots/s over the window (this one included).

        A ring of ``buckets`` counters plus their running total: advancing into a new bucket zeroes
        the buckets that fell out of the window, so a decision costs O(1) (amortised)."""
        slot = int(now / self.bucket_width)
        n = len(self._counts)
        if slot != self._slot:
            if slot - self._slot >= n:  # idle for a whole window: start over
                self._counts = [0] * n
                self._total = 0
            else:
                for s in range(self._slot + 1, slot + 1):
                    i = s % n
                    self._total -= self._counts[i]
                    self._counts[i] = 0
            self._slot = slot
        self._counts[slot % n] += 1
        self._total += 1
        # While the sampler is younger than the window, divide by its age (at least one bucket).
        span = min(self.window, max(self.bucket_width, now - self._started))
        return self._total / span

    def current_ratio(self) -> float:
        return self.ratio

    # ------------------------------------------------------------------ Sampler API
    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: object = None,
    ) -> SamplingResult:
        if attributes and attributes.get(KEEP_ATTRIBUTE):  # a kept error/slow request: outside the budget
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        # Most requests are roots: outside any span the current span is INVALID_SPAN itself (one lookup).
        parent_span = current_span() if parent_context is None else get_current_span(parent_context)
        if parent_span is not INVALID_SPAN:
            parent = parent_span.get_span_context()
            if parent.is_valid:
                # A child follows its parent, local or remote: a sampled parent is always honoured.
                if parent.trace_flags.sampled:
                    return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
                return SamplingResult(self._unsampled(), attributes, parent.trace_state)
        granted = ROOT_SAMPLED.get()
        if granted:  # this root was decided (and counted) by sample_root before its span started
            granted.clear()
            return _sampled_root(attributes)
        if self.sample_root():
            return _sampled_root(attributes)
        if self._record_unsampled:
            return SamplingResult(Decision.RECORD_ONLY, attributes)
        return _DROPPED  # most roots: the SDK reads nothing but the decision from it

    def sample_root(self) -> bool:
        """One root decision, counted in the budget: whether to sample it (the ratio's draw, if a token is left)."""
        with self._lock:
            now = self._clock()  # read inside the lock: slots never go backwards
            rate = self._observe(now)
            ratio = self.target / rate
            self.ratio = ratio = 1.0 if ratio >= 1.0 else self.min_ratio if ratio < self.min_ratio else ratio
            if self._rng() >= ratio:
                return False
            tokens = self._tokens + (now - self._refilled) * self.target
            self._refilled = now
            if tokens < 1.0:
                self._tokens = tokens
                return False
            self._tokens = (tokens if tokens < self.burst else self.burst) - 1.0
            return True

    @property
    def records_unsampled(self) -> bool:
        """Whether a root it drops is still recorded (``RECORD_ONLY``, ``keep_mode="record"``): such a root must
        go through the framework's span, which :class:`KeepErrorsAndSlow` reads when it ends."""
        return self._record_unsampled

    def _unsampled(self) -> Decision:
        return Decision.RECORD_ONLY if self._record_unsampled else Decision.DROP

    def get_description(self) -> str:
        return f"AdaptiveSampler{{target={self.target}/s,window={self.window}s,burst={self.burst:g}}}"
