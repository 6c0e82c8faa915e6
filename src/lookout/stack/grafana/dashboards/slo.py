"""The SLOs & error budgets dashboard, in every tenant's folder: its rows and panels as a spec."""

from __future__ import annotations

from lookout.stack.grafana import promql as q
from lookout.stack.grafana.model import Dashboard, Query, Row
from lookout.stack.grafana.panels import STAT, TS, panel
from lookout.stack.rules import recording as rec
from lookout.stack.rules.expressions import PAGE_BURN_RATE


def dashboard(p: q.Policy) -> Dashboard:
    """From the generated recording rules, so the panels and the burn-rate alerts agree to the digit."""
    budget = p.availability_budget
    avail = f"1 - {q.recorded(rec.availability_error_ratio(q.SLO_WINDOW))}"
    return Dashboard(
        "slo",
        "SLOs & error budgets",
        f"Availability SLO {p.availability:.2%} over {q.SLO_WINDOW}, burn rates, and the latency SLO "
        f"({p.latency_objective:.0%} of requests under {float(p.latency_threshold) * 1000:g} ms).",
        (
            Row(
                "Availability",
                (
                    panel(
                        f"Availability ({q.SLO_WINDOW})",
                        STAT,
                        "percentunit",
                        Query(avail, "{{service}}", instant=True),
                        policy_line=p.availability,
                        good_above=True,
                    ),
                    panel(
                        "Error budget remaining",
                        STAT,
                        "percentunit",
                        Query(q.recorded(rec.AVAILABILITY_BUDGET_REMAINING), "{{service}}", instant=True),
                        policy_line=0,
                        good_above=True,
                    ),
                    panel(
                        "Burn rate",
                        TS,
                        "none",
                        *(
                            Query(f"{q.recorded(rec.availability_error_ratio(w))} / {budget:g}", f"{w} {{{{service}}}}")
                            for w in ("1h", "6h", "3d")
                        ),
                        policy_line=PAGE_BURN_RATE,
                        description=f"1 spends the budget in exactly 30 days; {PAGE_BURN_RATE:g} pages.",
                    ),
                    panel(
                        "Error budget remaining over time",
                        TS,
                        "percentunit",
                        Query(q.recorded(rec.AVAILABILITY_BUDGET_REMAINING), "{{service}}"),
                        policy_line=0,
                        good_above=True,
                    ),
                ),
            ),
            Row(
                "Latency",
                (
                    panel(
                        f"Latency SLI ({q.SLO_WINDOW})",
                        STAT,
                        "percentunit",
                        Query(f"1 - {q.recorded(rec.latency_slow_ratio(q.SLO_WINDOW))}", "{{service}}", instant=True),
                        policy_line=p.latency_objective,
                        good_above=True,
                    ),
                    panel(
                        "Latency budget remaining",
                        STAT,
                        "percentunit",
                        Query(q.recorded(rec.LATENCY_BUDGET_REMAINING), "{{service}}", instant=True),
                        policy_line=0,
                        good_above=True,
                    ),
                    panel(
                        "Latency SLI (1h)",
                        TS,
                        "percentunit",
                        Query(f"1 - {q.recorded(rec.latency_slow_ratio('1h'))}", "{{service}}"),
                        policy_line=p.latency_objective,
                        good_above=True,
                    ),
                ),
            ),
        ),
    )
