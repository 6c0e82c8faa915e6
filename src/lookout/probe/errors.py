"""Why a probe failed: every failure is a :class:`ProbeFailure` whose message is the reason shown to users."""

from __future__ import annotations


class ProbeFailure(Exception):
    """The probe failed; ``str(exc)`` is the reason, phrased for the operator."""


class TransportFailure(ProbeFailure):
    """Could not connect, TLS failed, the connection broke, or the child process died."""


class HttpStatusFailure(ProbeFailure):
    """The server answered with an HTTP status that is not a success."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProtocolViolation(ProbeFailure):
    """The server's answer is not valid MCP/JSON-RPC (bad JSON, wrong id, wrong content type...)."""


class ResponseTooLarge(ProbeFailure):
    """A response exceeded the module's ``max_response_bytes``."""


class ProbeTooLarge(ResponseTooLarge):
    """The responses of one probe (all calls, all pages) exceeded the module's ``max_probe_bytes``."""


class JsonRpcFailure(ProbeFailure):
    """The server answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: JSON-RPC error {code}: {message}")
        self.method = method
        self.code = code
        self.error_message = message


class AssertionFailure(ProbeFailure):
    """The server answered, but not what the module expects (missing tools, regex mismatch...)."""
