"""The Grafana unit ids dashboards may use: a panel with any other unit id shows raw numbers with the
id as a suffix, silently. Taken from Grafana 11's value formats
(``packages/grafana-data/src/valueFormats/categories.ts``); the tests check each id against the unit list
of the Grafana 11.6 build of the Foundation SDK the dashboards are rendered with."""

from __future__ import annotations

from typing import Final

GRAFANA_UNITS: Final = frozenset(
    {
        # Misc
        "none",
        "short",
        "string",
        "percent",
        "percentunit",
        "sci",
        "locale",
        # Data
        "bits",
        "bytes",
        "kbytes",
        "mbytes",
        "gbytes",
        "decbytes",
        # Data rate
        "bps",
        "Bps",
        "pps",
        "binBps",
        # Time
        "ns",
        "µs",
        "ms",
        "s",
        "m",
        "h",
        "d",
        "dtdurations",
        "dtdurationms",
        "dthms",
        "dtdhms",
        "clocks",
        "clockms",
        "hertz",
        # Throughput
        "cps",
        "ops",
        "reqps",
        "rps",
        "wps",
        "iops",
        "eps",
        "mps",
        "recps",
        "cpm",
        "opm",
        "reqpm",
        "rpm",
        "wpm",
        "epm",
        "mpm",
        # Date & time
        "dateTimeAsIso",
        "dateTimeAsSystem",
        "dateTimeFromNow",
    }
)
