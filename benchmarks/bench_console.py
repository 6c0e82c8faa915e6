"""The console's fleet dashboard with 50 targets: time to first render in Debian's chromium (navigation until
every panel has drawn) and the console's CPU per page load. A real Prometheus with the generated recording
rules scrapes 50 synthetic MCP servers (one tiny exporter, one scrape target per service). Target: < 1 s.

    python -m benchmarks.bench_console [--targets 50] [--loads 5] [--warm 40] [--write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

from benchmarks.bench_generate import fleet
from benchmarks.support import cpu_seconds, free_port, machine, write_section
from lookout import metrics as m
from lookout.stack import naming

TARGET_S = 1.0
RPS = 5.0
"""Requests per second of each synthetic server."""


def _exposition(service: str, elapsed: float) -> str:
    """One server's request histogram and error counter, growing at RPS (a latency spread over the buckets)."""
    name, total = m.OPERATION_DURATION.name, elapsed * RPS
    labels = f'{m.MCP_METHOD}="tools/call",{m.TOOL_NAME}="calculate",{m.ERROR_TYPE}=""'
    lines = [f"# TYPE {name} histogram"]
    buckets = m.OPERATION_DURATION.buckets
    for i, le in enumerate(buckets):
        share = min(1.0, (i + 1) / (len(buckets) * 0.6))
        lines.append(f'{name}_bucket{{{labels},le="{le}"}} {total * share:.0f}')
    lines += [
        f'{name}_bucket{{{labels},le="+Inf"}} {total:.0f}',
        f"{name}_count{{{labels}}} {total:.0f}",
        f"{name}_sum{{{labels}}} {total * 0.02:.3f}",
        f"# TYPE {m.OPERATION_ERRORS.name} counter",
        f'{m.OPERATION_ERRORS.name}_total{{{m.MCP_METHOD}="tools/call",{m.TOOL_NAME}="calculate",'
        f'{m.ERROR_CLASS}="{m.ERROR_CLASS_SERVER}"}} 0',
    ]
    return "\n".join(lines) + f"\n# service {service}\n"


def _exporter(port: int) -> ThreadingHTTPServer:
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            service = parse_qs(urlsplit(self.path).query).get("service", ["x"])[0]
            body = _exposition(service, time.monotonic() - started + 60).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _wait(url: str, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready at {url}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--warm", type=float, default=40.0, help="seconds of scraping before the first load")
    parser.add_argument("--write", nargs="?", const="docs/performance.md", help="update docs/performance.md")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from lookout.console.dashboards import load_dashboards
    from lookout.stack.rules import render_recording_rules

    prometheus_bin = shutil.which("prometheus")
    if prometheus_bin is None:
        raise SystemExit("prometheus is not installed: make setup")
    config = fleet(args.targets, 1)
    tenant = config.tenants[0].name
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    exporter_port, prometheus_port, console_port = free_port(), free_port(), free_port()
    (tmp / "recording.yml").write_text(render_recording_rules(config))
    scrape = {
        "job_name": naming.JOB_MCP,
        "scrape_interval": "1s",
        "static_configs": [
            {
                "targets": [f"127.0.0.1:{exporter_port}"],
                "labels": {m.TENANT: tenant, m.SERVICE: t.name, m.INSTANCE: t.name},
            }
            for t in config.tenants[0].targets
        ],
        "relabel_configs": [{"source_labels": [m.SERVICE], "target_label": "__param_service"}],
    }
    prometheus_yml = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "recording.yml")],
        "scrape_configs": [scrape],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(prometheus_yml))
    config_file = tmp / "lookout.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json", by_alias=True, exclude_none=True)))
    exporter = _exporter(exporter_port)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [prometheus_bin, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        console = subprocess.Popen(
            [sys.executable, "-m", "lookout", "console", "--config", str(config_file), "--listen",
             f"127.0.0.1:{console_port}", "--prometheus", f"http://127.0.0.1:{prometheus_port}",
             "--alertmanager", f"http://127.0.0.1:{free_port()}", "--data-dir", str(tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(console)
        _wait(f"http://127.0.0.1:{prometheus_port}/-/ready", "prometheus")
        _wait(f"http://127.0.0.1:{console_port}/-/healthy", "console")
        time.sleep(args.warm)  # scrapes and rule evaluations accumulate: the panels have history to draw
        fleet_uid = next(d.uid for d in load_dashboards(config).values() if d.slug == "fleet" and d.tenant == tenant)
        url = f"http://127.0.0.1:{console_port}/d/{fleet_uid}?from=now-15m&to=now&refresh="
        renders, cpus, queries, data_panels, panels = [], [], [], 0, 0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for _ in range(args.loads):
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                cpu = cpu_seconds(console.pid)
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-rendered]", timeout=60_000)
                renders.append(time.perf_counter() - start)
                cpus.append(cpu_seconds(console.pid) - cpu)
                slowest = page.evaluate(
                    "Math.max(0, ...performance.getEntriesByType('resource')"
                    ".filter(e => e.name.includes('/api/prom/')).map(e => e.duration))"
                )
                queries.append(slowest / 1000)
                states = page.eval_on_selector_all(".panel", "els => els.map(e => e.dataset.state)")
                panels, data_panels = len(states), states.count("data")
                page.close()
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        exporter.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    first, median = renders[0], statistics.median(renders)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    within = "within" if first < TARGET_S else "over"
    rows = "\n".join(
        f"| {i + 1} | {r * 1000:.0f} ms | {q * 1000:.0f} ms | {c * 1000:.0f} ms |"
        for i, (r, q, c) in enumerate(zip(renders, queries, cpus, strict=True))
    )
    text = f"""## Console (`lookout console`)

Measured by `benchmarks/bench_console.py` on {machine()}: the fleet dashboard of one tenant with {args.targets}
targets (a real Prometheus with the generated recording rules scraping {args.targets} synthetic MCP servers every
second, {args.warm:.0f} s of history), loaded {args.loads} times in Debian's chromium through Playwright; render =
navigation until every panel has drawn ({data_panels} of {panels} panels with data), console CPU = the console
process's user + system CPU during the load (it proxies every panel's queries). Load average of the machine
when measured: {load}. Target: first render < 1 s.

| load | render | slowest query (through the console) | console CPU |
|---:|---:|---:|---:|
{rows}

First render **{first * 1000:.0f} ms** ({within} the 1 s target); median {median * 1000:.0f} ms.
"""
    print(text)
    if args.write:
        write_section("console", text, Path(args.write))


if __name__ == "__main__":
    main()
