"""A known history for the report tests and the example reports: 36 days of an MCP fleet written as OpenMetrics,
turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics`, with the recording rules the reports
read backfilled by `promtool tsdb create-blocks-from rules` from the same data.

What is planted (tenant acme):
- search: 12 req/s all along; a 43-minute outage (every request fails on the server's side); a two-hour burst of
  tool errors (2 % of requests); six hours with p99 above the latency policy; its alerts in ALERTS.
- billing: traffic growing linearly (5 req/s + 0.25 req/s per day), a pushed `lookout bench` capacity of
  40 req/s per replica, CPU and memory utilization growing linearly; a histogram with 40 buckets and a counter
  with a session_id label (150 values) for the cost report.
- archive: in lookout.yaml, never any traffic.
- The discover probes' tool-definition footprint of search and billing (tools, bytes, estimated tokens, the largest
  tools) in the two hours before the cost report's end.
- Prometheus' own TSDB metrics: 2,500 samples/s appended, blocks growing 64 MiB a day, a 32 MiB WAL.

The recording rules the reports read are evaluated by the real Prometheus over that history (a range query of
each rule's expression at the rules' 5-minute step, as `promtool tsdb create-blocks-from rules` does, whose 2.42
writes a block per rule and 2-hour range: thousands of blocks for a month) and written back as blocks; rules that
read other rules in a later pass. Raw samples every 5 minutes on the same grid: each window of the rules holds a
sample at both ends, so the reports' sums over windows are exact.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from lookout import metrics as m
from lookout.config import Config, load_config
from lookout.report import capacity, sla
from lookout.stack import naming
from lookout.stack.rules.recording import RecordingRule, recording_groups
from tests.support import Prometheus, require_binary, start_prometheus

CONFIG = """\
version: 1
tenants:
  - name: acme
    targets:
      - name: search
        url: http://127.0.0.1:8001/mcp
      - name: billing
        url: http://127.0.0.1:8002/mcp
      - name: archive
        url: http://127.0.0.1:8003/mcp
alerting:
  receivers:
    - name: hook
      webhook: {url: "http://127.0.0.1:9095/notify"}
  routes: {P0: [hook]}
"""

START = datetime(2026, 8, 31, tzinfo=UTC)
END = datetime(2026, 10, 6, tzinfo=UTC)
STEP = 300
"""Seconds between raw samples: every 5-minute window of the rules holds a sample at each of its ends."""
EVAL = 300
"""Seconds between the backfilled rule evaluations."""
DAY = 86400.0

SEARCH_RPS = 12.0
OUTAGE_MINUTES = 43
TOOL_ERROR_SHARE = 0.02
BURST_HOURS = 2
SLOW_HOURS = 6
BILLING_RPS, BILLING_GROWTH = 5.0, 0.25  # req/s, req/s per day since START
BILLING_CAPACITY = 40.0
CPU_BASE, CPU_GROWTH = 0.2, 0.005  # cores (of the 1-core default), per day
MEMORY_BASE, MEMORY_GROWTH = 300 * 2**20, 5 * 2**20  # bytes (of the 1 GiB default), per day
SEARCH_CPU, SEARCH_MEMORY = 0.3, 200 * 2**20
SAMPLES_PER_SECOND = 2500.0
BLOCKS_BASE, BLOCKS_PER_DAY, WAL_BYTES = 100 * 2**20, 64 * 2**20, 32 * 2**20
LEGACY_BUCKETS = 40
SESSIONS = 150
FOOTPRINTS = {
    "search": (12, 9_840, 2_310, {"search_docs": 2_950, "summarize": 1_720, "fetch_page": 1_280}),
    "billing": (4, 1_930, 452, {"create_invoice": 820, "refund": 510}),
}
"""What the discover probes measured of each server's tool definitions: tools, bytes, estimated tokens, and the
bytes of its largest tools."""
COST_AT = datetime(2026, 10, 5, tzinfo=UTC)
"""The cost report's end (its `--to`): the cardinality series exist in the two hours before it."""
LE = ("0.05", "0.1", "0.2", "+Inf")
NORMAL = (0.995, 1.0, 1.0, 1.0)
"""Cumulative share of requests at or under each bucket boundary; p99 under 0.1 s."""
SLOW = (0.90, 0.95, 1.0, 1.0)
"""During the slow hours: 5 % above 0.1 s, p99 0.18 s."""


def _span(start: datetime, seconds: float) -> tuple[float, float]:
    """A planted event; it starts on a rule window's boundary (a multiple of EVAL since the epoch)."""
    assert start.timestamp() % EVAL == 0
    return start.timestamp(), start.timestamp() + seconds


OUTAGE = _span(datetime(2026, 9, 14, 10, 5, tzinfo=UTC), OUTAGE_MINUTES * 60)
BURST = _span(datetime(2026, 9, 20, 14, tzinfo=UTC), BURST_HOURS * 3600)
SLOW_WINDOW = _span(datetime(2026, 9, 25, 6, tzinfo=UTC), SLOW_HOURS * 3600)


def _hours(year: int, month: int, day: int, first: tuple[int, int], last: tuple[int, int]) -> tuple[datetime, datetime]:
    return datetime(year, month, day, *first, tzinfo=UTC), datetime(year, month, day, *last, tzinfo=UTC)


INCIDENTS = [
    ("MCPServerDown", "P0", "search", *_hours(2026, 9, 14, (10, 7), (10, 48))),
    ("MCPTenantDown", "P0", m.TENANT_WIDE, *_hours(2026, 9, 14, (10, 8), (10, 30))),  # every service of acme
    ("MCPErrorBudgetBurnFast", "P0", "search", *_hours(2026, 9, 14, (10, 9), (10, 58))),
    ("MCPToolErrorRatioHigh", "P1", "search", *_hours(2026, 9, 20, (14, 6), (16, 1))),
    ("MCPLatencyP99High", "P1", "search", *_hours(2026, 9, 25, (6, 12), (12, 2))),
    ("MCPServerDown", "P0", "search", *_hours(2026, 10, 3, (8, 0), (8, 20))),  # after September
]
"""(alert, priority, service, first and last firing sample); ALERTS is sampled every minute. MCPTenantDown's service
is the tenant's every service."""


def _constant(rate: float) -> Callable[[float], float]:
    """Cumulative count of a constant rate since START."""
    start = START.timestamp()
    return lambda t: rate * (t - start)


def _linear(base: float, growth_per_day: float) -> Callable[[float], float]:
    """Cumulative count of ``base + growth * days since START``."""
    start = START.timestamp()
    return lambda t: base * (t - start) + growth_per_day * (t - start) ** 2 / (2 * DAY)


def _level(value: float) -> Callable[[float], float]:
    return lambda t: value


def _within(cumulative: Callable[[float], float], window: tuple[float, float]) -> Callable[[float], float]:
    """Cumulative count of ``cumulative``'s events that happened inside ``window``."""
    return lambda t: cumulative(min(max(t, window[0]), window[1])) - cumulative(window[0])


def _labels(**labels: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


class OpenMetrics:
    """Writes one series at a time (families kept together, as OpenMetrics requires)."""

    def __init__(self, path: Path, times: list[float]) -> None:
        self.out = path.open("w")
        self.times = times

    def series(self, name: str, labels: str, value: Callable[[float], float], times: list[float] | None = None) -> None:
        head = f"{name}{{{labels}}} "
        chosen = self.times if times is None else [t for t in times if t >= 0]
        self.out.write("".join(f"{head}{value(t):.6f} {t:.3f}\n" for t in chosen))

    def close(self) -> None:
        self.out.write("# EOF\n")
        self.out.close()


def constant_rules(config: Config) -> list[tuple[RecordingRule, float]]:
    """Rules whose expression is ``vector(N)`` (per-target settings): written as series, not evaluated, because
    promtool writes a block per rule and 2-hour range and these would be most of them."""
    found = []
    for group in recording_groups(config).values():
        for rule in group:
            match = re.fullmatch(r"vector\(([0-9.e+-]+)\)", rule.expr)
            if match:
                found.append((rule, float(match.group(1))))
    return found


def write_openmetrics(path: Path, config: Config, begin: float, end: float) -> None:
    """The samples with times in [begin, end)."""
    first = START.timestamp()
    times = [first + k * STEP for k in range(int((END.timestamp() - first) // STEP) + 1)]
    times = [t for t in times if begin <= t < end]
    om = OpenMetrics(path, times)
    mcp = {"job": "mcp", m.TENANT: "acme"}
    ops = m.OPERATION_DURATION.name
    search, billing = _constant(SEARCH_RPS), _linear(BILLING_RPS, BILLING_GROWTH)
    slow = _within(search, SLOW_WINDOW)

    def bucket(total: Callable[[float], float], index: int, slow_part: Callable[[float], float] | None = None):
        if slow_part is None:
            return lambda t: total(t) * NORMAL[index]
        return lambda t: (total(t) - slow_part(t)) * NORMAL[index] + slow_part(t) * SLOW[index]

    services = (("search", search, slow), ("billing", billing, None))
    for index, le in enumerate(LE):
        for name, total, slow_part in services:
            labels = _labels(**mcp, service=name, instance=f"{name}-0:8000", error_type="", le=le)
            om.series(f"{ops}_bucket", labels, bucket(total, index, slow_part))
    for name, total, _ in services:
        om.series(f"{ops}_count", _labels(**mcp, service=name, instance=f"{name}-0:8000", error_type=""), total)
    outage = _within(search, OUTAGE)
    burst = _within(search, BURST)
    errors = {
        ("search", "server"): outage,
        ("search", "tool"): lambda t: burst(t) * TOOL_ERROR_SHARE,
        ("billing", "server"): lambda t: 0.0,
        ("billing", "tool"): lambda t: 0.0,
    }
    for (name, error_class), count in errors.items():
        labels = _labels(**mcp, service=name, instance=f"{name}-0:8000", error_class=error_class)
        om.series(f"{m.OPERATION_ERRORS.name}_total", labels, count)
    cpu = {"search": _constant(SEARCH_CPU), "billing": _linear(CPU_BASE, CPU_GROWTH)}
    for name, seconds in cpu.items():
        om.series("process_cpu_seconds_total", _labels(**mcp, service=name, instance=f"{name}-0:8000"), seconds)
    start = START.timestamp()
    memory = {
        "search": lambda t: float(SEARCH_MEMORY),
        "billing": lambda t: MEMORY_BASE + MEMORY_GROWTH * (t - start) / DAY,
    }
    for name, rss in memory.items():
        om.series("process_resident_memory_bytes", _labels(**mcp, service=name, instance=f"{name}-0:8000"), rss)
    for rule, value in constant_rules(config):
        om.series(rule.record, _labels(**dict(rule.labels)), _level(value))
    om.series(m.BENCH_CAPACITY.name, _labels(job="pushgateway", target="billing"), lambda t: BILLING_CAPACITY)
    prometheus = {"job": "prometheus", "instance": "localhost:9090"}
    om.series(m.PROMETHEUS_SAMPLES_APPENDED, _labels(**prometheus), _constant(SAMPLES_PER_SECOND))
    om.series(
        m.PROMETHEUS_BLOCKS_BYTES, _labels(**prometheus), lambda t: BLOCKS_BASE + BLOCKS_PER_DAY * (t - start) / DAY
    )
    om.series(m.PROMETHEUS_WAL_BYTES, _labels(**prometheus), lambda t: float(WAL_BYTES))
    recent = [t for t in times if COST_AT.timestamp() - 7200 <= t <= COST_AT.timestamp()] or [-1.0]
    legacy = {"job": "mcp", m.TENANT: "acme", m.SERVICE: "billing", "instance": "billing-0:8000"}
    for index in range(LEGACY_BUCKETS):
        le = "+Inf" if index == LEGACY_BUCKETS - 1 else f"{0.001 * 1.25**index:.6g}"
        om.series("legacy_request_seconds_bucket", _labels(**legacy, le=le), lambda t: 1.0, recent)
    for index in range(SESSIONS):
        om.series("app_cache_lookups_total", _labels(**legacy, session_id=f"s{index:04d}"), lambda t: 1.0, recent)
    probe = {"job": naming.probe_job_name("discover"), m.TENANT: "acme"}
    for name, (tools, size, tokens, largest) in FOOTPRINTS.items():
        target = _labels(**probe, service=name, instance=f"https://{name}.example/mcp")
        om.series(m.PROBE_TOOLS.name, target, _level(tools), recent)
        om.series(m.PROBE_TOOLS_DEFINITION_BYTES.name, target, _level(size), recent)
        om.series(m.PROBE_TOOLS_DEFINITION_TOKENS.name, target, _level(tokens), recent)
        for tool, tool_size in largest.items():
            labels = f"{target},{_labels(**{m.TOOL_NAME: tool})}"
            om.series(m.PROBE_TOOL_DEFINITION_BYTES.name, labels, _level(tool_size), recent)
    minute = [float(t) for t in range(int(math.ceil(begin / 60) * 60), int(end), 60)]
    for alert, priority, service, since, until in INCIDENTS:
        labels = _labels(alertname=alert, alertstate="firing", priority=priority, tenant="acme", service=service)
        firing = [t for t in minute if since.timestamp() <= t <= until.timestamp()] or [-1.0]
        om.series(m.ALERTS, labels, lambda t: 1.0, firing)
    om.close()


def rule_layers(config: Config, wanted: tuple[str, ...]) -> list[list[RecordingRule]]:
    """The rules the reports read and the rules those read, in layers: a layer reads only earlier layers."""
    rules: dict[str, list[RecordingRule]] = {}
    for group in recording_groups(config).values():
        for rule in group:
            rules.setdefault(rule.record, []).append(rule)
    for rule, _ in constant_rules(config):
        rules.pop(rule.record, None)

    def reads(name: str) -> set[str]:
        exprs = " ".join(rule.expr for rule in rules[name])
        return {
            other for other in rules if other != name and re.search(rf"(?<![\w:]){re.escape(other)}(?![\w:])", exprs)
        }

    needed: set[str] = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += reads(name)
    layers: list[list[RecordingRule]] = []
    done: set[str] = set()
    while len(done) < len(needed):
        ready = sorted(name for name in needed - done if reads(name) <= done)
        layers.append([rule for name in ready for rule in rules[name]])
        done |= set(ready)
    return layers


def _import(promtool: str, write: Callable[[Path, float, float], None], work: Path, tsdb: Path) -> None:
    """Write and import one OpenMetrics file per day: promtool reads its whole input once per 2-hour block."""
    history = work / "history.om"
    for day in range(int((END - START) / timedelta(days=1)) + 1):
        begin = (START + timedelta(days=day)).timestamp()
        write(history, begin, begin + DAY)
        argv = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(history), str(tsdb)]
        subprocess.run(argv, check=True, capture_output=True, timeout=600)
    history.unlink()


def evaluate_rules(prometheus: Prometheus, rules: list[RecordingRule]) -> dict[str, list[tuple[str, list[list[Any]]]]]:
    """Each rule's expression evaluated every EVAL seconds over the history: {record: [(labels, [[t, v]...])]}."""
    results: dict[str, list[tuple[str, list[list[Any]]]]] = {}
    for rule in rules:
        params: dict[str, str | float] = {"query": rule.expr, "start": START.timestamp(), "end": END.timestamp()}
        params["step"] = EVAL
        body = httpx.get(f"{prometheus.url}/api/v1/query_range", params=params, timeout=300).json()
        assert body["status"] == "success", body
        for item in body["data"]["result"]:
            labels = {k: v for k, v in item["metric"].items() if k != "__name__"} | dict(rule.labels)
            results.setdefault(rule.record, []).append((_labels(**labels), item["values"]))
    return results


def _write_rules(results: dict[str, list[tuple[str, list[list[Any]]]]], path: Path, begin: float, end: float) -> None:
    with path.open("w") as out:
        for record, series in results.items():
            for labels, values in series:
                out.write("".join(f"{record}{{{labels}}} {v} {t}\n" for t, v in values if begin <= t < end))
        out.write("# EOF\n")


PROMETHEUS_ARGS = (
    "--storage.tsdb.retention.time=3650d",
    # The imported 2-hour blocks are left as they are: no compaction churn while the reports are read.
    "--storage.tsdb.min-block-duration=2h",
    "--storage.tsdb.max-block-duration=2h",
)


def build_history(directory: Path) -> tuple[Path, Path]:
    """Write lookout.yaml and the TSDB with raw and rule series; returns (config, data dir of Prometheus)."""
    promtool = require_binary("promtool")
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "lookout.yaml"
    config_path.write_text(CONFIG)
    config = load_config(config_path)
    prometheus_yml = directory / "prometheus.yml"
    prometheus_yml.write_text("global:\n  scrape_interval: 15s\n")
    tsdb = directory / "tsdb"
    tsdb.mkdir(exist_ok=True)
    work = directory / "work"
    work.mkdir(exist_ok=True)
    _import(promtool, lambda path, begin, end: write_openmetrics(path, config, begin, end), work, tsdb)
    for layer in rule_layers(config, (*sla.RULES, *capacity.RULES)):
        server = start_prometheus(prometheus_yml, directory, extra_args=PROMETHEUS_ARGS)
        try:
            results = evaluate_rules(server, layer)
        finally:
            server.proc.stop()
        _import(promtool, lambda path, begin, end: _write_rules(results, path, begin, end), work, tsdb)  # noqa: B023
    return config_path, directory
