"""What a report can refuse: each error is one line for the user (the CLI prints it and exits 2)."""

from __future__ import annotations


class ReportError(Exception):
    """Bad input or an unusable source; the message names the field and the fix."""


class PrometheusUnavailable(ReportError):
    """Prometheus did not answer, or answered with an error."""


class MissingExtra(ReportError):
    """An optional dependency of the reports is not installed."""
