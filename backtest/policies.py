"""The reference policies of BENCHMARK.md, and the project's planner, as replay policies.

Each sees only a SessionView; the oracle alone is handed the Truth, by the replay, because it is the physical limit.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from backtest.data import HOUR
from backtest.replay import MAX_AMPS, VOLTS, Policy, PushedPlan, Truth
from backtest.view import SessionView
from charge_logic.config import RuleConfig
from charge_logic.objective import Objective

FAR = 14 * 86400.0  # a "charge now" window runs until the car is full or gone
DEFAULT_KWH = 10.0  # cheapest's energy before a station has any history (BENCHMARK.md)
FULL_KW = VOLTS * MAX_AMPS / 1000.0


def merge(slots: list[tuple[float, float]], amps: int = MAX_AMPS) -> PushedPlan:
    """Contiguous (start, end) slots as the fewest windows."""
    out: list[list[float]] = []
    for a, b in sorted(slots):
        if out and abs(out[-1][1] - a) < 1e-6:
            out[-1][1] = b
        else:
            out.append([a, b])
    return tuple((a, b, amps) for a, b in out)


def fill_cheapest(now: float, end: float, energy: float, values: dict[int, float | None], hour0: float = 0.0,
                  later_on_ties: bool = True) -> PushedPlan:
    """The lowest-valued hours in [now, end) until `energy` fits, at full power; unknown hours (None) last."""
    slots = []
    h = math.floor((now - hour0) / HOUR)
    while hour0 + h * HOUR < end:
        a = max(now, hour0 + h * HOUR)
        b = min(end, hour0 + (h + 1) * HOUR)
        if b > a:
            v = values.get(h)
            slots.append((math.inf if v is None else v, -a if later_on_ties else a, a, b))
        h += 1
    slots.sort()
    chosen, left = [], energy
    for _, _, a, b in slots:
        if left <= 1e-9:
            break
        cap = FULL_KW * (b - a) / HOUR
        if cap <= left:
            chosen.append((a, b))
        else:
            chosen.append((a, a + left / FULL_KW * HOUR))  # the part of the hour the energy needs, from its start
        left -= cap
    return merge(chosen)


class Immediate(Policy):
    name = "immediate"

    def idle(self, memo: dict, full: bool) -> bool:
        return bool(memo)  # pushed once, at plug-in

    def on_tick(self, view: SessionView, memo: dict) -> PushedPlan | None:
        if memo:
            return None
        memo["pushed"] = True
        return ((view.now, view.now + FAR, MAX_AMPS),)


class Cheapest(Policy):
    """evcc / ev_smart_charging: the lowest-forecast hours before the estimated departure (later hours on ties)."""

    name = "cheapest"

    def __init__(self, objective: Objective = Objective.LOAD) -> None:
        self.objective = objective  # cost: the lowest-price hours, ties broken by the load forecast
        self.seen = 0
        self.energies: dict[str, list[float]] = {}  # per station, learned as sessions end

    def idle(self, memo: dict, full: bool) -> bool:
        return bool(memo)  # pushed once, at plug-in

    def median(self, view: SessionView) -> float:
        history = view.history
        for i in range(self.seen, len(history)):
            self.energies.setdefault(history[i].station_id, []).append(history[i].energy_kwh)
        self.seen = len(history)
        mine = self.energies.get(view.station_id)
        return statistics.median(mine) if mine else DEFAULT_KWH

    def on_tick(self, view: SessionView, memo: dict) -> PushedPlan | None:
        if memo:
            return None
        memo["pushed"] = True
        if view.estimated_departure is not None:
            end = view.estimated_departure
        else:
            local = view.local(view.now)
            seven = local.replace(hour=7, minute=0, second=0, microsecond=0)
            if seven <= local:
                seven = (local + timedelta(days=1)).replace(hour=7, minute=0, second=0, microsecond=0)
            end = datetime(seven.year, seven.month, seven.day, 7, tzinfo=view.zone).timestamp()
        energy = view.requested_energy_kwh if view.requested_energy_kwh is not None else self.median(view)
        if end <= view.now:
            return ((view.now, view.now + FAR, MAX_AMPS),)
        from backtest.planner_policy import signal_points

        values: dict[int, float | None] = {int(round(p.start.timestamp() / HOUR)): p.load_mw
                                           for p in signal_points(view, self.objective)}
        plan = fill_cheapest(view.now, end, energy, values)
        return plan or ((view.now, view.now, 0),)


class Oracle(Policy):
    """Perfect hindsight: the lowest actual-load hours before the actual departure, enough for the actual energy."""

    name = "oracle"
    needs_truth = True

    def __init__(self, objective: Objective = Objective.LOAD) -> None:
        self.objective = objective  # cost: the cheapest hours (ties: the lower load), else the lowest load

    def idle(self, memo: dict, full: bool) -> bool:
        return bool(memo)  # pushed once, at plug-in

    def on_tick_with_truth(self, view: SessionView, memo: dict, truth: Truth) -> PushedPlan | None:
        if memo:
            return None
        memo["pushed"] = True
        grid = truth.grid
        slots = []
        h = int((view.now - grid.hour0) // HOUR)
        while grid.hour0 + h * HOUR < truth.departure:
            v = grid.load[h] if 0 <= h < len(grid.load) else None
            if v is not None:
                a = max(view.now, grid.hour0 + h * HOUR)
                b = min(truth.departure, grid.hour0 + (h + 1) * HOUR)
                if self.objective is Objective.COST:
                    usd = truth.price[h] if 0 <= h < len(truth.price) else None
                    slots.append((math.inf if usd is None else usd, v, a, b))
                else:
                    slots.append((v, 0.0, a, b))
            h += 1
        slots.sort()
        chosen, left = [], truth.energy_kwh
        for _, _, a, b in slots:
            if left <= 1e-9:
                break
            cap = FULL_KW * (b - a) / HOUR
            chosen.append((a, b) if cap <= left else (a, a + left / FULL_KW * HOUR))
            left -= cap
        return merge(chosen) or ((view.now, view.now, 0),)


POLICIES = ("immediate", "seed", "cheapest", "oracle", "planner")


def make_policies(names: Sequence[str] | None, short_risk_pct: float = RuleConfig.short_risk_pct,
                  objective: Objective = Objective.LOAD, *, per_station: bool = False) -> list[Policy]:
    """The policies asked for, in BENCHMARK.md's order; immediate and oracle always (capture is measured on them).
    `objective`: what seed, cheapest, the planner and the oracle minimise (cost: the replay's tariff or price).
    `per_station`: the planner learns each charge point's habits and risk price from its own sessions only."""
    from backtest.planner_policy import DaemonPlanner, DaemonSeed, sessions_config

    def config() -> RuleConfig:
        return sessions_config(short_risk_pct, objective)

    table: dict[str, Callable[[], Policy]] = {
        "immediate": Immediate, "seed": lambda: DaemonSeed(config()), "cheapest": lambda: Cheapest(objective),
        "oracle": lambda: Oracle(objective), "planner": lambda: DaemonPlanner(config(), per_station=per_station)}
    wanted = list(names or POLICIES)
    for needed in ("immediate", "oracle"):
        if needed not in wanted:
            wanted.insert(0, needed)
    return [table[n]() for n in POLICIES if n in wanted]
