"""Shared helpers of the prober tests: the bad servers, generated certificates, leak checks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import LOOPBACK, Proc, free_port, start, wait_until

SERVERS = Path(__file__).parent / "probe_servers"


def server_argv(script: str, *args: str) -> list[str]:
    return [sys.executable, str(SERVERS / script), *args]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1):
            return True
    except OSError:
        return False


def start_server(argv: list[str], log: Path, port: int) -> Proc:
    proc = start(argv, log)
    try:
        wait_until(lambda: proc.alive() and port_open(port), 30, what=f"{argv[1]} on port {port}")
    except BaseException:
        proc.stop()
        raise
    return proc


def socket_fds() -> int:
    """Open sockets of this process (a leak check: compare before and after a probe)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


def child_pids() -> set[int]:
    pids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            pids.update(int(p) for p in Path(f"/proc/self/task/{task}/children").read_text().split())
    return pids


def other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


@dataclass(frozen=True)
class Certs:
    ca: Path
    good: tuple[Path, Path]
    expired: tuple[Path, Path]
    other_host: tuple[Path, Path]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    return path


def make_certs(directory: Path) -> Certs:
    """A CA and three leaf certificates signed by it: valid for 127.0.0.1, expired, and for another host."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("lookout test CA"))
        .issuer_name(_name("lookout test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(name: str, san: x509.GeneralName, start: dt.datetime, end: dt.datetime) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        cert_path = directory / f"{name}.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, _write_key(directory / f"{name}.key", key)

    loopback = x509.IPAddress(ipaddress.ip_address(LOOPBACK))
    return Certs(
        ca=ca_path,
        good=leaf("good", loopback, now - dt.timedelta(days=1), now + dt.timedelta(days=10)),
        expired=leaf("expired", loopback, now - dt.timedelta(days=20), now - dt.timedelta(days=2)),
        other_host=leaf(
            "other", x509.DNSName("other.example"), now - dt.timedelta(days=1), now + dt.timedelta(days=10)
        ),
    )


@dataclass
class BadServers:
    proc: Proc
    port: int
    tls_ports: dict[str, int]
    certs: Certs

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def tls_url(self, kind: str) -> str:
        return f"https://{LOOPBACK}:{self.tls_ports[kind]}/ok"


def start_bad_servers(directory: Path) -> BadServers:
    certs = make_certs(directory)
    port = free_port()
    tls_ports = {kind: free_port() for kind in ("good", "expired", "other_host")}
    args = [str(port)]
    for kind, tls_port in tls_ports.items():
        cert, key = getattr(certs, kind)
        args += ["--tls", f"{tls_port}:{cert}:{key}"]
    proc = start_server(server_argv("bad_http.py", *args), directory / "bad_http.log", port)
    wait_until(lambda: all(port_open(p) for p in tls_ports.values()), 30, what="TLS listeners")
    return BadServers(proc, port, tls_ports, certs)
