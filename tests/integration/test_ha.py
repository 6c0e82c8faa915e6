"""The HA topology on Debian's real binaries: two Prometheus replicas, three Alertmanager peers gossiping on
loopback, VictoriaMetrics as the deduplicated long-term store, started as `lookout up` starts them
(runtime/topology.py) from a generated stack. Faults are a series pushed to a real Pushgateway and an alert
rule on it; notifications arrive at the real sink."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lookout.check.live import check_live
from lookout.check.runner import live_access
from lookout.config.loader import parse_config
from lookout.config.model import Config
from lookout.report.cli import _client as report_client
from lookout.runtime.children import Child, pid_alive, start_child
from lookout.runtime.sink import read_notifications
from lookout.runtime.state import read_state
from lookout.runtime.topology import alertmanager_children, prometheus_children, storage_children
from lookout.security.certs import write_certs
from lookout.stack import DeployTarget, naming, render_stack, write_stack
from tests.stack_support import SecurityBlock
from tests.support import (
    LOOPBACK,
    Proc,
    free_port,
    lookout_argv,
    require_binary,
    start,
    start_pushgateway,
    start_ready,
    wait_until,
)

pytestmark = pytest.mark.integration

FAULT = "HAFault"
FAULT_SERIES = "lookout_ha_fault"
PUSH_JOB = "ha-fault"
RW = naming.LONG_TERM_REMOTE_WRITE
BEHIND = "LookoutRemoteWriteBehind"
PEER_TIMEOUT = 15  # Alertmanager's --cluster.peer-timeout default
SCRAPE = 1  # seconds: scrape and evaluation interval, and the store's deduplication interval


def _addresses(count: int) -> list[str]:
    """``count`` distinct free loopback addresses: every socket is held until all are chosen."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [f"{LOOPBACK}:{s.getsockname()[1]}" for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def ha_config(
    sink: str, pushgateway: str, *, replicas: int = 2, peers: int = 3, shards: int = 1, targets: int = 1
) -> Config:
    free = iter(_addresses(replicas * shards + 2 * peers + 3))
    prometheus = [next(free) for _ in range(replicas * shards)]
    alertmanagers = [next(free) for _ in range(peers)]
    gossip = [next(free) for _ in range(peers)]
    metrics = f"http://{pushgateway}/metrics"  # a real /metrics endpoint standing for every instrumented server
    listed = ", ".join(
        f"{{name: mcp-{i:03d}, url: 'http://{LOOPBACK}:9/mcp', metrics_url: '{metrics}', probe: false}}"
        for i in range(targets)
    )
    text = f"""
version: 1
tenants:
  - name: acme
    targets: [{listed}]
alerting:
  receivers: [{{name: sink, webhook: {{url: "http://{sink}/notify"}}}}]
  routes: {{P0: [sink], P1: [sink], P2: [sink], P3: [sink]}}
  business_hours: null
  alerts: {{{BEHIND}: {{for: 5s}}}}
listen:
  prometheus: "{prometheus[0]}"
  alertmanager: "{alertmanagers[0]}"
  sink: "{sink}"
  exporter: "{next(free)}"
  pushgateway: "{pushgateway}"
  grafana: "{next(free)}"
timing: {{scrape_interval: {SCRAPE}s, evaluation_interval: {SCRAPE}s}}
prometheus: {{remote_write_max_lag: 10s}}
ha:
  prometheus_replicas: {replicas}
  prometheus_shards: {shards}
  alertmanager_replicas: {peers}
  prometheus_listen: [{", ".join(f'"{a}"' for a in prometheus)}]
  alertmanager_listen: [{", ".join(f'"{a}"' for a in alertmanagers)}]
  alertmanager_cluster: [{", ".join(f'"{a}"' for a in gossip)}]
  victoriametrics: "{next(free)}"
"""
    return parse_config(text, "ha.yaml")


@dataclass
class Topology:
    config: Config
    children: dict[str, Child]
    pushgateway: str
    notifications: Path

    def kill(self, name: str) -> None:
        """SIGKILL by PID: no goodbye to peers, no flush."""
        child = self.children[name]
        os.kill(child.popen.pid, signal.SIGKILL)
        child.popen.wait(10)

    def push_fault(self, value: float = 1) -> None:
        url = f"http://{self.pushgateway}/metrics/job/{PUSH_JOB}"
        httpx.put(url, content=f"{FAULT_SERIES} {value}\n", timeout=5).raise_for_status()

    def clear_fault(self) -> None:
        httpx.delete(f"http://{self.pushgateway}/metrics/job/{PUSH_JOB}", timeout=5).raise_for_status()

    def fault_notifications(self, status: str) -> list[dict[str, Any]]:
        return [
            n
            for n in read_notifications(self.notifications)
            if n["status"] == status and any(a["labels"].get("alertname") == FAULT for a in n["alerts"])
        ]

    def query(self, address: str, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        body = httpx.get(f"http://{address}/api/v1/query", params=params, timeout=10).json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


def _fault_rule() -> dict[str, Any]:
    rule = {
        "alert": FAULT,
        "expr": f'{FAULT_SERIES}{{job="{PUSH_JOB}"}} > 0',
        "labels": {"tenant": "acme", "service": "api", "priority": "P0"},
    }
    return {"groups": [{"name": "ha-fault", "rules": [rule]}]}


@pytest.fixture
def topology_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Child] = []
    procs: list[Proc] = []

    def make(**kwargs: Any) -> Topology:
        for binary in ("prometheus", "prometheus-alertmanager", "victoria-metrics"):
            require_binary(binary)
        pushgateway = start_pushgateway(tmp_path)
        procs.append(pushgateway.proc)
        sink = f"{LOOPBACK}:{free_port()}"
        notifications = tmp_path / "notifications.jsonl"
        procs.append(
            start_ready(
                lookout_argv("sink", "--listen", sink, "--file", str(notifications)),
                tmp_path / "sink.log",
                f"http://{sink}/-/ready",
                "sink",
            )
        )
        config = ha_config(sink, f"{LOOPBACK}:{pushgateway.port}", **kwargs)
        stack = tmp_path / "stack"
        write_stack(render_stack(config, DeployTarget.NATIVE), stack)
        (stack / naming.RULES_DIR).mkdir(parents=True, exist_ok=True)
        (stack / naming.RULES_DIR / "ha-fault.yml").write_text(yaml.safe_dump(_fault_rule()))
        specs = [
            *storage_children(config, "victoria-metrics", tmp_path),
            *alertmanager_children(config, require_binary("prometheus-alertmanager"), tmp_path, stack),
            *prometheus_children(config, require_binary("prometheus"), tmp_path, stack),
        ]
        children = {}
        for spec in specs:
            child = start_child(spec, tmp_path / "run")
            started.append(child)
            children[spec.name] = child
        for child in children.values():
            wait_until(partial(_up, child), 60, 0.2, what=f"{child.name} ready")
        topology = Topology(config, children, f"{LOOPBACK}:{pushgateway.port}", notifications)
        peers = len(config.alertmanager_addresses())
        for address in config.alertmanager_addresses():
            wait_until(
                partial(_sees_peers, address, peers),
                60,
                0.5,
                what=f"{address} sees {peers} gossip peers",
            )
        return topology

    yield make
    for child in reversed(started):
        child.stop()
    for proc in reversed(procs):
        proc.stop()


def _up(child: Child) -> bool:
    return child.exit_code() is None and child.ready()


def _sees_peers(address: str, peers: int) -> bool:
    return len(httpx.get(f"http://{address}/api/v2/status", timeout=5).json()["cluster"]["peers"]) == peers


def _wait_firing_everywhere(topology: Topology, alive: list[str]) -> None:
    for address in alive:
        wait_until(
            partial(topology.query, address, f'ALERTS{{alertname="{FAULT}",alertstate="firing"}}'),
            60,
            0.5,
            what=f"{FAULT} firing on {address}",
        )


def test_one_notification_per_transition_in_a_healthy_cluster(topology_factory: Any) -> None:
    topology: Topology = topology_factory()
    prometheus = topology.config.prometheus_addresses()
    topology.push_fault()
    _wait_firing_everywhere(topology, prometheus)
    wait_until(lambda: topology.fault_notifications("firing"), 60, 0.5, what="the firing notification")
    # Two Prometheus x three Alertmanagers: the peers' notification log lets exactly one of them send each
    # transition. A peer waits its position x 15 s (--cluster.peer-timeout) before it would send: wait that out.
    _assert_exactly_once(topology, "firing")
    topology.clear_fault()
    wait_until(lambda: topology.fault_notifications("resolved"), 120, 0.5, what="the resolved notification")
    _assert_exactly_once(topology, "resolved")
    assert len(topology.fault_notifications("firing")) == 1


def _assert_exactly_once(topology: Topology, status: str, peers: int = 3) -> None:
    deadline = time.monotonic() + (peers - 1) * PEER_TIMEOUT + 5
    while time.monotonic() < deadline:
        assert len(topology.fault_notifications(status)) == 1
        time.sleep(1)


def test_notifications_arrive_with_an_alertmanager_killed_at_each_transition(
    topology_factory: Any, record_property: Any
) -> None:
    topology: Topology = topology_factory()
    topology.push_fault()
    topology.kill("alertmanager")  # while the alert starts firing
    wait_until(lambda: topology.fault_notifications("firing"), 90, 0.5, what="firing with a peer down")
    topology.clear_fault()
    topology.kill("alertmanager-1")  # while it resolves: one peer of three left
    wait_until(lambda: topology.fault_notifications("resolved"), 120, 0.5, what="resolved with two peers down")
    firing, resolved = len(topology.fault_notifications("firing")), len(topology.fault_notifications("resolved"))
    record_property("duplicate_firing", firing - 1)
    record_property("duplicate_resolved", resolved - 1)
    print(f"notifications with peers killed: firing {firing} (duplicates {firing - 1}), resolved {resolved}")


def test_alerting_survives_a_killed_prometheus(topology_factory: Any) -> None:
    topology: Topology = topology_factory()
    topology.kill("prometheus")
    survivor = topology.config.prometheus_addresses()[1]
    topology.push_fault()  # injected after the replica died
    _wait_firing_everywhere(topology, [survivor])
    wait_until(lambda: topology.fault_notifications("firing"), 60, 0.5, what="firing from the surviving replica")
    # One replica of two down: redundancy lost, alerting intact. The P2 is on its way, not the P1 that escalates.
    replica_down = 'ALERTS{alertname="LookoutStackReplicaDown",job="prometheus"}'
    wait_until(partial(topology.query, survivor, replica_down), 60, 0.5, what="LookoutStackReplicaDown pending")
    assert not topology.query(survivor, 'ALERTS{alertname="LookoutStackComponentDown",job="prometheus"}')


def test_no_sample_lost_while_the_long_term_store_is_down(topology_factory: Any) -> None:
    topology: Topology = topology_factory()
    store = str(topology.config.long_term_storage_address())
    series = f'up{{job="{naming.JOB_PUSHGATEWAY}"}}'
    replicas = topology.config.prometheus_addresses()
    wait_until(lambda: topology.query(store, series), 60, 0.5, what="the store receiving samples")
    down_at = time.time()
    topology.children["victoriametrics"].stop()
    outage = 125.0
    # Both replicas keep scraping while nothing can be written; their queues fall behind, and the alert says so.
    for address in replicas:
        wait_until(
            partial(topology.query, address, f'ALERTS{{alertname="{BEHIND}",alertstate="firing",remote_name="{RW}"}}'),
            90,
            1,
            what=f"{BEHIND} firing on {address} while the store is down",
        )
    wait_until(lambda: time.time() - down_at >= outage, outage + 10, 1, what="the outage to last")
    up_at = time.time()
    restarted = start_child(topology.children["victoriametrics"].spec, Path(topology.notifications.parent / "run"))
    topology.children["victoriametrics"] = restarted
    wait_until(restarted.ready, 30, 0.2, what="the store back")
    # The queues drain: every replica has sent what it scraped up to now.
    for address in replicas:
        wait_until(
            partial(
                topology.query,
                address,
                "max(prometheus_remote_storage_highest_timestamp_in_seconds) - ignoring(remote_name, url) "
                "max(prometheus_remote_storage_queue_highest_sent_timestamp_seconds) < 5",
            ),
            120,
            1,
            what=f"{address} drained",
        )
    start, end = int(down_at) + 2, int(up_at) - 2
    window = end - start
    expected: set[int] = set()
    for address in replicas:
        for result in topology.query(address, f"{series}[{window}s]", at=end):
            expected |= {int(float(ts)) // SCRAPE for ts, _ in result["values"] if float(ts) > start}

    missing: set[int] = set(expected)

    def stored_buckets() -> list[int] | None:
        # "Drained" above allows the queue a few seconds of lag, and the store makes a sample searchable shortly
        # after it arrives: wait for the window's last samples rather than reading the store once.
        stored = topology.query(store, f"{series}[{window}s]", at=end)
        assert len(stored) == 1, stored  # one series: the replicas' copies are one once the replica label is dropped
        buckets = [int(float(ts)) // SCRAPE for ts, _ in stored[0]["values"] if float(ts) > start]
        missing.intersection_update(expected - set(buckets))
        return buckets if not missing else None

    try:
        buckets = wait_until(stored_buckets, 60, 1, what="every sample of the outage window in the store")
    except pytest.fail.Exception:  # say which: the queue's tail not yet searchable, or samples lost in between
        lost = sorted(b - start // SCRAPE for b in missing)
        pytest.fail(f"{len(missing)} of {len(expected)} scrape intervals of the outage never reached the store: {lost}")
    assert len(buckets) == len(set(buckets)), "two samples in one deduplication interval"
    assert set(buckets) == expected
    assert len(expected) >= window / SCRAPE - 2  # the replicas scraped through the whole outage


def test_shards_split_the_targets(topology_factory: Any) -> None:
    topology: Topology = topology_factory(replicas=1, shards=2, targets=60)
    shards = topology.config.prometheus_addresses()
    names = {f"mcp-{i:03d}" for i in range(60)}

    def scraped(address: str) -> set[str]:
        return {r["metric"]["service"] for r in topology.query(address, f'up{{job="{naming.JOB_MCP}"}}')}

    wait_until(lambda: scraped(shards[0]) | scraped(shards[1]) == names, 60, 0.5, what="every target scraped")
    first, second = scraped(shards[0]), scraped(shards[1])
    assert first and second
    assert not first & second
    assert first | second == names


def test_lookout_up_runs_the_ha_topology(tmp_path: Path) -> None:
    """`lookout up` itself: every replica, peer and the store ready, one gossip cluster, the replicas' series one
    in the store, and every child stopped with it."""
    for binary in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "victoria-metrics"):
        require_binary(binary)
    sink, pushgateway = _addresses(2)
    config = ha_config(sink, pushgateway)
    path = tmp_path / "lookout.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", by_alias=True, exclude_none=True)))
    data = tmp_path / "data"
    up = start(lookout_argv("up", "--config", str(path), "--data-dir", str(data), "--no-demo"), tmp_path / "up.log")
    pids: list[int] = []
    try:
        wait_until(lambda: up.alive() and read_state(data), 120, 0.5, what="lookout up ready")
        pids = [int(p.read_text()) for p in (data / "run").glob("*.pid")]
        assert {p.stem for p in (data / "run").glob("*.pid")} >= {
            "prometheus",
            "prometheus-1",
            "alertmanager",
            "alertmanager-1",
            "alertmanager-2",
            "victoriametrics",
        }
        for address in config.alertmanager_addresses():
            wait_until(partial(_sees_peers, address, 3), 60, 0.5, what=f"{address} in the cluster")
        store = f"http://{config.long_term_storage_address()}"

        def prometheus_series_in_store() -> list[dict[str, Any]]:
            query = {"query": f'up{{job="{naming.JOB_PROMETHEUS}"}}'}
            result: list[dict[str, Any]] = httpx.get(f"{store}/api/v1/query", params=query, timeout=5).json()["data"][
                "result"
            ]
            return result

        wait_until(lambda: len(prometheus_series_in_store()) == 2, 60, 0.5, what="both replicas' series in the store")
        assert all("replica" not in r["metric"] for r in prometheus_series_in_store())
    finally:
        up.stop(signal.SIGTERM, timeout=60)
    assert up.popen.returncode == 0, up.output()[-2000:]
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), 30, 0.2, what="every child stopped")


def test_lookout_up_serves_the_long_term_store_over_tls(tmp_path: Path) -> None:
    """Under security: VictoriaMetrics serves only TLS with the stack's certificate, Prometheus remote-writes to it
    over TLS, and the console reads it with the CA; no password is on a command line."""
    for binary in ("prometheus", "prometheus-alertmanager", "prometheus-pushgateway", "victoria-metrics"):
        require_binary(binary)
    sink, pushgateway = _addresses(2)
    secrets = tmp_path / "secrets"
    data_text = ha_config(sink, pushgateway, peers=1).model_dump(mode="json", by_alias=True, exclude_none=True)
    data_text["security"] = SecurityBlock(secrets, users={"lookout": "operator"}).as_data()
    path = tmp_path / "lookout.yaml"
    path.write_text(yaml.safe_dump(data_text))
    config = parse_config(path.read_text(), str(path))
    write_certs(config)
    password = (secrets / "lookout.password").read_text().strip()
    data = tmp_path / "data"
    up = start(lookout_argv("up", "--config", str(path), "--data-dir", str(data), "--no-demo"), tmp_path / "up.log")
    pids: list[int] = []
    store = config.long_term_storage_address()
    context = ssl.create_default_context(cafile=str(secrets / "ca.crt"))
    try:
        wait_until(lambda: not up.alive() or bool(read_state(data)), 120, 0.5, what="lookout up ready")
        assert up.alive(), up.output()[-2000:]
        pids = [int(p.read_text()) for p in (data / "run").glob("*.pid")]
        assert "victoriametrics" in {p.stem for p in (data / "run").glob("*.pid")}

        plain = _plain_http_status(f"http://{store}/health")
        assert plain != 200, "the store answered plain HTTP"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://{store}/health", timeout=5)  # the system's CAs do not know the stack's
        assert httpx.get(f"https://{store}/health", verify=context, timeout=5).status_code == 200

        def replicas_in_store() -> list[dict[str, Any]]:
            query = {"query": f'up{{job="{naming.JOB_PROMETHEUS}"}}'}
            body = httpx.get(f"https://{store}/api/v1/query", params=query, verify=context, timeout=5).json()
            result: list[dict[str, Any]] = body["data"]["result"]
            return result

        wait_until(lambda: len(replicas_in_store()) == 2, 60, 0.5, what="both replicas' series in the store over TLS")
        assert all("replica" not in r["metric"] for r in replicas_in_store())

        # The console queries the store (Config.query_url) with the stack's CA.
        console = httpx.get(
            f"https://{config.listen.grafana}/api/prom/query",
            params={"query": f'count(up{{job="{naming.JOB_PROMETHEUS}"}})'},
            auth=("lookout", password),
            verify=context,
            timeout=10,
        )
        assert console.status_code == 200, console.text
        assert console.json()["data"]["result"][0]["value"][1] == "2"

        # The reports and `check --live` read it with the stack's CA and client user too.
        with closing(report_client(config, None)) as reports:
            assert reports.url == f"https://{store}"
            now = datetime.now(UTC)
            assert [v for _, v in reports.instant(f'count(up{{job="{naming.JOB_PROMETHEUS}"}})', now)] == [2]
        verify, auth = live_access(config)
        check_live(data / "stack", f"https://{store}", verify=verify, auth=auth)  # raises LiveUnreachable otherwise

        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            assert password not in cmdline
    finally:
        up.stop(signal.SIGTERM, timeout=60)
    assert up.popen.returncode == 0, up.output()[-2000:]
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), 30, 0.2, what="every child stopped")


def _plain_http_status(url: str) -> int | None:
    """The status a plain-HTTP request gets (None: the connection was refused or dropped)."""
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.TransportError:
        return None
