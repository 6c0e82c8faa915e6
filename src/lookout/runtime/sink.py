"""The local notification sink: the stand-in for Slack/PagerDuty/email in the local stack.

Receives Alertmanager webhooks, prints one line per alert and appends every notification as one
JSON line to a file, so people and tests can see what was routed where.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from lookout.serving import Listener, serve

MAX_BODY = 1 << 20  # Alertmanager groups are small; refuse anything bigger than 1 MiB


def describe(notification: dict[str, Any]) -> list[str]:
    """One human line per alert in an Alertmanager webhook payload."""
    receiver = notification.get("receiver", "?")
    lines = []
    for alert in notification.get("alerts", []):
        labels = alert.get("labels", {})
        annotations = alert.get("annotations", {})
        lines.append(
            f"[{alert.get('status', '?')}] {labels.get('priority', '-')} {labels.get('alertname', '?')} "
            f"{labels.get('tenant', '-')}/{labels.get('service', '-')} -> {receiver}: "
            f"{annotations.get('summary', '')}"
        )
    return lines


def sink_app(path: Path) -> Starlette:
    lock = anyio.Lock()

    async def notify(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("payload too large", status_code=413)
        try:
            notification = json.loads(body)
        except ValueError:
            return PlainTextResponse("expected an Alertmanager webhook JSON body", status_code=400)
        if not isinstance(notification, dict):
            return PlainTextResponse("expected a JSON object", status_code=400)
        line = json.dumps(notification, sort_keys=True, separators=(",", ":")) + "\n"
        async with lock:
            # Small appends to a local file; a thread keeps the event loop free anyway.
            await anyio.to_thread.run_sync(_append, path, line)
        for text in describe(notification):
            print(f"notification {text}", file=sys.stdout, flush=True)
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/notify", notify, methods=["POST"]), Route("/-/ready", ready)])


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(line)


async def serve_sink(host: str, port: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    await serve([Listener(sink_app(path), host, port, "notification sink, --listen")])


def read_notifications(path: Path) -> list[dict[str, Any]]:
    """Every notification received so far (for tests and `lookout` tooling)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
