"""The stack's Prometheus and Alertmanager files under the real tools: ``promtool check config|rules``,
``amtool check-config`` and ``amtool config routes test`` for every tenant and priority."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Final

from lookout import metrics as m
from lookout.check.findings import CheckSkipped, Finding
from lookout.config.model import Config, Priority
from lookout.stack import naming
from lookout.stack.alertmanager import NULL_RECEIVER, receiver_names
from lookout.stack.rules import STACK_TENANT, WATCHDOG

INSTALL_HINT: Final = "apt-get install -y prometheus prometheus-alertmanager (or `make setup`)"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CheckSkipped(f"{name} is not installed ({INSTALL_HINT})")
    return path


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    text = " ".join((result.stderr + " " + result.stdout).split())
    return text or f"exit code {result.returncode}"


def check_promtool(stack_dir: Path) -> list[Finding]:
    """``promtool check config`` (which also checks the rule files it loads) and ``promtool check rules``."""
    promtool = _binary("promtool")
    config = stack_dir / naming.PROMETHEUS_FILE
    if not config.is_file():
        return [Finding("promtool", naming.PROMETHEUS_FILE, "missing: run lookout generate")]
    findings = []
    result = _run([promtool, "check", "config", str(config)], stack_dir)
    if result.returncode != 0:
        findings.append(Finding("promtool", naming.PROMETHEUS_FILE, _one_line(result)))
    for rules in sorted((stack_dir / naming.RULES_DIR).glob("*.yml")):
        problem = promtool_rules_problem(rules, stack_dir)
        if problem is not None:
            findings.append(Finding("promtool", str(rules.relative_to(stack_dir)), problem))
    return findings


def promtool_rules_problem(rules: Path, cwd: Path) -> str | None:
    """What ``promtool check rules`` finds wrong with the rule file ``rules`` (one line), or None."""
    result = _run([_binary("promtool"), "check", "rules", str(rules)], cwd)
    return None if result.returncode == 0 else _one_line(result)


def check_amtool_config(stack_dir: Path) -> list[Finding]:
    amtool = _binary("amtool")
    config = stack_dir / naming.ALERTMANAGER_FILE
    if not config.is_file():
        return [Finding("amtool", naming.ALERTMANAGER_FILE, "missing: run lookout generate")]
    result = _run([amtool, "check-config", str(config)], stack_dir)
    return [] if result.returncode == 0 else [Finding("amtool", naming.ALERTMANAGER_FILE, _one_line(result))]


def routed_receivers(stack_dir: Path, labels: dict[str, str]) -> list[str]:
    """Receivers an alert with ``labels`` reaches, as ``amtool config routes test`` says."""
    argv = [
        _binary("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={stack_dir / naming.ALERTMANAGER_FILE}",
        *(f"{k}={v}" for k, v in sorted(labels.items())),
    ]
    result = _run(argv, stack_dir)
    if result.returncode != 0:
        raise ValueError(_one_line(result))
    return [name.strip() for name in result.stdout.strip().split(",") if name.strip()]


def expected_routes(config: Config) -> list[tuple[dict[str, str], list[str]]]:
    """(alert labels, receivers lookout.yaml asks for): every tenant (and the stack) x every priority, and the
    Watchdog."""
    cases = []
    tenants = [(t.name, config.routes_for(t)) for t in config.tenants]
    tenants.append((STACK_TENANT, dict(config.alerting.routes)))
    for tenant, routes in tenants:
        for priority in Priority:
            labels = {"alertname": "RouteTest", m.TENANT: tenant, m.SERVICE: "route-test", m.PRIORITY: priority.value}
            expected = receiver_names(config, routes.get(priority, []), priority) or [NULL_RECEIVER]
            cases.append((labels, expected))
    heartbeat = config.alerting.heartbeat_receiver
    watchdog = receiver_names(config, [heartbeat], Priority.P3) if heartbeat else [NULL_RECEIVER]
    labels = {"alertname": WATCHDOG, m.TENANT: STACK_TENANT, m.SERVICE: "watchdog", m.PRIORITY: "P3"}
    cases.append((labels, watchdog))
    return cases


def check_routes(stack_dir: Path, config: Config) -> list[Finding]:
    findings = []
    for labels, expected in expected_routes(config):
        try:
            got = routed_receivers(stack_dir, labels)
        except ValueError as exc:
            return [Finding("routes", naming.ALERTMANAGER_FILE, f"amtool config routes test failed: {exc}")]
        if got != expected:
            which = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname" or v == WATCHDOG)
            findings.append(
                Finding("routes", naming.ALERTMANAGER_FILE, f"{which} reaches {got}, lookout.yaml says {expected}")
            )
    return findings
