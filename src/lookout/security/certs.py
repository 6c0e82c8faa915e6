"""``lookout certs``: a local CA, the server certificate for every host Lookout listens on, a client
certificate for Lookout's own clients, and the password and token files ``security:`` names that do not exist yet.

Everything is written with ``cryptography`` (ECDSA P-256, SHA-256); private keys and secrets are created
owner-only (0600). Existing files are kept unless ``renew`` is set, so a CA is never replaced by accident.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from lookout.config.model import Config
from lookout.config.types import duration_seconds
from lookout.security import SecurityError

CA_VALIDITY = dt.timedelta(days=3650)


@dataclass
class Written:
    """What ``lookout certs`` wrote (and what it kept)."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def listen_hosts(config: Config) -> list[str]:
    """The server certificate's SANs: every host of the stack's addresses, plus the loopback names."""
    hosts = {"localhost", "127.0.0.1", "::1"}
    hosts.update(address.rsplit(":", 1)[0].strip("[]") for _, address in config.addresses())
    hosts.discard("0.0.0.0")
    hosts.discard("::")
    return sorted(hosts)


def _san(hosts: list[str]) -> list[object]:
    from cryptography import x509

    names: list[object] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)


def _key() -> object:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_certificate(
    common_name: str,
    key: object,
    issuer: tuple[object, object] | None,
    validity: dt.timedelta,
    *,
    hosts: list[str] | None = None,
    client: bool = False,
    not_before: dt.datetime | None = None,
) -> object:
    """A certificate for ``key``: self-signed CA when ``issuer`` (certificate, key) is None, else a leaf."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    issuer_name, signing_key = subject, key
    if issuer is not None:
        issuer_cert, issuer_key = issuer
        assert isinstance(issuer_cert, x509.Certificate) and isinstance(issuer_key, ec.EllipticCurvePrivateKey)
        issuer_name, signing_key = issuer_cert.subject, issuer_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=0 if issuer is None else None), True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if hosts:
            builder = builder.add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)  # type: ignore[arg-type]
    return builder.sign(signing_key, hashes.SHA256())


def _pem_cert(cert: object) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    assert isinstance(cert, x509.Certificate)
    return cert.public_bytes(serialization.Encoding.PEM)


def write_certs(config: Config, *, renew: bool = False) -> Written:
    """The CA, server and client certificates and the missing secret files of ``config.security``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    security, tls, written = config.security, config.security.tls, Written()
    validity = dt.timedelta(seconds=duration_seconds(tls.certificate_validity))
    if tls.ca_file and tls.cert_file and tls.key_file:
        ca_cert: object
        ca_key: object
        ca_path = Path(tls.ca_file)
        ca_key_path = ca_path.with_suffix(".key")
        pairs = [(tls.cert_file, tls.key_file, False)]
        if tls.client_cert_file and tls.client_key_file:
            pairs.append((tls.client_cert_file, tls.client_key_file, True))
        to_sign = [cert for cert, key, _ in pairs if renew or not (Path(cert).exists() and Path(key).exists())]
        if ca_key_path.exists() and not ca_path.exists():
            raise SecurityError(
                f"security.tls.ca_file: {ca_path} is missing but its key {ca_key_path} is there: restore the "
                "certificate, or remove the key to make a new CA"
            )
        if ca_path.exists() and not ca_key_path.exists():
            # A CA of one's own, its key kept elsewhere: never replaced, and nothing can be signed with it here.
            if to_sign:
                raise SecurityError(
                    f"security.tls.ca_file: {ca_path} has no key {ca_key_path} beside it, so `lookout certs` cannot "
                    f"sign {to_sign[0]}: issue it from that CA, or name a ca_file that does not exist yet to make "
                    "a local CA"
                )
            written.kept += [str(ca_path), *(cert for cert, _, _ in pairs)]
        else:
            if ca_path.exists():
                try:
                    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
                    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
                except (OSError, ValueError):
                    raise SecurityError(
                        f"security.tls.ca_file: {ca_path} or its key {ca_key_path} is unreadable: "
                        "remove both to make a new CA"
                    ) from None
                written.kept.append(str(ca_path))
            else:
                ca_key = _key()
                ca_cert = make_certificate("Lookout local CA", ca_key, None, CA_VALIDITY)
                _write_private(ca_key_path, _pem_key(ca_key))
                ca_path.parent.mkdir(parents=True, exist_ok=True)
                ca_path.write_bytes(_pem_cert(ca_cert))
                written.created += [str(ca_path), str(ca_key_path)]
            for cert_file, key_file, client in pairs:
                if cert_file not in to_sign:
                    written.kept.append(cert_file)
                    continue
                key = _key()
                name = "lookout client" if client else "lookout"
                hosts = None if client else listen_hosts(config)
                cert = make_certificate(name, key, (ca_cert, ca_key), validity, hosts=hosts, client=client)
                _write_private(Path(key_file), _pem_key(key))
                Path(cert_file).write_bytes(_pem_cert(cert))
                written.created += [cert_file, key_file]
    files = [u.password_file for u in security.users if u.password_file] + [t.token_file for t in security.tokens]
    for path in files:
        if Path(path).exists():
            written.kept.append(path)
        else:
            _write_private(Path(path), (secrets.token_urlsafe(24) + "\n").encode())
            written.created.append(path)
    return written
