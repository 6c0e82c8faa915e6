"""What the two HTTP transports share: the httpx client, TLS contexts, timing hooks and error mapping."""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import httpx

from lookout.probe.errors import HttpStatusFailure, JsonRpcFailure, ProbeFailure, TransportFailure
from lookout.probe.transports.base import ByteBudget, WireStats
from lookout.probe.transports.coalesce import SocketOption, coalescing_transport

MAX_REDIRECTS = 5
NODELAY: list[SocketOption] = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
"""httpcore writes headers and body separately; without TCP_NODELAY, Nagle plus delayed ACK add 40 ms
to every request on a reused connection."""


@dataclass(frozen=True)
class HttpOptions:
    """HTTP settings of one probe (built from a module by :mod:`lookout.probe.modules`)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | str | None = None  # (user, password) for basic, str for a bearer token
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    follow_redirects: bool = False
    timeout: float | None = 10.0
    """Per-operation httpx timeout; None when the caller bounds the whole exchange (run_probe's fail_after),
    which spares httpcore a cancel scope per read and write."""
    max_response_bytes: int = 4 * 1024 * 1024


@functools.lru_cache(maxsize=32)
def tls_context(ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """One SSL context per trust setting: building one costs milliseconds of CPU, so probes share them."""
    context = ssl.create_default_context(cafile=ca_file)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port (the scheme's default when the URL names none): what a redirect may not change."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _same_origin_only() -> Any:
    """A request hook refusing every request to another origin than the first one the client sent: a
    redirect hop is a new request, so a target cannot send the prober to a host:port nobody configured."""
    first: list[tuple[str, str, int | None]] = []

    async def check(request: httpx.Request) -> None:
        here = origin(request.url)
        if not first:
            first.append(here)
        elif here != first[0]:
            raise ProbeFailure(
                f"redirect to {request.url.scheme}://{request.url.host}:{here[2]} refused: redirects are followed "
                f"only within {first[0][0]}://{first[0][1]}:{first[0][2]}"
            )

    return check


def build_client(options: HttpOptions) -> httpx.AsyncClient:
    """A fresh client per probe (fresh connections: connect and TLS are measured), sharing the TLS context."""
    headers = {"User-Agent": "lookout-probe", **options.headers}
    if isinstance(options.auth, str):
        headers["Authorization"] = f"Bearer {options.auth}"
    transport = coalescing_transport(tls_context(options.ca_file, options.insecure_skip_verify), NODELAY)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(options.timeout),  # Timeout(None): no per-operation limits
        follow_redirects=options.follow_redirects,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,  # never route probes through a proxy from the environment
        headers=headers,
        auth=httpx.BasicAuth(*options.auth) if isinstance(options.auth, tuple) else None,
        event_hooks={"request": [_same_origin_only()]},
    )


class ResponseLike(Protocol):
    """What the transports read from a response: ``httpx.Response``, or the h11 client's (plain HTTP)."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason_phrase(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


def _cert_not_after(stream: Any) -> float | None:
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return None
    from cryptography import x509  # imported lazily: only TLS probes pay for it

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()


def tracer(stats: WireStats) -> Any:
    """An httpcore trace hook recording connect and TLS durations and the peer certificate's expiry."""
    started: dict[str, float] = {}

    async def trace(event: str, info: Mapping[str, Any]) -> None:
        for step, phase in (("connection.connect_tcp", "connect"), ("connection.start_tls", "tls")):
            if event == f"{step}.started":
                started[phase] = time.perf_counter()
            elif event.startswith(step) and phase in started:
                stats.add_phase(phase, time.perf_counter() - started.pop(phase))
                if event == "connection.start_tls.complete":
                    expiry = _cert_not_after(info.get("return_value"))
                    if expiry is not None:
                        stats.cert_not_after = min(expiry, stats.cert_not_after or expiry)

    return trace


def describe_http_error(exc: httpx.HTTPError, url: str) -> ProbeFailure:
    if isinstance(exc, httpx.TooManyRedirects):
        return ProbeFailure(f"redirect loop: more than {MAX_REDIRECTS} redirects from {url}")
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure(f"{url}: timed out ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure(f"cannot connect to {url}: {reason}")
    return TransportFailure(f"{url}: {type(exc).__name__}: {reason}")


@contextlib.asynccontextmanager
async def http_errors(url: str) -> AsyncIterator[None]:
    """Turn httpx exceptions into :class:`ProbeFailure` with a readable reason."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise describe_http_error(exc, url) from None


@contextlib.asynccontextmanager
async def body_chunks(response: ResponseLike) -> AsyncIterator[AsyncIterator[bytes]]:
    """The response's chunks, with the iterator closed on exit (no async generator left for the GC)."""
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())
    try:
        yield chunks
    finally:
        await chunks.aclose()


async def read_body(response: ResponseLike, limit: int, stats: WireStats | None = None) -> bytes:
    budget = ByteBudget(limit, stats)
    parts = []
    async with body_chunks(response) as chunks:
        async for chunk in chunks:
            parts.append(budget.spend(chunk))
    return b"".join(parts)


async def raise_for_status(response: ResponseLike, method: str, limit: int, stats: WireStats) -> None:
    """Fail on 3xx (redirects off) and on 4xx/5xx, preferring the JSON-RPC error in the body when there is one."""
    status = response.status_code
    stats.http_status = status
    if status < 300:
        return
    if status < 400:
        where = response.headers.get("location", "?")
        raise HttpStatusFailure(
            f"{method}: HTTP {status} redirect to {where}; set follow_redirects: true in the module to follow it",
            status,
        )
    body = await read_body(response, min(limit, 64 * 1024), stats)
    error = _jsonrpc_error(body)
    if error is not None:
        raise JsonRpcFailure(method, *error)
    # An HTML error page says nothing a one-line reason can carry; a short text or JSON body may.
    html = "html" in response.headers.get("content-type", "").lower()
    text = "" if html else body[:200].decode("utf-8", "replace").strip()
    raise HttpStatusFailure(f"{method}: HTTP {status} {response.reason_phrase}: {text}".rstrip(": "), status)


def _jsonrpc_error(body: bytes) -> tuple[int, str] | None:
    import json

    try:
        value = json.loads(body)
    except ValueError:
        return None
    error = value.get("error") if isinstance(value, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        return int(error["code"]), str(error.get("message", ""))
    return None
