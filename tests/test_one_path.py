"""The backtest's `planner` is the daemon's path, and the state the daemon keeps is all of it: a replay of a household's
plug-ins where, at every tick, a planner restored from its saved JSON (as a restarted daemon restores
STATE_DIR/planner.json, its model rebuilt from the session log) plans exactly as the one that never stopped."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backtest.data import Grid, Session
from backtest.planner_policy import DaemonPlanner, sessions_config
from backtest.replay import replay, to_past
from backtest.view import SessionView
from charge_logic.household import PastSession
from charge_logic.household_planner import HouseholdPlanner, LearnedRisk, Tuning
from charge_logic.vehicle_plan import plan_for_vehicle

OSLO = ZoneInfo("Europe/Oslo")


def household(days: int, rng: random.Random) -> tuple[Grid, list[Session]]:
    """A household plugging in most evenings, a few times a week leaving again within hours; a grid whose load and
    forecast peak in the evening and bottom out at night."""
    hour0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    hours = (days + 3) * 24
    load = tuple(1000 + 300 * math.cos((datetime.fromtimestamp(hour0 + h * 3600, OSLO).hour - 18) / 24 * 2 * math.pi)
                 for h in range(hours))
    grid = Grid(hour0, load, tuple(v * (1.02 if h % 3 else 0.97) for h, v in enumerate(load)))
    sessions = []
    for d in range(days):
        arrival = datetime(2024, 1, 1, 17, tzinfo=OSLO) + timedelta(days=d, minutes=rng.uniform(0, 180))
        stay = rng.uniform(1.0, 3.0) if rng.random() < 0.2 else rng.uniform(11.0, 14.0)
        sessions.append(Session(d, f"s{d}", "home", arrival.timestamp(), arrival.timestamp() + stay * 3600, None,
                                None, rng.uniform(5.0, 25.0)))
    return grid, sessions


def test_a_restored_planner_plans_as_the_one_that_never_stopped():
    grid, sessions = household(120, random.Random(11))
    policy = DaemonPlanner(sessions_config(), household=HouseholdPlanner(tuning=Tuning(first_price=5.0)))
    checked = waits = 0
    on_tick = policy.on_tick
    session_log: list[PastSession] = []  # the ended plug-ins as the daemon's session log keeps them

    def tick(view: SessionView, memo: dict):
        nonlocal checked, waits
        if len(view.history) > policy.seen:  # what the daemon learns before it plans
            ended, taken = policy.learned(view.history[policy.seen:len(view.history)])
            policy.household.learn(ended, taken)
            session_log.extend(ended)
            policy.seen = len(view.history)
        saved = json.loads(json.dumps(policy.household.state.to_json()))
        restored = HouseholdPlanner(LearnedRisk.from_json(saved), policy.household.tuning)
        restored.resume(session_log)
        now, car, forecast, trips = policy.inputs(view)
        arrival = datetime.fromtimestamp(view.arrival, view.zone)
        kw = dict(plugged_at=arrival, station=view.station_id, held=memo.get("windows", ()))
        again = plan_for_vehicle(now, car, forecast, trips, policy.config, view.zone, household=restored, **kw)
        pushed = on_tick(view, memo)  # the backtest's planner: the same function, the running household
        assert memo["windows"] == again.windows and memo["reasons"] == again.reasons, (now, memo["reasons"])
        assert restored.state.to_json() == policy.household.state.to_json()  # and both learned the same from it
        checked += 1
        waits += pushed is not None and pushed[0][0] > view.now
        return pushed

    policy.on_tick = tick  # type: ignore[method-assign]
    result = replay(grid, sessions, [policy], OSLO, progress=False)
    assert checked > 3000 and waits >= 10  # many ticks, and plans that really waited for the night
    assert result.sessions == len(sessions)
    assert policy.household.state.learned == len(sessions) - 1 and to_past(sessions[0], OSLO).station_id == "home"


def test_learning_per_station_keeps_each_household_to_its_own_plug_ins():
    """`--learn station`: each charge point's planner learns only its own sessions, as one household's daemon (it
    never sees a neighbour's plug-ins); one planner for the file learns them all."""
    grid, sessions = household(60, random.Random(3))
    other = [Session(len(sessions) + s.index, f"n{s.index}", "neighbour", s.arrival + 1800, s.departure + 1800, None,
                     None, s.delivered_energy_kwh) for s in sessions[:40]]
    both = sorted(sessions + other, key=lambda s: s.arrival)
    pooled, own = DaemonPlanner(sessions_config()), DaemonPlanner(sessions_config(), per_station=True)
    replay(grid, both, [pooled, own], OSLO, progress=False)
    assert set(own.stations) == {"home", "neighbour"}
    assert own.stations["home"].state.learned == len(sessions) - 1  # the last one ends after the last tick
    assert own.stations["neighbour"].state.learned == len(other)
    assert len(own.stations["home"].model) == len(sessions) - 1
    assert pooled.household.state.learned == len(both) - 1
