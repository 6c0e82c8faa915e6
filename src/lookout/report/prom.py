"""A small client of the Prometheus HTTP API: instant, range and raw-sample queries, label values and the TSDB
status. It counts the requests it issues (the report benchmark reports them) and turns every failure into one
:class:`PrometheusUnavailable` naming the URL."""

from __future__ import annotations

import json
import math
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from lookout.report.errors import PrometheusUnavailable, ReportError

try:  # a month of points for fifty services is megabytes of JSON; orjson (the stack extra) parses it faster
    import orjson

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

except ImportError:  # the report extra alone

    def _loads(data: bytes) -> Any:
        return json.loads(data)


MAX_POINTS_PER_QUERY = 10_000
"""Prometheus refuses range queries of more than 11,000 points per series; chunks stay below that."""

Labels = dict[str, str]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Series:
    """One series of a query result: labels, sample times (Unix seconds) and values."""

    labels: Labels
    times: FloatArray
    values: FloatArray

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


@dataclass
class PromClient:
    url: str
    timeout: float = 30.0
    verify: ssl.SSLContext | bool = True
    """The stack's CA (and client certificate) under ``security:``."""
    auth: tuple[str, str] | None = None
    """The client user's login under ``security:``."""
    queries: int = 0
    _http: httpx.Client | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.url = base_url(self.url)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        with self._lock:  # the reports issue independent queries from a few threads
            if self._http is None:
                self._http = httpx.Client(timeout=self.timeout, verify=self.verify, auth=self.auth)
            self.queries += 1
        try:
            response = self._http.get(f"{self.url}{path}", params=params)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise PrometheusUnavailable(f"cannot reach Prometheus at {self.url}: {exc or type(exc).__name__}") from exc
        try:
            body = _loads(response.content)
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or body.get("status") != "success":
            error = body.get("error") or f"HTTP {response.status_code}"
            if response.status_code == 200:
                raise PrometheusUnavailable(
                    f"{self.url} is not a Prometheus API: {path} answered without a success status"
                )
            raise PrometheusUnavailable(f"Prometheus at {self.url} refused {path}: {error}")
        if "data" not in body:
            raise PrometheusUnavailable(f"{self.url} is not a Prometheus API: {path} answered without data")
        return body["data"]

    @contextmanager
    def _shaped(self, path: str) -> Iterator[None]:
        """An answer of another shape than the API's (a proxy, another server) is one line, not a traceback."""
        try:
            yield
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            what = f"{type(exc).__name__} {exc}" if str(exc) else type(exc).__name__
            raise PrometheusUnavailable(
                f"{self.url} is not a Prometheus API: {path} answered in another shape ({what})"
            ) from None

    # ------------------------------------------------------------------ queries
    def instant(self, expr: str, at: datetime) -> list[tuple[Labels, float]]:
        """An instant vector at ``at``: (labels, value) per series."""
        data = self._get("/api/v1/query", {"query": expr, "time": at.timestamp()})
        with self._shaped("/api/v1/query"):
            if data["resultType"] == "scalar":
                return [({}, float(data["result"][1]))]
            return [(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def range(self, expr: str, start: datetime, end: datetime, step: float) -> list[Series]:
        """A range query, split into chunks Prometheus accepts; points at ``start + k * step``."""
        begin, finish = start.timestamp(), end.timestamp()
        points = math.floor((finish - begin) / step) + 1
        chunks: dict[tuple[tuple[str, str], ...], list[FloatArray]] = {}
        for first in range(0, points, MAX_POINTS_PER_QUERY):
            last = min(points, first + MAX_POINTS_PER_QUERY) - 1
            params = {"query": expr, "start": begin + first * step, "end": begin + last * step, "step": step}
            data = self._get("/api/v1/query_range", params)
            with self._shaped("/api/v1/query_range"):
                for item in data["result"]:
                    key = tuple(sorted(item["metric"].items()))
                    chunks.setdefault(key, []).append(_pairs(item["values"]))
        return [_series(dict(key), np.concatenate(parts)) for key, parts in sorted(chunks.items())]

    def samples(self, selector: str, start: datetime, end: datetime) -> list[Series]:
        """The raw samples of ``selector`` in [start, end] (a range-vector instant query)."""
        seconds = max(1, int(end.timestamp() - start.timestamp()))
        data = self._get("/api/v1/query", {"query": f"{selector}[{seconds}s]", "time": end.timestamp()})
        with self._shaped("/api/v1/query"):
            return [_series(dict(item["metric"]), _pairs(item["values"])) for item in data["result"]]

    def _strings(self, path: str, params: dict[str, Any]) -> list[str]:
        data = self._get(path, params)
        if not isinstance(data, list):
            raise PrometheusUnavailable(f"{self.url} is not a Prometheus API: {path} answered in another shape")
        return [str(item) for item in data]

    def label_names(self, start: datetime, end: datetime) -> list[str]:
        return self._strings("/api/v1/labels", {"start": start.timestamp(), "end": end.timestamp()})

    def label_values(self, label: str, start: datetime, end: datetime) -> list[str]:
        params = {"start": start.timestamp(), "end": end.timestamp()}
        return self._strings(f"/api/v1/label/{label}/values", params)

    def tsdb_status(self) -> dict[str, Any]:
        status = self._get("/api/v1/status/tsdb", {})
        if not isinstance(status, dict):
            raise PrometheusUnavailable(
                f"{self.url} is not a Prometheus API: /api/v1/status/tsdb answered in another shape"
            )
        return status

    def check(self) -> None:
        """Fail early, with the URL, when Prometheus is not there."""
        self._get("/api/v1/status/buildinfo", {})


def base_url(url: str, option: str = "--prometheus") -> str:
    """``url`` without a trailing slash, ``http://`` when it names no scheme; anything but http(s) or a URL httpx
    cannot parse is one line naming ``option``."""
    url = url.strip()
    scheme, sep, _ = url.partition("://")
    if not sep:
        url = f"http://{url}"
    elif scheme.lower() not in ("http", "https"):
        raise ReportError(
            f"{option} {url!r}: Prometheus speaks http or https, not {scheme}: write e.g. http://127.0.0.1:9090"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ReportError(f"{option} {url!r} is not a URL ({exc}): write e.g. http://127.0.0.1:9090") from None
    if not parsed.host:
        raise ReportError(f"{option} {url!r} names no host: write e.g. http://127.0.0.1:9090")
    return url.rstrip("/")


def _pairs(values: list[list[Any]]) -> FloatArray:
    """Prometheus' [[time, "value"], ...] as an (n, 2) float array (numpy parses the value strings in C)."""
    return np.asarray(values, dtype=np.float64).reshape(-1, 2)


def _series(labels: Labels, samples: FloatArray) -> Series:
    samples = samples[np.argsort(samples[:, 0], kind="stable")]
    return Series(labels, np.ascontiguousarray(samples[:, 0]), np.ascontiguousarray(samples[:, 1]))


def matcher(label: str, values: list[str]) -> str:
    """``label="a"`` or ``label=~"a|b"`` (values are config names: no regex metacharacters but ``-``)."""
    if len(values) == 1:
        return f'{label}="{values[0]}"'
    return f'{label}=~"{"|".join(sorted(values))}"'
