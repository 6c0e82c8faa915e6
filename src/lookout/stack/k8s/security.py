"""``security:`` in the cluster: which Secrets hold what, where Lookout's pods mount them, and how the operator's
objects refer to them. The base names Secrets and keys only; the material stays out of it (docs/security.md):

- ``lookout-tls`` (``kubectl create secret tls`` plus ``ca.crt``, as cert-manager writes it): the server
  certificate, its key and the CA. Its certificate must name the Services (``*.<namespace>.svc``).
- ``lookout-client-tls``: the client certificate Lookout's clients present, when ``tls.client_cert_file`` is set.
- ``lookout-client-auth`` (``kubernetes.io/basic-auth``: ``username``, ``password``): the client user's login
  for Prometheus' scrapes and alerts and for Grafana.
- ``lookout-remote-write`` (in the Prometheus' namespace): the files of ``prometheus.remote_write``, key = the
  file's base name (see :func:`secret_file_keys`), and ``<key>-username`` beside a basic-auth password.
- ``lookout-probe``: the probe modules' token, password and CA files that are not ``security:``'s, key = the
  file's base name (see :func:`secret_file_keys`), for the exporter.
- ``lookout-users``: one key per user with a ``password_file`` and per token, named after it, for Lookout's own
  servers (the exporter, the example server), which check every login themselves.

The operator reads the Secrets its objects name from their namespace: Lookout's for the ServiceMonitor, PodMonitor,
Probes and Alertmanager, the Prometheus' own for kube-prometheus-stack's ``prometheusSpec``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, Final

from lookout.config.model import Config
from lookout.config.security import ClientCertificates, Security
from lookout.security.web_config import CLIENT_AUTH_TYPES

TLS_SECRET: Final = "lookout-tls"
CLIENT_TLS_SECRET: Final = "lookout-client-tls"
CLIENT_AUTH_SECRET: Final = "lookout-client-auth"
USERS_SECRET: Final = "lookout-users"
REMOTE_WRITE_SECRET: Final = "lookout-remote-write"
PROBE_SECRET: Final = "lookout-probe"
CA_KEY: Final = "ca.crt"
CERT_KEY: Final = "tls.crt"
KEY_KEY: Final = "tls.key"
MOUNT: Final = "/var/run/secrets/lookout"
"""Where Lookout's pods mount the Secrets, one directory each (not under the ConfigMap's read-only /etc/lookout)."""
TLS_DIR: Final = f"{MOUNT}/tls"
CLIENT_TLS_DIR: Final = f"{MOUNT}/client-tls"
USERS_DIR: Final = f"{MOUNT}/users"
CLIENT_AUTH_DIR: Final = f"{MOUNT}/client-auth"
PROBE_DIR: Final = f"{MOUNT}/probe"


_SECRET_KEY_CHARS: Final = re.compile(r"[^-._a-zA-Z0-9]")


def secret_file_keys(files: list[str]) -> dict[str, str]:
    """``{file path: key}`` of secret files put in one Secret: the base name, as ``kubectl create secret
    --from-file=<path>`` names it; the whole path (``/`` as ``-``) where two files share a base name."""
    paths = [PurePosixPath(f) for f in sorted(set(files))]
    names = [p.name for p in paths]
    return {
        str(p): _SECRET_KEY_CHARS.sub("-", p.name if names.count(p.name) == 1 else str(p).strip("/").replace("/", "-"))
        for p in paths
    }


def _key(secret: str, key: str) -> dict[str, str]:
    return {"name": secret, "key": key}


def safe_tls_config(security: Security, server_name: str | None = None) -> dict[str, Any]:
    """The operator's SafeTLSConfig for a client of Lookout's endpoints: the CA and, when set, the client
    certificate (empty without TLS). ``server_name``: the Service's DNS name, for a client that connects to the pods'
    IP addresses (a ServiceMonitor's targets, the Alertmanagers Prometheus alerts), which the certificate does not
    name (it names the Services, ``*.<namespace>.svc``)."""
    tls = security.tls
    if not tls.enabled:
        return {}
    out: dict[str, Any] = {"ca": {"secret": _key(TLS_SECRET, CA_KEY)}}
    if server_name:
        out["serverName"] = server_name
    if tls.client_cert_file:
        out |= {"cert": {"secret": _key(CLIENT_TLS_SECRET, CERT_KEY)}, "keySecret": _key(CLIENT_TLS_SECRET, KEY_KEY)}
    return out


def remote_write_key(key: str) -> dict[str, str]:
    """A key of ``lookout-remote-write``, as the operator's remote-write settings refer to it."""
    return _key(REMOTE_WRITE_SECRET, key)


def basic_auth(security: Security) -> dict[str, Any]:
    """The client user's login as Secret key references (empty without users)."""
    if security.client() is None:
        return {}
    return {"username": _key(CLIENT_AUTH_SECRET, "username"), "password": _key(CLIENT_AUTH_SECRET, "password")}


def scrape_endpoint(security: Security, server_name: str | None = None) -> dict[str, Any]:
    """What a ServiceMonitor or PodMonitor endpoint (and a Probe's spec) adds to reach a secured endpoint."""
    out: dict[str, Any] = {}
    if security.tls.enabled:
        out |= {"scheme": "https", "tlsConfig": safe_tls_config(security, server_name)}
    if auth := basic_auth(security):
        out["basicAuth"] = auth
    return out


def web_tls_config(security: Security) -> dict[str, Any]:
    """``spec.web.tlsConfig`` of the Prometheus and Alertmanager objects: serve TLS with ``lookout-tls``."""
    tls = security.tls
    if not tls.enabled:
        return {}
    out: dict[str, Any] = {
        "cert": {"secret": _key(TLS_SECRET, CERT_KEY)},
        "keySecret": _key(TLS_SECRET, KEY_KEY),
        "minVersion": "TLS12",
    }
    if tls.client_certificates is not ClientCertificates.OFF:
        out |= {
            "client_ca": {"secret": _key(TLS_SECRET, CA_KEY)},
            "clientAuthType": CLIENT_AUTH_TYPES[tls.client_certificates],
        }
    return {"tlsConfig": out}


def volumes(config: Config) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volumeMounts) of the Secrets a Lookout server reads: the TLS material, the client certificate,
    and every user's password and token (it checks every login itself)."""
    security = config.security
    wanted = []
    if security.tls.enabled:
        wanted.append(("lookout-tls", TLS_SECRET, TLS_DIR))
        if security.tls.client_cert_file:
            wanted.append(("lookout-client-tls", CLIENT_TLS_SECRET, CLIENT_TLS_DIR))
    if security.tokens or any(u.password_file for u in security.users):
        wanted.append(("lookout-users", USERS_SECRET, USERS_DIR))
    return (
        [{"name": name, "secret": {"secretName": secret}} for name, secret, _ in wanted],
        [{"name": name, "mountPath": path, "readOnly": True} for name, _, path in wanted],
    )


def cluster_paths(security: Security) -> dict[str, str]:
    """``{path lookout.yaml names: where a Lookout pod reads that file}`` for every file of ``security:``."""
    tls = security.tls
    paths = {
        tls.ca_file: f"{TLS_DIR}/{CA_KEY}",
        tls.cert_file: f"{TLS_DIR}/{CERT_KEY}",
        tls.key_file: f"{TLS_DIR}/{KEY_KEY}",
        tls.client_cert_file: f"{CLIENT_TLS_DIR}/{CERT_KEY}",
        tls.client_key_file: f"{CLIENT_TLS_DIR}/{KEY_KEY}",
    }
    out = {local: mounted for local, mounted in paths.items() if local}
    out |= {u.password_file: f"{USERS_DIR}/{u.name}" for u in security.users if u.password_file}
    out |= {t.token_file: f"{USERS_DIR}/{t.name}" for t in security.tokens}
    return out


def in_cluster(node: Any, paths: dict[str, str]) -> Any:
    """``node`` (lookout.yaml as data) with every ``*_file`` value that ``paths`` knows replaced: the probe modules'
    CA and token files are usually the stack's own."""
    if isinstance(node, dict):
        return {
            k: paths.get(v, v) if k.endswith("_file") and isinstance(v, str) else in_cluster(v, paths)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [in_cluster(v, paths) for v in node]
    return node


def cluster_security(security: Security) -> dict[str, Any]:
    """lookout.yaml's ``security:`` for a Lookout pod: every file at the path its Secret is mounted at."""
    data: dict[str, Any] = security.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    result: dict[str, Any] = in_cluster(data, cluster_paths(security))
    return result


def grafana_access(config: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the Grafana chart's datasources of Prometheus, VictoriaMetrics and Alertmanager add under
    ``security:`` (read from the mounted Secrets when Grafana provisions), and its ``extraSecretMounts``."""
    security = config.security
    if not security.enabled:
        return {}, []
    json_data: dict[str, Any] = {}
    secure: dict[str, str] = {}
    mounts = []
    if security.tls.enabled:
        json_data["tlsAuthWithCACert"] = True
        secure["tlsCACert"] = f"$__file{{{TLS_DIR}/{CA_KEY}}}"
        mounts.append({"name": "lookout-ca", "secretName": TLS_SECRET, "mountPath": TLS_DIR, "readOnly": True})
        if security.tls.client_cert_file:
            json_data["tlsAuth"] = True
            secure |= {
                "tlsClientCert": f"$__file{{{CLIENT_TLS_DIR}/{CERT_KEY}}}",
                "tlsClientKey": f"$__file{{{CLIENT_TLS_DIR}/{KEY_KEY}}}",
            }
            mounts.append(
                {
                    "name": "lookout-client-tls",
                    "secretName": CLIENT_TLS_SECRET,
                    "mountPath": CLIENT_TLS_DIR,
                    "readOnly": True,
                }
            )
    access: dict[str, Any] = {"jsonData": json_data, "secureJsonData": secure}
    user = security.client()
    if user is not None:
        access |= {"basicAuth": True, "basicAuthUser": user.name}
        secure["basicAuthPassword"] = f"$__file{{{CLIENT_AUTH_DIR}/password}}"
        mounts.append(
            {
                "name": "lookout-client-auth",
                "secretName": CLIENT_AUTH_SECRET,
                "mountPath": CLIENT_AUTH_DIR,
                "readOnly": True,
            }
        )
    return access, mounts


def probe_paths(config: Config) -> dict[str, str]:
    """``{path lookout.yaml names: where the exporter reads it}`` for every probe module's file: ``security:``'s own
    files where their Secrets are mounted, any other from ``lookout-probe``."""
    known = cluster_paths(config.security) if config.security.enabled else {}
    files = []
    for module in config.probe.modules.values():
        basic = module.credentials.basic_auth
        files += [module.credentials.bearer_token_file, basic.password_file if basic else None, module.tls.ca_file]
    others = secret_file_keys([f for f in files if f and f not in known])
    return {**{f: known[f] for f in files if f and f in known}, **{f: f"{PROBE_DIR}/{k}" for f, k in others.items()}}
