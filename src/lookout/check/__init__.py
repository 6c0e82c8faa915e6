"""Validators: prove the generated stack with the real tools (promtool, amtool, docker-compose,
schemas) and by live queries. Each validator returns a list of :class:`Finding`."""

from lookout.check.findings import Finding

__all__ = ["Finding"]
