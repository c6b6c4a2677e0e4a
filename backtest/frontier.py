"""The owner's one dial, measured: the daemon's planner replayed at several `SHORT_RISK_PCT`s on every grid.

`SHORT_RISK_PCT` is the share of plug-ins the planner's learned risk price aims to leave short; lower keeps more
drivers ready and waits less. Each point of the table is a whole `backtest --policy planner --short-risk-pct PCT`
replay (the daemon's own path), so an owner can read what a setting gives, per grid:

    python -m backtest.frontier ../shared/data docs/frontier.md [--pct 0.5 0.8 0.9 1.0 1.5] [--jobs 2] [--runs DIR]

The data folder is checked before anything runs, and the file is written only when every replay succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from backtest.report import GRIDS, SETS, TARIFFS, ZONES
from charge_logic.config import RuleConfig
from clients.private_files import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = tuple(s for s in SETS if s[0] != "calendar")  # the real sessions files, as the results name them
HOME_RATE = TARIFFS[0]  # PG&E BEV-2-S on CISO: issue 17's money row at home
DEFAULT_PCTS = (0.5, RuleConfig.short_risk_pct, 0.9, 1.0, 1.5)
READY_TARGET = 0.99


@dataclass(frozen=True)
class Run:
    """One replay: a sessions file on a grid at one SHORT_RISK_PCT, on the load or (with a rate) the money."""

    sessions: str
    grid: str
    pct: float
    rate: str | None = None

    @property
    def name(self) -> str:
        what = f"money_{self.rate}" if self.rate else "load"
        return f"{what}_{self.sessions}_{self.grid}_{self.pct:g}.json"

    def argv(self, data: Path, out: Path) -> list[str]:
        args = [sys.executable, "-m", "backtest", "--quiet", "--policy", "planner", "--short-risk-pct",
                f"{self.pct:g}", "--grid", str(data / "grid" / f"{self.grid}.csv"), "--sessions",
                str(data / "sessions" / f"{self.sessions}.csv"), "--tz", ZONES[self.grid], "--json",
                str(out / self.name)]
        if self.rate:
            args += ["--tariff", str(ROOT / "data" / "tariffs" / f"{self.rate}.json"), "--objective", "cost"]
        return args


def runs(pcts: tuple[float, ...]) -> list[Run]:
    load = [Run(s, g, p) for s, _ in SESSIONS for g in GRIDS for p in pcts]
    return load + [Run("home_norway", HOME_RATE[1], p, HOME_RATE[0]) for p in pcts]


def missing_inputs(data: Path) -> list[str]:
    paths = [data / "grid" / f"{g}.csv" for g in GRIDS] + [data / "sessions" / f"{s}.csv" for s, _ in SESSIONS]
    paths.append(ROOT / "data" / "tariffs" / f"{HOME_RATE[0]}.json")
    return [str(p) for p in paths if not p.is_file()]


def _planner(out: Path, run: Run) -> dict | None:
    path = out / run.name
    return json.loads(path.read_text())["policies"]["planner"] if path.exists() else None


def _mark(pct: float) -> str:
    return f"**{pct:g}** (default)" if pct == RuleConfig.short_risk_pct else f"{pct:g}"


def _ready(r: float) -> str:
    return f"{r:.4f}" if r >= READY_TARGET else f"{r:.4f} (below {READY_TARGET:g})"


def report(out: Path, pcts: tuple[float, ...]) -> str:
    """Markdown: per sessions file, one row a setting, capture / ready per grid, their mean and lowest."""
    lines = [
        "# The planner's one dial: SHORT_RISK_PCT",
        "",
        "What the daemon's planner takes (capture: the share of the perfect-hindsight gain) and how many drivers it",
        "keeps ready (ready: the share that left with at least 98 % of what charging at once gave) at each",
        "`SHORT_RISK_PCT`, the share of plug-ins its learned risk price aims to leave short. Each cell is a whole",
        "replay of the shared files (`backtest --policy planner --short-risk-pct PCT`, the daemon's own path, one",
        "planner learning from every household of the file as BENCHMARK.md allows). Made by",
        "`python -m backtest.frontier ../shared/data docs/frontier.md`.",
        "",
    ]
    for key, title in SESSIONS:
        lines += [f"## {title}", "", "| SHORT_RISK_PCT | " + " | ".join(GRIDS) + " | mean capture | lowest ready |",
                  "|---" * (len(GRIDS) + 3) + "|"]
        for pct in pcts:
            cells = [_planner(out, Run(key, g, pct)) for g in GRIDS]
            got = [c for c in cells if c]
            if not got:
                continue
            text = [f"{c['capture']:.3f} / {c['ready_rate']:.4f}" if c else "–" for c in cells]
            mean = sum(c["capture"] for c in got) / len(got)
            low = min(c["ready_rate"] for c in got)
            lines.append(f"| {_mark(pct)} | " + " | ".join(text) + f" | {mean:.3f} | {_ready(low)} |")
        lines.append("")
    rate, grid, title = HOME_RATE
    lines += [f"## Money at home: {title} × home_norway × {grid}, `--objective cost`", "",
              "| SHORT_RISK_PCT | cost capture | ready | load capture | commands/session |", "|---|---|---|---|---|"]
    for pct in pcts:
        c = _planner(out, Run("home_norway", grid, pct, rate))
        if c:
            lines.append(f"| {_mark(pct)} | {c['cost_capture']:.3f} | {_ready(c['ready_rate'])} | "
                         f"{c['capture']:.3f} | {c['commands_per_session']:.2f} |")
    return "\n".join(lines) + "\n"


def _run(run: Run, data: Path, out: Path) -> tuple[Run, str]:
    done = subprocess.run(run.argv(data, out), cwd=ROOT, capture_output=True, text=True)
    return run, "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backtest.frontier", description=__doc__.split("\n")[0])
    p.add_argument("data", type=Path,
                   help="the data folder: grid/{PJM,ERCO,CISO,NYIS}.csv, sessions/{acn_caltech,home_norway}.csv")
    p.add_argument("results", type=Path, help="the markdown file to write, e.g. docs/frontier.md")
    p.add_argument("--pct", type=float, nargs="+", default=list(DEFAULT_PCTS),
                   help=f"the SHORT_RISK_PCTs to replay (default: {' '.join(f'{x:g}' for x in sorted(DEFAULT_PCTS))})")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="replays at a time (default: the cores)")
    p.add_argument("--runs", type=Path, help="keep each replay's JSON here (default: a temporary folder)")
    a = p.parse_args(argv)
    if a.results.is_dir():
        p.error(f"{a.results} is a folder: give the file to write, e.g. docs/frontier.md")
    if missing := missing_inputs(a.data):
        p.error("nothing run, nothing written; missing: " + ", ".join(missing)
                + " (docs/benchmark.md: python scripts/fetch_data.py makes the data folder)")
    if bad := [x for x in a.pct if not 0.1 <= x <= 20]:
        p.error(f"--pct {bad[0]:g}: SHORT_RISK_PCT is between 0.1 and 20")
    pcts = tuple(sorted(set(a.pct)))
    with tempfile.TemporaryDirectory() as tmp:
        out = a.runs or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        todo = runs(pcts)
        with ThreadPoolExecutor(max(1, a.jobs)) as pool:
            failed = [(r, why) for r, why in pool.map(lambda r: _run(r, a.data, out), todo) if why]
        if failed:
            for r, why in failed:
                print(f"error: {r.name}: {why}", file=sys.stderr)
            print(f"nothing written: {len(failed)} of {len(todo)} replays failed", file=sys.stderr)
            return 1
        text = report(out, pcts)
    a.results.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(a.results, text, mode=0o644)  # a published doc, not a secret
    print(f"wrote {a.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
