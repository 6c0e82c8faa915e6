"""Every alert links to a real runbook that says what it means, how to confirm and how to mitigate, and the
catalog in docs/alerts.md lists it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lookout.config import load_config
from lookout.stack.rules import ALERTS, alert_rule

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "examples" / "lookout.yaml")


@pytest.mark.parametrize("alert", [a.name for a in ALERTS])
def test_runbook_exists_with_the_three_sections(alert: str) -> None:
    rule = alert_rule(next(a for a in ALERTS if a.name == alert), CONFIG)
    assert rule is not None
    # Absolute, under the configured base (default: the console's /runbooks), named after the file in docs/runbooks.
    assert rule["annotations"]["runbook_url"] == f"http://{CONFIG.listen.grafana}/runbooks/{alert}.md"
    runbook = ROOT / "docs" / "runbooks" / f"{alert}.md"
    text = runbook.read_text(encoding="utf-8")
    assert text.startswith(f"# {alert}\n")
    for section in ("## What it means", "## How to confirm", "## How to mitigate"):
        body = text.split(section, 1)[1].split("\n## ", 1)[0] if section in text else ""
        assert body.strip(), f"{runbook.name}: section {section!r} missing or empty"


def test_alert_catalog_doc_lists_every_alert() -> None:
    doc = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    missing = [a.name for a in ALERTS if f"[{a.name}](runbooks/{a.name}.md)" not in doc]
    assert not missing, f"docs/alerts.md does not list {missing}"


def test_no_runbook_without_an_alert() -> None:
    names = {a.name for a in ALERTS}
    orphans = sorted(p.stem for p in (ROOT / "docs" / "runbooks").glob("*.md") if p.stem not in names)
    assert not orphans


def test_runbooks_of_alerts_with_a_floor_of_failed_requests_name_that_floor() -> None:
    """An on-call engineer asking why a quiet service paged (or did not) finds the setting that decides it:
    `alerting.slo.min_failed_requests`, not a minimum request rate, which no setting provides."""
    floor = CONFIG.alerting.slo.min_failed_requests
    wrong = []
    for alert in ALERTS:
        rule = alert_rule(alert, CONFIG)
        text = (ROOT / "docs" / "runbooks" / f"{alert.name}.md").read_text(encoding="utf-8")
        counted = rule is not None and re.search(rf":increase\w+ >= {floor}\b", rule["expr"]) is not None
        if counted and "min_failed_requests" not in text:
            wrong.append(alert.name)
        if "minimum request rate" in text:
            wrong.append(alert.name)
    assert not wrong, f"runbooks that do not name alerting.slo.min_failed_requests: {sorted(set(wrong))}"
