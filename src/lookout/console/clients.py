"""Prometheus and Alertmanager HTTP API clients: the console's only upstreams, fixed at start-up.

Every failure (connection refused, timeout, an error status, a query Prometheus rejects) becomes one
:class:`UpstreamError` whose message the pages show as is.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import httpx

T = TypeVar("T")

TIMEOUT: Final = httpx.Timeout(10.0, connect=2.0)
PROMETHEUS_PROXY_PATHS: Final = frozenset({"query", "query_range"})
"""The only Prometheus API calls the browser may have proxied (read-only queries)."""


MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
"""The largest answer the console reads from an upstream: a dashboard panel (240 points a series) stays far
below it; a query for every series over a long range at a tiny step does not, and is refused, not buffered."""


class UpstreamError(Exception):
    """Prometheus or Alertmanager is unreachable or refused a call; the message says which and why."""


class Unreachable(UpstreamError):
    """The upstream did not answer (or answered 5xx). ``sent``: the request may have reached it (anything but a
    failed connect), so a call that changes state is not repeated elsewhere."""

    def __init__(self, message: str, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class QueryRefused(UpstreamError):
    """The query itself is refused — Prometheus says ``bad_data``, or its answer is too large to relay: the
    asker's to change, not the upstream's failure."""


class _AnswerTooLarge(Exception):
    """The upstream's answer passed :data:`MAX_ANSWER_BYTES` (raised while reading it, turned into a refusal)."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


def _why(exc: httpx.HTTPError) -> str:
    chain: list[BaseException] = []  # httpx wraps httpcore, which wraps anyio's "all attempts failed", the socket's
    link: BaseException | None = exc
    while link is not None and len(chain) < 10:
        chain.append(link)
        link = link.__cause__ or link.__context__
    cause = next((c for c in reversed(chain) if isinstance(c, OSError)), None)  # the innermost: the socket's own
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not trusted: {cause.verify_message} (security.tls.ca_file)"
    if isinstance(cause, ssl.SSLError):
        return f"TLS failed: {cause.reason or cause} (is it serving HTTPS? the URL's scheme says so)"
    if isinstance(cause, socket.gaierror):
        return f"its host name does not resolve ({cause.strerror or cause})"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused (is it running?)"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class UpstreamAccess:
    """How the console reaches Prometheus and Alertmanager under ``security:``: the CA it trusts (and the client
    certificate it presents) for TLS, and the user it logs in as."""

    verify: ssl.SSLContext | bool = True
    auth: tuple[str, str] | None = None


class _Upstream:
    name = ""

    def __init__(self, base_url: str, access: UpstreamAccess | None = None) -> None:
        access = access or UpstreamAccess()
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=TIMEOUT,
            follow_redirects=False,
            verify=access.verify,
            auth=httpx.BasicAuth(*access.auth) if access.auth else None,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            async with self._http.stream(method, path, **kwargs) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise _AnswerTooLarge
            # The answer as read (decoded): its status and body, and the type its text is decoded by.
            kept = {"content-type": response.headers.get("content-type", "application/octet-stream")}
            response = httpx.Response(response.status_code, headers=kept, content=bytes(body), request=response.request)
        except httpx.HTTPError as exc:
            sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
            raise Unreachable(f"{self.name} at {self.base_url}: {_why(exc)}", sent) from None
        except _AnswerTooLarge:
            raise QueryRefused(
                f"{self.name} at {self.base_url}: its answer is larger than {MAX_ANSWER_BYTES >> 20} MiB: "
                "narrow the query or the time range"
            ) from None
        if response.status_code in (401, 403):
            raise UpstreamError(
                f"{self.name} at {self.base_url}: HTTP {response.status_code}: it refused the console's credentials "
                "(security.client_user and its password_file)"
            )
        if response.status_code >= 500 or response.status_code in (404, 405):
            said = response.text.strip()[:300]
            raise Unreachable(
                f"{self.name} at {self.base_url}: HTTP {response.status_code} on {path}" + (f": {said}" if said else "")
            )
        return response


class PrometheusClient(_Upstream):
    name = "Prometheus"

    def __init__(self, base_url: str, access: UpstreamAccess | None = None, name: str | None = None) -> None:
        super().__init__(base_url, access)
        if name is not None:  # the long-term store of an ha topology answers the same API: say which one failed
            self.name = name

    async def api(self, call: str, params: list[tuple[str, str]]) -> tuple[int, bytes]:
        """Proxy one read-only API call: Prometheus's status and JSON body, untouched."""
        if call not in PROMETHEUS_PROXY_PATHS:
            raise QueryRefused(f"not a proxied Prometheus call: {call}")
        response = await self._call(
            "POST",
            f"/api/v1/{call}",
            content=urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return response.status_code, response.content

    async def _data(self, path: str, params: dict[str, str]) -> Any:
        response = await self._call("GET", path, params=params)
        try:
            body = response.json()
        except ValueError:
            raise UpstreamError(f"{self.name} at {self.base_url}: not a JSON answer on {path}") from None
        if body.get("status") != "success":
            kind = body.get("errorType", "error")
            refused = QueryRefused if kind == "bad_data" else UpstreamError
            raise refused(f"{self.name}: {kind}: {body.get('error', 'query failed')}")
        return body["data"]

    async def instant(self, expr: str, at: float | None = None) -> list[Sample]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = await self._data("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        return [Sample(item["metric"], float(item["value"][1])) for item in data["result"]]

    async def series_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = await self._data("/api/v1/query_range", params)
        return [(item["metric"], [(float(t), float(v)) for t, v in item["values"]]) for item in data["result"]]

    async def label_values(self, label: str, match: str, start: float | None, end: float | None) -> list[str]:
        params = {"match[]": match}
        if start is not None:
            params["start"] = f"{start:.3f}"
        if end is not None:
            params["end"] = f"{end:.3f}"
        values: list[str] = await self._data(f"/api/v1/label/{label}/values", params)
        return sorted(values)


class AlertmanagerClient(_Upstream):
    name = "Alertmanager"

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(method, path, **kwargs)
        if response.status_code >= 400:
            raise UpstreamError(f"Alertmanager refused it: {response.text.strip()[:300]}")
        try:
            return response.json() if response.content else None
        except ValueError:
            raise UpstreamError(f"Alertmanager at {self.base_url}: not a JSON answer on {path}") from None

    async def alerts(self) -> list[dict[str, Any]]:
        """Every alert Alertmanager holds, silenced and inhibited ones included, with its receivers."""
        params = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
        alerts: list[dict[str, Any]] = await self._json("GET", "/api/v2/alerts", params=params)
        return alerts

    async def silences(self) -> list[dict[str, Any]]:
        silences: list[dict[str, Any]] = await self._json("GET", "/api/v2/silences")
        return silences

    async def create_silence(self, silence: dict[str, Any]) -> str:
        body = await self._json("POST", "/api/v2/silences", json=silence)
        return str(body["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        await self._json("DELETE", f"/api/v2/silence/{silence_id}")


class AlertmanagerCluster:
    """The peers of one Alertmanager cluster (the ``ha`` topology), tried in order: they gossip alerts and
    silences, so any peer that answers shows the same — the console keeps working while one is down. A silence is
    created on another peer only when the first could not be reached at all (never twice)."""

    def __init__(self, base_urls: Sequence[str], access: UpstreamAccess | None = None) -> None:
        self._peers = [AlertmanagerClient(url, access) for url in base_urls]
        self.base_url = self._peers[0].base_url

    async def close(self) -> None:
        for peer in self._peers:
            await peer.close()

    async def _first(self, call: Callable[[AlertmanagerClient], Awaitable[T]], repeatable: bool = True) -> T:
        failures: list[str] = []
        for peer in self._peers:
            try:
                return await call(peer)
            except Unreachable as exc:
                failures.append(str(exc))
                if exc.sent and not repeatable:
                    break
        raise UpstreamError("; ".join(failures))

    async def alerts(self) -> list[dict[str, Any]]:
        return await self._first(lambda peer: peer.alerts())

    async def silences(self) -> list[dict[str, Any]]:
        return await self._first(lambda peer: peer.silences())

    async def create_silence(self, silence: dict[str, Any]) -> str:
        return await self._first(lambda peer: peer.create_silence(silence), repeatable=False)

    async def expire_silence(self, silence_id: str) -> None:
        await self._first(lambda peer: peer.expire_silence(silence_id))
