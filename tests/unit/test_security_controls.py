"""lookout check --controls: each control pass or fail with the file and line that decides it; exit 1 on a failure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lookout.config import load_config
from lookout.config.security import exposure_warnings
from lookout.security.certs import write_certs
from lookout.security.controls import controls
from tests.stack_support import SecurityBlock
from tests.support import lookout_argv

OPEN = """version: 1
tenants:
  - name: acme
    targets: [{name: api, url: "http://127.0.0.1:9/mcp"}]
  - name: hoarder
    log_retention: 400d
    targets: [{name: api2, url: "http://127.0.0.1:8/mcp"}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
listen: {exporter: "0.0.0.0:9115"}
"""


def _secure(tmp: Path) -> str:
    security = SecurityBlock(tmp / "secrets", client_certificate=False, users={"ops": "operator"})
    return """version: 1
tenants: [{name: acme, targets: [{name: api, url: "http://127.0.0.1:9/mcp"}]}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
""" + security.as_yaml()


def _run(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lookout_argv("check", "--controls", "--config", str(path), *extra), capture_output=True, text=True, timeout=60
    )


def test_the_secure_profile_passes_every_control(tmp_path: Path) -> None:
    path = tmp_path / "lookout.yaml"
    path.write_text(_secure(tmp_path))
    write_certs(load_config(path))
    result = _run(path, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    names = {c["name"] for c in report["controls"]}
    assert {
        "tls-everywhere",
        "auth-everywhere",
        "secrets-by-file",
        "redaction-on",
        "audit-on",
        "retention:acme",
    } <= names
    tls = next(c for c in report["controls"] if c["name"] == "tls-everywhere")
    assert tls["where"] == f"{path}:9"  # the line of security.tls.enabled


@pytest.mark.parametrize(
    ("key", "line", "detail"),
    [
        ("server.key", 12, "chmod 600"),  # the line of security.tls.key_file
        # The key `lookout certs` keeps beside ca_file signs server and client certificates: owner-only too.
        ("ca.key", 10, "secrets/ca.key is missing or readable"),  # the line of security.tls.ca_file
    ],
)
def test_a_readable_key_fails_naming_its_field_and_line(tmp_path: Path, key: str, line: int, detail: str) -> None:
    path = tmp_path / "lookout.yaml"
    path.write_text(_secure(tmp_path))
    write_certs(load_config(path))
    (tmp_path / "secrets" / key).chmod(0o644)
    failed = {c.name: c for c in controls(load_config(path), path) if not c.passed}
    assert set(failed) == {"secrets-by-file"}
    assert failed["secrets-by-file"].where == f"{path}:{line}" and detail in failed["secrets-by-file"].detail


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ("probe:\n  modules:\n    discover:\n      credentials: {bearer_token_file: SECRET}\n", 18),
        (
            "probe:\n  modules:\n    discover:\n"
            "      credentials: {basic_auth: {username: u, password_file: SECRET}}\n",
            18,
        ),
        ("prometheus:\n  remote_write: [{url: 'https://store.example/api/v1/push', bearer_token_file: SECRET}]\n", 16),
    ],
    ids=["probe-token", "probe-password", "remote-write-token"],
)
def test_a_readable_secret_outside_security_fails_naming_its_field_and_line(
    tmp_path: Path, section: str, line: int
) -> None:
    """Probe modules' and remote writes' secret files are held to owner-only like the ones security: names."""
    secret = tmp_path / "other.secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    path = tmp_path / "lookout.yaml"
    path.write_text(_secure(tmp_path) + section.replace("SECRET", str(secret)))
    write_certs(load_config(path))
    assert all(c.passed for c in controls(load_config(path), path))
    secret.chmod(0o644)
    failed = {c.name: c for c in controls(load_config(path), path) if not c.passed}
    assert set(failed) == {"secrets-by-file"}
    assert failed["secrets-by-file"].where == f"{path}:{line}" and str(secret) in failed["secrets-by-file"].detail


def test_a_readable_receiver_secret_fails(tmp_path: Path) -> None:
    secret = tmp_path / "slack.url"
    secret.write_text("https://hooks.slack.example/T0/B0/x\n")
    secret.chmod(0o644)
    path = tmp_path / "lookout.yaml"
    text = _secure(tmp_path).replace(
        '{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}',
        f"{{name: sink, slack: {{api_url_file: {secret}, channel: '#ops'}}}}",
    )
    path.write_text(text)
    write_certs(load_config(path))
    failed = {c.name: c for c in controls(load_config(path), path) if not c.passed}
    assert set(failed) == {"secrets-by-file"} and str(secret) in failed["secrets-by-file"].detail
    assert failed["secrets-by-file"].where == f"{path}:4"


def test_a_plain_http_scrape_under_tls_fails_tls_everywhere_and_is_warned_about(tmp_path: Path) -> None:
    """Prometheus sends the `mcp` job's one login to every target: to an http:// metrics_url in clear text."""
    path = tmp_path / "lookout.yaml"
    path.write_text(
        _secure(tmp_path).replace(
            'url: "http://127.0.0.1:9/mcp"}',
            'url: "http://127.0.0.1:9/mcp", metrics_url: "http://10.0.0.5:9464/metrics"}',
        )
    )
    write_certs(load_config(path))
    failed = {c.name: c for c in controls(load_config(path), path) if not c.passed}
    assert set(failed) == {"tls-everywhere"}
    assert failed["tls-everywhere"].where == f"{path}:2"
    assert "http://10.0.0.5:9464/metrics is scraped over plain HTTP" in failed["tls-everywhere"].detail
    assert "client user's password in clear text" in failed["tls-everywhere"].detail
    result = _run(path)
    assert result.returncode == 1
    assert "warning: tenants.0.targets.0.metrics_url: http://10.0.0.5:9464/metrics is scraped" in result.stderr
    path.write_text(path.read_text().replace("http://10.0.0.5", "https://10.0.0.5"))
    assert all(c.passed for c in controls(load_config(path), path))


@pytest.mark.parametrize(
    ("ha", "field", "why"),
    [
        (
            "{prometheus_replicas: 2, long_term_storage: victoriametrics, victoriametrics: '0.0.0.0:8428'}",
            "ha.victoriametrics",
            "without a login (VictoriaMetrics takes none",
        ),
        (
            "{alertmanager_replicas: 2, alertmanager_cluster: ['0.0.0.0:9094', '127.0.0.1:9096']}",
            "ha.alertmanager_cluster[0]",
            "without TLS or a login (Alertmanager's gossip takes neither",
        ),
    ],
    ids=["victoriametrics", "gossip"],
)
def test_a_listener_security_cannot_guard_fails_exposed_beyond_loopback(
    tmp_path: Path, ha: str, field: str, why: str
) -> None:
    """TLS and users guard every other listener, not the long-term store's or the gossip's: no PASS for those."""
    path = tmp_path / "lookout.yaml"
    path.write_text(_secure(tmp_path) + f"ha: {ha}\n")
    write_certs(load_config(path))
    config = load_config(path)
    [exposed] = [c for c in controls(config, path) if c.name == f"exposed:{field}"]
    assert not exposed.passed and why in exposed.detail
    [warning] = exposure_warnings(config.addresses(), config.security)
    assert (
        warning.startswith(f"{field}: 0.0.0.0:") and why in warning and "TLS and authentication are on" not in warning
    )


def test_an_open_config_fails_with_the_lines_that_decide(tmp_path: Path) -> None:
    path = tmp_path / "lookout.yaml"
    path.write_text(OPEN)
    result = _run(path)
    assert result.returncode == 1
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines["tls-everywhere"].startswith("FAIL")
    assert lines["auth-everywhere"].startswith("FAIL")
    assert lines["retention:hoarder"].startswith("FAIL") and f"{path}:6:" in lines["retention:hoarder"]
    assert lines["retention:acme"].startswith("PASS")
    assert lines["exposed:listen.exporter"].startswith("FAIL") and f"{path}:11:" in lines["exposed:listen.exporter"]
    assert lines["redaction-on"].startswith("PASS")


def test_the_long_term_store_passes_on_tls_and_loopback_only(tmp_path: Path) -> None:
    """VictoriaMetrics takes no login from Lookout: its control asks for TLS and a loopback address instead."""
    path = tmp_path / "lookout.yaml"
    path.write_text(_secure(tmp_path) + "ha: {prometheus_replicas: 2, long_term_storage: victoriametrics}\n")
    write_certs(load_config(path))
    [store] = [c for c in controls(load_config(path), path) if c.name == "long-term-store"]
    assert store.passed and "TLS on loopback" in store.detail and store.where == f"{path}:15"  # the ha block
    path.write_text(
        _secure(tmp_path)
        + "ha: {prometheus_replicas: 2, long_term_storage: victoriametrics, victoriametrics: '0.0.0.0:8428'}\n"
    )
    [store] = [c for c in controls(load_config(path), path) if c.name == "long-term-store"]
    assert not store.passed and "keep it on loopback" in store.detail
    path.write_text(OPEN)
    assert not [c for c in controls(load_config(path), path) if c.name == "long-term-store"]
