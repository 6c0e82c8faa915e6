"""The notification sink writes only JSON lines and prints one line per alert, whatever is posted."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from starlette.testclient import TestClient

from lookout.runtime.children import StackError
from lookout.runtime.sink import describe, read_notifications, serve_sink, sink_app
from tests.support import free_port

ALERT = {"status": "firing", "labels": {"alertname": "Down", "priority": "P1"}, "annotations": {"summary": "s"}}
WEBHOOK = {"version": "4", "status": "firing", "receiver": "sink", "groupKey": "{}", "alerts": [ALERT]}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (json.dumps(WEBHOOK)[:-1] + ',"groupKey":NaN}', "NaN is not JSON"),
        (json.dumps(WEBHOOK)[:-1] + ',"truncatedAlerts":Infinity}', "Infinity is not JSON"),
        (json.dumps(WEBHOOK)[:-1] + ',"truncatedAlerts":-Infinity}', "-Infinity is not JSON"),
        (json.dumps({**WEBHOOK, "receiver": "\ud800"}), "lone surrogate"),
        (json.dumps({**WEBHOOK, "alerts": [{**ALERT, "labels": {"x": "\udfff"}}]}), "lone surrogate"),
    ],
)
def test_what_only_python_calls_json_is_a_400_and_not_written(tmp_path: Path, body: str, reason: str) -> None:
    file = tmp_path / "notifications.jsonl"
    with TestClient(sink_app(file)) as client:
        response = client.post("/notify", content=body.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert not file.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_post_a_web_page_could_send_is_refused_and_not_written(tmp_path: Path, content_type: str | None) -> None:
    """A page in a browser on the same host can post these to the sink's port without a CORS preflight."""
    file = tmp_path / "notifications.jsonl"
    headers = {"Origin": "https://attacker.example"} | ({"Content-Type": content_type} if content_type else {})
    with TestClient(sink_app(file)) as client:
        response = client.post("/notify", content=json.dumps(WEBHOOK).encode(), headers=headers)
        assert response.status_code == 415 and "application/json" in response.text
        charset = {"Content-Type": "application/json; charset=utf-8"}
        assert client.post("/notify", content=json.dumps(WEBHOOK).encode(), headers=charset).status_code == 200
    assert [json.loads(line) for line in file.read_text().splitlines()] == [WEBHOOK]


def test_every_written_line_is_strict_json(tmp_path: Path) -> None:
    file = tmp_path / "notifications.jsonl"
    # U+2028 and U+0085 end a line for str.splitlines (read_notifications): written raw, they would split one.
    payload = {**WEBHOOK, "receiver": "sink é \U0001f600 \u2028 \x85"}
    with TestClient(sink_app(file)) as client:
        assert client.post("/notify", json=payload).status_code == 200
        assert client.post("/notify", json=WEBHOOK).status_code == 200
        # 1e999 parses as Python's infinity: refused rather than written as Infinity.
        overflow = json.dumps(WEBHOOK)[:-1] + ',"truncatedAlerts":1e999}'
        json_type = {"Content-Type": "application/json"}
        assert client.post("/notify", content=overflow.encode(), headers=json_type).status_code == 400
    lines = file.read_bytes().decode("utf-8").splitlines()
    strict = [json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the file")) for line in lines]
    assert strict == [payload, WEBHOOK]
    assert read_notifications(file) == [payload, WEBHOOK]


def test_a_label_with_a_newline_prints_one_line() -> None:
    forged = "Down\nnotification [firing] P0 Forged acme/api -> pager: all is lost"
    alert = {**ALERT, "labels": {"alertname": forged, "tenant": "a\x1b[2J"}, "annotations": {"summary": "x\ry"}}
    [line] = describe({**WEBHOOK, "receiver": "sink\n", "alerts": [alert]})
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "Down\\nnotification [firing] P0 Forged" in line and "a\\x1b[2J/" in line and "x\\ry" in line


def test_a_file_that_cannot_be_appended_to_stops_the_sink_before_it_listens(tmp_path: Path) -> None:
    """A directory as --file: the sink used to report ready and then answer every post with a 500."""

    async def sink_on_a_directory() -> None:
        with anyio.fail_after(10):  # a sink that starts anyway is a failure, not a hang
            await serve_sink("127.0.0.1", free_port(), tmp_path)

    with pytest.raises(StackError) as caught:
        anyio.run(sink_on_a_directory)
    assert str(caught.value) == f"--file {tmp_path}: cannot append to it (Is a directory): pass a file you can write"


def test_a_file_moved_aside_is_started_afresh_and_a_write_failure_is_a_503(tmp_path: Path) -> None:
    file = tmp_path / "notifications.jsonl"
    with TestClient(sink_app(file)) as client:
        assert client.post("/notify", json=WEBHOOK).status_code == 200
        file.rename(tmp_path / "notifications.jsonl.1")  # rotated
        assert client.post("/notify", json=WEBHOOK).status_code == 200
        assert [json.loads(line) for line in file.read_text().splitlines()] == [WEBHOOK]
        file.unlink()
        file.mkdir()  # the file cannot be written any more: Alertmanager is to send it again
        response = client.post("/notify", json=WEBHOOK)
    assert response.status_code == 503 and "cannot append to" in response.text
