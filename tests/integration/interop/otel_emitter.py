"""Another emitter of the OpenTelemetry MCP convention: the OpenTelemetry Python SDK recording
``mcp.server.operation.duration`` with the convention's attributes, exposed by its Prometheus exporter.

Nothing of Lookout is imported: the names are spelled as the convention spells them, so the test proves that
Lookout's rules consume what any conventional emitter writes.

Usage: python otel_emitter.py PORT. Every 100 ms it records 10 ``tools/call`` operations of 30 ms each:
7 successes, 1 tool error, 1 server failure (an exception class) and 1 invalid-params answer (the client's fault).
"""

import sys
import time

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import start_http_server

# The convention's bucket boundaries (seconds) for mcp.server.operation.duration.
BOUNDARIES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]
TICK = 0.1
DURATION = 0.03
OUTCOMES = [""] * 7 + ["tool_error", "ValueError", "-32602"]


def main() -> None:
    start_http_server(int(sys.argv[1]), addr="127.0.0.1")
    provider = MeterProvider(
        metric_readers=[PrometheusMetricReader()], resource=Resource.create({"service.name": "weather-go"})
    )
    histogram = provider.get_meter("weather").create_histogram(
        "mcp.server.operation.duration", unit="s", explicit_bucket_boundaries_advisory=BOUNDARIES
    )
    base = {"mcp.method.name": "tools/call", "gen_ai.tool.name": "forecast", "mcp.protocol.version": "2025-06-18",
            "network.transport": "tcp"}  # fmt: skip
    next_tick = time.monotonic()
    while True:
        for outcome in OUTCOMES:
            histogram.record(DURATION, {**base, "error.type": outcome} if outcome else base)
        next_tick += TICK
        time.sleep(max(0.0, next_tick - time.monotonic()))


if __name__ == "__main__":
    main()
