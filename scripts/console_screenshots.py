"""Screenshots of a running console (``lookout up`` or ``lookout console``) for the README: the fleet and
server dashboards, the SLO and alerts pages. Drives Debian's chromium through Playwright.

    python scripts/console_screenshots.py [--url http://127.0.0.1:3000] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the console's base URL")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.url.rstrip("/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            page.goto(base + "/")
        except Exception as exc:
            print(
                f"console at {base} is not reachable ({exc.__class__.__name__}): start `make run` first",
                file=sys.stderr,
            )
            return 2
        links = page.eval_on_selector_all("a[href^='/d/']", "els => els.map(e => e.getAttribute('href'))")
        for slug in ("fleet", "server"):
            href = next((h for h in links if h.endswith(f"-{slug}")), None)
            if href is None:
                print(f"no {slug} dashboard on {base}/", file=sys.stderr)
                return 2
            page.goto(f"{base}{href}?from=now-30m&to=now")
            page.wait_for_selector("body[data-rendered]", timeout=60_000)
            page.screenshot(path=str(args.out / f"{slug}.png"), full_page=True)
        for name in ("slo", "alerts"):
            page.goto(f"{base}/{name}")
            page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
        browser.close()
    print(f"wrote {', '.join(f'{n}.png' for n in ('fleet', 'server', 'slo', 'alerts'))} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
