"""The prober's bounds under hostile targets: a probe's bytes and pages, its deadline with a stdio server
that will not stop, and the exporter's scrape deadline with the wait for a probe slot included.

The exporter tests read answers with the scrape timeout as the client timeout, as Prometheus does: an
answer that does not arrive in time is a scrape Prometheus has already given up on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lookout import metrics
from lookout.probe.modules import ProbeTarget
from lookout.protocol import Transport
from tests.integration.probe_support import BadServers, server_argv, start_bad_servers
from tests.integration.test_probe_bad_servers import assert_failed, probe_without_leaks
from tests.support import LOOPBACK, Proc, free_port, http_ok, lookout_argv, start, wait_until

pytestmark = pytest.mark.integration

SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"
OFFSET = 1.0  # probe.timeout_offset below: the exporter's time to answer after the probe


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BadServers]:
    servers = start_bad_servers(tmp_path_factory.mktemp("bad"))
    try:
        yield servers
    finally:
        servers.proc.stop()


# ------------------------------------------------------------------ bytes and pages of one probe
async def test_the_bytes_of_all_pages_are_bounded_per_probe(bad: BadServers) -> None:
    module = {"protocol": "2026-07-28", "max_response_bytes": 2 * 1024 * 1024, "max_probe_bytes": 3 * 1024 * 1024}
    result = await probe_without_leaks(ProbeTarget("big-pages", bad.url("/paginate-big")), **module)
    assert_failed(result, "more than max_probe_bytes (3145728 bytes)")
    assert result.log.text().count("-> tools/list") <= 3  # stopped at the budget, not at a page limit


async def test_the_pages_of_all_lists_are_bounded_per_probe(bad: BadServers) -> None:
    result = await probe_without_leaks(
        ProbeTarget("endless", bad.url("/paginate-forever")), protocol="2026-07-28", max_list_pages=5
    )
    assert_failed(result, "max_list_pages (5 pages")
    assert result.log.text().count("-> tools/list") == 5


# ------------------------------------------------------------------ stdio closing within the deadline
async def test_a_stdio_server_and_its_children_are_killed_as_a_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    command = " ".join(server_argv("bad_stdio.py", "stubborn-family", str(pidfile)))
    result = await probe_without_leaks(ProbeTarget("stdio", command, Transport.STDIO))
    assert_failed(result, "kept for stopping the server")
    assert "SIGKILL" in result.log.text()
    grandchild = int(pidfile.read_text())
    wait_until(lambda: not _running(grandchild), 10, what=f"grandchild {grandchild} gone")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# ------------------------------------------------------------------ the exporter's scrape deadline
CONFIG = """\
version: 1
tenants:
  - name: acme
    targets:
      - name: slow
        url: {slow}
      - name: healthy
        url: {healthy}
      - name: stubborn
        url: {stubborn}
        transport: stdio
alerting:
  receivers:
    - name: sink
      webhook: {{url: "http://127.0.0.1:9/notify"}}
  routes:
    P0: [sink]
probe:
  timeout_offset: {offset}
  max_concurrent_probes: 1
  modules:
    discover: {{timeout: 30s}}
"""


@dataclass
class Exporter:
    proc: Proc
    port: int

    def scrape(self, target: str, scrape_timeout: float | None) -> httpx.Response:
        """A scrape as Prometheus makes it: the timeout in a header and as the client's own deadline."""
        headers = {SCRAPE_TIMEOUT_HEADER: str(scrape_timeout)} if scrape_timeout is not None else {}
        return httpx.get(
            f"http://{LOOPBACK}:{self.port}/probe",
            params={"target": target, "debug": "true"},
            headers=headers,
            timeout=scrape_timeout or 30,
        )


@pytest.fixture(scope="module")
def exporter(bad: BadServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    tmp = tmp_path_factory.mktemp("exporter")
    config = tmp / "lookout.yaml"
    stubborn = " ".join(server_argv("bad_stdio.py", "ignore-sigterm"))
    config.write_text(CONFIG.format(slow=bad.url("/hang"), healthy=bad.url("/ok"), stubborn=stubborn, offset=OFFSET))
    port = free_port()
    proc = start(lookout_argv("exporter", "--config", str(config), "--listen", f"{LOOPBACK}:{port}"), tmp / "log")
    try:
        wait_until(lambda: proc.alive() and http_ok(f"http://{LOOPBACK}:{port}/-/healthy"), 30, what="exporter")
        yield Exporter(proc, port)
    finally:
        proc.stop()


def test_waiting_for_a_probe_slot_counts_against_the_scrape_timeout(exporter: Exporter) -> None:
    # One slot, four scrapes of a target that never answers: without the wait inside the deadline the
    # later scrapes would queue behind each other's full timeouts.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: exporter.scrape("slow", 3.0), range(4)))
    assert all(a.status_code == 200 and f"{metrics.PROBE_SUCCESS.name} 0.0" in a.text for a in answers)
    # Each of them either found no free slot in time or got one late and had only the rest of its timeout.
    queued = [
        a.text
        for a in answers
        if "no probe slot free within the 2.00s timeout" in a.text or "for a probe slot" in a.text
    ]
    assert len(queued) >= 3, [a.text for a in answers]


def test_an_abandoned_scrape_cancels_its_probe(exporter: Exporter) -> None:
    with pytest.raises(httpx.ReadTimeout):  # no header: the module's 30 s timeout; the client leaves after 1 s
        httpx.get(f"http://{LOOPBACK}:{exporter.port}/probe", params={"target": "slow"}, timeout=1.0)
    # The abandoned probe held the only slot for its 30 s; cancelled, it frees the slot at once.
    healthy = exporter.scrape("healthy", 3.0)
    assert f"{metrics.PROBE_SUCCESS.name} 1.0" in healthy.text, healthy.text


def test_a_stdio_server_ignoring_sigterm_is_stopped_within_the_scrape_timeout(exporter: Exporter) -> None:
    answer = exporter.scrape("stubborn", 4.0)
    assert f"{metrics.PROBE_SUCCESS.name} 0.0" in answer.text
    assert "timed out after 2.25s" in answer.text and "SIGKILL" in answer.text, answer.text
    wait_until(lambda: not _children(exporter.proc.pid), 10, what="the stdio server reaped")


def _children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task")
    return {int(child) for task in os.listdir(tasks) for child in (tasks / task / "children").read_text().split()}
