"""The Benchmarks dashboard, in the shared Lookout folder (fleet-wide): its rows and panels as a spec."""

from __future__ import annotations

from lookout import metrics as m
from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import TS, panel


def dashboard(p: q.Policy) -> Dashboard:
    sc = f'{{{m.TARGET}=~"${m.TARGET}", {m.SCENARIO}=~"${m.SCENARIO}"}}'
    by_run = f"{m.TARGET}, {m.SCENARIO}"
    return Dashboard(
        "benchmarks",
        "Benchmarks",
        "Trends of `lookout bench` results pushed to the Pushgateway.",
        (
            Row(
                "Results",
                (
                    panel(
                        "Throughput",
                        TS,
                        "reqps",
                        Query(f"max by ({by_run}) ({q.series(m.BENCH_THROUGHPUT)}{sc})", "{{target}} {{scenario}}"),
                    ),
                    panel(
                        "Latency quantiles",
                        TS,
                        "s",
                        Query(
                            f"max by ({by_run}, {m.QUANTILE}) ({q.series(m.BENCH_LATENCY)}{sc})",
                            "{{target}} {{scenario}} q{{quantile}}",
                        ),
                        policy_line=p.latency_p99,
                    ),
                    panel(
                        "Error ratio",
                        TS,
                        "percentunit",
                        Query(
                            f"max by ({by_run}) ({q.series(m.BENCH_ERROR_RATIO)}{sc})",
                            "{{target}} {{scenario}}",
                        ),
                        policy_line=p.error_ratio,
                    ),
                    panel(
                        "Capacity per replica",
                        TS,
                        "reqps",
                        Query(
                            f'max by ({m.TARGET}) ({q.series(m.BENCH_CAPACITY)}{{{m.TARGET}=~"${m.TARGET}"}})',
                            "{{target}}",
                        ),
                    ),
                ),
            ),
        ),
        variables=(m.TARGET, m.SCENARIO),
    )
