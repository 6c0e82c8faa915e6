"""The console's routes: pages, the read-only query proxy to the configured Prometheus, silences through
Alertmanager's v2 API, runbooks and static assets. Upstreams are fixed at start-up; nothing is stored."""

from __future__ import annotations

import contextlib
import getpass
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lookout.config.model import SLO_PERIOD, Config
from lookout.config.types import duration_seconds
from lookout.console import pages
from lookout.console.bench import BenchUnavailable, bench_history
from lookout.console.clients import (
    PROMETHEUS_PROXY_PATHS,
    AlertmanagerCluster,
    PrometheusClient,
    QueryRefused,
    UpstreamAccess,
    UpstreamError,
)
from lookout.console.dashboards import ConsoleDashboard, load_dashboards
from lookout.console.probes import probe_targets
from lookout.console.slo import service_slos
from lookout.report import DEFAULT_OUT
from lookout.security.auth import PRINCIPAL_SCOPE_KEY

STATIC_DIR: Final = Path(str(files("lookout.console") / "static"))
RUNBOOKS_DIR: Final = Path(str(files("lookout.console") / "runbooks"))
RUNBOOK_NAME: Final = re.compile(r"^[A-Za-z0-9]+\.md$")
SILENCE_ID: Final = re.compile(r"^[0-9a-fA-F-]{36}$")
LABEL_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MATCHER: Final = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,"]*))\s*(?:,|$)')
MAX_FORM_BYTES: Final = 16 * 1024
PAGE_POLICY: Final = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
"""Headers of every page: scripts from the console's own files only (no inline script, no ``javascript:`` link
runs, whatever an alert's annotations say), forms posted only to the console, and no framing (a page cannot be
laid under another site's buttons to expire a silence)."""
REPORT_POLICY: Final = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
"""Headers of a report `lookout report` wrote: its own style and embedded plots, nothing that runs or loads."""
REPORT_FILE: Final = re.compile(rf"^({'|'.join(kind for kind, _ in pages.REPORTS)})\.html$")
"""The self-contained HTML files of `lookout report`; nothing else in the directory is served."""


@dataclass(frozen=True)
class ConsoleSettings:
    config: Config
    prometheus_url: str
    alertmanager_url: str
    data_dir: Path
    """Where `lookout bench` keeps its history (bench.sqlite); read only."""
    access: UpstreamAccess | None = None
    """TLS and credentials for the upstreams (``security:``); None: plain HTTP, no credentials."""
    reports_dir: Path = DEFAULT_OUT
    """Where `lookout report` writes its HTML (its ``--out``); read only."""
    alertmanager_peers: tuple[str, ...] = ()
    """The other peers of ``alertmanager_url``'s cluster (``ha``), asked in order when it does not answer."""


STORE_NAME: Final = "VictoriaMetrics (the long-term store)"
"""What a page calls the upstream when the console queries the ``ha`` topology's store, not a Prometheus."""


class BadSilence(ValueError):
    """The silence form has a field Alertmanager would refuse; the message names it."""


_UNESCAPE: Final = re.compile(r"\\(.)", re.DOTALL)


def _unescaped(found: re.Match[str]) -> str:
    """A quoted matcher value's escape, as Alertmanager reads it: ``\\n`` a newline, ``\\x`` the character x."""
    return "\n" if found[1] == "n" else found[1]


def parse_matchers(text: str) -> list[dict[str, Any]]:
    matchers, pos = [], 0
    text = text.strip()
    while pos < len(text):
        found = MATCHER.match(text, pos)
        if found is None or found.end() == pos:
            raise BadSilence(f'matchers: cannot read {text[pos:]!r}: write e.g. alertname="MCPServerDown", service="x"')
        name, op, quoted, bare = found.groups()
        value = _UNESCAPE.sub(_unescaped, quoted) if quoted is not None else (bare or "").strip()
        matchers.append({"name": name, "value": value, "isRegex": "~" in op, "isEqual": not op.startswith("!")})
        pos = found.end()
    if not matchers:
        raise BadSilence('matchers: at least one is needed, e.g. alertname="MCPServerDown"')
    return matchers


def silence_body(form: dict[str, str], signed_in: str | None = None) -> dict[str, Any]:
    """Alertmanager's silence from the form; ``signed_in`` (the user's login) is its author, whatever the form
    says, so that a silence names who made it."""
    if signed_in:
        form = {**form, "author": signed_in}
    matchers = parse_matchers(form.get("matchers", ""))
    try:
        seconds = duration_seconds(form.get("duration", "").strip())
    except ValueError:
        raise BadSilence(f"duration: {form.get('duration', '')!r} is not a duration: write e.g. 2h or 30m") from None
    if seconds <= 0:
        raise BadSilence("duration: must be longer than zero, e.g. 2h")
    author, comment = form.get("author", "").strip(), form.get("comment", "").strip()
    if not author or not comment:
        raise BadSilence("author and comment: both are required (who silenced it, and why)")
    start = datetime.now(UTC)
    try:
        end = start + timedelta(seconds=seconds)
    except OverflowError:
        raise BadSilence("duration: too long, the silence would end after the year 9999: e.g. 52w") from None
    return {
        "matchers": matchers,
        "startsAt": start.isoformat(),
        "endsAt": end.isoformat(),
        "createdBy": author,
        "comment": comment,
    }


def _same_origin(request: Request) -> bool:
    """Forms that change Alertmanager state are accepted from the console's own pages only."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")  # "null" (a sandboxed or redirected form) is not the console's own
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def create_app(settings: ConsoleSettings) -> Starlette:
    config = settings.config
    store = config.long_term_storage_address()
    is_store = store is not None and urlsplit(settings.prometheus_url).netloc == store
    prometheus = PrometheusClient(settings.prometheus_url, settings.access, STORE_NAME if is_store else None)
    alertmanager = AlertmanagerCluster([settings.alertmanager_url, *settings.alertmanager_peers], settings.access)
    dashboards = load_dashboards(config)
    scrape_interval = duration_seconds(config.timing.scrape_interval)

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store", **PAGE_POLICY})

    async def index(request: Request) -> Response:
        return html(pages.index(dashboards.values()))

    async def dashboard(request: Request) -> Response:
        found = dashboards.get(request.path_params["uid"])
        if found is None:
            body = pages.problem(f"No dashboard {request.path_params['uid']!r}: pick one below.")
            return html(pages.layout("Not found", body + pages.index(dashboards.values())), 404)
        siblings: list[ConsoleDashboard] = [d for d in dashboards.values() if d.folder == found.folder]
        return html(pages.dashboard(found, scrape_interval, siblings))

    async def prom_api(request: Request) -> Response:
        call = request.path_params["call"]
        if call not in PROMETHEUS_PROXY_PATHS:
            error = f"not a proxied Prometheus call: {call}"
            return JSONResponse({"status": "error", "errorType": "not_found", "error": error}, status_code=404)
        try:
            params = await _form(request) if request.method == "POST" else list(request.query_params.multi_items())
            status, content = await prometheus.api(call, params)
        except FormTooLarge as exc:
            return JSONResponse({"status": "error", "errorType": "bad_data", "error": str(exc)}, status_code=413)
        except QueryRefused as exc:  # Prometheus's own refusals come through with their status; this is ours
            return JSONResponse({"status": "error", "errorType": "bad_data", "error": str(exc)}, status_code=422)
        except UpstreamError as exc:
            return JSONResponse({"status": "error", "errorType": "upstream", "error": str(exc)}, status_code=502)
        return Response(content, status_code=status, media_type="application/json")

    async def label_values(request: Request) -> Response:
        q = request.query_params
        label = request.path_params["label"]
        if not LABEL_NAME.match(label):
            return JSONResponse({"status": "error", "error": f"{label!r} is not a label name"}, status_code=400)
        try:
            start, end = (_seconds(q, "start"), _seconds(q, "end"))
        except ValueError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=400)
        try:
            values = await prometheus.label_values(label, q.get("match", ""), start, end)
        except QueryRefused as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=400)
        except UpstreamError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=502)
        return JSONResponse({"status": "success", "data": values})

    async def alerts(request: Request) -> Response:
        try:
            items: list[dict[str, Any]] | None = await alertmanager.alerts()
            error = None
        except UpstreamError as exc:
            items, error = None, str(exc)
        return html(pages.alerts(items, error, config.dashboard_base_url()))

    async def silences_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        items: list[dict[str, Any]] | None
        try:
            items = await alertmanager.silences()
        except UpstreamError as exc:
            items, error = None, (f"{error}; " if error else "") + str(exc)
        created = request.query_params.get("created")
        notice = f"Silence {created} created." if created else None
        if request.query_params.get("expired"):
            notice = f"Silence {request.query_params['expired']} expired."
        prefill = request.query_params.getlist("matcher")
        signed_in = request.scope.get(PRINCIPAL_SCOPE_KEY)
        return html(pages.silences(items, error, notice, prefill, signed_in or _author(), bool(signed_in)), status)

    async def silences_get(request: Request) -> Response:
        return await silences_page(request)

    async def silences_post(request: Request) -> Response:
        if not _same_origin(request):
            return PlainTextResponse("cross-site form refused", status_code=403)
        try:
            form = dict(await _form(request))
            silence_id = await alertmanager.create_silence(silence_body(form, request.scope.get(PRINCIPAL_SCOPE_KEY)))
        except FormTooLarge as exc:
            return await silences_page(request, str(exc), 413)
        except (BadSilence, UpstreamError) as exc:
            return await silences_page(request, str(exc), 400)
        return RedirectResponse(f"/silences?created={silence_id}", status_code=303)

    async def silence_expire(request: Request) -> Response:
        if not _same_origin(request):
            return PlainTextResponse("cross-site form refused", status_code=403)
        silence_id = request.path_params["id"]
        if not SILENCE_ID.match(silence_id):
            return await silences_page(request, f"{silence_id!r} is not a silence id", 400)
        try:
            await alertmanager.expire_silence(silence_id)
        except UpstreamError as exc:
            return await silences_page(request, str(exc), 502)
        return RedirectResponse(f"/silences?expired={silence_id}", status_code=303)

    async def slo(request: Request) -> Response:
        at = pages.now()
        try:
            items, error = await service_slos(config, prometheus, at), None
        except UpstreamError as exc:
            items, error = None, str(exc)
        return html(pages.slo(items, error, at, SLO_PERIOD))

    async def probes(request: Request) -> Response:
        at = pages.now()
        try:
            items, error = await probe_targets(prometheus, at), None
        except UpstreamError as exc:
            items, error = None, str(exc)
        return html(pages.probes(items, error, at))

    async def bench(request: Request) -> Response:
        try:
            runs, error = bench_history(settings.data_dir), None
        except BenchUnavailable as exc:
            runs, error = None, str(exc)
        return html(pages.bench(runs, error))

    async def reports(request: Request) -> Response:
        directory = settings.reports_dir
        found = {
            path.stem: path.stat().st_mtime
            for path in (directory.iterdir() if directory.is_dir() else ())
            if REPORT_FILE.match(path.name) and path.is_file()
        }
        return html(pages.reports(found, directory))

    async def report(request: Request) -> Response:
        name = request.path_params["name"]
        path = settings.reports_dir / name
        if not REPORT_FILE.match(name) or not path.is_file():
            return PlainTextResponse(f"no report {name}", status_code=404)
        return HTMLResponse(path.read_text(encoding="utf-8"), headers=REPORT_POLICY)

    async def runbook(request: Request) -> Response:
        name = request.path_params["name"]
        path = RUNBOOKS_DIR / name
        if not RUNBOOK_NAME.match(name) or not path.is_file():
            return PlainTextResponse(f"no runbook {name}", status_code=404)
        return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8")

    async def healthy(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def upstreams(request: Request) -> Response:
        return JSONResponse({"prometheus": prometheus.base_url, "alertmanager": alertmanager.base_url})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await prometheus.close()
            await alertmanager.close()

    return Starlette(
        routes=[
            Route("/", index),
            Route("/d/{uid}", dashboard),
            Route("/d/{uid}/{slug}", dashboard),
            Route("/api/prom/{call}", prom_api, methods=["GET", "POST"]),
            Route("/api/labels/{label}", label_values),
            Route("/api/upstreams", upstreams),
            Route("/alerts", alerts),
            Route("/silences", silences_get, methods=["GET"]),
            Route("/silences", silences_post, methods=["POST"]),
            Route("/silences/{id}/expire", silence_expire, methods=["POST"]),
            Route("/slo", slo),
            Route("/probes", probes),
            Route("/bench", bench),
            Route("/reports", reports),
            Route("/reports/{name}", report),
            Route("/runbooks/{name}", runbook),
            Route("/-/healthy", healthy),
            Route("/-/ready", healthy),
            # Open without credentials when security.open_health says so: what `lookout up` waits on.
            Route("/health/live", healthy),
            Route("/health/ready", healthy),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )


class FormTooLarge(ValueError):
    """A form body past :data:`MAX_FORM_BYTES`; refused whole rather than cut (a cut query or comment changes
    meaning)."""


async def _form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded body's fields, read up to :data:`MAX_FORM_BYTES` and no further."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLarge(f"the form is {declared} bytes, more than {MAX_FORM_BYTES}: shorten the query or comment")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(f"the form is more than {MAX_FORM_BYTES} bytes: shorten the query or comment")
    return parse_qsl(body.decode("utf-8", "replace"))


def _seconds(params: Any, name: str) -> float | None:
    """An optional Unix time of the query string; a ValueError naming it when it is not a number."""
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a Unix time in seconds") from None


def _author() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
