"""``lookout probe``: resolve the target, run one probe, format the outcome (the typer wrapper is thin)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import anyio

from lookout import metrics
from lookout.config import Config
from lookout.config.probe import DEFAULT_MODULE, Module, ProbeSettings
from lookout.probe.modules import ProbeTarget, run_probe
from lookout.probe.result import ProbeResult
from lookout.protocol import Transport, address_problem, transport_names
from lookout.security.redact import redact


class UsageError(Exception):
    """Bad arguments or config (exit 2); the message is one line naming the fix."""


def resolve_cli_target(config: Config | None, target: str, transport: str | None) -> ProbeTarget:
    """A target name from the config, or a URL / command line given directly (the CLI may probe anything)."""
    chosen = _transport(transport)
    if config is not None:
        for _, configured in config.targets():
            if configured.name == target:
                return _checked(ProbeTarget(configured.name, configured.url, chosen or configured.transport))
    if chosen is Transport.STDIO:
        return _checked(ProbeTarget(target, target, Transport.STDIO))
    if target.startswith(("http://", "https://")):
        return _checked(ProbeTarget(target, target, chosen or Transport.STREAMABLE_HTTP))
    where = "the config" if config is not None else "lookout.yaml (none found; pass --config)"
    raise UsageError(
        f"unknown target {target!r}: give a URL, a target name from {where}, or a command with --transport stdio"
    )


def _checked(target: ProbeTarget) -> ProbeTarget:
    problem = address_problem(target.address, target.transport)
    if problem is not None:
        named = f"target {target.name!r}: {target.address!r}" if target.name != target.address else repr(target.address)
        raise UsageError(f"{named} {problem}")
    return target


def _transport(name: str | None) -> Transport | None:
    if name is None:
        return None
    try:
        return Transport(name)
    except ValueError:
        raise UsageError(f"--transport {name!r}: use one of {transport_names()}") from None


def resolve_module(settings: ProbeSettings, name: str | None) -> tuple[str, Module]:
    name = name or DEFAULT_MODULE
    module = settings.modules.get(name)
    if module is None:
        known = ", ".join(sorted(settings.modules)) or "(none)"
        raise UsageError(f"--module {name!r}: no such module under probe.modules; configured: {known}")
    return name, module


def probe_once(
    config: Config | None, target: str, module: str | None, transport: str | None, seconds: float | None
) -> ProbeResult:
    if seconds is not None and not (0 < seconds < math.inf):  # NaN too
        raise UsageError("--timeout must be a positive number of seconds")
    settings = config.probe if config is not None else ProbeSettings()
    probe_target = resolve_cli_target(config, target, transport)
    module_name, module_spec = resolve_module(settings, module)
    return anyio.run(run_probe, probe_target, module_name, module_spec, seconds)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def format_human(result: ProbeResult, debug: bool = False) -> str:
    status = "OK" if result.success else f"FAILED: {redact(str(result.error))}"
    lines = [
        f"target        {result.target} (module {result.module})",
        f"result        {status}",
        f"duration      {_ms(result.duration_seconds)}",
        "phases        " + (", ".join(f"{p} {_ms(s)}" for p, s in result.phases.items()) or "-"),
        f"protocol      {result.protocol_version or '-'}",
        f"server        {result.server_name or '-'} {result.server_version or ''}".rstrip(),
        "capabilities  " + (", ".join(sorted(result.capabilities)) or "-"),
    ]
    if result.tools_hash is not None:
        lines.append(f"tools         {len(result.tools)}: {', '.join(result.tools)}")
        lines.append(f"tools hash    {metrics.tools_hash_text(result.tools_hash)}")
    if result.footprint is not None:
        fp = result.footprint
        largest = ", ".join(f"{t.name} {t.bytes} B" for t in fp.tools[:3]) or "-"
        lines.append(f"tool defs     {fp.bytes} bytes, ~{fp.tokens} tokens (largest: {largest})")
    if result.resources is not None or result.prompts is not None:
        lines.append(f"resources     {result.resources if result.resources is not None else '-'}")
        lines.append(f"prompts       {result.prompts if result.prompts is not None else '-'}")
    if result.http_status is not None:
        lines.append(f"http status   {result.http_status}")
    if result.jsonrpc_error_code is not None:
        lines.append(f"json-rpc err  {result.jsonrpc_error_code}")
    if result.ssl_earliest_expiry is not None:
        expiry = datetime.fromtimestamp(result.ssl_earliest_expiry, UTC).isoformat()
        lines.append(f"cert expiry   {expiry}")
    if debug:
        lines += ["", "log:", result.log.text().rstrip()]
    return "\n".join(lines)


def format_json(result: ProbeResult, debug: bool = False) -> str:
    data = result.as_dict()
    if debug:
        data["log"] = result.log.text().splitlines()
    if isinstance(data.get("error"), str):
        data["error"] = redact(data["error"])
    return json.dumps(data, indent=2, sort_keys=True)
