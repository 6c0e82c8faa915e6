"""Health: the management ASGI app serving ``/metrics`` and ``/health``."""

from lookout.health.app import management_app

__all__ = ["management_app"]
