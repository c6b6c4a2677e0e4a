"""How much better would the planner do if it knew more of the household than a real scheduler can? A diagnostic.

Replays the benchmark's `planner` at fixed risk prices (no learned price, so each price is one point of its capture /
ready frontier) twice: as the benchmark allows (it learns from the sessions that have ended), and "hindsight", where
its household model holds every session of the file from the start, the future ones too, but never the one it plans.
The hindsight planner breaks BENCHMARK.md's rules on purpose: it bounds what more data of the same kind could buy.
Usage: python scripts/hindsight_bound.py [--grid FILE] [--sessions FILE] [--tz ZONE] [--price P ...]
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backtest.data import Session, load_grid, load_sessions, zone_of  # noqa: E402
from backtest.metrics import metrics  # noqa: E402
from backtest.planner_policy import DaemonPlanner, sessions_config  # noqa: E402
from backtest.policies import Immediate, Oracle  # noqa: E402
from backtest.replay import replay  # noqa: E402
from charge_logic.household import HouseholdModel, PastSession  # noqa: E402
from charge_logic.household_planner import HouseholdPlanner, Tuning  # noqa: E402


class HindsightModel(HouseholdModel):
    """Holds every given session from the start; a query never sees the session plugged in at its own arrival."""

    def __init__(self, sessions: list[PastSession], **kw) -> None:
        super().__init__(**kw)
        for s in sorted(sessions, key=lambda s: s.departure):
            super().add(s)

    def add(self, *args, **kwargs) -> None:  # it knows them all already
        return None

    def nearest_readings(self, station_id: str, arrival: datetime, readings: list[dict], **kw):
        cols = self._cols
        me = (np.abs(cols["arrival"].view() - arrival.timestamp()) < 1.0) & \
            (cols["station"].view() == self._stations.get(station_id, -1))
        keep = ~me
        other = HouseholdModel(self.other_station, self.other_weekday, self.per_year)
        other._stations, other._last = self._stations, {}
        for name, col in cols.items():
            values = col.view()[keep]
            other._cols[name].data, other._cols[name].n = values.copy(), len(values)
        kw["recent"] = int(keep.sum())  # all of them, not only the latest
        return other.nearest_readings(station_id, arrival, readings, **kw)


def fixed_price(price: float, model: HouseholdModel | None = None, label: str = "") -> DaemonPlanner:
    # gain 0: the price is never steered, and never learned from would-be plans
    household = HouseholdPlanner(tuning=Tuning(first_price=price, gain=0.0, ladder=False))
    if model is not None:
        household.model = model
    policy = DaemonPlanner(sessions_config(), household=household)
    policy.name = f"{label}{price:g}"
    return policy


def as_past(sessions: list[Session], zone: ZoneInfo) -> list[PastSession]:
    return [PastSession(s.station_id, datetime.fromtimestamp(s.arrival, zone),
                        datetime.fromtimestamp(s.departure, zone), s.delivered_energy_kwh) for s in sessions]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = ROOT.parent / "shared" / "data"
    ap.add_argument("--grid", default=str(data / "grid" / "PJM.csv"))
    ap.add_argument("--sessions", default=str(data / "sessions" / "home_norway.csv"))
    ap.add_argument("--tz", default="America/New_York")
    ap.add_argument("--price", type=float, nargs="+", default=[10.0, 20.0])
    args = ap.parse_args()
    zone = zone_of(args.tz)
    grid = load_grid(args.grid)
    sessions, _ = load_sessions(args.sessions, zone, grid)
    past = as_past(sessions, zone)
    policies = [fixed_price(p, label="allowed @") for p in args.price]
    policies += [fixed_price(p, HindsightModel(past, other_station=10.0), "hindsight @") for p in args.price]
    table = metrics(replay(grid, sessions, [Immediate(), Oracle(), *policies], zone))
    print("| planner at a fixed price | capture | ready |\n|---|---|---|")
    for p in policies:
        print(f"| {p.name} | {table[p.name]['capture']:.3f} | {table[p.name]['ready_rate']:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
