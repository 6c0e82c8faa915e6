"""``lookout check``: generate the stack (or take a generated one), run every validator, collect findings.

Core validators (promtool, amtool, routes, the rules' metric contract) always run; a missing promtool or
amtool is a set-up error. The validators of the other parts (dashboards, compose, Kubernetes) run when
their files are in the stack; a missing optional tool (docker compose) skips that validator with a note.
Every validator is imported here plainly: a Python package missing from the ``check`` extra fails the
import, and the command line names the extra to install.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lookout.check.compose import check_compose
from lookout.check.contract import check_rule_contract
from lookout.check.dashboards import check_dashboard_contract, check_dashboards
from lookout.check.findings import CheckSkipped, Finding
from lookout.check.k8s import check_k8s
from lookout.check.live import check_live
from lookout.check.tools import check_amtool_config, check_promtool, check_routes
from lookout.config.model import Config
from lookout.security import SecurityError
from lookout.security.files import client_access
from lookout.stack import DeployTarget, render_stack, write_stack

Validator = Callable[[Path], list[Finding]]

# (name, validator, file or directory the validator needs in the stack dir)
OPTIONAL: tuple[tuple[str, Validator, str], ...] = (
    ("dashboards", check_dashboards, "grafana"),
    ("dashboard-contract", check_dashboard_contract, "grafana"),
    ("compose", check_compose, "docker-compose.monitoring.yml"),
    ("k8s", check_k8s, "k8s"),
)


class SetupError(Exception):
    """A core validator cannot run (promtool/amtool missing): a set-up problem, exit 2."""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    not_checkable: list[str] = field(default_factory=list)
    """--live: dashboard queries over metric families that nothing in the running stack emits."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.as_dict() for f in self.findings],
            "ran": self.ran,
            "skipped": self.skipped,
            "not_checkable": self.not_checkable,
        }


def _optional_validators(stack_dir: Path) -> tuple[list[tuple[str, Validator]], list[str]]:
    validators: list[tuple[str, Validator]] = []
    skipped: list[str] = []
    for name, validator, needs in OPTIONAL:
        if not (stack_dir / needs).exists():
            skipped.append(f"{name}: {needs} not in the stack (generate with --target all)")
            continue
        validators.append((name, validator))
    return validators, skipped


def check_stack(stack_dir: Path, config: Config, live_url: str | None = None) -> Report:
    """Run every validator on the files in ``stack_dir``."""
    stack_dir = stack_dir.resolve()  # the tools run in it: a relative path would name a directory inside itself
    report = Report()
    core: list[tuple[str, Validator]] = [
        ("promtool", check_promtool),
        ("amtool", check_amtool_config),
        ("routes", lambda d: check_routes(d, config)),
        ("contract", check_rule_contract),
    ]
    optional, report.skipped = _optional_validators(stack_dir)
    for name, validator in core:
        try:
            report.findings += validator(stack_dir)
        except CheckSkipped as exc:
            raise SetupError(str(exc)) from None
        report.ran.append(name)
    for name, validator in optional:
        try:
            report.findings += validator(stack_dir)
        except CheckSkipped as exc:  # a tool such as docker-compose is not installed
            report.skipped.append(f"{name}: {exc}")
            continue
        report.ran.append(name)
    if live_url is not None:
        not_checkable: list[str] = []
        verify, auth = live_access(config)
        report.findings += check_live(stack_dir, live_url, not_checkable, verify=verify, auth=auth)
        report.ran.append("live")
        if not_checkable:
            report.skipped.append(f"live: {len(not_checkable)} dashboard queries (e.g. {not_checkable[0]})")
            report.not_checkable = not_checkable
    return report


def live_access(config: Config) -> tuple[Any, tuple[str, str] | None]:
    """The stack's CA, client certificate and client user under ``security:`` (the defaults without it)."""
    security = config.security
    if not security.enabled:
        return True, None
    try:
        return client_access(security)
    except SecurityError as exc:
        raise SetupError(str(exc)) from None


def check_config(config: Config, out: Path | None = None, live_url: str | None = None) -> Report:
    """Check the stack in ``out`` as it is on disk, or generate every part into a temp dir and check that."""
    if out is not None:
        return check_stack(out, config, live_url)
    with tempfile.TemporaryDirectory(prefix="lookout-check-") as tmp:
        stack_dir = Path(tmp)
        write_stack(render_stack(config, DeployTarget.ALL), stack_dir)
        return check_stack(stack_dir, config, live_url)
