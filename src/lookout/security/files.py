"""The files ``security:`` names, read and checked: passwords and tokens (by file only), and the TLS material
(present, readable, the key matching its certificate, the certificate signed by the CA and not expired)."""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

from lookout.config.security import BCRYPT_HASH, BCRYPT_MAX_BYTES, Role, Security
from lookout.security import SecurityError


def read_secret(path: str, field: str) -> str:
    """The secret in ``path`` (surrounding whitespace stripped); one line naming ``field`` when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecurityError(
            f"{field}: cannot read {path} ({exc.strerror}): create it (`lookout certs` writes one) or fix the path"
        ) from None
    if not text:
        raise SecurityError(f"{field}: {path} is empty: write the secret into it")
    return text


@dataclass(frozen=True)
class Principal:
    """Who may call: a name, a role, and either a bcrypt hash (users) or a token."""

    name: str
    role: Role
    password_hash: bytes | None = None
    token: str | None = None


def principals(security: Security) -> list[Principal]:
    """Every user (hashed now, from its password file when it has no hash) and token (read now)."""
    import bcrypt

    out = []
    for i, user in enumerate(security.users):
        if user.password_hash is not None:
            hashed = user.password_hash.encode()
        else:
            assert user.password_file is not None  # the model requires one of the two
            password = read_secret(user.password_file, f"security.users[{i}].password_file")
            if len(password.encode()) > BCRYPT_MAX_BYTES:
                raise SecurityError(
                    f"security.users[{i}].password_file: {user.password_file} holds a password of "
                    f"{len(password.encode())} bytes, bcrypt takes at most {BCRYPT_MAX_BYTES}: write a shorter one"
                )
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10))
        out.append(Principal(user.name, user.role, password_hash=hashed))
    for i, token in enumerate(security.tokens):
        out.append(
            Principal(token.name, token.role, token=read_secret(token.token_file, f"security.tokens[{i}].token_file"))
        )
    return out


def users_file_principals(path: str, field: str, role: Role = Role.VIEWER) -> list[Principal]:
    """The users of an htpasswd-style file, one ``NAME:BCRYPT-HASH`` a line (``#`` comments), each with ``role``.
    It holds hashes, not passwords."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SecurityError(f"{field}: cannot read {path} ({exc.strerror}): fix the path and permissions") from None
    out: list[Principal] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, hashed = line.partition(":")
        if not name or not BCRYPT_HASH.match(hashed):
            raise SecurityError(
                f"{field}: {path} line {number} is not NAME:BCRYPT-HASH: write one user a line, the hash from "
                "`htpasswd -nbB NAME PASSWORD` or `lookout certs --hash-password`"
            )
        out.append(Principal(name, role, password_hash=hashed.encode()))
    if not out:
        raise SecurityError(f"{field}: {path} names no user: write one NAME:BCRYPT-HASH a line")
    return out


def client_password(security: Security) -> tuple[str, str] | None:
    """(user, password) Lookout's own clients send, read from the client user's password file."""
    user = security.client()
    if user is None or user.password_file is None:
        return None
    index = security.users.index(user)
    return user.name, read_secret(user.password_file, f"security.users[{index}].password_file")


def check_files(security: Security, now: dt.datetime | None = None) -> None:
    """Every file ``security:`` names is usable; otherwise :class:`SecurityError` naming the field and the fix."""
    tls = security.tls
    if tls.enabled:
        assert tls.ca_file and tls.cert_file and tls.key_file  # the model requires them when enabled
        ca = _certificate(tls.ca_file, "security.tls.ca_file")
        _pair(tls.cert_file, tls.key_file, "security.tls", "cert_file", "key_file", ca, now)
        if tls.client_cert_file and tls.client_key_file:
            _pair(
                tls.client_cert_file,
                tls.client_key_file,
                "security.tls",
                "client_cert_file",
                "client_key_file",
                ca,
                now,
            )
    principals(security)
    client_password(security)


def _read(path: str, field: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SecurityError(
            f"{field}: cannot read {path} ({exc.strerror}): run `lookout certs` or fix the path and permissions"
        ) from None


def _certificate(path: str, field: str) -> object:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(_read(path, field))
    except ValueError:
        raise SecurityError(
            f"{field}: {path} is not a PEM certificate: run `lookout certs` or name the right file"
        ) from None


def _pair(
    cert_path: str, key_path: str, where: str, cert_field: str, key_field: str, ca: object, now: dt.datetime | None
) -> None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    cert = _certificate(cert_path, f"{where}.{cert_field}")
    assert isinstance(cert, x509.Certificate) and isinstance(ca, x509.Certificate)
    try:
        key = serialization.load_pem_private_key(_read(key_path, f"{where}.{key_field}"), password=None)
    except (ValueError, TypeError):
        raise SecurityError(
            f"{where}.{key_field}: {key_path} is not an unencrypted PEM private key: run `lookout certs`"
        ) from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != cert.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ):
        raise SecurityError(
            f"{where}.{key_field}: {key_path} is not the key of {where}.{cert_field} {cert_path}: "
            "name the matching key or run `lookout certs` again"
        )
    moment = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_after_utc <= moment:
        raise SecurityError(
            f"{where}.{cert_field}: {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}: "
            "renew it with `lookout certs --renew`"
        )
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise SecurityError(
            f"{where}.{cert_field}: {cert_path} is not signed by security.tls.ca_file: name the CA that signed it "
            "or run `lookout certs` again"
        ) from None


def client_access(security: Security) -> tuple[ssl.SSLContext | bool, tuple[str, str] | None]:
    """How Lookout's own clients connect under ``security:``: the TLS context (the CA, and the client
    certificate when there is one; True without TLS) and the client user's login (None without users)."""
    verify: ssl.SSLContext | bool = True
    tls = security.tls
    if tls.enabled:
        try:
            verify = ssl.create_default_context(cafile=tls.ca_file)
            if tls.client_cert_file and tls.client_key_file:
                verify.load_cert_chain(tls.client_cert_file, tls.client_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise SecurityError(f"security.tls: cannot load the CA or the client certificate: {exc}") from None
    return verify, client_password(security)
