"""``lookout drill``: prove alerting live on a stack started by ``lookout up``.

For each alert (the registry in :mod:`lookout.runtime.drills` says how), inject the fault, wait until the
alert fires in Prometheus (``ALERTS``), check in Alertmanager (``/api/v2/alerts``) that it went to the
receivers its tenant and priority route to and that the notification reached the local sink
(``notifications.jsonl``), clear the fault and wait for the resolve notification. Alerts that share a fault
are drilled together, so a 5-minute window is waited out once. Every wait has a deadline derived from the
alert's ``for``, the stack's intervals and Alertmanager's timings.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Final
from urllib.parse import quote

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from rich.table import Table

from lookout import metrics as m
from lookout.bench.export import CAPACITY_JOB
from lookout.check.live import LiveUnreachable, query
from lookout.config import ConfigError, load_config
from lookout.config.model import Config, Priority, RouteTiming, duration_seconds
from lookout.runtime.drills import (
    DRILLS,
    Action,
    AlwaysFiring,
    Drill,
    InjectFault,
    NotDrillable,
    PushCapacity,
    Scope,
    StopChild,
)
from lookout.runtime.state import StackState, notifications_file, pid_file, read_state
from lookout.runtime.traffic import MIX
from lookout.security import SecurityError
from lookout.security.files import client_access
from lookout.stack.alertmanager import DEFAULT_TIMINGS, HEARTBEAT_TIMING, NULL_RECEIVER, receiver_names
from lookout.stack.rules import ALERTS, ESCALATED_FROM, STACK_TENANT, WATCHDOG

DRILL_PROFILE: Final = "examples/lookout-drill.yaml"
POLL_INTERVAL: Final = 1.0
SLOW: Final = 60.0
"""A `for` or Alertmanager timing above this many seconds makes a drill slow: the profile's are shorter."""
SLOW_ESCALATION: Final = 600.0
"""An escalation's `for` must outlast the drills of the alerts it escalates, so its bound is higher."""
MARGIN: Final = 30.0

PASSED, FAILED, SKIPPED, NOT_DRILLABLE = "passed", "failed", "skipped", "not drillable"


class DrillError(Exception):
    """The drill cannot start (no stack running, unknown alert); one line for the user."""


@dataclass
class DrillResult:
    alert: str
    priority: str
    action: str
    status: str = PASSED
    detail: str = ""
    fired_after: float | None = None
    receiver: str = ""
    resolved_after: float | None = None

    @property
    def result(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "priority": self.priority,
            "action": self.action,
            "status": self.status,
            "detail": self.detail,
            "fired_after_s": None if self.fired_after is None else round(self.fired_after, 1),
            "receiver": self.receiver,
            "resolved_after_s": None if self.resolved_after is None else round(self.resolved_after, 1),
        }


@dataclass
class DrillReport:
    results: list[DrillResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[DrillResult]:
        return [r for r in self.results if r.status == FAILED]

    def as_dict(self) -> dict[str, Any]:
        counts = {s: sum(1 for r in self.results if r.status == s) for s in (PASSED, FAILED, SKIPPED, NOT_DRILLABLE)}
        return {"alerts": [r.as_dict() for r in self.results], "counts": counts, "warnings": self.warnings}


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}s"


def render_table(report: DrillReport) -> Table:
    table = Table(title="lookout drill", title_justify="left")
    for column in ("alert", "priority", "fired after", "receiver", "resolved after", "result"):
        table.add_column(column, overflow="fold")
    styles = {PASSED: "green", FAILED: "red", SKIPPED: "yellow", NOT_DRILLABLE: "dim"}
    for r in report.results:
        table.add_row(
            r.alert,
            r.priority,
            _seconds(r.fired_after),
            r.receiver or "—",
            _seconds(r.resolved_after),
            f"[{styles[r.status]}]{r.result}[/]",
        )
    return table


def render_json(report: DrillReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


# ---------------------------------------------------------------- the running stack
@dataclass(frozen=True)
class RuleInfo:
    for_s: float
    priority: str


@dataclass
class Stack:
    state: StackState
    config: Config
    data_dir: Path
    rules: dict[str, RuleInfo]
    demo: tuple[str, str] | None  # (tenant, service) of the target that is the demo server
    verify: Any = True  # the TLS context under security.tls
    auth: tuple[str, str] | None = None  # the client user under security.users

    @property
    def prometheus(self) -> str:
        return f"{self.config.security.scheme}://{self.config.listen.prometheus}"

    @property
    def alertmanager(self) -> str:
        return f"{self.config.security.scheme}://{self.config.listen.alertmanager}"

    @property
    def pushgateway(self) -> str:
        return f"{self.config.security.scheme}://{self.config.listen.pushgateway}"

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An HTTP call to the stack as Lookout's clients make it (TLS context and login under security:)."""
        return httpx.request(method, url, timeout=10, verify=self.verify, auth=self.auth, **kwargs)

    @property
    def scrape_s(self) -> float:
        return duration_seconds(self.config.timing.scrape_interval)

    @property
    def eval_s(self) -> float:
        return duration_seconds(self.config.timing.evaluation_interval)

    def timing(self, alert: str, priority: str) -> RouteTiming:
        if alert == WATCHDOG:
            return HEARTBEAT_TIMING
        timings = {**DEFAULT_TIMINGS, **self.config.alerting.timings}
        return timings[Priority(priority)]


def _same_endpoint(url: str, other: str) -> bool:
    a, b = httpx.URL(url), httpx.URL(other)
    loopback = {"127.0.0.1", "localhost", "::1"}
    same_host = a.host == b.host or (a.host in loopback and b.host in loopback)
    return same_host and a.port == b.port and a.path.rstrip("/") == b.path.rstrip("/")


def _demo_target(config: Config, demo_url: str | None) -> tuple[str, str] | None:
    if demo_url is None:
        return None
    for tenant, target in config.targets():
        if target.url.startswith("http") and _same_endpoint(target.url, demo_url):
            return tenant.name, target.name
    return None


def _alert_rules(prometheus: str, verify: Any = True, auth: tuple[str, str] | None = None) -> dict[str, RuleInfo]:
    try:
        response = httpx.get(
            f"{prometheus}/api/v1/rules", params={"type": "alert"}, timeout=10, verify=verify, auth=auth
        )
        groups = response.json()["data"]["groups"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise DrillError(f"cannot read the alert rules from Prometheus at {prometheus}: {exc}") from None
    rules = {}
    for group in groups:
        for rule in group.get("rules", []):
            labels = rule.get("labels", {})
            rules[rule["name"]] = RuleInfo(float(rule.get("duration", 0)), str(labels.get(m.PRIORITY, "")))
    return rules


def open_stack(data_dir: Path) -> Stack:
    state = read_state(data_dir)
    if state is None:
        raise DrillError(
            f"no stack is running in {data_dir}: start one with `lookout up` (e.g. --config {DRILL_PROFILE})"
        )
    try:
        config = load_config(Path(state.config_path))
    except ConfigError as exc:
        raise DrillError(str(exc)) from None
    try:
        verify, auth = client_access(config.security)
    except SecurityError as exc:
        raise DrillError(str(exc)) from None
    rules = _alert_rules(f"{config.security.scheme}://{config.listen.prometheus}", verify, auth)
    return Stack(state, config, data_dir, rules, _demo_target(config, state.demo_url), verify, auth)


# ---------------------------------------------------------------- actions
class ActionFailed(Exception):
    """The fault could not be injected or cleared; the drill of its alerts fails with this line."""


@contextlib.contextmanager
def applied(action: Action, stack: Stack) -> Iterator[None]:
    """Inject ``action`` for the duration of the block; it is cleared on every exit, also on Ctrl-C."""
    if isinstance(action, AlwaysFiring):
        yield
    elif isinstance(action, StopChild):
        with _stopped(action, stack):
            yield
    elif isinstance(action, InjectFault):
        with _fault(action, stack):
            yield
    else:
        with _capacity(action, stack):
            yield


@contextlib.contextmanager
def _stopped(action: StopChild, stack: Stack) -> Iterator[None]:
    path = pid_file(stack.data_dir, action.child)
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, signal.SIGSTOP)
    except (OSError, ValueError) as exc:
        raise ActionFailed(f"cannot stop {action.child} by {path}: {exc}") from None
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def _faults_call(stack: Stack, method: str, url: str, body: dict[str, Any] | None = None) -> None:
    try:
        response = stack.request(method, url, json=body)
    except httpx.HTTPError as exc:
        raise ActionFailed(f"cannot reach the demo server's fault API at {url}: {exc}") from None
    if response.status_code >= 400:
        raise ActionFailed(f"{method} {url}: HTTP {response.status_code} {response.text.strip()[:200]}")


@contextlib.contextmanager
def _fault(action: InjectFault, stack: Stack) -> Iterator[None]:
    base = stack.state.demo_management_url
    if base is None:
        raise ActionFailed("the stack runs no demo server (lookout up --no-demo)")
    url = f"{base}/faults/{action.tool}"
    body: dict[str, Any] = {"error_ratio": action.error_ratio, "latency_ms": action.latency_ms}
    if action.kind is not None:
        body["kind"] = action.kind
    _faults_call(stack, "PUT", url, body)
    try:
        yield
    finally:
        _faults_call(stack, "DELETE", url)


def _pushed_capacity(stack: Stack, target: str) -> float | None:
    """A capacity pushed before the drill (by `lookout bench --pushgateway`), to put back afterwards."""
    try:
        text = stack.request("GET", f"{stack.pushgateway}/metrics").text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if (
            line.startswith(m.BENCH_CAPACITY.name + "{")
            and f'job="{CAPACITY_JOB}"' in line
            and f'target="{target}"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return None


def _push_capacity(stack: Stack, target: str, value: float) -> None:
    registry = CollectorRegistry()
    spec = m.BENCH_CAPACITY
    Gauge(spec.name, spec.help, spec.labels, registry=registry).labels(target).set(value)
    # The Pushgateway's own API (what push_to_gateway sends), so the stack's TLS and login apply.
    answer = stack.request(
        "PUT",
        _capacity_group(stack, target),
        content=generate_latest(registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )
    answer.raise_for_status()


def _capacity_group(stack: Stack, target: str) -> str:
    return f"{stack.pushgateway}/metrics/job/{quote(CAPACITY_JOB, safe='')}/{m.TARGET}/{quote(target, safe='')}"


@contextlib.contextmanager
def _capacity(action: PushCapacity, stack: Stack) -> Iterator[None]:
    assert stack.demo is not None
    target = stack.demo[1]
    previous = _pushed_capacity(stack, target)
    try:
        _push_capacity(stack, target, action.capacity_rps)
    except httpx.HTTPError as exc:
        raise ActionFailed(f"cannot push to the Pushgateway at {stack.pushgateway}: {exc}") from None
    try:
        yield
    finally:
        try:
            if previous is None:
                stack.request("DELETE", _capacity_group(stack, target)).raise_for_status()
            else:
                _push_capacity(stack, target, previous)
        except httpx.HTTPError as exc:
            raise ActionFailed(f"cannot restore the capacity on the Pushgateway: {exc}") from None


# ---------------------------------------------------------------- observing
@dataclass
class Observation:
    """One look at Prometheus, Alertmanager and the sink, shared by every alert of a drill."""

    firing: list[dict[str, str]]
    alertmanager: list[dict[str, Any]]
    notifications: list[dict[str, Any]]


def _sink_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []


def observe(stack: Stack, names: list[str], since_line: int) -> Observation:
    selector = "|".join(names)
    try:
        firing = [
            s["metric"]
            for s in query(
                stack.prometheus,
                f'ALERTS{{alertstate="firing",alertname=~"{selector}"}}',
                verify=stack.verify,
                auth=stack.auth,
            )
        ]
    except (LiveUnreachable, ValueError):
        firing = []
    try:
        response = stack.request(
            "GET",
            f"{stack.alertmanager}/api/v2/alerts",
            params={"filter": f'alertname=~"{selector}"', "inhibited": "true", "silenced": "true"},
        )
        am_alerts = response.json() if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError):
        am_alerts = []
    notifications = []
    for line in _sink_lines(notifications_file(stack.data_dir))[since_line:]:
        with contextlib.suppress(ValueError):
            notifications.append(json.loads(line))
    return Observation(firing, am_alerts if isinstance(am_alerts, list) else [], notifications)


def _matches(labels: dict[str, str], expected: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in expected.items())


@dataclass
class Track:
    """One alert through a drill: what identifies it, where it must go, what was seen when."""

    name: str
    drill: Drill
    result: DrillResult
    labels: dict[str, str]
    receivers: list[str]
    sink_receivers: list[str]
    deadline: float
    resolve_allowance: float
    fired_at: float | None = None
    routed: list[str] | None = None
    am_state: str = ""
    notified: bool = False

    @property
    def settled(self) -> bool:
        return self.fired_at is not None and self.routed is not None and (self.notified or not self.sink_receivers)

    def update(self, seen: Observation, now: float, started: float) -> None:
        if self.fired_at is None and any(_matches(s, self.labels) for s in seen.firing):
            self.fired_at = now
            self.result.fired_after = now - started
        if self.fired_at is None:
            return
        for alert in seen.alertmanager:
            if _matches(alert.get("labels", {}), self.labels):
                names = sorted(r.get("name", "") for r in alert.get("receivers", []))
                self.am_state = str(alert.get("status", {}).get("state", ""))
                inhibited = alert.get("status", {}).get("inhibitedBy") or []
                if inhibited:
                    self.am_state = "inhibited"
                if set(self.receivers) <= set(names):
                    self.routed = names
                elif self.routed is None:
                    self.result.receiver = ", ".join(names)
        if self.sink_receivers and not self.notified:
            receiver = _notified(seen.notifications, self.sink_receivers, self.labels, "firing")
            if receiver is not None:
                self.notified = True
                self.result.receiver = receiver
        if self.routed is not None and not self.result.receiver:
            self.result.receiver = ", ".join(self.routed)


def _notified(
    notifications: list[dict[str, Any]], receivers: list[str], labels: dict[str, str], status: str
) -> str | None:
    for notification in notifications:
        receiver = notification.get("receiver")
        if receiver not in receivers:
            continue
        for alert in notification.get("alerts", []):
            if alert.get("status") == status and _matches(alert.get("labels", {}), labels):
                return str(receiver)
    return None


# ---------------------------------------------------------------- planning
def _scope_labels(name: str, drill: Drill, stack: Stack) -> dict[str, str]:
    labels = {"alertname": name}
    tenant, service = stack.demo or ("", "")
    if drill.scope in (Scope.SERVICE, Scope.TOOL):
        labels |= {m.TENANT: tenant, m.SERVICE: service}
    if drill.scope is Scope.TOOL and isinstance(drill.action, InjectFault):
        labels[m.TOOL_NAME] = drill.action.tool
    if drill.scope is Scope.TENANT:
        labels[m.TENANT] = tenant
    if drill.scope is Scope.STACK:
        labels[m.TENANT] = STACK_TENANT
        if isinstance(drill.action, StopChild) and drill.action.job:
            labels[m.SERVICE] = drill.action.job
    if drill.escalated_from:
        labels[ESCALATED_FROM] = drill.escalated_from
    return labels


def _is_sink(config: Config, receiver: str) -> bool:
    """Does this lookout.yaml receiver post to the local sink that `lookout up` runs (listen.sink)?"""
    for r in config.alerting.receivers:
        if r.name == receiver and r.webhook is not None:
            path = httpx.URL(str(r.webhook.url)).path
            return _same_endpoint(str(r.webhook.url), f"http://{config.listen.sink}{path}")
    return False


def _routes(stack: Stack, name: str, labels: dict[str, str], priority: Priority) -> tuple[list[str], list[str]]:
    """(generated receivers the alert must reach, those of them that are the local sink)."""
    config = stack.config
    if name == WATCHDOG:
        heartbeat = config.alerting.heartbeat_receiver
        names = [heartbeat] if heartbeat else []
        if not names:
            return [NULL_RECEIVER], []
    else:
        tenant = labels.get(m.TENANT, "")
        by_name = {t.name: t for t in config.tenants}
        names = list(
            config.routes_for(by_name[tenant]).get(priority, [])
            if tenant in by_name
            else config.alerting.routes.get(priority, [])
        )
    sink = [n for n in names if _is_sink(config, n)]
    return receiver_names(config, names, priority), receiver_names(config, sink, priority)


def _fire_allowance(drill: Drill, stack: Stack) -> float:
    allowance = 3 * stack.scrape_s + 3 * stack.eval_s + MARGIN
    if drill.needs_traffic:
        per_operation = stack.config.demo.traffic_rps / len(MIX)
        guard = getattr(stack.config.alerting.slo, "min_failed_requests", 3)
        allowance += float(guard) / per_operation if per_operation > 0 else 0.0
    if drill.escalated_from is not None and drill.escalated_from in stack.rules:
        allowance += stack.rules[drill.escalated_from].for_s
    return allowance


def _resolve_allowance(drill: Drill, stack: Stack, timing: RouteTiming) -> float:
    allowance = drill.clears_after + 3 * stack.scrape_s + 3 * stack.eval_s + duration_seconds(timing.group_interval)
    if isinstance(drill.action, StopChild):
        # Down-alerts also look at the share of good scrapes over the flap window.
        allowance += duration_seconds(str(getattr(stack.config.alerting.slo, "flap_window", "0s")))
    return allowance + MARGIN


def slow_warnings(stack: Stack, names: list[str]) -> list[str]:
    """Why this stack will make the drill slow (long `for`, long Alertmanager timings, P3 business hours)."""
    slow = []
    for name in names:
        rule, entry = stack.rules.get(name), DRILLS.get(name)
        if rule is None or not isinstance(entry, Drill):
            continue
        timing = stack.timing(name, rule.priority)
        long = [f"for {rule.for_s:.0f}s"] if rule.for_s > (SLOW_ESCALATION if entry.escalated_from else SLOW) else []
        waits = {
            "group_wait": duration_seconds(timing.group_wait),
            "group_interval": duration_seconds(timing.group_interval),
        }
        long += [f"{k} {v:.0f}s" for k, v in waits.items() if v > SLOW]
        if long:
            slow.append(f"{name} ({', '.join(long)})")
    warnings = []
    if slow:
        warnings.append(
            f"this stack is not on the drill profile ({DRILL_PROFILE}): the drill will take long for " + "; ".join(slow)
        )
    if stack.config.alerting.business_hours is not None and any(
        stack.rules.get(n, RuleInfo(0, "")).priority == Priority.P3.value and n != WATCHDOG for n in names
    ):
        warnings.append("P3 notifications wait for business hours (alerting.business_hours): set it to null to drill")
    return warnings


# ---------------------------------------------------------------- running
Log = Callable[[str], None]


def _deadline_loop(
    tracks: list[Track], stack: Stack, since: int, started: float, done: Callable[[Track], bool]
) -> None:
    names = sorted({t.name for t in tracks})
    while True:
        now = time.monotonic()
        pending = [t for t in tracks if not done(t) and now < t.deadline]
        if not pending:
            return
        seen = observe(stack, names, since)
        now = time.monotonic()
        for track in pending:
            track.update(seen, now, started)
        wait = min(POLL_INTERVAL, max(0.0, min(t.deadline for t in pending) - time.monotonic()))
        time.sleep(wait)


def _wait_quiet(tracks: list[Track], stack: Stack, log: Log) -> list[Track]:
    """Alerts of this drill still firing from before (e.g. a window not yet clean) are waited out first."""
    names = sorted({t.name for t in tracks})
    deadline = time.monotonic() + max(t.resolve_allowance for t in tracks)
    busy: list[Track] = []
    while time.monotonic() < deadline:
        seen = observe(stack, names, 0)
        busy = [t for t in tracks if any(_matches(s, t.labels) for s in seen.firing)]
        if not busy:
            return []
        log(f"waiting for {', '.join(t.name for t in busy)} to resolve before the drill …")
        time.sleep(min(POLL_INTERVAL * 5, max(0.0, deadline - time.monotonic())))
    return busy


def _drill_group(action: Action, tracks: list[Track], stack: Stack, log: Log) -> None:
    always = isinstance(action, AlwaysFiring)
    if not always:
        for track in _wait_quiet(tracks, stack, log):
            track.result.status, track.result.detail = FAILED, "already firing before the drill and never resolved"
        tracks = [t for t in tracks if t.result.status != FAILED]
        if not tracks:
            return
    log(f"{', '.join(t.name for t in tracks)}: {action.describe()}")
    path = notifications_file(stack.data_dir)
    since = 0 if always else len(_sink_lines(path))  # the heartbeat was notified when the stack came up
    started = time.monotonic()
    for track in tracks:
        track.deadline += started
    try:
        with applied(action, stack):
            _deadline_loop(tracks, stack, since, started, lambda t: t.settled)
    except ActionFailed as exc:
        for track in tracks:
            if track.result.status == PASSED:
                track.result.status, track.result.detail = FAILED, str(exc)
        return
    for track in tracks:
        _judge_firing(track)
        if track.result.status == PASSED:
            log(f"{track.name}: fired after {track.result.fired_after:.0f}s, reached {track.result.receiver}")
    if always:
        return
    cleared = time.monotonic()
    since = len(_sink_lines(path))
    resolving = [t for t in tracks if t.result.status == PASSED]
    for track in resolving:
        track.deadline = cleared + track.resolve_allowance
    _wait_resolved(resolving, stack, since, cleared)


def _judge_firing(track: Track) -> None:
    r = track.result
    if r.status != PASSED:
        return
    if track.fired_at is None:
        r.status, r.detail = FAILED, "did not fire in Prometheus in time"
    elif track.routed is None:
        expected = ", ".join(track.receivers)
        r.status, r.detail = (
            FAILED,
            f"Alertmanager did not route it to {expected}" + (f" (state {track.am_state})" if track.am_state else ""),
        )
    elif track.sink_receivers and not track.notified:
        state = f" (Alertmanager: {track.am_state})" if track.am_state and track.am_state != "active" else ""
        r.status, r.detail = FAILED, f"no notification at the sink{state}"
    elif not track.sink_receivers:
        r.detail = "routed; its receivers are not the local sink"


def _wait_resolved(tracks: list[Track], stack: Stack, since: int, cleared: float) -> None:
    names = sorted({t.name for t in tracks})
    resolved: dict[str, float] = {}
    still_firing: dict[str, bool] = {t.name: True for t in tracks}
    while True:
        now = time.monotonic()
        pending = [t for t in tracks if t.name not in resolved and now < t.deadline]
        if not pending:
            break
        seen = observe(stack, names, since)
        now = time.monotonic()
        for track in pending:
            firing = any(_matches(s, track.labels) for s in seen.firing)
            still_firing[track.name] = firing
            if firing:
                continue
            if not track.sink_receivers or _notified(
                seen.notifications, track.sink_receivers, track.labels, "resolved"
            ):
                resolved[track.name] = now
        wait = min(POLL_INTERVAL, max(0.0, min(t.deadline for t in pending) - time.monotonic()))
        time.sleep(wait)
    for track in tracks:
        r = track.result
        if track.name in resolved:
            r.resolved_after = resolved[track.name] - cleared
        elif r.status == PASSED:
            allowance = f"{track.resolve_allowance:.0f}s"
            r.status = FAILED
            r.detail = (
                f"still firing {allowance} after clearing"
                if still_firing[track.name]
                else f"no resolve notification within {allowance}"
            )


def plan(stack: Stack, names: list[str]) -> tuple[list[DrillResult], list[tuple[Action, list[Track]]]]:
    """Results for alerts that are not drilled here, and the drills to run grouped by their action."""
    results = []
    # An escalation silences the alert it escalates (same family, higher priority), so drilled together the
    # source's resolve notification would never come: escalations get their own run of the action.
    groups: dict[tuple[Action, bool, str], list[Track]] = {}
    catalog = {a.name: a for a in ALERTS}
    for name in names:
        entry = DRILLS[name]
        priority = catalog[name].priority.value if name in catalog else ""
        if isinstance(entry, NotDrillable):
            results.append(DrillResult(name, priority, "—", NOT_DRILLABLE, entry.reason))
            continue
        result = DrillResult(name, priority, entry.action.describe())
        results.append(result)
        rule = stack.rules.get(name)
        if rule is None:
            result.status, result.detail = SKIPPED, "not in this stack's rules (disabled in lookout.yaml)"
            continue
        if entry.needs_demo and stack.demo is None:
            result.status, result.detail = SKIPPED, "no target of lookout.yaml is the demo server of this stack"
            continue
        if entry.needs_traffic and stack.config.demo.traffic_rps <= 0:
            result.status, result.detail = SKIPPED, "no demo traffic (demo.traffic_rps is 0)"
            continue
        priority = rule.priority or priority
        result.priority = priority
        labels = _scope_labels(name, entry, stack)
        receivers, sink = _routes(stack, name, labels, Priority(priority))
        timing = stack.timing(name, priority)
        fire = rule.for_s + _fire_allowance(entry, stack) + duration_seconds(timing.group_wait)
        key = (entry.action, entry.escalated_from is not None, name if entry.alone else "")
        groups.setdefault(key, []).append(
            Track(name, entry, result, labels, receivers, sink, fire, _resolve_allowance(entry, stack, timing))
        )
    return results, [(action, tracks) for (action, _, _), tracks in groups.items()]


def select(alerts: list[str]) -> list[str]:
    """The alerts to drill, in the registry's order; an unknown name is a :class:`DrillError`."""
    catalog = [a.name for a in ALERTS]
    unknown = [a for a in alerts if a not in DRILLS or a not in catalog]
    if unknown:
        raise DrillError(f"--alert {unknown[0]}: no such alert; choose one of {', '.join(sorted(catalog))}")
    wanted = set(alerts) if alerts else set(catalog)
    return [name for name in DRILLS if name in wanted]


def run_drill(data_dir: Path, alerts: list[str], log: Log, warn: Log) -> DrillReport:
    names = select(alerts)
    stack = open_stack(data_dir)
    report = DrillReport(warnings=slow_warnings(stack, names))
    for line in report.warnings:
        warn(line)
    results, groups = plan(stack, names)
    report.results = results

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # the faults are cleared by the `finally` of each action

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        for action, tracks in groups:
            _drill_group(action, tracks, stack, log)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return report
