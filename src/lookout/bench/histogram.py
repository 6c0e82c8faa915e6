"""Latency histograms: a thin typed wrapper over HdrHistogram (3 significant digits, 1 µs to 1 h).

HdrHistogram records, merges and encodes; the queries (percentiles, mean, buckets) read its counts array
with numpy, because the pure-Python iterators take most of a second per query on a full histogram."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from numpy.typing import NDArray

_UNITS_PER_SECOND = 1_000_000  # record microseconds: integer values, as HdrHistogram needs
_LOWEST = 1
_HIGHEST = 3600 * _UNITS_PER_SECOND
_SIGNIFICANT_DIGITS = 3


class LatencyHistogram:
    """Records durations in seconds; answers percentiles with a relative error below 0.1 %."""

    def __init__(self) -> None:
        self._hdr = HdrHistogram(_LOWEST, _HIGHEST, _SIGNIFICANT_DIGITS)

    def record(self, seconds: float, count: int = 1) -> None:
        # Clamp: a value outside the range is still a request that happened, never silently dropped.
        value = min(max(round(seconds * _UNITS_PER_SECOND), _LOWEST), _HIGHEST)
        self._hdr.record_value(value, count)

    @property
    def count(self) -> int:
        return int(self._hdr.get_total_count())

    def _counts(self) -> NDArray[np.uint64]:
        return np.ctypeslib.as_array(self._hdr.counts)[: self._hdr.counts_len]

    def percentile(self, percent: float) -> float:
        """The latency in seconds below which ``percent`` (0..100) of the recorded values fall; 0 if empty."""
        return self.percentiles((percent,))[percent]

    def percentiles(self, percents: tuple[float, ...]) -> dict[float, float]:
        """HdrHistogram's definition: the highest value equivalent to the one at rank round(p * n), rank >= 1."""
        total = self.count
        if not total:
            return dict.fromkeys(percents, 0.0)
        cumulative = np.cumsum(self._counts())
        out = {}
        for percent in percents:
            rank = max(int(min(percent, 100.0) * total / 100 + 0.5), 1)
            index = int(np.searchsorted(cumulative, rank))
            value = self._hdr.get_value_from_index(index)
            edge = (
                self._hdr.get_highest_equivalent_value(value)
                if percent
                else self._hdr.get_lowest_equivalent_value(value)
            )
            out[percent] = float(edge) / _UNITS_PER_SECOND
        return out

    @property
    def max(self) -> float:
        return float(self._hdr.get_max_value()) / _UNITS_PER_SECOND if self.count else 0.0

    @property
    def min(self) -> float:
        return float(self._hdr.get_min_value()) / _UNITS_PER_SECOND if self.count else 0.0

    @property
    def mean(self) -> float:
        """Mean of the bucket midpoints, as HdrHistogram computes it."""
        if not self.count:
            return 0.0
        total = 0
        for value, count in self._recorded():
            low, high = self._hdr.get_lowest_equivalent_value(value), self._hdr.get_highest_equivalent_value(value)
            total += (low + high + 1) // 2 * count
        return total / self.count / _UNITS_PER_SECOND

    def _recorded(self) -> list[tuple[int, int]]:
        counts = self._counts()
        return [(int(self._hdr.get_value_from_index(int(i))), int(counts[i])) for i in np.flatnonzero(counts)]

    def add(self, other: LatencyHistogram) -> None:
        """Merge ``other``'s counts into this histogram."""
        if other.count:
            self._hdr.add(other._hdr)

    def buckets(self) -> Iterator[tuple[float, int]]:
        """(latency in seconds, count) for every recorded value bucket, ascending."""
        for value, count in self._recorded():
            yield float(self._hdr.get_highest_equivalent_value(value)) / _UNITS_PER_SECOND, count

    def encode(self) -> str:
        """Compressed, base64 text form (HdrHistogram V2 'histoblob'), for storing in the history."""
        if not self.count:
            return ""
        return str(self._hdr.encode().decode("ascii"))

    @classmethod
    def decode(cls, blob: str) -> LatencyHistogram:
        histogram = cls()
        if blob:
            histogram._hdr.add(HdrHistogram.decode(blob.encode("ascii")))
        return histogram
