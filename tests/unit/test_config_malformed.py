"""Malformed configs through every command that reads one: one line on stderr, exit 2, bounded time and
memory, never a traceback. Each file below once ended in a traceback, gigabytes or minutes."""

from __future__ import annotations

import os
import re
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from lookout.bench.scenario import ScenarioError, load_scenario
from lookout.config import ConfigError, load_config, parse_config
from lookout.config.loader import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES
from tests.support import lookout_argv

# The child may use this much address space: far above what loading any accepted config costs, far below
# what the alias bomb or a 50 MB file took.
ADDRESS_SPACE_LIMIT = 1536 * 1024 * 1024
COMMAND_TIMEOUT = 60.0

BASE = """version: 1
tenants:
  - name: acme
    labels: {team: platform}
    targets:
      - name: api
        url: http://127.0.0.1:9/mcp
alerting:
  receivers:
    - name: sink
      webhook: {url: "http://127.0.0.1:9/notify"}
  routes: {P0: [sink]}
"""


def _module(arguments: str) -> str:
    return f"""probe:
  modules:
    discover: {{}}
    call:
      kind: tool_call
      tool_call:
        name: echo
        arguments:
{arguments}
"""


def _alias_bomb() -> str:
    # Nine levels of nine aliases: 9**9 strings (hundreds of MB of JSON) from under 1 KiB of YAML.
    lines = ['          l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"          l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return BASE + _module("\n".join(lines))


def _fifty_megabytes() -> str:
    target = "      - name: t{0}\n        url: http://127.0.0.1:9/mcp\n        labels: {{env: local, shard: s{0}}}\n"
    head, tail = BASE.split("alerting:\n")
    targets = "".join(target.format(i) for i in range(50 * 1024 * 1024 // len(target.format(0))))
    return head + targets + "alerting:\n" + tail


# name -> (file contents, what the one line must say)
CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "utf16": (lambda: BASE.encode("utf-16"), "UTF-16"),
    "utf16-without-bom": (lambda: BASE.encode("utf-16-le"), "UTF-16"),
    "latin1": (lambda: BASE.replace("platform", "plattform-é").encode("latin-1"), ":4: not UTF-8 (byte 0xe9)"),
    "nul-byte": (lambda: BASE.replace("acme", "ac\x00me").encode(), ":3: contains a NUL byte"),
    "control-character": (lambda: BASE.replace("acme", "ac\x07me").encode(), ":3: invalid YAML: control character"),
    "deep-nesting": (
        lambda: (BASE + _module("          deep: " + "[" * 20_000 + "]" * 20_000)).encode(),
        f"nested more than {MAX_DEPTH} levels deep",
    ),
    "deep-block-nesting": (
        lambda: (BASE + "".join(f"{'  ' * i}k{i}:\n" for i in range(500))).encode(),
        f"nested more than {MAX_DEPTH} levels deep",
    ),
    "huge-integer": (
        lambda: (BASE + "  resources:\n    memory_limit_bytes: " + "9" * 5_000 + "\n").encode(),
        "a number of 5000 characters",
    ),
    "alias-bomb": (lambda: _alias_bomb().encode(), f"aliases expand to more than {MAX_ALIAS_NODES} nodes"),
    "self-alias": (lambda: (BASE + _module("          loop: &loop [*loop]")).encode(), "alias *loop refers to itself"),
    "zero-scrape-interval": (
        lambda: (BASE + "timing: {scrape_interval: 0s}\n").encode(),
        "timing.scrape_interval: '0s' is zero",
    ),
    "zero-probe-timeout": (
        lambda: (BASE + "probe:\n  modules:\n    discover: {timeout: 0ms}\n").encode(),
        "probe.modules.discover.timeout: '0ms' is zero",
    ),
    "fifty-megabytes": (lambda: _fifty_megabytes().encode(), f"larger than the {MAX_FILE_BYTES >> 20} MiB limit"),
    "misspelt-key": (lambda: BASE.replace("url: http://127.0.0.1:9/mcp", "urll: x").encode(), "did you mean url?"),
    "unknown-alert-override": (  # a misspelt override would leave the alert paging
        lambda: (BASE + "  alerts:\n    MCPServerDwn: {enabled: false}\n").encode(),
        ":13: alerting.alerts: unknown alert 'MCPServerDwn' (did you mean 'MCPServerDown'?)",
    ),
    "unknown-target-modules": (
        lambda: (BASE + "probe:\n  target_modules: {apj: [discover]}\n").encode(),
        "probe.target_modules.apj: unknown target 'apj' (did you mean 'api'?)",
    ),
    "remote-write-secret": (
        lambda: (
            BASE + 'prometheus:\n  remote_write: [{url: "https://m.example/push", headers: {X-Auth-Token: s3}}]\n'
        ).encode(),
        "header 'X-Auth-Token' carries a secret",
    ),
    "derived-port-past-65535": (
        lambda: (
            BASE + "listen: {prometheus: '127.0.0.1:65500'}\n"
            "ha: {prometheus_replicas: 2, alertmanager_replicas: 1, long_term_storage: null}\n"
        ).encode(),
        "ha.prometheus_listen[1] would be 127.0.0.1:65600, past port 65535",
    ),
    "port-clash-by-name": (
        lambda: (BASE + "listen: {prometheus: '127.0.0.1:19090', alertmanager: 'localhost:19090'}\n").encode(),
        "both take port 19090",
    ),
    "duplicate-key": (
        lambda: (BASE + "alerting: {receivers: [" + ", ".join(["{name: x}"] * 5_000) + "]}\n").encode(),
        'found duplicate key "alerting"',
    ),
}


def _limit_address_space() -> None:  # pragma: no cover - runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def _commands(config: Path, out: Path) -> dict[str, list[str]]:
    return {
        "config validate": lookout_argv("config", "validate", str(config)),
        "generate": lookout_argv("generate", "--config", str(config), "--out", str(out), "--target", "k8s"),
        "probe": lookout_argv("probe", "api", "--config", str(config), "--module", "call", "--timeout", "2"),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("malformed")
    for name, (contents, _) in CORPUS.items():
        (directory / f"{name}.yaml").write_bytes(contents())
    return directory


@pytest.mark.parametrize("command", ["config validate", "generate", "probe"])
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_config_is_one_line_and_exit_2(corpus: Path, tmp_path: Path, name: str, command: str) -> None:
    config = corpus / f"{name}.yaml"
    argv = _commands(config, tmp_path / "out")[command]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, preexec_fn=_limit_address_space
    )
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, result.stderr[-2000:]
    line = result.stderr.strip()
    assert "\n" not in line, line[:2000]
    assert line.startswith(f"lookout: {config}"), line
    assert CORPUS[name][1] in line, line
    assert len(line) < 400, line
    assert not (tmp_path / "out").exists(), "nothing may be generated from a refused config"


def test_the_base_config_passes_every_command_under_the_same_limits(tmp_path: Path) -> None:
    """The limits refuse the corpus, not Lookout itself: the same commands succeed (or, for the probe of a
    closed port, fail as a probe) on the valid base."""
    config = tmp_path / "lookout.yaml"
    config.write_text(BASE + _module("          text: hello"))
    codes = {}
    for command, argv in _commands(config, tmp_path / "out").items():
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, preexec_fn=_limit_address_space
        )
        assert "Traceback" not in result.stderr, result.stderr
        codes[command] = result.returncode
    assert codes == {"config validate": 0, "generate": 0, "probe": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("listen: {prometeus: 127.0.0.1:9090}\n", "listen.prometeus: unknown field: did you mean prometheus?"),
        ("timing: {scrape_intervall: 5s}\n", "timing.scrape_intervall: unknown field: did you mean scrape_interval?"),
        (
            "probe:\n  modules:\n    m: {kind: tool_call, tool_cal: {name: x}}\n",
            "probe.modules.m.tool_cal: unknown field: did you mean tool_call?",
        ),
        ("alerting2: {}\n", "alerting2: unknown field: did you mean alerting?"),
        ("zzz: 1\n", "zzz: unknown field: remove it or check its spelling"),
    ],
)
def test_a_misspelt_key_names_the_known_one(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + text, "lookout.yaml")
    assert expected in str(caught.value)


def test_a_misspelt_key_is_named_before_the_field_it_leaves_missing() -> None:
    text = BASE.replace("        url: http://127.0.0.1:9/mcp", "        urll: http://127.0.0.1:9/mcp")
    with pytest.raises(ConfigError, match=r"^lookout.yaml:7: tenants\[0\].targets\[0\].urll: .*did you mean url\?"):
        parse_config(text, "lookout.yaml")


@pytest.mark.parametrize("field", ["evaluation_interval", "scrape_interval"])
def test_zero_intervals_are_refused(field: str) -> None:
    with pytest.raises(ConfigError, match=rf"timing.{field}: '0m' is zero"):
        parse_config(BASE + f"timing: {{{field}: 0m}}\n")


def test_zero_alertmanager_intervals_are_refused() -> None:
    timings = "  timings:\n    P0: {group_wait: 0s, group_interval: 0s, repeat_interval: 1h}\n"
    with pytest.raises(ConfigError, match=r"alerting.timings.P0.group_interval: '0s' is zero"):
        parse_config(BASE + timings)


def test_anchors_used_a_few_times_still_load() -> None:
    text = BASE.replace("    labels: {team: platform}", "    labels: &labels {team: platform}").replace(
        "alerting:", "  - name: beta\n    labels: *labels\nalerting:"
    )
    config = parse_config(text)
    assert [t.labels for t in config.tenants] == [{"team": "platform"}, {"team": "platform"}]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "lookout.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_config(path).tenants[0].name == "acme"


def test_a_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: is a directory: give the path to your lookout.yaml"):
        load_config(tmp_path)


@pytest.mark.parametrize("command", ["config validate", "generate", "probe"])
def test_an_unreadable_config_is_one_line(tmp_path: Path, command: str) -> None:
    config = tmp_path / "lookout.yaml"
    config.write_text(BASE)
    config.chmod(0)
    # As root, without the capabilities that read any file; as anyone else, the file's mode is enough.
    unprivileged = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"] if os.geteuid() == 0 else []
    result = subprocess.run(
        unprivileged + _commands(config, tmp_path / "out")[command],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert (result.returncode, result.stderr) == (2, f"lookout: {config}: cannot read: Permission denied\n")


def test_bench_scenarios_share_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes("operations:\n  - tool: echo\n".encode("utf-16"))
    with pytest.raises(ScenarioError, match="encoded as UTF-16"):
        load_scenario(path)
    path.write_text("operations:\n  - tool: echo\n    arguments: " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(ScenarioError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_scenario(path)


def test_a_reused_anchor_is_legal_and_silent(tmp_path: Path) -> None:
    """YAML lets a later anchor replace an earlier one; ruamel's multi-line warning must not reach stderr."""
    config = tmp_path / "lookout.yaml"
    config.write_text(
        BASE.replace("    labels: {team: platform}", "    labels: &l {team: platform}")
        + "  alerts:\n    MCPServerDown: &l {enabled: false}\n    MCPProbeFailing: *l\n"
    )
    result = subprocess.run(lookout_argv("config", "validate", str(config)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timing: !!omap [a: 1]\n", "timing.a: unknown field"),  # a tagged node keeps no line numbers
        ("retention: {metrics: 99999999999y}\n", "'99999999999y' is longer than Prometheus can hold"),
        (
            "timing: {scrape_interval: !!timestamp 2001-13-45}\n",
            "timing.scrape_interval: Input should be a valid string",
        ),
        ("timing: {scrape_interval: !!float abc}\n", "invalid YAML: could not convert string to float"),
        ("timing: {scrape_interval: !!int abc}\n", "invalid YAML: invalid literal for int()"),
    ],
)
def test_tags_and_overlong_values_are_one_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + text, "lookout.yaml")
    assert expected in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "  alerts:\n    MCPServerDown: {for: 0}\n",
            "for: 0 is a number, not a duration: give its unit, e.g. 0s or 5m",
        ),
        ("listen: {prometheus: 19090}\n", "listen.prometheus: 19090 is a number where text is expected"),
    ],
)
def test_a_number_where_text_belongs_says_what_to_write(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config(BASE + text)
