"""The local notification sink: the stand-in for Slack/PagerDuty/email in the local stack.

Receives Alertmanager webhooks, prints one line per alert and appends every notification as one
JSON line to a file, so people and tests can see what was routed where.

A body is refused before it is read when its ``Content-Length`` is over :data:`MAX_BODY` (413), and
while it is read when a chunked one grows past it; a body that is not an Alertmanager webhook payload
is a 400, and so is one that is JSON only to Python (``NaN``, ``Infinity``, a lone surrogate): every line
of the file is JSON. Nothing refused is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from lookout.runtime.children import StackError
from lookout.security.auth import ServerSecurity
from lookout.serving import Listener, serve

MAX_BODY = 1 << 20  # Alertmanager groups are small; refuse anything bigger than 1 MiB
_CLOSE = {"Connection": "close"}  # a refused body is not read: the connection cannot carry another request


class BadPayload(ValueError):
    """Not an Alertmanager webhook payload; the message says what is wrong."""


def _check_labels(value: Any, where: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadPayload(f"{where} must be an object of strings")


def check_webhook(payload: Any) -> dict[str, Any]:
    """The payload if it has the shape of Alertmanager's webhook (version 4), else :class:`BadPayload`."""
    if not isinstance(payload, dict):
        raise BadPayload("expected a JSON object (an Alertmanager webhook payload)")
    for key in ("receiver", "status"):
        if not isinstance(payload.get(key), str):
            raise BadPayload(f"{key!r} must be a string")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("'alerts' must be a list")
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            raise BadPayload(f"alerts[{index}] must be an object")
        if not isinstance(alert.get("status"), str):
            raise BadPayload(f"alerts[{index}].status must be a string")
        _check_labels(alert.get("labels"), f"alerts[{index}].labels")
        _check_labels(alert.get("annotations", {}), f"alerts[{index}].annotations")
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        if key in payload:
            _check_labels(payload[key], repr(key))
    return payload


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be larger than ``limit`` (by header or while streaming)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _reject_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not JSON")


def _escaped(value: object) -> str:
    """``value`` with every unprintable character escaped: a newline in a label cannot start a forged line
    on stdout, nor an escape sequence reach the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(value))


def describe(notification: dict[str, Any]) -> list[str]:
    """One human line per alert in an Alertmanager webhook payload."""
    receiver = _escaped(notification.get("receiver", "?"))
    lines = []
    for alert in notification.get("alerts", []):
        labels = {key: _escaped(value) for key, value in alert.get("labels", {}).items()}
        annotations = alert.get("annotations", {})
        lines.append(
            f"[{_escaped(alert.get('status', '?'))}] {labels.get('priority', '-')} {labels.get('alertname', '?')} "
            f"{labels.get('tenant', '-')}/{labels.get('service', '-')} -> {receiver}: "
            f"{_escaped(annotations.get('summary', ''))}"
        )
    return lines


def sink_app(path: Path) -> Starlette:
    """The sink's routes; each accepted notification is appended to ``path``, opened for each one (a file moved
    aside or removed while the sink runs is started afresh, as log rotation expects)."""
    lock = anyio.Lock()

    async def notify(request: Request) -> Response:
        # Alertmanager posts application/json. A web page can post text/plain or a form to any local port without
        # asking first (no CORS preflight), so any other type is refused: no page can plant a notification.
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            return PlainTextResponse(
                f"expected Content-Type: application/json (an Alertmanager webhook), not {media_type or 'none'!r}\n",
                status_code=415,
                headers=_CLOSE,
            )
        try:
            body = await read_limited(request, MAX_BODY)
        except ClientDisconnect:  # gone before the body was complete (or closed at the read deadline)
            return PlainTextResponse("incomplete body\n", status_code=400)
        if body is None:
            return PlainTextResponse(f"payload too large: the limit is {MAX_BODY} bytes\n", 413, headers=_CLOSE)
        try:
            # NaN and Infinity are Python's extension, not JSON: a line holding one is unreadable to jq.
            notification = check_webhook(json.loads(body, parse_constant=_reject_constant))
            # A lone surrogate (\\ud800) parses, but is no Unicode text; written out, jq refuses the line. Only
            # encoding the text finds it; the line itself stays ASCII, so a U+2028 in a label cannot split it.
            json.dumps(notification, ensure_ascii=False).encode("utf-8")
            line = json.dumps(notification, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
        except UnicodeEncodeError:
            return PlainTextResponse(
                "expected an Alertmanager webhook payload: a string holds a lone surrogate (not Unicode text)\n",
                status_code=400,
            )
        except (ValueError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, BadPayload) else "the body is not JSON"
            return PlainTextResponse(f"expected an Alertmanager webhook payload: {reason}\n", status_code=400)
        async with lock:
            try:  # small appends to a local file; a thread keeps the event loop free anyway
                await anyio.to_thread.run_sync(_append, path, line.encode("utf-8"))
            except OSError as exc:  # a 5xx: Alertmanager sends the notification again
                return PlainTextResponse(f"cannot append to {path}: {exc.strerror}\n", status_code=503)
        for text in describe(notification):
            print(f"notification {text}", file=sys.stdout, flush=True)
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/notify", notify, methods=["POST"]), Route("/-/ready", ready)])


def _append(path: Path, line: bytes) -> None:
    with path.open("ab") as out:
        out.write(line)


async def serve_sink(host: str, port: int, path: Path, security: ServerSecurity | None = None) -> None:
    """Serve until a signal. The file is tried before the sink listens: one that cannot be written stops it
    with one line, instead of a sink that says it is ready and then loses every notification."""
    if host.startswith("[") and host.endswith("]"):  # an IPv6 address as in a URL: [::1]
        host = host[1:-1]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.open("ab").close()
    except OSError as exc:
        raise StackError(f"--file {path}: cannot append to it ({exc.strerror}): pass a file you can write") from None
    await serve([Listener(sink_app(path), host, port, "notification sink, --listen", security=security)])


def read_notifications(path: Path) -> list[dict[str, Any]]:
    """Every notification received so far (for tests and `lookout` tooling)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
