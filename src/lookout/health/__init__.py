"""Health: checks with Kubernetes probe semantics and the management ASGI app (``/metrics``, ``/health*``)."""

from lookout.health.app import DEFAULT_HOST, DEFAULT_PORT, management_app, management_routes, serve_management
from lookout.health.builtin_checks import EventLoopLag, InFlightSaturation, MemoryCheck, default_health
from lookout.health.lifecycle import CheckResult, Health, HealthCheck, Phase, Status

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "CheckResult",
    "EventLoopLag",
    "Health",
    "HealthCheck",
    "InFlightSaturation",
    "MemoryCheck",
    "Phase",
    "Status",
    "default_health",
    "management_app",
    "management_routes",
    "serve_management",
]
