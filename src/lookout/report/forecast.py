"""The trend behind the capacity report: an ordinary least-squares line through daily peaks, with a 95 %
prediction interval (Student's t), extended over the horizon. Chosen over seasonal models because daily peaks
of a month carry no weekly cycle worth fitting and a line's crossing date is easy to explain."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from lookout.report.prom import FloatArray

CONFIDENCE = 0.95
METHOD = "least-squares linear trend of the daily peaks with a 95 % prediction interval"


@dataclass(frozen=True)
class LinearFit:
    slope: float
    """Units per day."""
    intercept: float
    """Value at day 0."""
    points: int
    residual_sd: float
    mean_day: float
    spread: float
    """Sum of squared deviations of the days from their mean."""

    def predict(self, days: FloatArray) -> FloatArray:
        return np.asarray(self.intercept + self.slope * days, dtype=np.float64)

    @property
    def has_interval(self) -> bool:
        """A prediction interval needs a residual: at least three days of peaks (two fit the line exactly)."""
        return self.points >= 3 and self.spread > 0

    def margin(self, days: FloatArray) -> FloatArray:
        """Half-width of the prediction interval at ``days`` (0 without an interval: see :attr:`has_interval`)."""
        if not self.has_interval:
            return np.zeros(days.shape)
        quantile = float(stats.t.ppf(0.5 + CONFIDENCE / 2, self.points - 2))
        scale = np.sqrt(1 + 1 / self.points + (days - self.mean_day) ** 2 / self.spread)
        return np.asarray(quantile * self.residual_sd * scale, dtype=np.float64)

    def crossing(self, threshold: float, after: float) -> float | None:
        """The first day at or after ``after`` on which the trend reaches ``threshold`` (None: it never does)."""
        if self.predict(np.array([after]))[0] >= threshold:
            return after
        if self.slope <= 0:
            return None
        return (threshold - self.intercept) / self.slope

    def upper(self, day: float) -> float:
        return float(self.predict(np.array([day]))[0] + self.margin(np.array([day]))[0])

    def upper_crossing(self, threshold: float, after: float, until: float) -> float | None:
        """The first day in [after, until] on which the upper prediction bound reaches ``threshold``, to the hour
        (None without an interval).

        The bound is a line plus the square root of a convex quadratic: convex, so the days below ``threshold`` are
        one interval. If the bound is below at ``after`` and at or above at ``until`` it crosses once in between,
        found by bisection; a grid of the days would cost memory in proportion to the horizon."""
        if not self.has_interval:
            return None
        if self.upper(after) >= threshold:
            return after
        if self.upper(until) < threshold:
            return None
        low, high = after, until
        while high - low > 1 / 24:
            middle = (low + high) / 2
            if self.upper(middle) >= threshold:
                high = middle
            else:
                low = middle
        return high


def fit_line(days: FloatArray, values: FloatArray) -> LinearFit | None:
    """The least-squares line through the finite points (None when fewer than two)."""
    finite = np.isfinite(values)
    x, y = days[finite], values[finite]
    if x.size < 2:
        return None
    mean_x = float(x.mean())
    spread = float(((x - mean_x) ** 2).sum())
    slope = float(((x - mean_x) * (y - y.mean())).sum() / spread) if spread else 0.0
    intercept = float(y.mean() - slope * mean_x)
    residuals = y - (intercept + slope * x)
    sd = float(math.sqrt((residuals**2).sum() / (x.size - 2))) if x.size > 2 else 0.0
    return LinearFit(slope, intercept, int(x.size), sd, mean_x, spread)
