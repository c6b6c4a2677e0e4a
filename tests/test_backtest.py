"""The benchmark harness on tiny files whose right answers were worked out by hand (tests/data/backtest/).

grid.csv (UTC; zone UTC so wall times are UTC): actual load per hour 00..07 = 100, 80, 60, 70, —, 90, 85, 130
(hour 04 has no actual load: nothing is delivered or scored there). Full power = 240 V × 32 A = 7.68 kW.

sessions.csv (offsets dropped, read in UTC):
  S1 00:00–06:07, takes 7.68 kWh. deliverable 7.68 (1 h at full power).
     immediate: 00–01 @100 → 7.68·100 = 768.   oracle: the lowest hour, 02 @60 → 7.68·60 = 460.8
  S2 01:30–03:30, takes 20 kWh; full power for 2 h gives only 15.36 → deliverable 15.36.
     immediate = oracle (every minute is needed): 3.84·80 + 7.68·60 + 3.84·70 = 307.2 + 460.8 + 268.8 = 1036.8
  S3 05:00–07:50, takes 5 kWh. deliverable 5.
     immediate: 05 @90 → 450.   oracle: the lowest hour, 06 @85 → 425
  S4 departs before it arrives, S5 arrives before the grid starts: both skipped.
Totals: energy 7.68 + 15.36 + 5 = 28.04 kWh
  LW_immediate = (768 + 1036.8 + 450) / 28.04 = 2254.8 / 28.04 = 80.4137
  LW_oracle    = (460.8 + 1036.8 + 425) / 28.04 = 1922.6 / 28.04 = 68.5663
A policy that always starts at 02:00 ("from2"):
  S1: 02 @60 → 460.8, ready.  S2: only 02:00–03:30 → 7.68·60 + 3.84·70 = 729.6 for 11.52 kWh < 0.98·15.36 = 15.05:
  short by 3.84, not ready.  S3: the window is open from 05:00 → as immediate, 450, ready.
  LW = (460.8 + 729.6 + 450) / (7.68 + 11.52 + 5) = 1640.4 / 24.2 = 67.7851
  capture = (80.4137 − 67.7851) / (80.4137 − 68.5663) = 12.6286 / 11.8474 = 1.0659 (delivering less can look good:
  that is why ready_rate sits beside it); ready 2/3; shortfall 3.84 / 28.04 = 13.69 %.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from backtest.data import DataError, Session, load_grid, load_sessions, zone_of
from backtest.metrics import metrics
from backtest.policies import Immediate, Oracle
from backtest.replay import Policy, Truth, replay
from backtest.view import History, SessionView
from charge_logic.household import PastSession

DATA = Path(__file__).parent / "data" / "backtest"
ROOT = Path(__file__).parent.parent
UTC = zone_of("UTC")  # the zone the tiny files are read in
T0 = datetime(2020, 1, 1, tzinfo=UTC).timestamp()


def at(hours: float) -> float:
    return T0 + hours * 3600.0


class From(Policy):
    """Start charging at a fixed time of the day (and push again at `again_h` after plug-in if set)."""

    def __init__(self, start_h: float, name: str = "from2", again_h: float | None = None) -> None:
        self.start, self.name, self.again = at(start_h), name, again_h

    def on_tick(self, view, memo):
        if not memo:
            memo["n"] = 1
            return ((self.start, at(48), 32),)
        if self.again is not None and memo["n"] == 1 and view.now >= view.arrival + self.again * 3600:
            memo["n"] = 2
            return ((self.start, at(48), 32),)
        return None


def run(*policies, tick_min=15.0):
    grid = load_grid(str(DATA / "grid.csv"))
    sessions, skipped = load_sessions(str(DATA / "sessions.csv"), UTC, grid)
    return replay(grid, sessions, list(policies), UTC, tick_min=tick_min, skipped=skipped, progress=False)


def test_loading_places_wall_times_in_the_zone_and_skips_what_cannot_be_replayed():
    grid = load_grid(str(DATA / "grid.csv"))
    assert grid.load[4] is None and grid.forecast[6] is None
    sessions, skipped = load_sessions(str(DATA / "sessions.csv"), UTC, grid)
    assert [s.session_id for s in sessions] == ["S1", "S2", "S3"] and skipped == 2
    assert sessions[2].arrival == at(5)  # "05:00-08:00" stays 05:00 in the chosen zone
    ny, _ = load_sessions(str(DATA / "sessions.csv"), zone_of("America/New_York"))
    assert next(s for s in ny if s.session_id == "S1").arrival == at(5)  # 00:00 in New York = 05:00 UTC


def test_immediate_and_oracle_match_the_hand_worked_answers():
    table = metrics(run(Immediate(), Oracle(), From(2)))
    assert table["immediate"]["load_weighted_mw"] == pytest.approx(2254.8 / 28.04)
    assert table["oracle"]["load_weighted_mw"] == pytest.approx(1922.6 / 28.04)
    assert table["immediate"]["deliverable_kwh"] == pytest.approx(28.04)
    for name in ("immediate", "oracle"):
        assert table[name]["ready_rate"] == 1.0 and table[name]["shortfall_pct"] == pytest.approx(0.0)
    assert table["immediate"]["capture"] == pytest.approx(0.0) and table["oracle"]["capture"] == pytest.approx(1.0)
    assert table["oracle"]["commands_per_session"] == 1.0  # one window each (S2's hours are contiguous)


def test_capture_ready_and_shortfall_of_a_policy_that_waits():
    table = metrics(run(Immediate(), Oracle(), From(2)))["from2"]
    lw = 1640.4 / 24.2
    assert table["load_weighted_mw"] == pytest.approx(lw)
    assert table["capture"] == pytest.approx((2254.8 / 28.04 - lw) / (2254.8 / 28.04 - 1922.6 / 28.04))
    assert table["ready_rate"] == pytest.approx(2 / 3)
    assert table["shortfall_pct"] == pytest.approx(100 * 3.84 / 28.04)


def test_pushing_to_a_sleeping_car_costs_a_wake_but_not_while_it_charges():
    # Pushed again 45 min after plug-in. S1 is idle from 00:15 (awake 15 min after plug-in) until 02:00: the push
    # at 00:45 wakes it. S2 (01:30) charges from 02:00: at 02:15 it is awake. S3 (05:00) filled its 5 kWh at
    # 05:39 (5 / 7.68 h): at 05:45 it is still in its 15 awake minutes after stopping.
    result = run(Immediate(), Oracle(), From(2, "again", again_h=0.75))
    out = result.outcomes["again"]
    assert out.commands == [2, 2, 2]
    assert out.wakes == [1, 0, 0]


def test_json_and_table_from_the_command_line(tmp_path):
    out = tmp_path / "m.json"
    proc = subprocess.run([sys.executable, "-m", "backtest", "--grid", str(DATA / "grid.csv"), "--sessions",
                           str(DATA / "sessions.csv"), "--tz", "UTC", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| immediate |" in proc.stdout and "100%" in proc.stderr  # table on stdout, progress bar on stderr
    data = json.loads(out.read_text())
    assert data["sessions"] == 3 and data["skipped"] == 2
    assert set(data["policies"]) == {"immediate", "seed", "cheapest", "oracle", "planner"}
    for row in data["policies"].values():
        assert set(row) == {"load_weighted_mw", "capture", "deliverable_kwh", "ready_rate", "shortfall_pct",
                            "commands_per_session", "wakes_per_session", "runtime_s"}


def test_bad_input_names_what_to_fix(tmp_path):
    with pytest.raises(DataError, match=r"bad_grid.csv:2: column 'load_forecast_mw' is 'lots'"):
        load_grid(str(DATA / "bad_grid.csv"))
    with pytest.raises(DataError, match="IANA"):
        zone_of("Mars/Olympus")
    proc = subprocess.run([sys.executable, "-m", "backtest", "--grid", str(DATA / "grid.csv"), "--tz", "UTC"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--sessions FILE is required" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "backtest", "--grid", str(DATA / "grid.csv"), "--tz", "UTC",
                           "--sessions", str(DATA / "sessions.csv"), "--policy", "planner",
                           "--short-risk-pct", "50"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--short-risk-pct must be between 0.1 and 20" in proc.stderr


def _reachable(root, limit=100000):
    """Everything reachable from `root` through attributes, slots and containers."""
    seen, stack, out = set(), [root], []
    while stack and len(out) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type) or callable(obj) and not isinstance(obj, History):
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, (str, bytes, int, float)):
            continue
        stack.extend(gc.get_referents(obj))
    return out


class Snoop(Policy):
    """Looks at everything a view lets it reach, at every tick."""

    name = "snoop"

    def __init__(self):
        self.seen = []

    def on_tick(self, view, memo):
        self.seen.append((view.now, view.arrival, _reachable(view)))
        return None


def test_a_policy_cannot_reach_the_truth():
    snoop = Snoop()
    grid = load_grid(str(DATA / "grid.csv"))
    sessions, _ = load_sessions(str(DATA / "sessions.csv"), UTC, grid)
    replay(grid, sessions, [snoop], UTC, progress=False)
    truth_departures = {s.arrival: s.departure for s in sessions}
    assert snoop.seen
    for now, arrival, objs in snoop.seen:
        for obj in objs:
            assert not isinstance(obj, (Session, Truth)), "a view must not lead to a session record"
            assert obj is not grid and obj is not grid.load, "nor to the actual load ahead"
            if isinstance(obj, PastSession):
                assert obj.departure.timestamp() < now, "history holds only sessions that have ended"
        values = {o for o in objs if isinstance(o, float)}
        assert truth_departures[arrival] not in values
    view = next(o for o in snoop.seen[0][2] if isinstance(o, SessionView))
    assert not hasattr(view, "departure") and not hasattr(view, "delivered_energy_kwh")
    assert len(view.forecast) <= 36 and view.forecast_start >= view.now
    for now, _, objs in snoop.seen:
        v = next(o for o in objs if isinstance(o, SessionView))
        assert v.recent_load_end <= now  # actual load only for hours that have ended
        h_end = int((v.recent_load_end - grid.hour0) // 3600)
        assert v.recent_load == grid.load[max(0, h_end - len(v.recent_load)):h_end]
    with pytest.raises(IndexError):
        view.history[len(view.history)]


def test_oracle_alone_gets_the_truth():
    assert Oracle.needs_truth and not Immediate.needs_truth


def test_scheduler_subcommand_is_registered(capsys):
    import argparse

    import cli

    parser = argparse.ArgumentParser(prog="scheduler.py")
    cli.register_all(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["backtest", "--grid", str(DATA / "grid.csv"), "--sessions", str(DATA / "sessions.csv"),
                              "--tz", "UTC", "--policy", "planner", "--quiet"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "| planner |" in out and "| oracle |" in out  # capture needs immediate and oracle: always run


def test_stations_keeps_one_site_and_names_a_pattern_that_matches_none(tmp_path):
    """`--stations REGEX`: one site of a file on its own (as a daemon new to it meets it); a pattern matching no
    station is an error naming it, not an empty table."""
    from backtest.data import DataError, Session, only_stations

    rows = [Session(i, f"s{i}", st, 0.0, 3600.0, None, None, 1.0) for i, st in enumerate(["BER_1", "BAR_2", "BER_3"])]
    kept = only_stations(rows, "^BER_")
    assert [s.station_id for s in kept] == ["BER_1", "BER_3"] and [s.index for s in kept] == [0, 1]
    with pytest.raises(DataError, match="matches no station_id"):
        only_stations(rows, "^KRO_")
    with pytest.raises(DataError, match="not a regular expression"):
        only_stations(rows, "(")
