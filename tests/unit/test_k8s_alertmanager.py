"""The Kubernetes Alertmanager routes exactly like the native one: its configuration is taken out of the generated
objects and put through the same real ``amtool`` (``check-config``, ``config routes test``) as the native file."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from ruamel.yaml import YAML

from lookout.check.k8s import check_k8s
from lookout.check.tools import check_amtool_config, check_routes, expected_routes, routed_receivers
from lookout.config import load_config
from lookout.config.model import Config
from lookout.stack import DeployTarget, naming, render_stack, write_stack
from lookout.stack.alertmanager import alertmanager_config

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    "example": ROOT / "examples" / "lookout.yaml",
    "two-tenants": ROOT / "tests" / "rules" / "routing.yaml",
}
OPERATOR_CONFIG_DIR = "/etc/alertmanager/config"
OPERATOR_SECRETS_DIR = PurePosixPath("/etc/alertmanager/secrets")


def _objects(text: str) -> list[dict[str, Any]]:
    return [d for d in YAML(typ="safe", pure=True).load_all(text) if d]


class Stacks:
    """The native stack and, beside it, a stack dir holding only what the Kubernetes objects carry."""

    def __init__(self, config: Config, tmp: Path) -> None:
        self.config = config
        self.native = tmp / "native"
        write_stack(render_stack(config, DeployTarget.NATIVE), self.native)
        k8s_files = render_stack(config, DeployTarget.K8S)
        self.k8s_dir = tmp / "k8s"
        write_stack(k8s_files, self.k8s_dir)
        kinds: dict[str, list[dict[str, Any]]] = {}
        for path, text in k8s_files.items():
            if path.startswith("k8s/") and path.endswith(".yaml"):
                for obj in _objects(text):
                    kinds.setdefault(obj["kind"], []).append(obj)
        [self.alertmanager] = kinds["Alertmanager"]
        secret_name = self.alertmanager["spec"]["configSecret"]
        [self.secret] = [s for s in kinds.get("Secret", []) if s["metadata"]["name"] == secret_name]
        self.text = self.secret["stringData"]["alertmanager.yaml"]
        self.data = YAML(typ="safe", pure=True).load(self.text)
        # What amtool reads: the Secret's alertmanager.yaml, as it is, at the path the route tests use.
        self.extracted = tmp / "extracted"
        (self.extracted / naming.ALERTMANAGER_FILE).parent.mkdir(parents=True)
        (self.extracted / naming.ALERTMANAGER_FILE).write_text(self.text)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def stacks(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stacks:
    return Stacks(load_config(CONFIGS[request.param]), tmp_path_factory.mktemp(request.param))


def test_the_operator_gets_the_native_configuration_as_data(stacks: Stacks) -> None:
    native = YAML(typ="safe", pure=True).load((stacks.native / naming.ALERTMANAGER_FILE).read_text())
    assert native == alertmanager_config(stacks.config)
    # Only the templates differ: they come from the operator's mount of the config Secret.
    assert stacks.data["templates"] == [f"{OPERATOR_CONFIG_DIR}/*.tmpl"]
    assert {**stacks.data, "templates": native["templates"]} == native
    native_template = (stacks.native / "alertmanager/templates/lookout.tmpl").read_text()
    templates = {k: v for k, v in stacks.secret["stringData"].items() if k.endswith(".tmpl")}
    assert list(templates.values()) == [native_template]


def test_amtool_accepts_the_extracted_configuration(stacks: Stacks, tmp_path: Path) -> None:
    assert check_amtool_config(stacks.extracted) == []
    # And with the Secret's keys where the operator mounts them, so the templates are parsed too.
    mounted = tmp_path / "config"
    mounted.mkdir()
    for key, value in stacks.secret["stringData"].items():
        (mounted / key).write_text(value)
    (mounted / "alertmanager.yaml").write_text(stacks.text.replace(OPERATOR_CONFIG_DIR, str(mounted)))
    am = tmp_path / naming.ALERTMANAGER_FILE
    am.parent.mkdir(parents=True)
    am.write_text((mounted / "alertmanager.yaml").read_text())
    assert check_amtool_config(tmp_path) == []


def _route_cases(config: Config) -> list[dict[str, str]]:
    cases = [labels for labels, _ in expected_routes(config)]
    tenants = [t.name for t in config.tenants]
    cases += [
        {"alertname": "MCPServerDown", "tenant": "no-such-tenant", "service": "x", "priority": "P0"},
        {"alertname": "NoLabels"},
        {"alertname": "LowerCase", "tenant": tenants[0], "service": "x", "priority": "p1"},
        {"alertname": "Watchdog", "tenant": tenants[-1], "service": "x", "priority": "P3"},
    ]
    return cases


def test_amtool_routes_every_case_as_natively(stacks: Stacks) -> None:
    cases = _route_cases(stacks.config)
    native = [routed_receivers(stacks.native, labels) for labels in cases]
    extracted = [routed_receivers(stacks.extracted, labels) for labels in cases]
    assert extracted == native
    assert check_routes(stacks.extracted, stacks.config) == []


def test_every_secret_file_is_mounted_at_the_path_the_configuration_reads(stacks: Stacks) -> None:
    spec = stacks.alertmanager["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounted: dict[str, str] = {}  # path -> where it comes from
    for mount in spec.get("volumeMounts", []):
        assert mount["readOnly"] is True
        secret = volumes[mount["name"]]["secret"]
        for item in secret["items"]:
            mounted[f"{mount['mountPath']}/{item['path']}"] = f"{secret['secretName']}[{item['key']}]"
    for name in spec.get("secrets", []):
        mounted[str(OPERATOR_SECRETS_DIR / name)] = name

    def _files(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k.endswith("_file")] + [f for v in node.values() for f in _files(v)]
        if isinstance(node, list):
            return [f for v in node for f in _files(v)]
        return []

    files = _files(stacks.data)
    if not files:  # the example config's only receiver needs no secret
        assert not mounted
    for path in files:
        assert path in mounted or str(PurePosixPath(path).parent) in mounted, f"{path} is not mounted"


def test_receiver_files_under_the_operator_secrets_directory_use_spec_secrets(tmp_path: Path) -> None:
    text = (
        CONFIGS["two-tenants"]
        .read_text()
        .replace("/etc/lookout/secrets/pagerduty", "/etc/alertmanager/secrets/pagerduty-key/routing-key")
    )
    path = tmp_path / "lookout.yaml"
    path.write_text(text)
    stacks = Stacks(load_config(path), tmp_path)
    spec = stacks.alertmanager["spec"]
    assert spec["secrets"] == ["pagerduty-key"]
    mounted_dirs = {m["mountPath"] for m in spec["volumeMounts"]}
    assert "/etc/alertmanager/secrets/pagerduty-key" not in mounted_dirs
    assert "/etc/lookout/secrets" in mounted_dirs
    # Two receivers share /etc/lookout/secrets/slack: one key, one file.
    [volume] = [v for v in spec["volumes"] if v["name"] == spec["volumeMounts"][0]["name"]]
    paths = [item["path"] for item in volume["secret"]["items"]]
    assert len(paths) == len(set(paths))


def test_no_alertmanager_config_object_is_generated_and_the_objects_validate(stacks: Stacks) -> None:
    kinds = {obj["kind"] for path in (stacks.k8s_dir / "k8s").glob("*.yaml") for obj in _objects(path.read_text())}
    assert "AlertmanagerConfig" not in kinds  # namespaced: it would miss the fleet-wide alerts
    assert "alertmanagerConfigSelector" not in stacks.alertmanager["spec"]
    assert check_k8s(stacks.k8s_dir) == []
