"""How ``lookout drill`` makes each alert of the catalog fire on a running local stack, or why it cannot.

Every alert of :data:`lookout.stack.rules.ALERTS` has an entry here: a :class:`Drill` (the fault to inject
and which labels identify the alert it causes) or :class:`NotDrillable` with the reason. A new alert without
an entry fails the unit test that compares this registry with the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from lookout.stack import naming

DEMO_SERVER: Final = "demo-server"
"""The child of ``lookout up`` that runs the demo server (its PID file is ``run/demo-server.pid``)."""


class Scope(StrEnum):
    """Which labels of the fired alert the drill expects, besides ``alertname``."""

    SERVICE = "service"  # tenant and service of the demo target
    TOOL = "tool"  # ... and the faulted tool
    TENANT = "tenant"  # the demo target's tenant
    STACK = "stack"  # the stack's own tenant and the stopped component's job as service
    ALERT = "alert"  # the alert name alone


@dataclass(frozen=True)
class StopChild:
    """SIGSTOP a child of ``lookout up`` by its PID file (it stops answering, as a hung process does);
    SIGCONT clears it. ``job`` is the scrape job that goes blind with it."""

    child: str
    job: str | None = None

    def describe(self) -> str:
        return f"stop {self.child}"


@dataclass(frozen=True)
class InjectFault:
    """A fault on the demo server's management API (``PUT /faults/{tool}``; ``DELETE`` clears it)."""

    tool: str
    error_ratio: float = 0.0
    latency_ms: float = 0.0
    kind: str | None = None

    def describe(self) -> str:
        parts = [f"error_ratio {self.error_ratio:g}"] if self.error_ratio else []
        if self.latency_ms:
            parts.append(f"latency {self.latency_ms:g} ms")
        if self.kind:
            parts.append(f"kind {self.kind}")
        return f"fault on {self.tool}: {', '.join(parts)}"


@dataclass(frozen=True)
class PushCapacity:
    """A benchmarked capacity for the demo target pushed to the Pushgateway, low enough that the demo
    traffic exceeds it; clearing deletes it (and restores a capacity pushed before the drill)."""

    capacity_rps: float

    def describe(self) -> str:
        return f"push capacity {self.capacity_rps:g} rps"


@dataclass(frozen=True)
class AlwaysFiring:
    """Nothing to inject: the alert fires all the time (a dead-man's switch)."""

    def describe(self) -> str:
        return "none (always firing)"


Action = StopChild | InjectFault | PushCapacity | AlwaysFiring


@dataclass(frozen=True)
class Drill:
    action: Action
    scope: Scope
    clears_after: float = 0.0
    """Seconds the alert's windows still see the fault after it is cleared (its shortest window)."""
    escalated_from: str | None = None
    """For an escalation: the alert of the same action that it re-raises."""
    alone: bool = False
    """Drilled in its own run of the action, cleared as soon as it is notified: another alert of the same fault
    inhibits it, and an alert that resolves while inhibited never gets its resolve notification."""

    @property
    def needs_demo(self) -> bool:
        action = self.action
        return isinstance(action, InjectFault | PushCapacity) or (
            isinstance(action, StopChild) and action.child == DEMO_SERVER
        )

    @property
    def needs_traffic(self) -> bool:
        return isinstance(self.action, InjectFault | PushCapacity)


@dataclass(frozen=True)
class NotDrillable:
    reason: str


Entry = Drill | NotDrillable

_FIVE_MINUTES = 300.0
_DEMO_DOWN = StopChild(DEMO_SERVER)
_TOOL = "calculate"
_TOOL_ERRORS = InjectFault(_TOOL, error_ratio=1.0, kind="tool_error")
_EXCEPTIONS = InjectFault(_TOOL, error_ratio=1.0, kind="exception")
_SLOW = InjectFault("*", latency_ms=250)
_EXPORTER_DOWN = StopChild("exporter", naming.JOB_EXPORTER)
_PUSHGATEWAY_DOWN = StopChild("pushgateway", naming.JOB_PUSHGATEWAY)
_OVER_CAPACITY = PushCapacity(0.5)

DRILLS: Final[dict[str, Entry]] = {
    # Order is the drill's order: quick ones first, those that wait for a 5m window to clear after.
    "Watchdog": Drill(AlwaysFiring(), Scope.ALERT),
    # The demo server stops answering. Each down alert inhibits the one before (tenant > server > probe >
    # instance); the drill profile staggers their `for`, and each is drilled alone, so the fault is cleared
    # before the next one fires.
    "MCPServerInstanceDown": Drill(_DEMO_DOWN, Scope.SERVICE, alone=True),
    "MCPProbeFailing": Drill(_DEMO_DOWN, Scope.SERVICE, alone=True),
    "MCPServerDown": Drill(_DEMO_DOWN, Scope.SERVICE, alone=True),
    "MCPTenantDown": Drill(_DEMO_DOWN, Scope.TENANT, alone=True),
    "LookoutAuxiliaryComponentDown": Drill(_PUSHGATEWAY_DOWN, Scope.STACK),
    "MCPCapacityHigh": Drill(_OVER_CAPACITY, Scope.SERVICE),
    "LookoutEscalatedP2": Drill(_OVER_CAPACITY, Scope.SERVICE, escalated_from="MCPCapacityHigh"),
    "LookoutStackComponentDown": Drill(_EXPORTER_DOWN, Scope.STACK),
    "LookoutEscalatedP1": Drill(_EXPORTER_DOWN, Scope.STACK, escalated_from="LookoutStackComponentDown"),
    "MCPToolErrorRatioHigh": Drill(_TOOL_ERRORS, Scope.TOOL, clears_after=_FIVE_MINUTES),
    "MCPErrorRatioHigh": Drill(_TOOL_ERRORS, Scope.SERVICE, clears_after=_FIVE_MINUTES),
    "MCPToolLatencyP99High": Drill(_SLOW, Scope.SERVICE, clears_after=_FIVE_MINUTES),
    "MCPLatencyP99High": Drill(_SLOW, Scope.SERVICE, clears_after=_FIVE_MINUTES),
    "MCPErrorBudgetBurnFast": Drill(_EXCEPTIONS, Scope.SERVICE, clears_after=_FIVE_MINUTES),
    # ---------------------------------------------------------------- not drillable
    "MCPErrorBudgetBurnMedium": NotDrillable("it clears only when its 30m window is clean: a 30-minute drill"),
    "MCPErrorBudgetBurnSlow": NotDrillable("it clears only when its 2h window is clean"),
    "MCPLatencyBudgetBurnFast": NotDrillable(
        "its 1h window must be 14.4 % slow too: tens of minutes of added latency on a stack that ran an hour"
    ),
    "MCPLatencyBudgetBurnSlow": NotDrillable("it clears only when its 2h window is clean"),
    "MCPErrorBudgetBurnTicket": NotDrillable("it clears only when its 6h window is clean"),
    "MCPErrorBudgetLow": NotDrillable("it needs a quarter of the 30-day error budget spent"),
    "MCPCertificateExpired": NotDrillable("the demo server speaks plain HTTP: no certificate to expire"),
    "MCPCertificateExpiringSoon": NotDrillable("the demo server speaks plain HTTP: no certificate to expire"),
    "MCPCPUUtilizationHigh": NotDrillable("it needs sustained CPU use over its window; a drill must not load the host"),
    "MCPMemoryUtilizationHigh": NotDrillable("it needs the demo server to fill its memory limit"),
    "MCPMemoryExhaustionForecast": NotDrillable("it needs an hour of memory growth (predict_linear over 1h)"),
    "MCPFileDescriptorsExhaustionForecast": NotDrillable("it needs an hour of descriptor growth (predict_linear 1h)"),
    "MCPSessionLeak": NotDrillable("it needs 30 minutes of rising sessions at flat traffic"),
    "MCPInFlightSaturation": NotDrillable("the demo server exports no concurrency limit to saturate"),
    "MCPToolDefinitionsChanged": NotDrillable("the demo server's tools are fixed while it runs"),
    "MCPToolDefinitionsFootprintHigh": NotDrillable(
        "the demo server's tools are fixed while it runs: its footprint cannot grow or cross a budget on demand"
    ),
    "MCPTelemetryDropped": NotDrillable("it needs the instrumentation's log or trace queue to overflow"),
    "MCPDeprecatedProtocolVersion": NotDrillable("it clears only after an hour without the revision (rate over 1h)"),
    "LookoutRuleEvaluationFailures": NotDrillable("the generated rules evaluate cleanly (promtool-checked)"),
    "LookoutAlertmanagerNotificationsFailing": NotDrillable(
        "stopping Alertmanager also stops the delivery the drill must observe"
    ),
    "LookoutReceiverNotificationsFailing": NotDrillable(
        "stopping the sink also stops the delivery the drill must observe"
    ),
    "LookoutRemoteWriteBehind": NotDrillable(
        "`lookout up` remote-writes only in the HA topology; its storage-outage test stops VictoriaMetrics instead"
    ),
    "LookoutStackReplicaDown": NotDrillable("it needs an HA topology (a replica down while another is up)"),
    "LookoutScrapeTargetAbsent": NotDrillable("it needs a target missing from the generated scrape configuration"),
    "LookoutAlertUnroutable": NotDrillable("the generated rules only carry configured tenants and priorities"),
}
