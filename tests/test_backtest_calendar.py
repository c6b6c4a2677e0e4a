"""The calendar scenario: a generated commuting household through the daemon's calendar → trip → plan path."""

from __future__ import annotations

import math
from datetime import datetime

from backtest.calendar_scenario import generate, run_calendar
from backtest.data import Grid, zone_of
from backtest.metrics import metrics
from charge_logic.config import RuleConfig

NY = zone_of("America/New_York")


def daily_grid(days: int = 40) -> Grid:
    """Load peaking at 18:00 New York time and lowest at 06:00; the forecast is the load, slightly off."""
    hour0 = datetime(2024, 10, 1, tzinfo=zone_of("UTC")).timestamp()
    load, fc = [], []
    for h in range(days * 24):
        local = datetime.fromtimestamp(hour0 + h * 3600, NY)
        v = 1000 + 300 * math.cos((local.hour - 18) / 24 * 2 * math.pi)
        load.append(v)
        fc.append(v * (1.02 if h % 5 else 0.98))
    return Grid(hour0, tuple(load), tuple(fc))


def test_generated_sessions_are_plausible():
    grid = daily_grid()
    events, sessions, soc = generate(grid, NY, seed=3, config=RuleConfig(), days=21)
    assert len(sessions) >= 18
    for s in sessions:
        assert s.departure > s.arrival and s.delivered_energy_kwh >= 0
        assert 0 < soc[s.arrival] <= 90
    assert {e.summary for e in events} >= {"Work", "Groceries"}


def test_planner_is_always_ready_and_near_the_oracle():
    # crosses the 2024-11-03 DST change; the planner knows the calendar and the SoC, not the real departure; it
    # re-plans every tick, as the daemon does, and a plan the car holds is not re-sent nor moved for a trifle
    result = run_calendar(daily_grid(), NY, seed=3, progress=False, days=21)
    table = metrics(result)
    assert table["planner"]["ready_rate"] == 1.0
    assert table["planner"]["capture"] >= 0.8
    assert table["planner"]["commands_per_session"] <= 1.5 and table["planner"]["wakes_per_session"] <= 0.1
    assert table["immediate"]["capture"] == 0.0
