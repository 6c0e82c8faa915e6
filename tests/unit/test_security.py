"""security: in lookout.yaml — the model's refusals, the file checks (one line naming the field and the fix),
`lookout certs`, the authentication middleware's roles, and what the generators make of it."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from lookout.config import ConfigError, parse_config
from lookout.config.model import Config
from lookout.runtime.topology import prometheus_children
from lookout.security import SecurityError
from lookout.security.auth import AuthMiddleware, ServerSecurity
from lookout.security.certs import _key, _pem_cert, _pem_key, make_certificate, write_certs
from lookout.security.files import check_files
from lookout.security.web_config import web_config, write_web_config
from lookout.stack.alertmanager import alertmanager_config
from lookout.stack.prometheus import prometheus_config
from tests.support import lookout_argv

BASE = """version: 1
tenants: [{name: acme, targets: [{name: api, url: "http://127.0.0.1:9/mcp", metrics_url: "https://127.0.0.1:9/metrics"}]}]
alerting:
  receivers: [{name: sink, webhook: {url: "http://127.0.0.1:9095/notify"}}]
  routes: {P0: [sink]}
"""


def secure(tmp: Path, extra: str = "") -> Config:
    s = tmp / "secrets"
    return parse_config(
        BASE
        + f"""security:
  profile: secure
  tls: {{enabled: true, ca_file: {s}/ca.crt, cert_file: {s}/server.crt, key_file: {s}/server.key}}
  users:
    - {{name: ops, role: operator, password_file: {s}/ops.password}}
    - {{name: watcher, role: viewer, password_file: {s}/watcher.password}}
{extra}"""
    )


@pytest.mark.parametrize(
    ("security", "message"),
    [
        ("{users: [{name: bob}]}", "user 'bob' has no password: set password_file or password_hash"),
        ("{users: [{name: bob, password_hash: plain}]}", "password_hash is not a bcrypt hash"),
        ("{profile: secure}", "profile secure needs tls.enabled: true and at least one user or token"),
        ("{tls: {enabled: true}}", "tls.ca_file is required when tls.enabled is true"),
        ("{users: [{name: v, role: viewer, password_hash: '$2b$12$" + "a" * 53 + "'}]}", "no user Lookout's own"),
        (
            "{users: [{name: ops, role: operator, password_file: o}, {name: v, password_file: v}], client_user: v}",
            "client_user 'v' is a viewer: Alertmanager's notifications to the sink and `lookout drill`'s faults",
        ),
        (
            "{tokens: [{name: ci, token_file: ci.token}]}",
            "tokens alone would leave Prometheus, Alertmanager and the Pushgateway without a login",
        ),
    ],
)
def test_bad_security_blocks_are_refused_naming_the_field(security: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(BASE + f"security: {security}\n")
    assert message in str(raised.value)
    assert "security" in str(raised.value)


@pytest.mark.parametrize(
    ("security", "enabled"),
    [
        ("{}", False),  # redaction and audit are on by default and do not count
        ("{tls: {enabled: true, ca_file: ca.crt, cert_file: server.crt, key_file: server.key}}", True),
        ("{users: [{name: ops, role: operator, password_file: ops.password}]}", True),
        (
            "{users: [{name: ops, role: operator, password_file: ops.password}], "
            "tokens: [{name: ci, token_file: ci.token}]}",
            True,
        ),
    ],
    ids=["nothing", "tls-only", "users-only", "users-and-tokens"],
)
def test_security_is_enabled_by_tls_or_any_principal(security: str, enabled: bool) -> None:
    assert parse_config(BASE + f"security: {security}\n").security.enabled is enabled


def test_certs_make_a_ca_server_and_password_files_that_pass_the_checks(tmp_path: Path) -> None:
    config = secure(tmp_path)
    written = write_certs(config)
    assert len(written.created) == 6  # CA, its key, server cert and key, two password files
    check_files(config.security)
    for key in ("ca.key", "server.key", "ops.password", "watcher.password"):
        assert (tmp_path / "secrets" / key).stat().st_mode & 0o077 == 0, key
    assert write_certs(config).created == []  # kept, never replaced


def test_bad_files_are_one_line_naming_the_field_and_the_fix(tmp_path: Path) -> None:
    config = secure(tmp_path)
    write_certs(config)
    s = tmp_path / "secrets"

    def fails(expected: str, now: dt.datetime | None = None) -> None:
        with pytest.raises(SecurityError) as raised:
            check_files(config.security, now)
        assert expected in str(raised.value) and "\n" not in str(raised.value)

    fails(
        "security.tls.cert_file: " + str(s / "server.crt") + " expired", dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
    )
    (s / "server.key").write_bytes(_pem_key(_key()))
    fails("security.tls.key_file: " + str(s / "server.key") + " is not the key of security.tls.cert_file")
    (s / "server.key").unlink()
    fails("security.tls.key_file: cannot read " + str(s / "server.key"))
    other_key = _key()
    other_ca = make_certificate("another CA", other_key, None, dt.timedelta(days=1))
    leaf_key = _key()
    (s / "server.crt").write_bytes(
        _pem_cert(make_certificate("x", leaf_key, (other_ca, other_key), dt.timedelta(days=1)))
    )
    (s / "server.key").write_bytes(_pem_key(leaf_key))
    fails("is not signed by security.tls.ca_file")
    write_certs(config, renew=True)
    (s / "ops.password").unlink()
    fails("security.users[0].password_file: cannot read")


def test_bad_security_files_stop_a_server_with_exit_2(tmp_path: Path) -> None:
    config_file = tmp_path / "lookout.yaml"
    s = tmp_path / "secrets"
    config_file.write_text(
        BASE + f"security: {{tls: {{enabled: true, ca_file: {s}/ca.crt, cert_file: {s}/s.crt, key_file: {s}/s.key}}}}\n"
    )
    result = subprocess.run(
        lookout_argv("exporter", "--config", str(config_file)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "security.tls.ca_file: cannot read" in result.stderr and "lookout certs" in result.stderr


def test_certs_for_a_config_without_security_is_one_line_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    config_file = tmp_path / "lookout.yaml"
    config_file.write_text(BASE)
    result = subprocess.run(
        lookout_argv("certs", "--config", str(config_file)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert str(config_file) in result.stderr and "set security.tls.enabled: true" in result.stderr
    assert not (tmp_path / "secrets").exists()


def _app(security: ServerSecurity) -> TestClient:
    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse(request.scope.get("lookout.principal", "-"))

    routes = [Route(p, ok, methods=["GET", "POST"]) for p in ("/metrics", "/faults", "/health/live", "/query")]
    return TestClient(AuthMiddleware(Starlette(routes=routes), security))


def test_roles_401_for_strangers_403_for_viewers_writing(tmp_path: Path) -> None:
    config = secure(
        tmp_path, "  tokens: [{name: robot, role: viewer, token_file: " + str(tmp_path / "secrets/robot") + "}]\n"
    )
    write_certs(config)
    ops = (tmp_path / "secrets/ops.password").read_text().strip()
    watcher = (tmp_path / "secrets/watcher.password").read_text().strip()
    robot = (tmp_path / "secrets/robot").read_text().strip()
    client = _app(ServerSecurity.from_config(config.security, read_posts=frozenset({"/query"})))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["www-authenticate"].startswith("Basic")
    assert client.get("/metrics", auth=("ops", "wrong")).status_code == 401
    assert client.get("/metrics", auth=("nobody", ops)).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", auth=("watcher", watcher)).text == "watcher"
    assert client.get("/metrics", headers={"Authorization": f"Bearer {robot}"}).text == "robot"
    assert client.post("/faults", auth=("watcher", watcher)).status_code == 403
    assert client.post("/faults", headers={"Authorization": f"Bearer {robot}"}).status_code == 403
    assert client.post("/query", auth=("watcher", watcher)).status_code == 200
    assert client.post("/faults", auth=("ops", ops)).text == "ops"
    assert client.get("/health/live").status_code == 200  # open_health: the kubelet's probe
    closed = _app(ServerSecurity.from_config(config.security.model_copy(update={"open_health": False})))
    assert closed.get("/health/live").status_code == 401


def test_generators_connect_with_tls_and_the_client_user_and_name_no_secret(tmp_path: Path) -> None:
    config = secure(tmp_path)
    write_certs(config)
    prom = prometheus_config(config)
    for job in prom["scrape_configs"]:
        if job["job_name"] != "node":
            assert job["scheme"] == "https" and job["tls_config"]["ca_file"].endswith("ca.crt"), job["job_name"]
            assert job["basic_auth"] == {"username": "ops", "password_file": str(tmp_path / "secrets/ops.password")}
    assert prom["alerting"]["alertmanagers"][0]["scheme"] == "https"
    hook = alertmanager_config(config)["receivers"][1]["webhook_configs"][0]
    assert hook["url"] == "https://127.0.0.1:9095/notify"
    assert hook["http_config"]["basic_auth"]["username"] == "ops"
    web = web_config(config.security)
    assert web["tls_server_config"]["cert_file"].endswith("server.crt")
    assert set(web["basic_auth_users"]) == {"ops", "watcher"}
    password = (tmp_path / "secrets/ops.password").read_text().strip()
    assert password not in repr(prom) + repr(web) + repr(alertmanager_config(config))


def test_prometheus_runs_without_the_lifecycle_api(tmp_path: Path) -> None:
    config = parse_config(BASE)
    for child in prometheus_children(config, "prometheus", tmp_path, tmp_path):
        assert "--web.enable-lifecycle" not in child.argv


def test_listeners_beyond_loopback_are_named_and_need_tls_and_auth_when_secure(tmp_path: Path) -> None:
    exposed = BASE + "listen: {prometheus: '0.0.0.0:9090'}\n"
    config_file = tmp_path / "lookout.yaml"
    config_file.write_text(exposed)
    result = subprocess.run(lookout_argv("config", "validate", str(config_file)), capture_output=True, text=True)
    assert result.returncode == 0
    assert "listen.prometheus: 0.0.0.0:9090 listens beyond loopback without TLS and authentication" in result.stderr
    loopback = tmp_path / "loopback.yaml"
    loopback.write_text(BASE)
    assert (
        "beyond loopback"
        not in subprocess.run(lookout_argv("config", "validate", str(loopback)), capture_output=True, text=True).stderr
    )
    with pytest.raises(ConfigError, match=r"profile secure needs tls\.enabled: true and at least one user"):
        parse_config(exposed + "security: {profile: secure}\n")  # so every listener beyond loopback has both


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["console", "--listen", "0.0.0.0:{port}"], "--listen"),
        (["exporter", "--listen", "0.0.0.0:{port}"], "--listen"),
        (["sink", "--listen", "0.0.0.0:{port}"], "--listen"),
        (
            ["demo-server", "--management-host", "0.0.0.0", "--management-port", "{port}", "--port", "{port}"],
            "--management-host",
        ),
    ],
    ids=["console", "exporter", "sink", "demo-server"],
)
def test_a_listen_option_beyond_loopback_is_named_like_a_listen_field(
    tmp_path: Path, command: list[str], option: str
) -> None:
    """`--listen 0.0.0.0:PORT` without security: serves everyone on the network as `listen:` would: same warning.
    The port is taken, so the command stops right after loading (exit 2) and nothing is served."""
    config_file = tmp_path / "lookout.yaml"
    config_file.write_text(BASE)
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [part.format(port=port) for part in command] + ["--config", str(config_file)]
        result = subprocess.run(lookout_argv(*argv), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{option}: 0.0.0.0:{port} listens beyond loopback without TLS and authentication" in result.stderr


def test_lookout_up_serves_tls_with_the_web_config_and_checks_readiness_as_a_client(tmp_path: Path) -> None:
    from lookout.runtime.children import StackError
    from lookout.runtime.stack import StackOptions, child_specs
    from lookout.runtime.topology import endpoints

    users_only = secure(tmp_path)
    write_certs(users_only)
    options = StackOptions(config_path=tmp_path / "lookout.yaml", data_dir=tmp_path / "data")
    with pytest.raises(StackError, match=r"security\.tokens: the demo's MCP endpoint takes bearer tokens"):
        child_specs(users_only, options, tmp_path / "stack")  # the demo's MCP endpoint would be open
    assert child_specs(users_only, replace(options, demo=False), tmp_path / "stack")
    token = f"  tokens: [{{name: demo-client, token_file: {tmp_path}/secrets/demo-client.token}}]\n"
    config = secure(tmp_path, extra=token + "demo: {traffic_rps: 2}\n")
    write_certs(config)
    specs = {spec.name: spec for spec in child_specs(config, options, tmp_path / "stack")}
    traffic = specs["demo-traffic"].argv
    assert traffic[traffic.index("--url") + 1].startswith("https://127.0.0.1:")
    assert traffic[traffic.index("--config") + 1] == str(options.config_path.resolve())
    assert not any("demo-client.token" in arg for spec in specs.values() for arg in spec.argv)  # by config only
    for name in ("prometheus", "alertmanager", "pushgateway"):
        assert f"--web.config.file={tmp_path / 'stack' / 'web.yml'}" in specs[name].argv, name
    for name in ("sink", "exporter", "demo-server"):
        assert "--config" in specs[name].argv, name
    for spec in specs.values():
        if spec.ready_url is not None:
            assert spec.ready_url.startswith("https://") and spec.ready_auth is not None, spec.name
            assert spec.ready_auth[0] == "ops"
    assert all(e.url.startswith("https://") for e in endpoints(config))
    plain = parse_config(BASE)
    assert all("--web.config.file" not in " ".join(s.argv) for s in child_specs(plain, options, tmp_path / "stack"))


async def test_the_demos_mcp_endpoint_accepts_the_configured_tokens_only(tmp_path: Path) -> None:
    from lookout.demo.app import ConfiguredTokens

    token_file = tmp_path / "secrets" / "demo-client.token"
    config = secure(tmp_path, extra=f"  tokens: [{{name: demo-client, token_file: {token_file}}}]\n")
    write_certs(config)
    verifier = ConfiguredTokens(ServerSecurity.from_config(config.security))
    token = token_file.read_text().strip()
    accepted = await verifier.verify_token(token)
    assert accepted is not None and accepted.client_id == "demo-client"  # the caller's enduser.id
    assert await verifier.verify_token(token[:-1]) is None
    password = (tmp_path / "secrets" / "ops.password").read_text().strip()
    assert await verifier.verify_token(password) is None  # a user's password is no bearer token


def test_the_web_config_is_owner_only_even_over_a_readable_file(tmp_path: Path) -> None:
    """`lookout certs --web-config` and `lookout up` rewrite web.yml: a copy left world-readable is made private."""
    config = secure(tmp_path)
    write_certs(config)
    path = tmp_path / "web.yml"
    path.write_text("old\n")
    path.chmod(0o644)
    assert write_web_config(config.security, path) == path
    assert path.stat().st_mode & 0o777 == 0o600
    assert "basic_auth_users" in path.read_text()


def test_certs_never_replace_a_ca_of_ones_own_whose_key_is_elsewhere(tmp_path: Path) -> None:
    """ca_file from an organisation's CA (no key beside it) and certificates it issued: `lookout certs` writes the
    password files and keeps the rest; with a certificate to sign it says why it cannot, and changes nothing."""
    config = secure(tmp_path)
    s = tmp_path / "secrets"
    s.mkdir()
    own_key = _key()
    own_ca = _pem_cert(make_certificate("Corp CA", own_key, None, dt.timedelta(days=30)))
    (s / "ca.crt").write_bytes(own_ca)
    leaf_key = _key()
    leaf = make_certificate(
        "lookout", leaf_key, (x509.load_pem_x509_certificate(own_ca), own_key), dt.timedelta(days=9)
    )
    (s / "server.crt").write_bytes(_pem_cert(leaf))
    (s / "server.key").write_bytes(_pem_key(leaf_key))
    (s / "server.key").chmod(0o600)
    written = write_certs(config)
    assert (s / "ca.crt").read_bytes() == own_ca and not (s / "ca.key").exists()
    assert sorted(Path(p).name for p in written.created) == ["ops.password", "watcher.password"]
    check_files(config.security)  # the server certificate still verifies against ca_file
    with pytest.raises(SecurityError, match=r"ca\.crt has no key .*ca\.key beside it, so `lookout certs` cannot sign"):
        write_certs(config, renew=True)
    assert (s / "ca.crt").read_bytes() == own_ca and (s / "server.crt").read_bytes() == _pem_cert(leaf)


def test_certs_into_a_path_that_cannot_be_a_directory_is_one_line(tmp_path: Path) -> None:
    config_file = tmp_path / "lookout.yaml"
    s = tmp_path / "secrets"
    config_file.write_text(
        BASE + f"security:\n  tls: {{enabled: true, ca_file: {s}/ca.crt, cert_file: {s}/server.crt, "
        f"key_file: {s}/server.key}}\n"
    )
    s.write_text("a file, not a directory\n")
    result = subprocess.run(
        lookout_argv("certs", "--config", str(config_file)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert f"cannot write {s}" in result.stderr and "fix that path in security:" in result.stderr


def test_a_password_longer_than_bcrypt_takes_is_a_401_refused_file_and_one_line(tmp_path: Path) -> None:
    """bcrypt refuses more than 72 bytes: a login with such a password is no 500, a password file with one is one
    line naming it, and so is `lookout certs --hash-password`."""
    config = secure(tmp_path)
    write_certs(config)
    client = _app(ServerSecurity.from_config(config.security))
    assert client.get("/metrics", auth=("ops", "x" * 100)).status_code == 401
    (tmp_path / "secrets/watcher.password").write_text("é" * 40 + "\n")  # 80 bytes in UTF-8
    with pytest.raises(
        SecurityError, match=r"security\.users\[1\]\.password_file: .* 80 bytes, bcrypt takes at most 72"
    ):
        check_files(config.security)
    result = subprocess.run(
        lookout_argv("certs", "--hash-password"), input="y" * 73 + "\n", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert "--hash-password: the password is 73 bytes, bcrypt takes at most 72" in result.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ('url: "https://bob:hunter2@mcp.example/mcp"', "targets[0]: url carries a login"),
        ('url: "http://127.0.0.1:9/mcp", metrics_url: "http://bob:hunter2@127.0.0.1:9/metrics"', "carries a login"),
        ('url: "http://127.0.0.1:9/mcp", metrics_url: "http://127.0.0.1:9/metrics?token=abc"', "or a query"),
    ],
    ids=["url-login", "metrics-url-login", "metrics-url-query"],
)
def test_a_login_in_a_target_url_is_refused_at_load(target: str, message: str) -> None:
    """Target URLs go into prometheus.yml, the exporter's metrics and probe logs: secrets go by file only."""
    text = BASE.replace('url: "http://127.0.0.1:9/mcp", metrics_url: "https://127.0.0.1:9/metrics"', target)
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert message in str(raised.value) and "hunter2" not in str(raised.value)


def test_an_unknown_user_name_costs_the_bcrypt_work_of_a_known_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal of an unknown name used to skip bcrypt: its speed told which user names exist."""
    import bcrypt

    config = secure(tmp_path)
    write_certs(config)
    client = _app(ServerSecurity.from_config(config.security))
    checked: list[int] = []
    real = bcrypt.checkpw

    def counted(password: bytes, hashed: bytes) -> bool:
        checked.append(int(hashed.split(b"$")[2]))
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted)
    assert client.get("/metrics", auth=("ops", "wrong")).status_code == 401
    assert client.get("/metrics", auth=("nobody", "wrong")).status_code == 401
    assert len(checked) == 2 and checked[0] == checked[1], checked  # one check each, at the same cost


def test_an_address_that_keeps_failing_password_checks_is_refused_for_a_while(tmp_path: Path) -> None:
    """Each failed password costs a bcrypt check: after FAILED_LOGINS_ALLOWED of them the address gets 429 (no check
    spent, even for the right password) until the oldest failure leaves the window; logins that need no check (a
    user already verified, e.g. Prometheus' scrapes from the same host) go on."""
    from lookout.security.auth import FAILED_LOGINS_ALLOWED, LoginThrottle

    config = secure(tmp_path)
    write_certs(config)
    ops = (tmp_path / "secrets/ops.password").read_text().strip()
    watcher = (tmp_path / "secrets/watcher.password").read_text().strip()
    now = [1000.0]
    throttle = LoginThrottle(window=60.0, clock=lambda: now[0])
    routes = [Route("/metrics", lambda request: PlainTextResponse(request.scope.get("lookout.principal", "-")))]
    client = TestClient(AuthMiddleware(Starlette(routes=routes), ServerSecurity.from_config(config.security), throttle))
    assert client.get("/metrics", auth=("watcher", watcher)).text == "watcher"  # verified once: remembered
    for i in range(FAILED_LOGINS_ALLOWED):
        now[0] += 1
        assert client.get("/metrics", auth=("ops", f"guess-{i}")).status_code == 401
    refused = client.get("/metrics", auth=("ops", ops))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "51", refused.text
    assert "too many failed logins" in refused.text
    assert client.get("/metrics", auth=("watcher", watcher)).text == "watcher"  # no check needed: not throttled
    now[0] += 51  # the first failure leaves the window
    assert client.get("/metrics", auth=("ops", ops)).text == "ops"
    assert client.get("/metrics", auth=("ops", "wrong")).status_code == 401  # a success starts the count again


async def test_a_password_check_leaves_the_server_answering_other_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bcrypt takes tens of milliseconds per check: in the event loop, every failed login stalled every other
    request (scrapes, health probes) of the server for that long."""
    import threading

    import bcrypt
    import httpx

    config = secure(tmp_path)
    write_certs(config)
    started, answered = threading.Event(), threading.Event()
    seen: list[bool] = []
    real = bcrypt.checkpw

    def waits_for_the_other_request(password: bytes, hashed: bytes) -> bool:
        started.set()
        seen.append(answered.wait(30))  # in the event loop, the other request could never be answered meanwhile
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", waits_for_the_other_request)

    async def live(request: Any) -> PlainTextResponse:
        answered.set()
        return PlainTextResponse("ok")

    app = AuthMiddleware(Starlette(routes=[Route("/health/live", live), Route("/metrics", live)]),
                         ServerSecurity.from_config(config.security))  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        login = asyncio.create_task(client.get("/metrics", auth=("ops", "wrong")))
        await asyncio.to_thread(started.wait, 30)  # until the check has started (it then waits for the other request)
        health = await client.get("/health/live")  # open_health: no login
        assert health.status_code == 200
        assert (await login).status_code == 401
    assert seen == [True]
