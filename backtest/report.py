"""Markdown tables from the JSON files scripts/backtest_all.sh writes: `python -m backtest.report DIR`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

GRIDS = ("PJM", "ERCO", "CISO", "NYIS")
ZONES = {"PJM": "America/New_York", "ERCO": "America/Chicago", "CISO": "America/Los_Angeles",
         "NYIS": "America/New_York"}
SETS = (("acn_caltech", "Caltech workplace (acn_caltech)"), ("home_norway", "Norwegian homes (home_norway)"),
        ("calendar", "Calendar household (generated, seed 1)"))
COLS = (("load_weighted_mw", "load-weighted MW", "{:,.0f}"), ("capture", "capture", "{:.3f}"),
        ("ready_rate", "ready", "{:.4f}"), ("shortfall_pct", "shortfall %", "{:.2f}"),
        ("commands_per_session", "commands/session", "{:.2f}"), ("wakes_per_session", "wakes/session", "{:.3f}"),
        ("runtime_s", "policy s", "{:.1f}"))


def table(data: dict) -> list[str]:
    lines = ["| policy | " + " | ".join(c[1] for c in COLS) + " |", "|---" * (len(COLS) + 1) + "|"]
    for name, row in data["policies"].items():
        cells = [c[2].format(row[c[0]]) for c in COLS]
        lines.append(f"| {'**planner**' if name == 'planner' else name} | " + " | ".join(cells) + " |")
    return lines


def report(folder: Path) -> str:
    out = []
    for key, title in SETS:
        out.append(f"## {title}\n")
        for grid in GRIDS:
            path = folder / f"{grid}_{key}.json"
            if not path.exists():
                continue
            data = json.loads(path.read_text())
            out.append(f"### {grid} ({ZONES[grid]}): {data['sessions']:,} sessions, {data['skipped']:,} skipped, "
                       f"whole replay {data['runtime_s']:.1f} s\n")
            out.extend(table(data))
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(report(Path(sys.argv[1] if len(sys.argv) > 1 else "backtest-out")))
