"""OpenTelemetry Collector: OTLP in, tail sampling that keeps every error and every slow trace and every trace
Lookout's adaptive sampler kept (an exemplar's), Jaeger out.

Loopback addresses throughout (see :mod:`lookout.stack.loki`): the collector takes OTLP on the standard
ports 4317/4318, so Jaeger's own OTLP receiver is reached on :data:`JAEGER_OTLP`.
"""

from __future__ import annotations

from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.yamlio import dump_yaml

OTELCOL_FILE: Final = "otelcol/config.yaml"
OTLP_GRPC: Final = "127.0.0.1:4317"
OTLP_HTTP: Final = "127.0.0.1:4318"
JAEGER_OTLP: Final = "127.0.0.1:14317"
HEALTH: Final = "127.0.0.1:13133"
BASELINE_SAMPLING_PERCENT: Final = 10
"""Share kept of the other ordinary (fast, successful) traces: those of emitters without Lookout's sampler."""


def otelcol_config(config: Config) -> dict[str, Any]:
    slow_ms = round(config.alerting.slo.latency_p99_threshold * 1000)  # slow = over the p99 policy
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": OTLP_GRPC}, "http": {"endpoint": OTLP_HTTP}}}},
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "tail_sampling": {
                "decision_wait": "10s",
                "num_traces": 50000,
                "expected_new_traces_per_sec": 100,
                # A trace is kept when ANY policy says so: errors always, slow traces always, the rest sampled.
                "policies": [
                    {"name": "keep-errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
                    # What Lookout's adaptive sampler kept within its budget: those trace ids are the exemplars.
                    {
                        "name": "keep-head-sampled",
                        "type": "string_attribute",
                        "string_attribute": {"key": m.HEAD_SAMPLED_ATTRIBUTE, "values": [m.HEAD_SAMPLED_BY]},
                    },
                    {"name": "keep-slow", "type": "latency", "latency": {"threshold_ms": slow_ms}},
                    {
                        "name": "baseline",
                        "type": "probabilistic",
                        "probabilistic": {"sampling_percentage": BASELINE_SAMPLING_PERCENT},
                    },
                ],
            },
            "batch": {"timeout": "5s"},
        },
        "exporters": {"otlp/jaeger": {"endpoint": JAEGER_OTLP, "tls": {"insecure": True}}},
        "extensions": {"health_check": {"endpoint": HEALTH}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    # memory_limiter first, batch last: the order the collector documentation prescribes.
                    "processors": ["memory_limiter", "tail_sampling", "batch"],
                    "exporters": ["otlp/jaeger"],
                }
            },
        },
    }


def render_otelcol(config: Config) -> str:
    return dump_yaml(otelcol_config(config), naming.GENERATED_HEADER)


def render_tracing(config: Config) -> dict[str, str]:
    return {OTELCOL_FILE: render_otelcol(config)}
