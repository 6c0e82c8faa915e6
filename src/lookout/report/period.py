"""The time range a report covers: a calendar month (``--month 2026-11``) or ``--from``/``--to``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lookout.report.errors import ReportError

WINDOW = timedelta(minutes=5)
"""Reports tile a period into the 5-minute windows of the recording rules."""


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str
    truncated: bool = False
    """The period asked for reaches past now; it ends now."""

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def _align(moment: datetime) -> datetime:
    """Down to a whole 5-minute window, so windows tile the period."""
    step = int(WINDOW.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)


def parse_moment(value: str, option: str) -> datetime:
    """An ISO date or date-time (UTC unless it says otherwise)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{option} {value!r} is not a date: write e.g. 2026-11-01 or 2026-11-01T12:00") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def month_period(month: str, now: datetime) -> Period:
    match = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportError(f"--month {month!r} is not a month: write YYYY-MM, e.g. 2026-11")
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    if start >= now:
        raise ReportError(f"--month {month} is in the future: choose a month up to {now:%Y-%m}")
    truncated = end > now
    return Period(start, _align(now) if truncated else end, month, truncated)


def span_period(start_text: str, end_text: str | None, now: datetime) -> Period:
    start = parse_moment(start_text, "--from")
    end = parse_moment(end_text, "--to") if end_text else now
    if start >= now:
        raise ReportError(f"--from {start_text} is in the future: the report reads recorded history")
    truncated = end > now
    start, end = _align(start), _align(min(end, now))
    if end <= start:
        raise ReportError(f"--from {start_text} .. --to {end_text or 'now'} is an empty period: --to must be later")
    return Period(start, end, f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC", truncated)


def choose_period(month: str | None, start: str | None, end: str | None, now: datetime, default: timedelta) -> Period:
    """``--month``, else ``--from``/``--to``, else the last ``default`` up to now."""
    if month and (start or end):
        raise ReportError("--month and --from/--to exclude each other: give one of them")
    if month:
        return month_period(month, now)
    if end and not start:
        raise ReportError("--to needs --from: give the start of the period too")
    if start:
        return span_period(start, end, now)
    finish = _align(now)
    return Period(finish - default, finish, f"last {default.days} days to {finish:%Y-%m-%d %H:%M} UTC")
