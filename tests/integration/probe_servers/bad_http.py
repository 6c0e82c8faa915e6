"""Purpose-built misbehaving MCP-over-HTTP server for the prober's robustness tests.

``python bad_http.py PORT [--tls PORT:CERT:KEY ...]``. The path picks the misbehaviour; ``/ok`` is a
minimal well-behaved 2026-07-28 server (used behind the TLS listeners). Raw asyncio, so that it can
misbehave at the byte level.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import sys
from typing import Any

BEARER = "Bearer s3cret-token"
BASIC = "Basic " + base64.b64encode(b"probe:pa55word").decode()
KEEPALIVE = b": keepalive\n\n"
TOOLS = [{"name": "echo", "description": "Echo.", "inputSchema": {"type": "object"}}]
BIG_PAGE_BYTES = 1024 * 1024


def _endless_page(path: str, request: dict[str, Any]) -> dict[str, Any]:
    """A tools/list page that always names a next one: 1 MiB pages on /paginate-big, tiny ones otherwise."""
    page = int(str((request.get("params") or {}).get("cursor") or "0"))
    description = "x" * (BIG_PAGE_BYTES if path == "/paginate-big" else 10)
    tools = [{"name": f"tool-{page}", "description": description, "inputSchema": {"type": "object"}}]
    return {"jsonrpc": "2.0", "id": request.get("id"), "result": {"tools": tools, "nextCursor": str(page + 1)}}


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    method = request.get("method")
    if method == "server/discover":
        result: dict[str, Any] = {
            "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "bad-http", "version": "1"}},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    else:
        return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32601, "message": "no such method"}}
    return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return path, headers, body


def _error(request: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request.get("id"), "error": error}


def _response(status: str, content_type: str, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while (parsed := await _read_request(reader)) is not None:
            path, headers, body = parsed
            request = json.loads(body) if body else {}
            if path == "/auth" and headers.get("authorization") not in (BEARER, BASIC):
                writer.write(_response("401 Unauthorized", "text/plain", b"who are you?"))
            elif path == "/needs-header" and headers.get("x-team") != "lookout":
                writer.write(_response("400 Bad Request", "text/plain", b"X-Team header missing"))
            elif path == "/hang":
                await asyncio.sleep(3600)
            elif path == "/trickle":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                for _ in range(100000):
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(0.2)
            elif path == "/oversized":
                payload = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": {"x": "y" * 200_000}})
                writer.write(_response("200 OK", "application/json", payload.encode()))
            elif path == "/invalid-json":
                writer.write(_response("200 OK", "application/json", b"{this is not json"))
            elif path == "/wrong-id":
                reply = _answer(request)
                reply["id"] = 999_999
                writer.write(_response("200 OK", "application/json", json.dumps(reply).encode()))
            elif path in ("/sse-forever", "/sse-open"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                if path == "/sse-open" and "id" in request:
                    event = f"event: message\r\ndata: {json.dumps(_answer(request))}\r\n\r\n".encode()
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                while True:  # keep-alive comments forever; the stream never closes
                    writer.write(b"%x\r\n%s\r\n" % (len(KEEPALIVE), KEEPALIVE))
                    await writer.drain()
                    await asyncio.sleep(0.1)
            elif path == "/redirect":
                writer.write(_response("302 Found", "text/plain", b"", "Location: /redirect\r\n"))
            elif path == "/jsonrpc-error":
                error = {"code": -32603, "message": "broken"}
                writer.write(_response("200 OK", "application/json", json.dumps(_error(request, error)).encode()))
            elif path.startswith("/paginate") and request.get("method") == "tools/list":
                writer.write(_response("200 OK", "application/json", json.dumps(_endless_page(path, request)).encode()))
            elif path == "/html-404":  # a web server's error page where the MCP endpoint should be
                page = b"<!DOCTYPE html>\n<html>\n<body>\n<h1>Not Found</h1>\n<p>Nothing here.</p>\n</body>\n</html>\n"
                writer.write(_response("404 Not Found", "text/html; charset=utf-8", page))
            elif path == "/jsonrpc-error-lines":
                error = {"code": -32603, "message": "broken\n  at line 2\n  at line 3"}
                writer.write(_response("200 OK", "application/json", json.dumps(_error(request, error)).encode()))
            elif path == "/http-500":
                writer.write(_response("500 Internal Server Error", "text/plain", b"boom"))
            elif "id" not in request:
                writer.write(_response("202 Accepted", "text/plain", b""))
            else:
                writer.write(_response("200 OK", "application/json", json.dumps(_answer(request)).encode()))
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(argv: list[str]) -> None:
    servers = [await asyncio.start_server(_handle, "127.0.0.1", int(argv[0]))]
    for spec in argv[1:]:
        if spec == "--tls":
            continue
        port, cert, key = spec.split(":")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        servers.append(await asyncio.start_server(_handle, "127.0.0.1", int(port), ssl=context))
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
