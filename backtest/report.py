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

What the charging benchmark ([benchmark.md](benchmark.md)) says about the daemon's planner and the reference
policies, on the shared real data (4 grids × 2 sessions files) and on a generated calendar household. Every figure
below comes from one command:

```sh
bash scripts/backtest_all.sh ../shared/data docs/backtest-results.md    # [DATA_DIR] [RESULTS_FILE] [RUNS_DIR]
```

(one run: `python scheduler.py backtest --grid FILE --sessions FILE --tz ZONE [--policy NAME …] [--tick-min 15]
[--short-risk-pct PCT] [--json OUT]`, or `--scenario calendar [--seed N]` instead of `--sessions`.)

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
- **planner** is the daemon's own decision path: every tick builds the `VehicleSnapshot` the car would report and
  calls `charge_logic.vehicle_plan.plan_for_vehicle`, the function the daemon's coordinator calls, with the
  household planner (`charge_logic.household_planner`) the daemon keeps in `STATE_DIR/planner.json`; a plan the car
  already holds is not sent again. With no trip it plans each plug-in from the most similar past plug-ins (the hour,
  weekday or weekend, the previous stay, age, the driver's estimates where typed; which of these counts is scored on
  every ended plug-in), weighing the load it saves against a learned price of a car left short, one price for all
  plug-ins, steered toward `SHORT_RISK_PCT` (0.8 %) of plug-ins short and lowered as soon as the would-be plans of a
  price ladder show a lower one was safe; each past departure is widened into a bump whose width is learned. While a
  must-have charges (the car awake) it looks again. **seed** is the daemon's own rules (`charge_logic.rules.decide`,
  `POLICY=seed`). The calendar household is planned the same way from its calendar, every tick.
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


def per_household(folder: Path) -> list[str]:
    """The planner learning each charge point from its own plug-ins only (`--learn station`), beside the whole file."""
    rows = ["| sessions × grid | planner capture, own plug-ins only | ready | commands/session | "
            "capture, every plug-in of the file | ready |", "|---" * 6 + "|"]
    for key, _ in SETS[:2]:
        for grid in GRIDS:
            own, whole = folder / f"{grid}_{key}_station.json", folder / f"{grid}_{key}.json"
            if not own.exists():
                continue
            p = json.loads(own.read_text())["policies"]["planner"]
            w = json.loads(whole.read_text())["policies"]["planner"] if whole.exists() else None
            tail = f"{w['capture']:.3f} | {w['ready_rate']:.4f}" if w else "– | –"
            rows.append(f"| {key} × {grid} | **{p['capture']:.3f}** | **{p['ready_rate']:.4f}** | "
                        f"{p['commands_per_session']:.2f} | {tail} |")
    if len(rows) <= 2:
        return []
    return ["## One household's daemon: learning from its own plug-ins only\n",
            "BENCHMARK.md lets a policy learn from every session of the file that has ended, and the tables above "
            "do; a household's daemon sees only its own car. `--learn station` gives each charge point its own "
            "planner, learning its habits and its risk price from its own plug-ins alone (one run: `python "
            "scheduler.py backtest --policy planner --learn station …`). A new household starts with nothing: "
            "until its own counts can vouch for a lower risk price, the stay model's own risk of each plan does "
            "(charge_logic/household_planner.py).\n", *rows, ""]


def cars(folder: Path) -> list[str]:
    """Two cars on one circuit (`--cars 2`), per car and for the site, where the runs exist."""
    out: list[str] = []
    for key, title in SETS[:2]:
        path = folder / f"PJM_{key}_cars2.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        if not out:
            out += ["## Two cars on one circuit\n",
                    "`backtest --cars 2 --circuit-amps 48`: the charge points ranked by first arrival and paired in "
                    "turn, each pair a site over the days both are in use; each car runs the daemon's planner on its "
                    "own history and `charge_logic.site.share_circuit` caps both to the circuit. `immediate` splits "
                    "the circuit evenly, `oracle` is the hindsight optimum within it; a session's deliverable is what "
                    "`immediate` gave it. **peak A** is the circuit's highest draw, **over** the ticks in which it "
                    "went above the circuit (backtest/cars.py). One run: `python scheduler.py backtest --cars 2 "
                    "--circuit-amps 48 --grid DATA/grid/PJM.csv --sessions DATA/sessions/FILE.csv --tz "
                    "America/New_York [--json OUT]`.\n"]
        out.append(f"### {title} × PJM, 2 cars on {data['circuit_amps']} A: {data['sites']} sites, "
                   f"{data['sessions']:,} sessions, {data['unpaired']:,} unpaired, whole replay "
                   f"{data['runtime_s']:.1f} s\n")
        out += ["| | policy | " + " | ".join(c[1] for c in COLS[:-1]) + " | peak A | over |",
                "|---" * (len(COLS) + 3) + "|"]
        groups = [("site", data["policies"])] + list(data["per_car"].items())
        for group, rows in groups:
            for name, row in rows.items():
                cells = [c[2].format(row[c[0]]) for c in COLS[:-1]]
                circuit = [f"{row['peak_amps']:.0f}", str(row["over_circuit_ticks"])] if "peak_amps" in row else \
                    ["", ""]
                label = f"**{name}**" if name == "planner" else name
                out.append(f"| {group} | {label} | " + " | ".join(cells + circuit) + " |")
        out.append("")
    return out


# The money runs (scripts/backtest_all.sh: money_<rate>_<sessions>.json): each real URDB rate of data/tariffs/ on
# the grid of the utility's own region, --objective cost
TARIFFS = (("pge_bev-2-s", "CISO", "PG&E BEV-2-S (URDB 6757525f259975f54b0eccbf)"),
           ("dominion_gs-3", "PJM", "Dominion Energy Virginia GS-3 (URDB 64fa78e8f757c94ea209a3a1)"))
MONEY_COLS = (("cost_per_kwh", "$/kWh", "{:.5f}"), ("cost_capture", "cost capture", "{:.3f}"),
              ("ready_rate", "ready", "{:.4f}"), ("commands_per_session", "commands/session", "{:.2f}"),
              ("capture", "load capture", "{:.3f}"))
MONEY_ORDER = ("planner", "seed", "cheapest", "immediate", "oracle")


def money(folder: Path) -> list[str]:
    """BENCHMARK.md's "Money": two real US time-of-use rates, --objective cost, on both sessions files."""
    out: list[str] = []
    for key, grid, title in TARIFFS:
        for sessions in ("acn_caltech", "home_norway"):
            path = folder / f"money_{key}_{sessions}.json"
            if not path.exists():
                continue
            data = json.loads(path.read_text())
            out.append(f"### {title} × {sessions} × {grid} ({ZONES[grid]}): {data['sessions']:,} sessions\n")
            out.append("| policy | " + " | ".join(c[1] for c in MONEY_COLS) + " |")
            out.append("|---" * (len(MONEY_COLS) + 1) + "|")
            pol = data["policies"]
            for name in [n for n in MONEY_ORDER if n in pol] + [n for n in pol if n not in MONEY_ORDER]:
                cells = [c[2].format(pol[name][c[0]]) for c in MONEY_COLS]
                out.append(f"| {'**planner**' if name == 'planner' else name} | " + " | ".join(cells) + " |")
            out.append("")
    if not out:
        return []
    return ["## Money: two US time-of-use rates (`--objective cost --tariff FILE`)\n",
            "The rates are real URDB records (data/tariffs/README.md), read at each hour's local time in the zone of\n"
            "the utility's grid. **$/kWh**: Σ(energy × price of its hour) / Σ energy; **cost capture**: the share of\n"
            "the perfect-hindsight saving (the oracle here minimises cost). Every policy plans on the price, ties\n"
            "broken by the load forecast; **load capture** is the grid-load capture of the same run.\n", *out]


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
    out.extend(per_household(folder))
    out.extend(cars(folder))
    out.extend(money(folder))
    out.extend(runtime(folder))
    return "\n".join(out)


if __name__ == "__main__":
    print(report(Path(sys.argv[1])))
