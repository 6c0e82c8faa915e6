"""The exporter: ``/probe`` runs one probe per scrape (blackbox_exporter's convention), ``/metrics`` its own.

Targets are names from ``lookout.yaml``, or URLs fully matching ``probe.allowed_urls``; anything else is a
400, so the exporter can never be used to make requests to arbitrary URLs. ``/-/reload`` (POST) and SIGHUP
re-read the config; a bad config keeps the old one and says why.

A scrape's whole probe fits its timeout, the wait for one of ``probe.max_concurrent_probes`` slots
included, and a scrape the client gives up on (it disconnects) cancels its probe: a slow target can delay
healthy ones by no more than their own timeouts.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lookout import metrics
from lookout.config import Config, ConfigError, load_config
from lookout.config.probe import DEFAULT_MODULE, Module
from lookout.probe.modules import ProbeTarget, run_probe
from lookout.probe.result import ProbeResult
from lookout.probe.result_exposition import render
from lookout.protocol import Transport
from lookout.security.auth import server_security
from lookout.serving import Listener, serve

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"


class TargetRefused(Exception):
    """The target is neither a configured name nor an allowed URL (the message says so)."""


def resolve_target(config: Config, target: str) -> ProbeTarget:
    """A configured target by name, or an allowed URL (streamable HTTP); otherwise :class:`TargetRefused`."""
    for _, configured in config.targets():
        if configured.name == target:
            return ProbeTarget(configured.name, configured.url, configured.transport)
    if target.startswith(("http://", "https://")) and config.probe.url_allowed(target):
        return ProbeTarget(target, target, Transport.STREAMABLE_HTTP)
    if target.startswith(("http://", "https://")):
        raise TargetRefused(
            f"target {target!r} is not allowed: the exporter only probes target names from lookout.yaml "
            "and URLs that fully match a regex in probe.allowed_urls"
        )
    raise TargetRefused(f"unknown target {target!r}: use a target name from lookout.yaml (or an allowed URL)")


def probe_timeout(header: str | None, offset: float) -> float | None:
    """Prometheus' scrape timeout minus ``offset`` (so the answer arrives in time); None without the header."""
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        return None
    return max(0.1, seconds - offset)


@dataclass
class ExporterState:
    config_path: Path | None
    config: Config
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.probes = Counter(
            metrics.EXPORTER_PROBES.name,
            metrics.EXPORTER_PROBES.help,
            metrics.EXPORTER_PROBES.labels,
            registry=self.registry,
        )
        self.reloads = Counter(
            metrics.EXPORTER_CONFIG_RELOADS.name,
            metrics.EXPORTER_CONFIG_RELOADS.help,
            metrics.EXPORTER_CONFIG_RELOADS.labels,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.limiter = anyio.CapacityLimiter(self.config.probe.max_concurrent_probes)
        self.restart_needed: list[str] = []

    def reload(self) -> str | None:
        """Re-read the config file; return the error (old config kept) or None."""
        if self.config_path is None:
            return "no config file to reload"
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            self.reloads.labels("failure").inc()
            return str(exc)
        # The listener was bound and secured at start: a change to either waits for a restart, and says so.
        self.restart_needed = [
            field
            for field, before, after in (
                ("listen.exporter", self.config.listen.exporter, config.listen.exporter),
                ("security", self.config.security, config.security),
            )
            if before != after
        ]
        self.config = config
        self.limiter.total_tokens = config.probe.max_concurrent_probes
        self.reloads.labels("success").inc()
        return None

    def reloaded(self) -> str:
        if not self.restart_needed:
            return "config reloaded"
        return f"config reloaded; {' and '.join(self.restart_needed)} changed: restart the exporter to apply them"


MIN_PROBE_SECONDS = 0.1
"""A slot that frees up with less of the timeout left than this is too late for a probe: the scrape is the
exporter's failure (no slot in time), not a timeout blamed on the target."""


async def scrape(
    state: ExporterState, target: ProbeTarget, module_name: str, module: Module, seconds: float | None
) -> ProbeResult:
    """One probe within ``seconds`` (the module's timeout without them), waiting for a free slot included."""
    limit = module.timeout_seconds if seconds is None else min(seconds, module.timeout_seconds)
    started = time.perf_counter()
    try:
        state.limiter.acquire_nowait()
        queued = False
    except anyio.WouldBlock:
        queued = True
        try:
            with anyio.fail_after(limit):
                await state.limiter.acquire()
        except TimeoutError:
            return _no_slot(state, target, module_name, limit, started)
    try:
        waited = time.perf_counter() - started
        # Only a scrape that queued for its slot can blame the slots; one with a free slot probes with whatever
        # its (possibly short) timeout allows, and a timeout then says so.
        if queued and limit - waited < MIN_PROBE_SECONDS:
            return _no_slot(state, target, module_name, limit, started)
        result = await run_probe(target, module_name, module, limit - waited)
        if waited >= 0.001:
            result.log.always(f"waited {waited:.3f}s for a probe slot before the probe")
            if result.error is not None and waited >= 0.01:  # the target had less than the whole timeout
                result.error += f" (after waiting {waited:.2f}s of the {limit:.2f}s timeout for a probe slot)"
        return result
    finally:
        state.limiter.release()


def _no_slot(state: ExporterState, target: ProbeTarget, module_name: str, limit: float, started: float) -> ProbeResult:
    result = ProbeResult(target=target.name, module=module_name, duration_seconds=time.perf_counter() - started)
    result.error = (
        f"no probe slot free within the {limit:.2f}s timeout: {state.limiter.borrowed_tokens} probes running "
        f"(probe.max_concurrent_probes is {state.config.probe.max_concurrent_probes})"
    )
    result.log.always(f"probe failed: {result.error}")
    return result


async def unless_disconnected(request: Request, work: Callable[[], Awaitable[ProbeResult]]) -> ProbeResult | None:
    """``work()``'s result, or None once the client has gone (the work is then cancelled: nobody waits)."""
    outcome: list[ProbeResult] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        async def run() -> None:
            outcome.append(await work())
            group.cancel_scope.cancel()

        group.start_soon(watch)
        group.start_soon(run)
    return outcome[0] if outcome else None


def build_app(state: ExporterState) -> Starlette:
    async def probe(request: Request) -> Response:
        config = state.config
        target_param = request.query_params.get(metrics.PROBE_PARAM_TARGET, "")
        module_name = request.query_params.get(metrics.PROBE_PARAM_MODULE, DEFAULT_MODULE)
        if not target_param:
            return PlainTextResponse("target parameter is missing: /probe?target=NAME&module=MODULE\n", 400)
        module = config.probe.modules.get(module_name)
        if module is None:
            known = ", ".join(sorted(config.probe.modules))
            return PlainTextResponse(f"unknown module {module_name!r}; configured modules: {known}\n", 400)
        try:
            target = resolve_target(config, target_param)
        except TargetRefused as exc:
            return PlainTextResponse(f"{exc}\n", 400)
        timeout = probe_timeout(request.headers.get(SCRAPE_TIMEOUT_HEADER), config.probe.timeout_offset)
        result = await unless_disconnected(request, lambda: scrape(state, target, module_name, module, timeout))
        if result is None:  # the client is gone: nobody reads an answer
            return Response(status_code=499)
        state.probes.labels(module_name, "success" if result.success else "failure").inc()
        body = render(result)
        if request.query_params.get("debug", "").lower() in ("1", "true", "yes"):
            text = f"Logs for the probe:\n{result.log.text()}\nMetrics that would have been returned:\n{body.decode()}"
            return PlainTextResponse(text)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def own_metrics(request: Request) -> Response:
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthy(request: Request) -> Response:
        return PlainTextResponse("Healthy\n")

    async def reload(request: Request) -> Response:
        message, ok = reload_and_log(state)
        return PlainTextResponse(message + "\n", 200 if ok else 500)

    async def index(request: Request) -> Response:
        return PlainTextResponse(
            "lookout exporter: /probe?target=NAME&module=MODULE, /metrics, /-/healthy, /-/reload\n"
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/probe", probe),
            Route("/metrics", own_metrics),
            Route("/-/healthy", healthy),
            Route("/-/reload", reload, methods=["POST", "PUT"]),
        ]
    )


def reload_and_log(state: ExporterState) -> tuple[str, bool]:
    """Re-read the config and say how it went, in the exporter's log whatever asked (SIGHUP or ``/-/reload``):
    a failed reload keeps serving the old config, and the log is where an operator looks for why."""
    error = state.reload()
    message = f"reload failed, previous config kept: {error}" if error else state.reloaded()
    print(f"lookout exporter: {message}", flush=True)
    return message, error is None


async def serve_exporter(state: ExporterState, host: str, port: int, origin: str = "--listen") -> None:
    """Serve until SIGINT/SIGTERM; SIGHUP reloads the config. ``origin``: where the address came from (the option
    or the lookout.yaml key), named when its port is taken."""

    async def reload_on_sighup(scope: anyio.CancelScope) -> None:
        with scope, anyio.open_signal_receiver(signal.SIGHUP) as signals:
            async for _ in signals:
                reload_and_log(state)

    async with anyio.create_task_group() as group:
        watcher = anyio.CancelScope()
        group.start_soon(reload_on_sighup, watcher)
        try:
            security = server_security(state.config.security)
            await serve([Listener(build_app(state), host, port, f"exporter, {origin}", security=security)])
        finally:
            watcher.cancel()
