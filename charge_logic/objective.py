"""What the planner minimises: grid load, what the owner pays, or what the grid emits (OBJECTIVE=load|cost|co2).

The planner's objective is the series passed in (charge_logic.planner): this module says which series that is, in
which unit, and builds it from what is known — a tariff (known ahead), a price or CO₂ forecast, the grid's load
forecast — with the other series as tie-breaks. Pure: series and `now` come in as values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from charge_logic.models import ForecastPoint


class Objective(StrEnum):
    LOAD = "load"
    COST = "cost"
    CO2 = "co2"


@dataclass(frozen=True)
class SignalKind:
    """How a series reads in the reasons: 'in the hours of lowest {name}: 0.12 $/kWh on average while charging'."""

    objective: Objective
    name: str
    unit: str


KINDS = {
    Objective.LOAD: SignalKind(Objective.LOAD, "grid load", "MW"),
    Objective.COST: SignalKind(Objective.COST, "price", "$/kWh"),
    Objective.CO2: SignalKind(Objective.CO2, "CO₂", "kg/kWh"),
}

# A tie-break series moves the primary by at most this share of the primary's own spread. It must only break ties:
# the household planner weighs the signal a plan saves against the risk of leaving the car short, and a tie-break
# worth more than a tiny risk would push a start later into a flat off-peak block (lower load at 01:00 than at 00:00)
# for nothing the owner pays — the first off-peak hour costs the same and is the safer start.
TIE_WEIGHT = 1e-6


def with_tie_breaks(primary: Sequence[ForecastPoint], *others: Sequence[ForecastPoint]) -> list[ForecastPoint]:
    """The primary series, its ties broken by the others in turn (each scaled far below the primary's steps)."""
    if not primary:
        return []
    values = [p.load_mw for p in primary]
    spread = (max(values) - min(values)) or max(1.0, abs(values[0]))
    out = {p.start: p.load_mw for p in primary}
    weight = TIE_WEIGHT * spread
    for series in others:
        vals = [p.load_mw for p in series if p.start in out]
        if len(vals) < 2 or max(vals) == min(vals):
            continue
        lo, hi = min(vals), max(vals)
        for p in series:
            if p.start in out:
                out[p.start] += weight * (p.load_mw - lo) / (hi - lo)
        weight *= TIE_WEIGHT
    return [ForecastPoint(t, v) for t, v in sorted(out.items())]


def planning_series(objective: Objective, load: Sequence[ForecastPoint], price: Sequence[ForecastPoint] = (),
                    co2: Sequence[ForecastPoint] = (), wholesale: Sequence[ForecastPoint] = ()) -> list[ForecastPoint]:
    """The series the planner and the amps bands are given for `objective`, the daemon's (service/signal_source.py)
    and the backtest's alike: its own series, ties broken by the others (cost: by the grid's load, then a wholesale
    price the owner does not pay, then CO₂; CO₂: by price, then load; load: by price, then CO₂). An objective whose
    series is empty (its source down) falls back to the load forecast, so the car still plans."""
    if objective is Objective.COST and price:
        return with_tie_breaks(price, load, wholesale, co2)
    if objective is Objective.CO2 and co2:
        return with_tie_breaks(co2, price, wholesale, load)
    return with_tie_breaks(load, price, co2)
