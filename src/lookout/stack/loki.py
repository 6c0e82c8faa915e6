"""Logs plumbing: Loki (per-tenant retention) and Grafana Alloy (collects and parses Lookout's JSON logs).

Promtail is end-of-life, so collection is Alloy. It reads the output (stdout and stderr) of the containers of
the compose project :data:`COMPOSE_PROJECT` only, through the Docker socket: the demo server writes JSON lines
on stderr there. Every address is a loopback one: natively and in the compose quick-start (where the
collectors use the host network) the same files work unchanged.
"""

from __future__ import annotations

from typing import Any, Final

from lookout import metrics as m
from lookout.config.model import Config
from lookout.stack import naming
from lookout.stack.yamlio import dump_yaml

LOKI_FILE: Final = "loki/loki.yaml"
ALLOY_FILE: Final = "alloy/config.alloy"
LOKI_HTTP_PORT: Final = 3100
LOKI_PUSH_URL: Final = f"http://127.0.0.1:{LOKI_HTTP_PORT}/loki/api/v1/push"
COMPOSE_PROJECT: Final = "lookout"
"""Compose project name (set by the generated ``.env``); Alloy collects its containers and no others."""
COMPOSE_PROJECT_LABEL: Final = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL: Final = "com.docker.compose.service"
LOG_LABELS: Final = ("level", m.TENANT, m.SERVICE)
"""Bounded values only: everything else in a log line stays content, queried with ``| json``."""
TRACE_ID: Final = "trace_id"
AUDIT_STREAM: Final = {"stream": "audit"}
"""The audit trail's stream label (instrument(..., audit=Audit(path=...)) writes it): its own retention."""


def loki_config(config: Config) -> dict[str, Any]:
    retention = config.retention.logs
    return {
        # One Loki tenant; Lookout tenants are the `tenant` stream label, and retention is per stream.
        "auth_enabled": False,
        "server": {"http_listen_address": "0.0.0.0", "http_listen_port": LOKI_HTTP_PORT, "log_level": "info"},
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": "/loki",
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
            "storage": {"filesystem": {"chunks_directory": "/loki/chunks", "rules_directory": "/loki/rules"}},
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2024-04-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {
            "retention_period": retention,
            "allow_structured_metadata": True,  # trace ids ride as structured metadata, not labels
            "retention_stream": [
                {
                    "selector": f'{{{m.TENANT}="{tenant.name}"}}',
                    "priority": 1,
                    "period": tenant.log_retention or retention,
                }
                for tenant in config.tenants
            ]
            + _audit_retention(config),
        },
        "compactor": {
            "working_directory": "/loki/compactor",
            "compaction_interval": "10m",
            "retention_enabled": True,  # without it retention_period is ignored
            "retention_delete_delay": "2h",
            "delete_request_store": "filesystem",
        },
        "analytics": {"reporting_enabled": False},
    }


def _audit_retention(config: Config) -> list[dict[str, Any]]:
    """The audit stream outranks the tenants' streams: it is kept for security.audit.retention."""
    if not config.security.audit.enabled:
        return []
    selector = ",".join(f'{k}="{v}"' for k, v in AUDIT_STREAM.items())
    return [{"selector": f"{{{selector}}}", "priority": 2, "period": config.security.audit.retention}]


def render_loki(config: Config) -> str:
    return dump_yaml(loki_config(config), naming.GENERATED_HEADER)


def _meta(label: str) -> str:
    """Alloy's discovery name of a Docker label (non-alphanumerics become underscores)."""
    return "".join(c if c.isalnum() else "_" for c in label)


def _map(values: dict[str, str]) -> str:
    return "{" + ", ".join(f'{key} = "{value}"' for key, value in values.items()) + "}"


def _json_process(name: str, extracted: dict[str, str], labels: dict[str, str]) -> str:
    """A loki.process for JSON lines: `extracted` fields parsed, `ts` the timestamp, `labels` become labels and the
    trace id structured metadata, then on to Loki."""
    return f"""loki.process "{name}" {{
  stage.json {{
    expressions = {_map(extracted)}
  }}

  stage.timestamp {{
    source = "ts"
    format = "RFC3339Nano"
  }}

  stage.labels {{
    values = {_map(labels)}
  }}

  stage.structured_metadata {{
    values = {_map({TRACE_ID: ""})}
  }}

  forward_to = [loki.write.default.receiver]
}}

"""


def render_alloy(config: Config) -> str:
    """Alloy: the compose project's container output, JSON parsed, pushed to Loki."""
    label_values = {label: "" for label in LOG_LABELS}
    extracted = {**{label: label for label in LOG_LABELS}, TRACE_ID: TRACE_ID, "ts": "timestamp"}
    header = "".join(f"// {line}\n" for line in naming.GENERATED_HEADER.splitlines())
    return f"""{header}
// The containers of this compose project only (their stdout and stderr), labelled by compose service.
discovery.docker "containers" {{
  host = "unix:///var/run/docker.sock"

  filter {{
    name   = "label"
    values = ["{COMPOSE_PROJECT_LABEL}={COMPOSE_PROJECT}"]
  }}
}}

discovery.relabel "containers" {{
  targets = discovery.docker.containers.targets

  rule {{
    source_labels = ["__meta_docker_container_label_{_meta(COMPOSE_SERVICE_LABEL)}"]
    target_label  = "container"
  }}
}}

loki.source.docker "containers" {{
  host       = "unix:///var/run/docker.sock"
  targets    = discovery.relabel.containers.output
  forward_to = [loki.process.lookout.receiver]
}}

// Lookout's JSON lines: bounded fields become labels, the trace id structured metadata
// (Grafana links it to the trace); lines that are not JSON pass through unchanged.
{_json_process("lookout", extracted, label_values)}{_alloy_audit(config)}loki.write "default" {{
  endpoint {{
    url = "{LOKI_PUSH_URL}"
  }}
}}
"""


def _alloy_audit(config: Config) -> str:
    """The audit files as their own stream: tenant and service labels, the trace id structured metadata."""
    if not config.security.audit.enabled:
        return ""
    target = _map({"__path__": config.security.audit.files, **AUDIT_STREAM})
    extracted = {m.TENANT: m.TENANT, m.SERVICE: m.SERVICE, TRACE_ID: TRACE_ID, "ts": "timestamp"}
    return f"""// The audit trail of tool calls (one JSON line per call): its own stream, with its own retention.
local.file_match "audit" {{
  path_targets = [{target}]
}}

loki.source.file "audit" {{
  targets    = local.file_match.audit.targets
  forward_to = [loki.process.audit.receiver]
}}

{_json_process("audit", extracted, {m.TENANT: "", m.SERVICE: ""})}"""


def render_logs(config: Config) -> dict[str, str]:
    return {LOKI_FILE: render_loki(config), ALLOY_FILE: render_alloy(config)}
