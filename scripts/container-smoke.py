#!/usr/bin/env python3
"""Build Lookout's image from the repository's Dockerfile with podman and run the compose stack's demo server,
exporter and Prometheus as containers, with the generated files mounted as docker-compose.monitoring.yml mounts
them; exit 0 once Prometheus scrapes the exporter and the demo server and the exporter's probe succeeds.

Works without any registry: the base image is Debian bookworm from ``debootstrap --variant=minbase`` imported
with ``podman import``; Python packages come from a wheelhouse built on the host (the container builds offline);
Prometheus is Debian's binary in that base (the compose file's ``prom/prometheus`` image cannot be pulled).
Podman settings that work in an unprivileged build container: runc, cgroupfs, ``default_ulimits = []``, the vfs
storage driver; everything lives under the work directory (default /tmp/lookout-containers).

    scripts/container-smoke.py [--workdir DIR] [--keep]

Needs: podman, runc, debootstrap (apt-get install -y podman runc debootstrap), Debian's prometheus, root.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BASE = "localhost/lookout-base:bookworm"
PYTHON_BASE = "localhost/lookout-python:bookworm"
PROMETHEUS_IMAGE = "localhost/lookout-prometheus:debian"
CONTAINER_PREFIX = "lookout-smoke-"
SERVICES = ("demo-server", "exporter", "prometheus")
DEMO_PORTS = (8000, 8080)  # where the example lookout.yaml expects the demo server

CONTAINERS_CONF = """[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
PYTHON_BASE_FILE = """FROM {base}
RUN python3 -m venv /usr/local/python \\
    && printf '[global]\\nno-index = true\\nfind-links = /wheelhouse\\n' > /etc/pip.conf
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
"""
PROMETHEUS_FILE = """FROM {base}
COPY prometheus /bin/prometheus
ENTRYPOINT ["/bin/prometheus"]
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    log("$ " + " ".join(argv))
    return subprocess.run(argv, check=True, text=True, **kwargs)


def podman(*args: str, capture: bool = False) -> str:
    result = run(["podman", *args], capture_output=capture)
    return result.stdout if capture else ""


def has_image(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def setup_podman(work: Path) -> None:
    (work / "containers.conf").write_text(CONTAINERS_CONF)
    (work / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{work}/run"\ngraphroot = "{work}/storage"\n'
    )
    os.environ["CONTAINERS_CONF"] = str(work / "containers.conf")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(work / "storage.conf")


def build_images(work: Path) -> str:
    if not has_image(BASE):
        rootfs = work / "rootfs"
        if not (rootfs / "usr/bin/python3").exists():
            shutil.rmtree(rootfs, ignore_errors=True)
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=python3,python3-venv,ca-certificates",
                    "bookworm",
                    str(rootfs),
                    "http://deb.debian.org/debian",
                ],
                stdout=subprocess.DEVNULL,
            )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(["podman", "import", "-", BASE], stdin=tar.stdout, stdout=subprocess.DEVNULL)
        tar.wait()
    context = work / "python-base"
    context.mkdir(exist_ok=True)
    (context / "Containerfile").write_text(PYTHON_BASE_FILE.format(base=BASE))
    podman("build", "-q", "-t", PYTHON_BASE, str(context))
    # Every dependency of the image's extras, and the build backend, as wheels: the build runs offline.
    wheelhouse = work / "wheelhouse"
    extras = next(
        line.split("=", 1)[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("ARG LOOKOUT_EXTRAS=")
    )
    context = build_context(work / "context")
    run(
        [PYTHON, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheelhouse), f"{context}[{extras}]", "setuptools>=68"],
        cwd=work,
    )
    for own in wheelhouse.glob("mcp_lookout-*.whl"):
        own.unlink()  # the image builds its own wheel from the tree
    image = lookout_image()
    podman(
        "build",
        "--network",
        "none",
        "-v",
        f"{wheelhouse}:/wheelhouse:ro",
        "--build-arg",
        f"PYTHON_IMAGE={PYTHON_BASE}",
        "-t",
        image,
        "-f",
        str(ROOT / "Dockerfile"),
        str(context),
    )
    context = work / "prometheus-image"
    context.mkdir(exist_ok=True)
    binary = shutil.which("prometheus")
    if binary is None:
        sys.exit("prometheus is not installed: apt-get install -y prometheus")
    shutil.copy2(binary, context / "prometheus")
    (context / "Containerfile").write_text(PROMETHEUS_FILE.format(base=BASE))
    podman("build", "-q", "-t", PROMETHEUS_IMAGE, str(context))
    return image


def build_context(into: Path) -> Path:
    """What the Docker build context holds (.dockerignore: pyproject.toml, README.md, src/), copied, so no
    build runs in the checkout."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, into / name)
    shutil.copytree(ROOT / "src", into / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return into


def lookout_image() -> str:
    from lookout.config.model import Images

    return "localhost/" + Images().lookout


def generate(work: Path) -> tuple[Path, int]:
    """The example lookout.yaml with free ports for Prometheus and the exporter, generated for compose."""
    yaml = YAML(typ="safe")
    config = yaml.load((ROOT / "examples/lookout.yaml").read_text())
    prometheus_port = free_port()
    config["listen"] = {
        **config.get("listen", {}),
        "prometheus": f"127.0.0.1:{prometheus_port}",
        "exporter": f"127.0.0.1:{free_port()}",
    }
    config_path = work / "lookout.yaml"
    with config_path.open("w") as out:
        yaml.dump(config, out)
    stack = work / "stack"
    shutil.rmtree(stack, ignore_errors=True)
    run([PYTHON, "-m", "lookout", "generate", "--config", str(config_path), "--target", "compose", "--out", str(stack)])
    return stack, prometheus_port


def start(stack: Path, name: str, service: dict[str, Any], image: str) -> None:
    """``podman run`` with the service's network, mounts and command as the compose file gives them."""
    argv = ["run", "-d", "--name", CONTAINER_PREFIX + name, "--network", "host"]
    for volume in service.get("volumes", []):
        source, rest = str(volume).split(":", 1)
        if source.startswith("./"):
            source = str((stack / source).resolve())
        elif not source.startswith("/"):
            source = CONTAINER_PREFIX + source  # a named volume of this run
        argv += ["-v", f"{source}:{rest}"]
    podman(*argv, image, *[str(arg) for arg in service.get("command", [])])


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for(prometheus: str, expr: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = query(prometheus, expr)
            if result and all(float(sample["value"][1]) == 1 for sample in result):
                log(f"ok: {expr} = 1")
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"timed out after {timeout}s waiting for {expr} = 1 in Prometheus")


def json_logs(container: str, **fields: str) -> None:
    """The container's output holds JSON log lines carrying ``fields`` (what Alloy turns into labels)."""
    output = subprocess.run(["podman", "logs", container], capture_output=True, text=True, check=True)
    for line in (output.stdout + output.stderr).splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and all(record.get(k) == v for k, v in fields.items()):
            log(f"ok: {container} logs JSON lines with {fields}")
            return
    raise SystemExit(f"{container} wrote no JSON log line with {fields}")


def remove_containers() -> None:
    for name in SERVICES:
        subprocess.run(["podman", "rm", "-f", "-t", "5", CONTAINER_PREFIX + name], check=False, capture_output=True)
    for volume in ("prometheus-data",):
        subprocess.run(["podman", "volume", "rm", "-f", CONTAINER_PREFIX + volume], check=False, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/lookout-containers"))
    parser.add_argument("--keep", action="store_true", help="Leave the containers running.")
    args = parser.parse_args()
    for tool in ("podman", "runc", "debootstrap"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed: apt-get install -y podman runc debootstrap", file=sys.stderr)
            return 2
    busy = [port for port in DEMO_PORTS if not port_free(port)]
    if busy:
        print(f"ports {busy} are in use: the example lookout.yaml puts the demo server there", file=sys.stderr)
        return 2
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    setup_podman(work)
    image = build_images(work)
    stack, prometheus_port = generate(work)
    compose = YAML(typ="safe").load((stack / "docker-compose.monitoring.yml").read_text())
    images = {"demo-server": image, "exporter": image, "prometheus": PROMETHEUS_IMAGE}
    remove_containers()
    try:
        for name in SERVICES:
            start(stack, name, compose["services"][name], images[name])
        prometheus = f"http://127.0.0.1:{prometheus_port}"
        wait_for(prometheus, 'up{job="lookout-exporter"}')  # Prometheus scrapes the exporter
        wait_for(prometheus, 'up{job="mcp", service="demo-server"}')  # and the demo server's metrics
        wait_for(prometheus, 'probe_success{service="demo-server"}')  # the exporter probes the demo server
        json_logs(CONTAINER_PREFIX + "demo-server", service="demo-server", tenant="demo")
        log("the containers start and scrape each other")
        return 0
    finally:
        if not args.keep:
            for name in SERVICES:
                logs = subprocess.run(
                    ["podman", "logs", "--tail", "5", CONTAINER_PREFIX + name], capture_output=True, text=True
                )
                log(f"{name} (last lines): {(logs.stdout + logs.stderr).strip()[-400:]}")
            remove_containers()


if __name__ == "__main__":
    sys.exit(main())
