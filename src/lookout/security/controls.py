"""``lookout check --controls``: the security controls a ``lookout.yaml`` puts in force, each pass or fail with
the file and line that decides it (docs/security.md maps them to SOC 2, HIPAA and GDPR themes).

A control reads the config and the files it names (permissions of keys and secrets); it starts nothing.
"""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lookout.config.model import Config
from lookout.config.security import is_loopback, unguarded
from lookout.config.types import duration_seconds


def cleartext_scrape(url: str, config: Config) -> str:
    """What is wrong with a plain-http ``metrics_url`` under ``security.tls`` (:meth:`Config.cleartext_scrapes`)."""
    login = ", with the client user's password in clear text" if config.security.client() is not None else ""
    return (
        f"{url} is scraped over plain HTTP while security.tls is on{login}: serve the management port with TLS "
        "and use https:// (docs/security.md)"
    )


@dataclass(frozen=True)
class Control:
    name: str
    passed: bool
    where: str  # file:line that decides it
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name:<22} {self.where}: {self.detail}"


class _Lines:
    """Line numbers of fields in the YAML file (the deepest existing node of a path; 1 when absent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))

    def __call__(self, *loc: str | int) -> str:
        line, node = 1, self.data
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                line, node = node.lc.key(key)[0] + 1, node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line, node = node.lc.item(key)[0] + 1, node[key]
            else:
                break
        return f"{self.path}:{line}"


def _private(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)


def _other_secret_files(config: Config) -> list[tuple[tuple[str | int, ...], str | None]]:
    """The secret files outside ``security:``: the probe modules' credentials, the receivers' and the remote
    writes' tokens, keys and passwords (as secret as a password file, and as easily left world-readable)."""
    out: list[tuple[tuple[str | int, ...], str | None]] = []
    for name, module in config.probe.modules.items():
        credentials = module.credentials
        out.append((("probe", "modules", name, "credentials", "bearer_token_file"), credentials.bearer_token_file))
        if credentials.basic_auth is not None:
            out.append(
                (
                    ("probe", "modules", name, "credentials", "basic_auth", "password_file"),
                    credentials.basic_auth.password_file,
                )
            )
    for i, receiver in enumerate(config.alerting.receivers):
        at = ("alerting", "receivers", i)
        if receiver.webhook is not None:
            out.append(((*at, "webhook", "bearer_token_file"), receiver.webhook.bearer_token_file))
        if receiver.slack is not None:
            out.append(((*at, "slack", "api_url_file"), receiver.slack.api_url_file))
        if receiver.pagerduty is not None:
            out.append(((*at, "pagerduty", "routing_key_file"), receiver.pagerduty.routing_key_file))
        if receiver.email is not None:
            out.append(((*at, "email", "auth_password_file"), receiver.email.auth_password_file))
    for i, remote in enumerate(config.prometheus.remote_write):
        at = ("prometheus", "remote_write", i)
        out.append(((*at, "bearer_token_file"), remote.bearer_token_file))
        out.append(((*at, "basic_auth_password_file"), remote.basic_auth_password_file))
    return [(loc, f) for loc, f in out if f is not None]


def controls(config: Config, path: Path) -> list[Control]:
    at = _Lines(path)
    security = config.security
    out = []
    tls = security.tls.enabled
    cleartext = config.cleartext_scrapes()
    if cleartext:
        loc, url = cleartext[0]
        out.append(Control("tls-everywhere", False, at(*loc), cleartext_scrape(url, config)))
    else:
        out.append(
            Control(
                "tls-everywhere",
                tls,
                at("security", "tls", "enabled"),
                "every endpoint serves TLS and every client verifies it against security.tls.ca_file"
                if tls
                else "security.tls.enabled is not true: endpoints serve plain HTTP",
            )
        )
    out.append(
        Control(
            "auth-everywhere",
            security.auth,
            at("security", "users"),
            f"{len(security.users)} users and {len(security.tokens)} tokens with roles; open: "
            + ("/health/live, /health/ready" if security.open_health else "nothing")
            if security.auth
            else "security.users is empty: anyone who reaches an endpoint may use it",
        )
    )
    secret_files: list[tuple[tuple[str | int, ...], str | None]] = [
        (("security", "users", i, "password_file"), u.password_file) for i, u in enumerate(security.users)
    ]
    secret_files += [(("security", "tokens", i, "token_file"), t.token_file) for i, t in enumerate(security.tokens)]
    if tls:
        ca_key = Path(security.tls.ca_file or "").with_suffix(".key")
        if security.tls.ca_file and ca_key.exists():  # `lookout certs`' CA key: it signs certificates for anyone
            secret_files.append((("security", "tls", "ca_file"), str(ca_key)))
        secret_files.append((("security", "tls", "key_file"), security.tls.key_file))
        if security.tls.client_key_file:
            secret_files.append((("security", "tls", "client_key_file"), security.tls.client_key_file))
    secret_files += _other_secret_files(config)
    exposed = [(loc, f) for loc, f in secret_files if f is not None and not _private(f)]
    out.append(
        Control(
            "secrets-by-file",
            not exposed,
            at(*exposed[0][0]) if exposed else at("security"),
            f"{exposed[0][1]} is missing or readable by group or others: chmod 600 it"
            + (" (or run `lookout certs`)" if exposed[0][0][0] == "security" else "")
            if exposed
            else f"secrets only by *_file fields (inline ones are refused); {len(secret_files)} files owner-only",
        )
    )
    out.append(
        Control(
            "redaction-on",
            security.redaction.enabled,
            at("security", "redaction", "enabled"),
            f"logs and spans redacted ({len(security.redaction.patterns)} extra patterns)"
            if security.redaction.enabled
            else "security.redaction.enabled is false: secrets and personal data may reach logs and traces",
        )
    )
    audit = security.audit
    out.append(
        Control(
            "audit-on",
            audit.enabled,
            at("security", "audit", "enabled"),
            f"tool calls audited as stream=audit from {audit.files}, kept {audit.retention}"
            if audit.enabled
            else "security.audit.enabled is false: no audit trail of tool calls is shipped",
        )
    )
    limit = duration_seconds(security.max_log_retention)
    for i, tenant in enumerate(config.tenants):
        kept = tenant.log_retention or config.retention.logs
        where = at("tenants", i, "log_retention") if tenant.log_retention else at("retention", "logs")
        ok = duration_seconds(kept) <= limit
        out.append(
            Control(
                f"retention:{tenant.name}",
                ok,
                where,
                f"logs kept {kept}, policy security.max_log_retention {security.max_log_retention}"
                + ("" if ok else ": shorten it or raise the policy"),
            )
        )
    for field, address in config.addresses():
        if is_loopback(address):
            continue
        why = unguarded(field, security)
        out.append(
            Control(
                f"exposed:{field}",
                why is None,
                at(*field.split(".")),
                f"{address} beyond loopback " + ("with TLS and authentication" if why is None else why),
            )
        )
    store = config.long_term_storage_address()
    if store is not None:
        # VictoriaMetrics takes no login from Lookout (it reads its password only from its command line).
        ok = tls and is_loopback(store)
        out.append(
            Control(
                "long-term-store",
                ok,
                at("ha", "victoriametrics"),
                f"VictoriaMetrics on {store}: "
                + (
                    "TLS on loopback (it takes no login)"
                    if ok
                    else "it takes no login: keep it on loopback and set security.tls.enabled"
                ),
            )
        )
    if not any(c.name.startswith("exposed:") for c in out):
        out.append(Control("loopback-only", True, at("listen"), "every endpoint listens on loopback only"))
    return out


def as_json(found: list[Control]) -> dict[str, Any]:
    return {"passed": all(c.passed for c in found), "controls": [asdict(c) for c in found]}
