"""Scaling benchmark: what one MCP server costs the monitoring, measured on Debian's Prometheus, and from it the
sizing table of docs/scaling.md (targets per shard, when to shard, when to move to a distributed store).

    python -m benchmarks.bench_scaling [--small 500] [--large 2000] [--seconds 70]

1. A demo server gets a little traffic on every tool; its /metrics is the realistic instrumented payload.
2. The Lookout exporter probes the demo server with the ``discover`` module: series per probe, exporter CPU per probe.
3. Static servers replay that payload for many file-SD targets (distinct ``service`` labels, a few addresses), and
   a real Prometheus scrapes ``--small`` then ``--large`` of them: head series, samples/s, RSS (the slope between the
   two sizes is the cost per target), and bytes per sample on disk from two TSDB snapshots of the same head.
Bounded: about ``2 x --seconds`` plus start-up. Writes the measured section of docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.support import cpu_seconds, demo_server, free_port, machine, write_section

DOC = Path(__file__).resolve().parent.parent / "docs" / "scaling.md"
SCRAPE_INTERVAL = 10  # seconds, for the benchmark only (the default stack scrapes every 15 s)
REPLAY_SERVERS = 3
PROBES = 200
TRAFFIC_SECONDS = 6

_REPLAY = """
import http.server, sys
body = open(sys.argv[2], 'rb').read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; version=0.0.4')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"""


def series_in(exposition: str) -> int:
    return sum(1 for line in exposition.splitlines() if line and not line.startswith("#"))


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class Payloads:
    instrumented: str
    probe_series: int
    exporter_cpu_ms_per_probe: float


def measure_payloads(tmp: Path) -> Payloads:
    with demo_server() as demo:
        traffic = subprocess.Popen(
            [sys.executable, "-m", "lookout", "demo", "traffic", "--url", demo.url, "--rps", "20"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(TRAFFIC_SECONDS)  # a fixed amount of traffic, not a wait for a condition
        finally:
            _stop(traffic)
        instrumented = httpx.get(f"{demo.management_url}/metrics", timeout=10).text
        port = free_port()
        config = tmp / "lookout.yaml"
        config.write_text(
            "version: 1\ntenants:\n  - name: bench\n    targets:\n"
            f"      - {{name: demo, url: '{demo.url}'}}\n"
            "alerting:\n  receivers: [{name: r, webhook: {url: 'http://127.0.0.1:9/'}}]\n  routes: {P0: [r]}\n"
        )
        argv = [sys.executable, "-m", "lookout", "exporter", "--config", str(config), "--listen", f"127.0.0.1:{port}"]
        exporter = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(f"http://127.0.0.1:{port}/-/healthy", exporter)
            probe = f"http://127.0.0.1:{port}/probe"
            params = {"target": "demo", "module": "discover"}
            with httpx.Client(timeout=30) as client:
                body = client.get(probe, params=params).text
                for _ in range(10):  # warm-up
                    client.get(probe, params=params)
                before = cpu_seconds(exporter.pid)
                for _ in range(PROBES):
                    client.get(probe, params=params)
                cpu = cpu_seconds(exporter.pid) - before
        finally:
            _stop(exporter)
    return Payloads(instrumented, series_in(body), cpu / PROBES * 1000)


@dataclass
class Run:
    targets: int
    head_series: float
    samples_per_second: float
    rss_bytes: float
    bytes_per_sample: float


def _own_metric(url: str, name: str) -> float:
    """One of Prometheus' own metrics from its /metrics, summed over its label sets (the benchmark's Prometheus
    scrapes only the targets)."""
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines()
        if line.startswith((name + " ", name + "{"))
    ]
    if not values:
        raise RuntimeError(f"{name} not in {url}/metrics")
    return sum(values)


def _snapshot(url: str, data: Path) -> tuple[int, float]:
    """(bytes on disk, samples) of a TSDB snapshot of the whole head: compressed chunks plus index."""
    name = httpx.post(f"{url}/api/v1/admin/tsdb/snapshot", timeout=120).json()["data"]["name"]
    root = data / "snapshots" / name
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    samples = sum(json.loads(meta.read_text())["stats"]["numSamples"] for meta in root.glob("*/meta.json"))
    return size, float(samples)


def run_prometheus(tmp: Path, targets: int, seconds: float, replay_ports: list[int]) -> Run:
    work = tmp / f"prom-{targets}"
    work.mkdir()
    groups = [
        {"targets": [f"127.0.0.1:{replay_ports[i % len(replay_ports)]}"], "labels": {"service": f"mcp-{i:06d}"}}
        for i in range(targets)
    ]
    (work / "targets.json").write_text(json.dumps(groups))
    (work / "prometheus.yml").write_text(
        f"global: {{scrape_interval: {SCRAPE_INTERVAL}s}}\n"
        "scrape_configs:\n"
        "  - job_name: mcp\n    file_sd_configs: [{files: [targets.json]}]\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        shutil.which("prometheus") or "prometheus",
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-admin-api",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"{url}/-/ready", proc)
        started = time.monotonic()
        time.sleep(seconds / 2)  # fixed measurement windows
        # Memory before the snapshots (which allocate on their own), once every target has been scraped.
        series = _own_metric(url, "prometheus_tsdb_head_series")
        rss = _own_metric(url, "process_resident_memory_bytes")
        appended_1, at_1 = _own_metric(url, "prometheus_tsdb_head_samples_appended_total"), time.monotonic()
        size_1, samples_1 = _snapshot(url, work / "data")
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        size_2, samples_2 = _snapshot(url, work / "data")
        appended_2, at_2 = _own_metric(url, "prometheus_tsdb_head_samples_appended_total"), time.monotonic()
        rate = (appended_2 - appended_1) / (at_2 - at_1)
        marginal = (size_2 - size_1) / (samples_2 - samples_1) if samples_2 > samples_1 else float("nan")
        return Run(targets, series, rate, rss, marginal)
    finally:
        _stop(proc)


def sizing(payloads: Payloads, small: Run, large: Run) -> str:
    per_target_series = series_in(payloads.instrumented) + 5  # plus up, scrape_duration_seconds, … per target
    probe_series = payloads.probe_series + 5
    per_server = per_target_series + probe_series
    rss_per_1k = (large.rss_bytes - small.rss_bytes) / (large.targets - small.targets) * 1000
    rss_per_series = large.rss_bytes / large.head_series  # the larger run's average: start-up cost included
    interval = 15
    rows = []
    for servers in (100, 1_000, 10_000, 100_000):
        series = servers * per_server
        samples = series / interval
        rss = series * rss_per_series
        disk_day = samples * 86400 * large.bytes_per_sample
        cores = servers / interval * payloads.exporter_cpu_ms_per_probe / 1000
        shards = max(1, -(-series // SHARD_SERIES))
        rows.append(
            f"| {servers:,} | {series:,.0f} | {samples:,.0f} | {rss / 2**30:,.1f} GiB | {disk_day / 2**30:,.1f} GiB "
            f"| {cores:,.1f} | {shards} |"
        )
    return "\n".join(
        [
            f"Measured on {machine()}, Prometheus from Debian, scrape interval {SCRAPE_INTERVAL}s in the runs.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| series per instrumented server (demo server, every tool used) | {per_target_series} |",
            f"| series per probed server (`discover` module) | {probe_series} |",
            f"| exporter CPU per probe (`discover`, loopback) | {payloads.exporter_cpu_ms_per_probe:.1f} ms |",
            f"| head series, {small.targets:,} / {large.targets:,} targets | {small.head_series:,.0f} / "
            f"{large.head_series:,.0f} |",
            f"| samples/s ingested, {small.targets:,} / {large.targets:,} targets | {small.samples_per_second:,.0f} / "
            f"{large.samples_per_second:,.0f} |",
            f"| Prometheus RSS, {small.targets:,} / {large.targets:,} targets | {small.rss_bytes / 2**20:,.0f} MiB / "
            f"{large.rss_bytes / 2**20:,.0f} MiB |",
            f"| Prometheus RSS per 1k instrumented targets (slope) | {rss_per_1k / 2**20:,.0f} MiB |",
            f"| Prometheus RSS per head series ({large.targets:,} targets) | {rss_per_series / 1024:,.1f} KiB |",
            f"| bytes per sample on disk (compressed chunks, marginal) | {large.bytes_per_sample:.2f} |",
            "",
            f"Extrapolated at the default 15 s interval, one replica (an HA pair doubles Prometheus' RSS and CPU, not "
            f"the store's disk), {SHARD_SERIES:,} head series per shard:",
            "",
            "| MCP servers | series | samples/s | Prometheus RSS | disk/day | exporter cores | shards |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )


SHARD_SERIES = 2_000_000
"""Head series one Prometheus shard is sized for (docs/scaling.md explains the choice)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=70)
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    with tempfile.TemporaryDirectory(prefix="lookout-bench-scaling-") as raw:
        tmp = Path(raw)
        payloads = measure_payloads(tmp)
        payload = tmp / "metrics.txt"
        payload.write_text(payloads.instrumented)
        ports = [free_port() for _ in range(REPLAY_SERVERS)]
        replays = [
            subprocess.Popen([sys.executable, "-c", _REPLAY, str(p), str(payload)], stdout=subprocess.DEVNULL)
            for p in ports
        ]
        try:
            for port, proc in zip(ports, replays, strict=True):
                _wait(f"http://127.0.0.1:{port}/metrics", proc)
            small = run_prometheus(tmp, args.small, args.seconds, ports)
            large = run_prometheus(tmp, args.large, args.seconds, ports)
        finally:
            for proc in replays:
                _stop(proc)
    section = sizing(payloads, small, large)
    print(section)
    write_section("scaling", section, DOC)


if __name__ == "__main__":
    main()
