"""The notification sink under hostile posts: oversized bodies are refused before they are read (by
Content-Length, or while a chunked body streams in), malformed payloads are a 400, and nothing refused
reaches the notifications file."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lookout.runtime.sink import MAX_BODY, read_notifications
from tests.support import LOOPBACK, Proc, free_port, lookout_argv, start_ready

pytestmark = pytest.mark.integration

WEBHOOK = {
    "version": "4",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "sink",
    "groupLabels": {},
    "commonLabels": {"alertname": "Test"},
    "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Test", "priority": "P1"},
            "annotations": {"summary": "a test"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "0",
        }
    ],
}


@dataclass
class Sink:
    proc: Proc
    port: int
    file: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/notify"

    def raw(self, head: bytes, body_parts: Iterator[bytes] = iter(())) -> bytes:
        """Send ``head`` then as many ``body_parts`` as the sink takes; return what it answered."""
        with socket.create_connection((LOOPBACK, self.port), timeout=10) as sock:
            sock.sendall(head)
            for part in body_parts:
                try:
                    sock.sendall(part)
                except OSError:  # the sink answered and closed: the rest is never read
                    break
            return _read_answer(sock)


def _read_answer(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return answer


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    port = free_port()
    file = tmp_path / "notifications.jsonl"
    argv = lookout_argv("sink", "--listen", f"{LOOPBACK}:{port}", "--file", str(file))
    proc = start_ready(argv, tmp_path / "sink.log", f"http://{LOOPBACK}:{port}/-/ready", "sink /-/ready")
    try:
        yield Sink(proc, port, file)
    finally:
        proc.stop()


def test_a_huge_content_length_is_refused_before_the_body_is_read(sink: Sink) -> None:
    head = f"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {500 << 20}\r\n\r\n"
    answer = sink.raw(head.encode(), iter([b'{"alerts": [']))  # then nothing: only the head can tell
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert read_notifications(sink.file) == []


def test_a_chunked_body_is_refused_once_it_passes_the_limit(sink: Sink) -> None:
    head = b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"x" * 65536
    parts = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4 * MAX_BODY // len(chunk)))
    answer = sink.raw(head, parts)  # never the final zero-length chunk: the sink must not wait for it
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert read_notifications(sink.file) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"alerts": 5}', "'receiver' must be a string"),
        (b"[1]", "expected a JSON object"),
        (json.dumps({**WEBHOOK, "alerts": 5}).encode(), "'alerts' must be a list"),
        (json.dumps({**WEBHOOK, "alerts": [1]}).encode(), "alerts[0] must be an object"),
        (json.dumps({**WEBHOOK, "alerts": [{"status": "firing", "labels": {"a": 1}}]}).encode(), "alerts[0].labels"),
        (b"{not json", "not JSON"),
    ],
)
def test_a_malformed_payload_is_a_400_and_not_written(sink: Sink, body: bytes, reason: str) -> None:
    response = httpx.post(sink.url, content=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400 and reason in response.text, response.text
    assert read_notifications(sink.file) == []
    assert "Traceback" not in sink.proc.output()


def test_a_webhook_payload_is_written_once(sink: Sink) -> None:
    response = httpx.post(sink.url, json=WEBHOOK, timeout=10)
    assert response.status_code == 200
    assert read_notifications(sink.file) == [WEBHOOK]


def test_a_client_leaving_mid_body_leaves_no_trace(sink: Sink) -> None:
    head = b"POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    with socket.create_connection((LOOPBACK, sink.port), timeout=10) as sock:
        sock.sendall(head + b'{"receiver": "sink", ')
    assert httpx.post(sink.url, json=WEBHOOK, timeout=10).status_code == 200
    assert read_notifications(sink.file) == [WEBHOOK]
    assert "Traceback" not in sink.proc.output()


def test_a_directory_as_the_file_is_one_line_and_the_sink_never_listens(tmp_path: Path) -> None:
    port = free_port()
    argv = lookout_argv("sink", "--listen", f"{LOOPBACK}:{port}", "--file", str(tmp_path))
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"lookout: --file {tmp_path}: cannot append to it (Is a directory): pass a file you can write"
    )


def test_an_ipv6_listen_address_in_brackets_is_served(tmp_path: Path) -> None:
    port = free_port()
    file = tmp_path / "notifications.jsonl"
    argv = lookout_argv("sink", "--listen", f"[::1]:{port}", "--file", str(file))
    proc = start_ready(argv, tmp_path / "sink.log", f"http://[::1]:{port}/-/ready", "sink on [::1]")
    try:
        assert httpx.post(f"http://[::1]:{port}/notify", json=WEBHOOK, timeout=10).status_code == 200
        assert read_notifications(file) == [WEBHOOK]
    finally:
        proc.stop()
