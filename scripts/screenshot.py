"""Screenshot the dashboard on demo data at a phone width and a desktop width, side by side, into docs/dashboard.png.

    python scripts/screenshot.py [--state-dir DIR] [--out docs/dashboard.png]

Without --state-dir it makes the demo state with `python scheduler.py --demo --once`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from tests.dashboard_harness import GRAPH_DRAWN, ROOT, demo_state, launch, run_app

WIDTHS = {"phone": 390, "desktop": 1280}


def page_height(browser, url: str, width: int) -> int:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(url)
    page.wait_for_selector(GRAPH_DRAWN, timeout=30000)
    page.wait_for_timeout(500)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.close()
    return int(height)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, help="use this state folder instead of a fresh demo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = args.state_dir or Path(tmp)
        if args.state_dir is None:
            demo_state(state_dir)
        with run_app(state_dir) as url, sync_playwright() as pw:
            browser = launch(pw)
            heights = {name: page_height(browser, url, w) for name, w in WIDTHS.items()}
            gap = 24
            total_w = sum(WIDTHS.values()) + gap * 3
            total_h = max(heights.values()) + gap * 2
            frames = "".join(
                f'<iframe src="{url}/" style="width:{w}px;height:{heights[n]}px;border:0;border-radius:12px;'
                f'background:#0f172a;flex:none"></iframe>' for n, w in WIDTHS.items())
            sheet = browser.new_page(viewport={"width": total_w, "height": total_h})
            sheet.set_content(f'<body style="margin:0;background:#020617;display:flex;gap:{gap}px;padding:{gap}px;'
                              f'align-items:flex-start">{frames}</body>')
            for frame in sheet.frames[1:]:
                frame.wait_for_selector(GRAPH_DRAWN, timeout=30000)
            sheet.wait_for_timeout(800)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            sheet.screenshot(path=str(args.out), full_page=True)
            browser.close()
    print(f"wrote {args.out} (phone {WIDTHS['phone']} px, desktop {WIDTHS['desktop']} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
