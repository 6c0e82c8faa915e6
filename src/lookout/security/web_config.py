"""The web configuration file Prometheus, Alertmanager and the Pushgateway read with ``--web.config.file``
(the Prometheus exporter-toolkit format): TLS with the configured certificate, and basic authentication for
every user of ``security:`` with a bcrypt hash.

The exporter-toolkit has no roles and no bearer tokens: a user it knows may do everything these components
allow (docs/security.md). The file holds hashes, not passwords, and is still written owner-only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from lookout.config.security import ClientCertificates, Security
from lookout.security.files import principals

WEB_CONFIG_FILE = "web.yml"
"""Its name in the generated stack directory."""
CLIENT_AUTH_TYPES = {
    ClientCertificates.OFF: "NoClientCert",
    ClientCertificates.REQUEST: "VerifyClientCertIfGiven",
    ClientCertificates.REQUIRE: "RequireAndVerifyClientCert",
}


def web_config(security: Security) -> dict[str, Any]:
    """The exporter-toolkit web config of ``security`` (empty when TLS and users are both off)."""
    out: dict[str, Any] = {}
    tls = security.tls
    if tls.enabled:
        server: dict[str, Any] = {"cert_file": tls.cert_file, "key_file": tls.key_file, "min_version": "TLS12"}
        if tls.client_certificates is not ClientCertificates.OFF:
            server |= {"client_ca_file": tls.ca_file, "client_auth_type": CLIENT_AUTH_TYPES[tls.client_certificates]}
        out["tls_server_config"] = server
    users = {p.name: p.password_hash.decode() for p in principals(security) if p.password_hash is not None}
    if users:
        out["basic_auth_users"] = users
    return out


def write_web_config(security: Security, path: Path) -> Path | None:
    """Write the web config owner-only; None (and no file) when there is nothing to configure."""
    data = web_config(security)
    if not data:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above applies to a new file only: an existing one keeps whatever it had
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        yaml.safe_dump(data, out, sort_keys=True)
    return path
