"""How long the dashboard's first page load takes on demo data: navigation start to the forecast graph drawn.

    python scripts/measure_dashboard.py [--state-dir DIR] [--runs 5]

Runs `python app.py` on a free port and Debian's headless Chromium (fresh browser context per run, so nothing is
cached); prints each run and the median. Target: under 1 s. Without --state-dir it makes the demo state with
`python scheduler.py --demo --once`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from dashboard.harness import GRAPH_DRAWN, demo_state, launch, run_app  # noqa: E402

# Evaluated in the page: the moment the forecast's first trace exists, in ms since navigation start.
DRAWN_AT = f"() => document.querySelector({GRAPH_DRAWN!r}) ? performance.now() : null"


def measure(browser, url: str, width: int) -> dict[str, float]:  # noqa: ANN001
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="commit")
    drawn = page.wait_for_function(DRAWN_AT, polling="raf", timeout=60000).json_value()
    nav = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return {ttfb: n.responseStart, dom: n.domContentLoadedEventEnd, load: n.loadEventEnd} }""")
    kb = page.evaluate("performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, 0) / 1024")
    context.close()
    return {"graph_ms": drawn, "dom_ms": nav["dom"], "kb": kb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, help="use this state folder instead of a fresh demo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=390, help="viewport width (390 = a phone)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = args.state_dir or Path(tmp)
        if args.state_dir is None:
            demo_state(state_dir)
        with run_app(state_dir) as url, sync_playwright() as pw:
            browser = launch(pw)
            measure(browser, url, args.width)  # warm-up: the server's first request builds its caches
            runs = [measure(browser, url, args.width) for _ in range(args.runs)]
            browser.close()
    for i, r in enumerate(runs, 1):
        print(f"run {i}: graph drawn {r['graph_ms']:.0f} ms after navigation start "
              f"(DOM ready {r['dom_ms']:.0f} ms, {r['kb']:.0f} KB transferred)")
    median = statistics.median(r["graph_ms"] for r in runs)
    verdict = "under" if median < 1000 else "OVER"
    print(f"first load, navigation start to graph drawn: median {median:.0f} ms over {len(runs)} runs "
          f"({verdict} the 1 s target); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
