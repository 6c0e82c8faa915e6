"""Lookout: the monitoring stack for MCP server fleets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-lookout")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
