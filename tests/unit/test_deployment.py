"""What a container deployment runs besides the monitoring stack, and lookout.yaml as a cluster's exporter reads it."""

from __future__ import annotations

from lookout.config.loader import parse_config
from lookout.stack.deployment import (
    cluster_config,
    demo_target,
    management_port,
    stdio_in_image_warnings,
    uses_sink,
)

CONFIG = """
version: 1
tenants:
  - name: acme
    targets:
      - {name: piped, url: "mcp-server --stdio", transport: stdio}
      - {name: remote, url: "https://mcp.example.com/mcp"}
      - {name: other, url: "http://127.0.0.1:9000/mcp"}
      - {name: search, url: "http://localhost:8000/mcp", metrics_url: "http://localhost:8081/metrics"}
alerting:
  receivers:
    - {name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}
    - {name: elsewhere, webhook: {url: "https://hooks.example.com/notify"}}
  routes: {P0: [sink]}
"""


def test_the_demo_target_is_the_loopback_one_on_the_demo_port() -> None:
    config = parse_config(CONFIG)
    demo = demo_target(config)
    assert demo is not None and demo[1].name == "search" and demo[0].name == "acme"
    assert management_port(demo[1]) == 8081  # its metrics_url, not the default
    assert demo_target(parse_config(CONFIG.replace("localhost:8000", "localhost:8001"))) is None


def test_the_sink_runs_only_when_a_webhook_posts_to_listen_sink() -> None:
    assert uses_sink(parse_config(CONFIG))
    assert not uses_sink(parse_config(CONFIG + "listen: {sink: 127.0.0.1:9096}\n"))


def test_in_the_cluster_loopback_urls_name_the_targets_service_and_nothing_else_changes() -> None:
    config = parse_config(CONFIG)
    in_cluster = cluster_config(config, "mon", "0.0.0.0:9115")
    urls = {t.name: (t.url, str(t.metrics_url) if t.metrics_url else None) for _, t in in_cluster.targets()}
    assert urls == {
        "piped": ("mcp-server --stdio", None),
        "remote": ("https://mcp.example.com/mcp", None),
        "other": ("http://other.mon.svc:9000/mcp", None),
        "search": ("http://search.mon.svc:8000/mcp", "http://search.mon.svc:8081/metrics"),
    }
    assert in_cluster.listen.exporter == "0.0.0.0:9115"
    assert in_cluster.alerting == config.alerting and in_cluster.tenants[0].name == "acme"


def test_a_probed_stdio_target_is_named_with_the_program_the_exporters_image_lacks() -> None:
    """In compose and Kubernetes the exporter starts a stdio target's command inside Lookout's image: one line
    naming the target, the program and the way out; nothing for HTTP targets or an unprobed stdio one."""
    [line] = stdio_in_image_warnings(parse_config(CONFIG))
    assert line.startswith("tenants[0].targets[0] (piped): ")
    assert "`mcp-server`" in line and "MCPProbeFailing" in line
    assert "serve the server over HTTP" in line and "probe: false" in line
    assert "\n" not in line
    unprobed = CONFIG.replace("transport: stdio}", "transport: stdio, probe: false}")
    assert stdio_in_image_warnings(parse_config(unprobed)) == []
