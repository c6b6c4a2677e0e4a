"""The daemon plans on what the owner pays: a TOU tariff puts the night's charge into its off-peak hours and the
reasons say so; a grid or price source that is down leaves the tariff (or grid load) to plan on, and state.json's
`signal` says which and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from charge_logic.objective import Objective
from clients.vehicle_sim import SimCarState, SimVehicle
from service.coordinator import Coordinator
from service.demo import DemoForecast, demo_trips
from service.settings import load_settings
from service.sources import SourceStatus
from service.state_schema import FIRST_CAR, car_section, migrate
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.comed import FakeComEd
from tests.fakes.http import Reply
from tests.fakes.openei import SAMPLE_RATE

NY = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parent.parent
TOU = "0.32, 0-7 0.11, 16-21 0.45 weekdays"  # off-peak midnight to 07:00, peak 16-21 on weekdays
EVENING = datetime(2026, 11, 23, 18, 0, tzinfo=NY)  # a Monday; the office at 09:00 Tuesday


class DownGrid:
    """A grid load source that answers nothing (GridStatus down, no forecast kept)."""

    def __init__(self) -> None:
        self.status = SourceStatus("grid")

    def get(self, now: datetime) -> list[Any]:
        self.status.failed("GridStatus unreachable: ConnectionError", now)
        return []


def make(tmp_path: Path, clock: Clock, grid: Any = None, **env: str) -> Coordinator:
    settings = load_settings({"TIME_ZONE": "America/New_York", "STATE_DIR": str(tmp_path), **env}, env_file=None)
    awake = (clock.now + timedelta(minutes=15)).isoformat()
    car = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), awake_until=awake, plugged_in=True,
                                            soc=40.0, amps=32, limit=80))
    link = VehicleLink(car, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40, zone=NY)
    return Coordinator(settings, link, grid if grid is not None else DemoForecast(), demo_trips(NY, tmp_path),
                       mode="demo")


def flat(state: dict[str, Any]) -> dict[str, Any]:
    """The site's sections and its one car's (state v2), side by side as in a one-car file."""
    return {**state, **(car_section(state, FIRST_CAR) or {})}


def local_hours(state: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    """When the plan charges: from each window's start until the car is expected to reach its top SoC (a window may
    stay open past it: the car stops at its limit)."""
    state = flat(state)
    soc = [(datetime.fromisoformat(e["at"]).astimezone(NY), e["soc"]) for e in state["plan"]["expected_soc"]]
    full = next((t for t, s in soc if s >= max(s for _, s in soc)), None)
    out = []
    for w in state["plan"]["windows"]:
        start, end = datetime.fromisoformat(w["start"]).astimezone(NY), datetime.fromisoformat(w["end"]).astimezone(NY)
        out.append((start, min(end, full) if full is not None and full > start else end))
    return out


def in_off_peak(start: datetime, end: datetime) -> bool:
    """Within 00:00-07:00 of the night after the Monday evening."""
    night = EVENING.replace(hour=0) + timedelta(days=1)
    return night <= start < end <= night.replace(hour=7)


def test_on_a_tou_tariff_the_demo_plans_the_night_into_the_off_peak_hours_and_says_so(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    result = make(tmp_path, clock, TARIFF_TOU=TOU).tick(clock())
    state = flat(result.state)
    windows = local_hours(state)
    assert windows and all(in_off_peak(a, b) for a, b in windows), windows
    signal = state["signal"]
    assert (signal["objective"], signal["unit"], signal["source"], signal["fallback"]) == ("cost", "$/kWh", "tariff",
                                                                                           None)
    assert all(p["known"] for p in signal["points"])
    reasons = " ".join(state["decision"]["reasons"])
    assert "off-peak 0.11 $/kWh from tomorrow 00:00 to tomorrow 07:00, 0.45 $/kWh now" in reasons, reasons
    assert "ties by grid load" in reasons
    assert json.loads((tmp_path / "state.json").read_text())["signal"] == signal
    # what the dashboard shows: the night at 0.11 $/kWh against starting now, in the 0.45 $/kWh peak
    night = state["savings"]["night"]
    assert night["cost_usd"] > 0 and night["now_cost_usd"] > 3 * night["cost_usd"], night


def test_the_plan_follows_the_tariff_not_the_grid_load(tmp_path: Path) -> None:
    """An off-peak window in the late evening (21-24), where the demo's PJM load is not at its lowest: on cost the plan
    starts with the tariff's cheap hours; on load (OBJECTIVE=load, same tariff) it waits for the night's lower load."""
    clock = Clock(EVENING)
    cost = local_hours(make(tmp_path / "cost", clock, TARIFF_TOU="0.30, 21-24 0.09").tick(clock()).state)
    load = local_hours(make(tmp_path / "load", clock, TARIFF_TOU="0.30, 21-24 0.09",
                            OBJECTIVE="load").tick(clock()).state)
    assert cost and cost[0][0] == EVENING.replace(hour=21), cost  # the tariff's off-peak start
    assert load and load[0][0] >= EVENING.replace(hour=23), load  # later, as the night's load falls


def test_with_the_grid_source_down_the_tariff_alone_sets_the_plan(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    state = flat(make(tmp_path, clock, grid=DownGrid(), TARIFF_TOU=TOU).tick(clock()).state)
    windows = local_hours(state)
    assert windows and all(in_off_peak(a, b) for a, b in windows), windows
    reasons = " ".join(state["decision"]["reasons"])
    assert "No usable grid forecast right now (GridStatus unreachable: ConnectionError): the tariff alone sets the " \
           "plan" in reasons
    assert "no grid load forecast to break its ties" in reasons
    assert state["signal"]["source"] == "tariff" and state["forecast"]["points"] == []


@pytest.mark.parametrize(("tariff", "source", "objective", "then"), [
    (TOU, "tariff", "cost", "planning on the tariff alone"),
    ("", "demo", "load", "planning on grid load"),
])
def test_a_price_source_down_falls_back_with_the_reason_in_the_state_file(
        tmp_path: Path, tariff: str, source: str, objective: str, then: str) -> None:
    clock = Clock(EVENING)
    with FakeComEd() as comed:
        comed.inject(Reply(503, "<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}))
        env = {"PRICE_SOURCE": "comed", "COMED_BASE_URL": comed.url, **({"TARIFF_TOU": tariff} if tariff else {})}
        state = flat(make(tmp_path, clock, **env).tick(clock()).state)
    signal = state["signal"]
    assert signal["objective"] == "cost" and signal["source"] == source
    assert signal["fallback"] == f"ComEd hourly pricing gives no usable series now (ComEd error 503: an HTML " \
                                 f"page (Service Unavailable)): {then}"
    assert state["health"]["sources"]["comed"]["ok"] is False
    assert any(r.startswith("ComEd hourly pricing gives no usable series now") for r in state["decision"]["reasons"])
    if objective == "load":
        assert signal["unit"] == "MW" and signal["points"], "grid load stands in"
    else:
        assert all(in_off_peak(a, b) for a, b in local_hours(state))


def test_comed_prices_plus_the_delivery_tariff_are_what_the_plan_minimises(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    with FakeComEd() as comed:
        comed.now = clock.now
        state = flat(make(tmp_path, clock, PRICE_SOURCE="comed", COMED_BASE_URL=comed.url,
                          TARIFF_TOU="0.08").tick(clock()).state)
        asked = [(r.path, r.query.get("type", [""])[0]) for r in comed.log]
    signal = state["signal"]
    assert signal["source"] == "comed" and signal["fallback"] is None
    assert signal["label"] == "ComEd hourly pricing + TARIFF_TOU 0.08"
    ahead = [p for p in signal["points"] if datetime.fromisoformat(p["start"]) >= EVENING]
    assert ahead and not any(p["known"] for p in ahead)  # day-ahead prices forecast what is billed
    gone = [p for p in signal["points"] if datetime.fromisoformat(p["start"]) < EVENING - timedelta(hours=1)]
    assert gone and all(p["known"] for p in gone)
    assert all(0.09 < p["value"] < 0.15 for p in signal["points"])  # 2-6 ¢ supply + 8 ¢ delivery
    assert sorted(asked) == [("/api", "5minutefeed"), ("/rrtp/ServletFeed", "daynexttoday"),
                             ("/rrtp/ServletFeed", "daynexttoday")]
    assert state["health"]["sources"]["comed"]["calls_month"] == 3


def test_objective_load_is_todays_behaviour(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    coord = make(tmp_path, clock)
    state = flat(coord.tick(clock()).state)
    assert coord.rules.objective is Objective.LOAD
    assert state["signal"]["unit"] == "MW" and state["signal"]["source"] == "demo"
    assert [p["value"] for p in state["signal"]["points"]] == [p["load_mw"] for p in state["forecast"]["points"]]


def test_on_a_urdb_tariff_file_the_night_avoids_the_peak_and_waits_for_low_load_in_the_off_peak(tmp_path: Path) -> None:
    """A URDB rate as a file (the API's reply): winter weekdays 16-21 peak at 0.31 $/kWh, 0.12 else; within the long
    off-peak the grid load breaks the ties, so the charge still goes into the night."""
    rate = tmp_path / "rate.json"
    rate.write_text(json.dumps({"items": [SAMPLE_RATE]}))
    clock = Clock(EVENING)
    state = flat(make(tmp_path / "s", clock, TARIFF_FILE=str(rate)).tick(clock()).state)
    windows = local_hours(state)
    night = (EVENING.replace(hour=21), EVENING.replace(hour=16) + timedelta(days=1))
    assert windows and all(night[0] <= a < b <= night[1] for a, b in windows), windows
    load = local_hours(make(tmp_path / "load", clock, TARIFF_FILE=str(rate), OBJECTIVE="load").tick(clock()).state)
    assert windows == load  # the off-peak hours are all alike: the grid load picks among them
    reasons = " ".join(state["decision"]["reasons"])
    assert "Planning on price (Example Electric Co Residential TOU-EV (test), known ahead; ties by grid load): " \
           "off-peak 0.12 $/kWh from 21:00 to tomorrow 16:00, 0.31 $/kWh now." in reasons, reasons


def test_the_demo_command_plans_on_a_tou_tariff_from_the_environment(tmp_path: Path) -> None:
    """`scheduler.py --demo --once` with TARIFF_TOU set: the daemon's entry point writes the signal it planned on."""
    env = {**os.environ, "TARIFF_TOU": TOU}
    proc = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--demo", "--once", "--state-dir",
                           str(tmp_path / "s")], capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    state = flat(json.loads((tmp_path / "s" / "state.json").read_text()))
    assert (state["signal"]["objective"], state["signal"]["source"]) == ("cost", "tariff")
    assert any(r.startswith("Planning on price (TARIFF_TOU 0.32, 0-7 0.11") for r in state["decision"]["reasons"])


def test_a_state_file_that_planned_on_a_tariff_keeps_its_signal_when_read_as_v2(tmp_path: Path) -> None:
    clock = Clock(EVENING)
    state = flat(make(tmp_path, clock, TARIFF_TOU=TOU).tick(clock()).state)
    v1 = {k: v for k, v in state.items() if k not in ("vehicles", "circuit")} | {"schema_version": 1}
    assert migrate(v1)["signal"] == state["signal"]
    del v1["signal"]  # a v1 file from before: its signal is the load forecast's
    assert migrate(v1)["signal"]["objective"] == "load"
