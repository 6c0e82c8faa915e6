"""The compose stack: what ``docker compose up`` needs beyond a valid file.

Validity comes from Debian's docker-compose (v1): ``docker-compose config -q`` needs no engine. The rest is
read from the generated files, so it runs without any tool:

- every bind-mount source exists in the stack directory (Docker would create an empty directory in its place)
  and every secret file exists or is written by the generated Makefile;
- every image is a pinned public image or Lookout's own, built from the repository's Dockerfile; nothing is
  built from a context the output lacks;
- what lookout.yaml expects ``lookout up`` to run (the demo server at its loopback target, the sink at
  ``listen.sink``) is served by a service of the stack;
- Prometheus stores exemplars when a dashboard panel asks for them;
- Alloy collects the containers of this compose project only (the project name in ``.env``), and the demo
  server writes the JSON lines it parses;
- no obsolete top-level ``version``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from lookout.check.dashboards import has_exemplar
from lookout.check.findings import CheckSkipped, Finding
from lookout.config.loader import ConfigError, parse_config
from lookout.config.model import Config, Images
from lookout.stack import deployment
from lookout.stack.compose import OWNER_VARIABLES

CHECK: Final = "compose"
COMPOSE_FILE: Final = "docker-compose.monitoring.yml"
BINARY: Final = "docker-compose"
INSTALL_HINT: Final = "apt-get install -y --no-install-recommends docker-compose"
EXPORTER_CONFIG: Final = "lookout/lookout.yaml"
MAKEFILE: Final = "Makefile"
ENV_FILE: Final = ".env"
ALLOY_FILE: Final = "alloy/config.alloy"
DASHBOARDS: Final = "grafana/dashboards"
EXEMPLAR_FEATURE: Final = "exemplar-storage"
PROJECT_LABEL: Final = "com.docker.compose.project"
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
WEB_FLAG: Final = "--web.config.file"
WEB_CONFIG_IMAGES: Final = ("prom/prometheus", "prom/alertmanager", "prom/pushgateway")
_PINNED_PUBLIC = re.compile(r"^[a-z0-9][a-z0-9._-]*(:\d+)?/[a-z0-9][a-z0-9._/-]*:v?\d[\w.-]*$")
"""``<publisher or registry>/<name>:<version>``: ``latest`` and tagless images change under the stack, and a
bare local name such as ``lookout-exporter:0.1.0`` exists only where someone built it."""

__all__ = ["CheckSkipped", "check_compose"]


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def stack_config(stack_dir: Path) -> Config | None:
    """lookout.yaml as the stack's exporter reads it (generated beside the compose file), if there is one."""
    path = stack_dir / EXPORTER_CONFIG
    if not path.is_file():
        return None
    try:
        return parse_config(path.read_text(encoding="utf-8"), EXPORTER_CONFIG)
    except ConfigError:
        return None


def _volumes(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(type, source) of each volume: ``bind`` or ``volume``."""
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            yield str(volume.get("type", "volume")), str(volume.get("source", ""))
            continue
        text = str(volume)
        variable = re.match(r"^\$\{[^}]*\}", text)
        source = variable.group(0) if variable else text.split(":", 1)[0]
        kind = "bind" if source.startswith(("/", ".", "~", "$")) else "volume"
        yield kind, source


def _make_targets(stack_dir: Path) -> set[str]:
    path = stack_dir / MAKEFILE
    if not path.is_file():
        return set()
    targets: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([^\s#:=][^:=]*):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def _rel(source: str) -> str:
    return source.removeprefix("./").rstrip("/")


def _mount_findings(stack_dir: Path, compose: dict[str, Any]) -> list[Finding]:
    findings = []
    made = _make_targets(stack_dir)
    for name, service in (compose.get("services") or {}).items():
        for kind, source in _volumes(service):
            if kind != "bind":
                continue
            if "$" in source:
                findings.append(
                    Finding(
                        CHECK,
                        COMPOSE_FILE,
                        f"{name}: bind mount {source} comes from the environment; mount a file the stack generates",
                    )
                )
            elif not source.startswith("/") and not (stack_dir / source).exists() and _rel(source) not in made:
                findings.append(
                    Finding(
                        CHECK,
                        COMPOSE_FILE,
                        f"{name}: bind mount {source} does not exist in the stack and no {MAKEFILE} target "
                        "makes it (Docker would mount an empty directory): generate it",
                    )
                )
    for name, secret in (compose.get("secrets") or {}).items():
        source = str((secret or {}).get("file", ""))
        if not source:
            continue
        rel = source.removeprefix("./")
        if not (stack_dir / rel).exists() and rel not in made:
            findings.append(
                Finding(
                    CHECK, COMPOSE_FILE, f"secret {name}: {source} does not exist and no {MAKEFILE} target writes it"
                )
            )
    return findings


def _image_findings(stack_dir: Path, compose: dict[str, Any], images: Images) -> list[Finding]:
    findings = []
    for name, service in (compose.get("services") or {}).items():
        image = str(service.get("image", ""))
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else str(build.get("context", "."))
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{name}: builds from {context}; Lookout's image is built from the "
                    f"repository's Dockerfile (docker build -t {images.lookout} .)",
                )
            )
        if image == images.lookout:
            continue
        if not _PINNED_PUBLIC.match(image):
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{name}: image {image or '(none)'} is neither a pinned public image "
                    f"nor Lookout's image {images.lookout} (images.lookout)",
                )
            )
    return findings


def _arg_value(command: list[str], flag: str) -> str | None:
    for i, arg in enumerate(command):
        if arg == flag and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def _served(compose: dict[str, Any]) -> set[str]:
    """host:port addresses the services listen on."""
    addresses = set()
    for service in (compose.get("services") or {}).values():
        command = [str(a) for a in service.get("command") or []]
        for flag in ("--listen", "--web.listen-address", "--server.http.listen-addr"):
            value = _arg_value(command, flag)
            if value:
                addresses.add(value)
        for host_flag, port_flag in (("--host", "--port"), ("--management-host", "--management-port")):
            host, port = _arg_value(command, host_flag), _arg_value(command, port_flag)
            if host and port:
                addresses.add(f"{host}:{port}")
        env = service.get("environment") or {}
        if isinstance(env, dict) and env.get("GF_SERVER_HTTP_PORT"):
            addresses.add(f"{env.get('GF_SERVER_HTTP_ADDR', '0.0.0.0')}:{env['GF_SERVER_HTTP_PORT']}")
        for port in service.get("ports") or []:
            parts = str(port).split(":")
            if len(parts) == 3:
                addresses.add(f"{parts[0]}:{parts[1]}")
    return addresses


def _address(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _needed_findings(compose: dict[str, Any], config: Config) -> list[Finding]:
    """What lookout.yaml expects `lookout up` to run (the demo server, the sink) must run in the stack too;
    other loopback addresses are the host's own servers, reached over the host network."""
    served = _served(compose)
    wanted: list[tuple[str, str]] = []
    demo = deployment.demo_target(config)
    if demo is not None:
        _, target = demo
        wanted.append((f"target {target.name}", target.url))
        if target.metrics_url:
            wanted.append((f"target {target.name} metrics_url", str(target.metrics_url)))
    if deployment.uses_sink(config):
        for receiver in config.alerting.receivers:
            if receiver.webhook and _address(str(receiver.webhook.url)) == config.listen.sink:
                wanted.append((f"receiver {receiver.name}", str(receiver.webhook.url)))
    findings = []
    for what, url in wanted:
        address = _address(url)
        if address and address not in served:
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{what}: nothing in the stack serves {address} ({url}); add the "
                    "service lookout.yaml expects there",
                )
            )
    return findings


def _panels_want_exemplars(stack_dir: Path) -> bool:
    for path in sorted((stack_dir / DASHBOARDS).rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        if '"exemplar"' in text and has_exemplar(json.loads(text)):
            return True
    return False


def _exemplar_findings(stack_dir: Path, compose: dict[str, Any]) -> list[Finding]:
    if not _panels_want_exemplars(stack_dir):
        return []
    findings = []
    for name, service in (compose.get("services") or {}).items():
        if "prom/prometheus:" not in str(service.get("image", "")):
            continue
        features = ",".join(
            str(a).split("=", 1)[1] for a in service.get("command") or [] if str(a).startswith("--enable-feature=")
        )
        if EXEMPLAR_FEATURE not in features.split(","):
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{name}: dashboard panels show exemplars but Prometheus runs without "
                    f"--enable-feature={EXEMPLAR_FEATURE}",
                )
            )
    return findings


def _web_findings(compose: dict[str, Any], config: Config | None) -> list[Finding]:
    """Prometheus' lifecycle API stays off, and under ``security:`` every component Lookout starts natively with
    a web config gets one here too."""
    secured = config is not None and config.security.enabled
    findings = []
    for name, service in (compose.get("services") or {}).items():
        image = str(service.get("image", ""))
        command = [str(a) for a in service.get("command") or []]
        if "--web.enable-lifecycle" in command:
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{name}: --web.enable-lifecycle lets anyone who reaches it stop or reload it (/-/quit, "
                    "/-/reload): remove it and reload with `docker compose kill -s HUP`",
                )
            )
        if secured and any(f"{c}:" in image for c in WEB_CONFIG_IMAGES) and _arg_value(command, WEB_FLAG) is None:
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{name}: lookout.yaml has security: but it runs without {WEB_FLAG}: it serves plain HTTP "
                    "to anyone (regenerate the stack)",
                )
            )
    return findings


def _project_name(stack_dir: Path) -> str | None:
    path = stack_dir / ENV_FILE
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("COMPOSE_PROJECT_NAME="):
            return line.split("=", 1)[1].strip()
    return None


def _log_findings(stack_dir: Path, compose: dict[str, Any]) -> list[Finding]:
    alloy = stack_dir / ALLOY_FILE
    if not alloy.is_file() or "discovery.docker" not in alloy.read_text(encoding="utf-8"):
        return []
    project = _project_name(stack_dir)
    findings = []
    if project is None:
        findings.append(
            Finding(
                CHECK,
                ENV_FILE,
                "no COMPOSE_PROJECT_NAME: the project name (and Alloy's log filter) would depend on the directory name",
            )
        )
    elif f'"{PROJECT_LABEL}={project}"' not in alloy.read_text(encoding="utf-8"):
        findings.append(
            Finding(
                CHECK,
                ALLOY_FILE,
                f"discovery.docker is not filtered to {PROJECT_LABEL}={project}: Alloy "
                "would collect every container on the host",
            )
        )
    for name, service in (compose.get("services") or {}).items():
        command = [str(a) for a in service.get("command") or []]
        if command[:1] == ["demo-server"] and "--json-logs" not in command:
            findings.append(
                Finding(
                    CHECK,
                    COMPOSE_FILE,
                    f"{name}: the demo server writes no JSON logs (--json-logs): the Logs dashboard stays empty",
                )
            )
    return findings


def check_compose(stack_dir: Path, config: Config | None = None) -> list[Finding]:
    """The generated files first, then ``docker-compose -f docker-compose.monitoring.yml config -q``.

    ``config`` defaults to the stack's own ``lookout/lookout.yaml``. Raises :class:`CheckSkipped` when
    docker-compose is not installed and the files show no problem.
    """
    path = stack_dir / COMPOSE_FILE
    if not path.is_file():
        return [Finding(CHECK, COMPOSE_FILE, "missing: generate the stack with --target compose (or all)")]
    compose = _load(path) or {}
    findings = []
    if "version" in compose:
        findings.append(Finding(CHECK, COMPOSE_FILE, "top-level version is obsolete in compose v2: remove it"))
    if config is None:
        config = stack_config(stack_dir)
        if config is None:
            findings.append(Finding(CHECK, EXPORTER_CONFIG, "missing: the exporter has no lookout.yaml to read"))
    images = config.images if config is not None else Images()
    findings += _mount_findings(stack_dir, compose)
    findings += _image_findings(stack_dir, compose, images)
    if config is not None:
        findings += _needed_findings(compose, config)
    findings += _exemplar_findings(stack_dir, compose)
    findings += _log_findings(stack_dir, compose)
    findings += _web_findings(compose, config)
    binary = shutil.which(BINARY)
    if binary is None:
        if findings:
            return findings
        raise CheckSkipped(f"{BINARY} is not installed ({INSTALL_HINT})")
    # As `make` runs it: the Makefile exports the owner of the security: files the secured services run as.
    owner = {OWNER_VARIABLES[0]: str(os.getuid()), OWNER_VARIABLES[1]: str(os.getgid())}
    result = subprocess.run(
        [binary, "-f", str(path.resolve()), "config", "-q"],
        cwd=stack_dir,
        env={**owner, **os.environ},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        message = " ".join((result.stderr or result.stdout).split()) or f"exit code {result.returncode}"
        findings.append(Finding(CHECK, COMPOSE_FILE, message))
    return findings
