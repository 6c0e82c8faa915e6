"""One probe: open the session, check the revision and the tools, run the module's kind, report.

The kinds (discover, tool_call, resource_read) live in :mod:`lookout.probe.kinds`, one file each.

:func:`run_probe` never raises for a misbehaving server: every failure ends in a :class:`ProbeResult` with
``success=False`` and a reason, within the timeout, with sockets and child processes released.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from lookout.config.probe import Module
from lookout.probe.errors import AssertionFailure, JsonRpcFailure, ProbeFailure
from lookout.probe.kinds import PROBERS
from lookout.probe.protocol import McpSession, version_at_least
from lookout.probe.result import ProbeResult
from lookout.probe.transports.base import WireStats
from lookout.probe.transports.http import HttpOptions
from lookout.probe.transports.stdio import close_reserve
from lookout.protocol import Transport


@dataclass(frozen=True)
class ProbeTarget:
    """What to probe: ``address`` is a URL, or for stdio the command line."""

    name: str
    address: str
    transport: Transport = Transport.STREAMABLE_HTTP


def tools_hash(tools: Sequence[Mapping[str, Any]]) -> int:
    """A stable 48-bit hash of the tools' names, descriptions and schemas (exact in a float64 gauge)."""
    canonical = sorted(
        (
            {
                "name": tool.get("name"),
                "description": tool.get("description"),
                "inputSchema": tool.get("inputSchema"),
                "outputSchema": tool.get("outputSchema"),
            }
            for tool in tools
        ),
        key=lambda t: str(t["name"]),
    )
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:6], "big")


def _read_secret(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        # No "credentials:" prefix: the redactor reads "<key>: <value>" as a secret and would hide the reason.
        raise ProbeFailure(f"cannot read {what} {path}: {exc.strerror}") from None


def http_options(module: Module, timeout: float | None) -> HttpOptions:
    """The module's HTTP settings, with credentials read from their files now (rotation needs no reload)."""
    auth: tuple[str, str] | str | None = None
    credentials = module.credentials
    if credentials.bearer_token_file:
        auth = _read_secret(credentials.bearer_token_file, "bearer_token_file")
    elif credentials.basic_auth is not None:
        auth = (credentials.basic_auth.username, _read_secret(credentials.basic_auth.password_file, "password_file"))
    return HttpOptions(
        headers=dict(module.headers),
        auth=auth,
        ca_file=module.tls.ca_file,
        insecure_skip_verify=module.tls.insecure_skip_verify,
        follow_redirects=module.follow_redirects,
        timeout=timeout,
        max_response_bytes=module.max_response_bytes,
    )


async def run_probe(
    target: ProbeTarget, module_name: str, module: Module, deadline: float | None = None
) -> ProbeResult:
    """Probe ``target`` with ``module`` for at most ``deadline`` seconds (the scrape's), capped by the module."""
    limit = module.timeout_seconds if deadline is None else max(0.0, min(deadline, module.timeout_seconds))
    result = ProbeResult(target=target.name, module=module_name)
    stats = WireStats(log=result.log, max_probe_bytes=module.max_probe_bytes)
    result.log(f"probe {target.name} ({target.transport} {target.address}) module {module_name}, timeout {limit:.2f}s")
    # Closing runs shielded after a timeout, so it must fit in the deadline too: the transports bound it by
    # stats.deadline, and a stdio probe keeps part of its time for stopping the server.
    reserve = close_reserve(limit) if target.transport is Transport.STDIO else 0.0
    started = time.perf_counter()
    stats.deadline = anyio.current_time() + limit
    try:
        with anyio.fail_after(limit - reserve):
            await _probe(target, module, result, stats)
        result.success = True
    except TimeoutError:
        result.error = f"timed out after {limit - reserve:.2f}s in phase {result.current_phase or 'connect'}"
        if reserve:
            result.error += f" ({reserve:.2f}s of the {limit:.2f}s timeout kept for stopping the server)"
    except JsonRpcFailure as exc:
        result.jsonrpc_error_code = exc.code
        result.error = str(exc)
    except ProbeFailure as exc:
        result.error = str(exc)
    except Exception as exc:  # a probe must report, never crash the exporter
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    finally:
        if result.error is not None:  # one line, whatever the server put in its message or error page
            result.error = " ".join(result.error.split())
        result.duration_seconds = time.perf_counter() - started
        for phase, seconds in stats.phases.items():
            result.add_phase(phase, seconds)
        result.http_status = stats.http_status
        result.ssl_earliest_expiry = stats.cert_not_after
    result.log.always(f"probe {'succeeded' if result.success else 'failed: ' + str(result.error)}")
    return result


async def _probe(target: ProbeTarget, module: Module, result: ProbeResult, stats: WireStats) -> None:
    options = http_options(module, None)  # run_probe's fail_after bounds everything
    async with contextlib.AsyncExitStack() as stack:
        with result.phase("handshake"):
            session = await stack.enter_async_context(
                McpSession.open(
                    target.address,
                    transport=target.transport,
                    protocol=module.protocol,
                    http=options,
                    stats=stats,
                    list_page_budget=module.max_list_pages,
                )
            )
        result.protocol_version = session.protocol_version
        result.server_name, result.server_version = session.server_name, session.server_version
        result.capabilities = session.capabilities
        minimum = module.min_protocol_version
        if minimum is not None and not version_at_least(session.protocol_version, minimum):
            raise AssertionFailure(f"protocol version {session.protocol_version} is older than the minimum {minimum}")
        with result.phase("list_tools"):
            tools = await session.list_tools()
        result.tools = sorted(str(t.get("name")) for t in tools)
        result.tools_hash = tools_hash(tools)
        result.tool_definitions = tools
        missing = sorted(set(module.expected_tools) - set(result.tools))
        if missing:
            raise AssertionFailure(f"expected tools missing: {', '.join(missing)}")
        await PROBERS[module.kind](session, module, result)
        with result.phase("close"):
            await stack.aclose()
