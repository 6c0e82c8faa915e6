"""`lookout generate` time for 1,000 targets across 50 tenants (``render_stack``, all files, in memory).
Target: < 2 s.

    python -m benchmarks.bench_generate [--targets 1000] [--tenants 50] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from benchmarks.support import machine, write_section
from lookout.config import Config

TARGET_S = 2.0
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lookout.yaml"


def fleet(targets: int, tenants: int) -> Config:
    """The example config with its tenant replaced by ``tenants`` tenants sharing ``targets`` targets
    (loopback addresses: the config is only rendered, never probed)."""
    data: Any = YAML(typ="safe").load(EXAMPLE.read_text())
    template = data["tenants"][0]
    per_tenant = targets // tenants
    data["tenants"] = [
        {
            **template,
            "name": f"tenant-{t:02d}",
            "targets": [
                {
                    **template["targets"][0],
                    "name": f"t{t:02d}-server-{i:03d}",
                    "url": f"http://127.{t}.{i // 250}.{i % 250 + 1}:8000/mcp",
                }
                for i in range(per_tenant)
            ],
        }
        for t in range(tenants)
    ]
    for tenant in data["tenants"]:
        for target in tenant["targets"]:
            target.pop("metrics_url", None)
    return Config.model_validate(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", nargs="?", const="docs/performance.md", help="update docs/performance.md")
    args = parser.parse_args(argv)
    try:
        from lookout.stack import render_stack
    except ImportError:
        print("bench_generate: lookout.stack.render_stack does not exist yet; skipped")
        return
    config = fleet(args.targets, args.tenants)
    times, files, size = [], 0, 0
    for _ in range(args.repeat):
        start = time.perf_counter()
        rendered = render_stack(config)
        times.append(time.perf_counter() - start)
        files, size = len(rendered), sum(len(content) for content in rendered.values())
    median = statistics.median(times)
    verdict = "within" if median < TARGET_S else "**over**"
    section = "\n".join(
        [
            "## `lookout generate`",
            "",
            f"Measured by `benchmarks/bench_generate.py` on {machine()}: `render_stack` (every file, in memory) for",
            f"{len(config.targets())} targets across {len(config.tenants)} tenants: {files} files, "
            f"{size / 1e6:.1f} MB.",
            "",
            f"Median of {args.repeat}: **{median:.2f} s** ({verdict} the {TARGET_S:.0f} s target; "
            f"fastest {min(times):.2f} s, slowest {max(times):.2f} s).",
        ]
    )
    print(section)
    if args.write:
        write_section("generate", section, Path(args.write))


if __name__ == "__main__":
    main()
