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


HEAD = """# Backtest results

What the charging benchmark of [BENCHMARK.md](../../shared/BENCHMARK.md) says about the project's planner and the
reference policies, on the shared real data (4 grids × 2 sessions files) and on a generated calendar household.
Every figure below comes from one command:

```sh
scripts/backtest_all.sh ../shared/data > docs/backtest-results.md    # [DATA_DIR] [OUT_DIR for the JSON files]
```

(one run: `python scheduler.py backtest --grid FILE --sessions FILE --tz ZONE [--policy NAME …] [--tick-min 15]
[--json OUT]`, or `--scenario calendar [--seed N]` instead of `--sessions`; `python -m backtest …` is the same.)

## How to read it

- **load-weighted MW**: Σ(energy × actual load of its hour) / Σ energy. **capture**: the share of the perfect-hindsight
  gain (0 = charging at once, 1 = oracle). **ready**: share of sessions that got ≥ 98 % of what full power from
  plug-in would have delivered before the real departure. **commands/wakes per session**: the cost model (each
  window pushed is a command; pushing to a sleeping car costs a wake). **policy s**: time spent in that policy;
  the heading gives the whole replay's wall time.
- The replay ticks every 15 minutes; a policy sees only a `SessionView` (arrival, station, the driver's estimates if
  any, energy so far, full or not, the 36 h forecast ahead, last week's actual load, the sessions that have ended).
  The oracle alone is handed the truth. `tests/test_backtest.py` walks everything a view can reach and checks that
  no session record, no actual load ahead and no unfinished session is among it.
- **planner** = `charge_logic.planner.choose` (the daemon's planner core) fed by `charge_logic.household` (k-nearest
  past sessions: similar plug-in hour, weekday/weekend, the driver's estimates when typed, and the same station first
  while that forecasts better — a household's own charge point — than ignoring it, as in a shared garage; both are
  scored on every ended session). At plug-in it either starts charging (a must-have is worth it) or schedules the
  start in the lowest-load hours (one command). While it charges (awake: a look costs no wake) it looks again every
  hour: the past sessions that had already left, or were full with less, are dropped, the price is weighed only
  against the sessions still possible, and if the rest can now wait for the low-load hours the car is told once more.
  Each plan weighs the load it saves (kWh moved × how much lower the load, relative to the mean) against a price for a
  car left short, the same price for every plug-in, so the tolerated risk goes where waiting moves the most energy.
  The price is steered online toward 99.2 % ready, from how its own ended sessions really went (up after a car left
  short, slowly down otherwise), and it comes down sooner when the ended sessions show a lower one was safe: each
  plug-in notes the plan every price on a ladder would have pushed, and once the car has left, whether that plan
  would have left it short; the price used is the lowest rung whose would-be shorts (and those of every rung above
  it) are within the target with a margin, if that is below the steered one (and not while more cars were really
  left short than the target allows). A plan's risk is counted with each past departure widened into a log-normal
  bump, whose width is the one that best foretold (log density) when the ended sessions really left: a plan cannot
  look riskless by waiting into the gap between a few past departures.
  No constant is fitted to these files; everything it knows of a household it learns from that household's ended
  sessions as the replay goes.
- Times are wall-clock seconds on the project's 2-core build machine (see "Runtime" at the end).

"""


def runtime(folder: Path) -> list[str]:
    rows = []
    for grid in GRIDS:
        path = folder / f"{grid}_acn_caltech.json"
        if path.exists():
            data = json.loads(path.read_text())
            per = ", ".join(f"{k} {v['runtime_s']:.1f}" for k, v in data["policies"].items())
            rows.append(f"| {grid} × acn_caltech | {data['sessions']:,} | {data['runtime_s']:.1f} | {per} |")
    if not rows:
        return []
    return ["## Runtime: five policies × Caltech\n", "| run | sessions | whole replay s | per policy s |",
            "|---|---|---|---|", *rows, ""]


def summary(folder: Path) -> list[str]:
    """One row per grid × sessions file: the planner beside the peers' policies (README's results table)."""
    rows = ["| sessions × grid | planner capture | planner ready | planner commands/session | planner wakes/session "
            "| cheapest capture / ready | seed capture / ready |", "|---" * 7 + "|"]
    for key, _ in SETS:
        for grid in GRIDS:
            path = folder / f"{grid}_{key}.json"
            if not path.exists():
                continue
            pol = json.loads(path.read_text())["policies"]
            p, c, s = pol["planner"], pol.get("cheapest"), pol.get("seed")
            peer = [f"{x['capture']:.3f} / {x['ready_rate']:.4f}" if x else "–" for x in (c, s)]
            rows.append(f"| {key} × {grid} | **{p['capture']:.3f}** | **{p['ready_rate']:.4f}** | "
                        f"{p['commands_per_session']:.2f} | {p['wakes_per_session']:.3f} | {peer[0]} | {peer[1]} |")
    return ["## Summary\n", *rows, ""] if len(rows) > 2 else []


def report(folder: Path) -> str:
    out = [HEAD, *summary(folder)]
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
    out.extend(runtime(folder))
    return "\n".join(out)


if __name__ == "__main__":
    print(report(Path(sys.argv[1])))
