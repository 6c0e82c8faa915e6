"""Bad lookout.yaml inputs: each gives one clear line naming the field and the fix, and exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import lookout_argv

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "examples" / "lookout.yaml").read_text()
SCRAPE_LINE = GOOD.splitlines().index("  scrape_interval: 5s") + 1
INLINE_SECRET = "    - name: pager\n      pagerduty:\n        routing_key: abc123\n"


def _validate(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "lookout.yaml"
    path.write_text(text)
    return subprocess.run(lookout_argv("config", "validate", str(path)), capture_output=True, text=True, timeout=60)


def test_the_example_is_valid(tmp_path: Path) -> None:
    result = _validate(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr


BAD = {
    "unknown receiver in a route": (
        GOOD.replace("P2: [local-sink]", "P2: [local-sink, nobody]"),
        ["alerting.routes.P2", "unknown receiver 'nobody'", "define it in alerting.receivers"],
    ),
    "duplicate target names": (
        GOOD.replace(
            "      - name: demo-server\n",
            "      - name: demo-server\n        url: http://127.0.0.1:8001/mcp\n      - name: demo-server\n",
            1,
        ),
        ["duplicate target name 'demo-server'", "must be unique"],
    ),
    "a target named like the tenant-wide service": (
        GOOD.replace("      - name: demo-server\n", "      - name: all\n", 1),
        ["tenants[0].targets[0].name", "'all' is the service of alerts about a whole tenant", "another name"],
    ),
    "malformed duration": (
        GOOD.replace("scrape_interval: 5s", "scrape_interval: 5 seconds"),
        [
            f"lookout.yaml:{SCRAPE_LINE}: ",
            "timing.scrape_interval",
            "'5 seconds' is not a Prometheus duration",
            "30s, 5m",
        ],
    ),
    "secret given inline": (
        GOOD.replace(
            "        url: http://127.0.0.1:9095/notify\n",
            "        url: http://127.0.0.1:9095/notify\n" + INLINE_SECRET,
        ),
        ["routing_key", "secret given inline", "routing_key_file"],
    ),
    "unknown time zone for business hours": (
        GOOD.replace(
            "  heartbeat_receiver: local-sink\n",
            "  heartbeat_receiver: local-sink\n  business_hours: {location: Mars/Olympus}\n",
        ),
        ["alerting.business_hours.location", "'Mars/Olympus' is not an IANA time zone", "Europe/Berlin"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, expected = BAD[case]
    assert text != GOOD
    result = _validate(tmp_path, text)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for part in expected:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"
    assert "abc123" not in lines[0]  # never echo a secret back
