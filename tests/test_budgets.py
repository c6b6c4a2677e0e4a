"""Spent budgets stop the calls to that API and show in state.json's health: GridStatus and Maps per month, the
car's wakes and commands per day. Through the daemon's tick against the fakes, counting what reached the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from clients.tesla_fleet import FleetVehicle, save_token
from clients.vehicle_sim import SimCarState, SimVehicle
from service.coordinator import Coordinator
from service.disk import MonthlyBudget
from service.grid_source import make_forecast_provider
from service.settings import load_settings
from service.state_schema import FIRST_CAR, car_section
from service.trip_source import make_trip_provider
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes import gridstatus as gs
from tests.fakes import maps as fm
from tests.fakes.gridstatus import FakeGridStatus
from tests.fakes.ical import FakeICal
from tests.fakes.maps import FakeMaps
from tests.fakes.tesla_fleet import VIN, FakeCar, FakeFleetApi

NY = ZoneInfo("America/New_York")
ICS = Path(__file__).parent / "data" / "calendar.ics"
NOW = datetime(2026, 10, 31, 12, 0, tzinfo=NY)
NEXT_MONTH = datetime(2026, 11, 1, tzinfo=UTC)


def sim_link(tmp_path: Path, clock: Clock) -> VehicleLink:
    car = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), plugged_in=False,
                                            awake_until=clock.now.isoformat()))
    return VehicleLink(car, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40, zone=NY)


def health(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "state.json").read_text())["health"]


def test_a_spent_gridstatus_budget_stops_requests_and_shows_in_health(tmp_path):
    MonthlyBudget(tmp_path / "grid_budget.json", 5).spend(NOW, 5)  # spent earlier this month
    clock = Clock(NOW)
    with FakeGridStatus() as grid:
        settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
                                  "GRID_STATUS_API_KEY": gs.KEY, "GRIDSTATUS_BASE_URL": grid.url,
                                  "GRIDSTATUS_REQUESTS_PER_MONTH": "5"}, env_file=None)
        coord = Coordinator(settings, sim_link(tmp_path, clock), make_forecast_provider(settings), None)
        for _ in range(6):
            result = coord.tick(clock())
            clock.advance(hours=1)
        assert grid.log == []
        clock.now = datetime(2026, 10, 31, 20, 5, tzinfo=NY)  # 00:05 UTC: the plan's new month has begun
        assert coord.tick(clock()).state["forecast"]["points"] and len(grid.queries()) == 1
        g = result.state["health"]["sources"]["grid"]
    assert (g["calls_month"], g["budget_month"], g["ok"]) == (5, 5, False)
    assert "GRIDSTATUS_REQUESTS_PER_MONTH" in g["last_error"]
    assert datetime.fromisoformat(g["retry_at"]) == NEXT_MONTH
    assert any("No usable grid forecast" in r and "GRIDSTATUS_REQUESTS_PER_MONTH" in r
               for r in result.decision.reasons)


def test_a_spent_maps_budget_stops_calls_and_shows_in_health(tmp_path):
    MonthlyBudget(tmp_path / "maps_budget.json", 3).spend(NOW, 3)
    clock = Clock(NOW)
    with FakeICal(ICS) as ical, FakeMaps() as maps:
        settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
                                  "ICAL_URL": ical.secret_url, "GOOGLE_MAPS_API_KEY": fm.KEY,
                                  "ROUTES_BASE_URL": maps.url, "TESLA_HOME_ADDRESS": "1 Home Rd, Springfield MA",
                                  "MAPS_CALLS_PER_MONTH": "3"}, env_file=None)
        coord = Coordinator(settings, sim_link(tmp_path, clock), None, make_trip_provider(settings))
        for _ in range(5):
            state = coord.tick(clock()).state
            clock.advance(minutes=14)
        assert maps.calls() == []
    m = health(tmp_path)["sources"]["maps"]
    assert (m["calls_month"], m["budget_month"], m["ok"]) == (3, 3, False)
    assert "MAPS_CALLS_PER_MONTH" in m["last_error"] and datetime.fromisoformat(m["retry_at"]) == NEXT_MONTH
    night = next(e for e in car_section(state, FIRST_CAR)["events"] if e["summary"] == "Night drive to Boston")
    assert night["distance_km"] is None and "budget" in night["note"]


def test_spent_daily_wake_and_command_budgets_stop_those_calls_and_show_in_health(tmp_path):
    """A restart late in a busy day: 4 wakes and 40 commands already spent today (kept in vehicle.json)."""
    (tmp_path / "vehicle.json").write_text(json.dumps({"usage": {
        "month": "2026-10", "day": "2026-10-31", "wakes": 4, "commands": 40, "wakes_today": 4, "commands_today": 40},
        "last": None}))
    clock = Clock(NOW)
    with FakeFleetApi(FakeCar(now=NOW.astimezone(UTC), state="online", plugged=True, charge_limit=60)) as fake:
        save_token(tmp_path / "tesla_fleet_token.json", fake.grant())
        car = FleetVehicle(fake.url, token_file=tmp_path / "tesla_fleet_token.json", client_id=fake.client_id,
                           token_url=fake.url, vin=VIN, clock=lambda: fake.car.now, sleep=lambda s: None)
        settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York"}, env_file=None)
        link = VehicleLink.from_settings(car, settings)
        coord = Coordinator(settings, link, None, None)
        first = coord.tick(clock())  # online: read, but the commands it wants are over today's budget
        assert first.decision.commands and fake.billed()["commands"] == 0
        assert first.report.sent == [{"name": first.decision.commands[0].name, "ok": False,
                                      "reason": "daily command budget spent"}]
        fake.car.state = "asleep"
        clock.advance(minutes=14)
        second = coord.tick(clock())  # asleep, plugged in, commands wanted: a wake would be needed
        assert second.decision.commands and fake.billed()["wakes"] == 0 and fake.car.state == "asleep"
        assert any("today's 4 wakes are spent" in r for r in second.car["decision"]["reasons"])
    t = health(tmp_path)["tesla"]
    assert (t["wakes_today"], t["budget_wakes_day"], t["commands_today"], t["budget_commands_day"]) == (4, 4, 40, 40)
    coord.link.usage.roll(datetime(2026, 11, 1, 0, 5, tzinfo=NY))  # a new day in the home zone: budgets are back
    assert coord.link.usage.wakes_today == 0 and coord.link.usage.commands_today == 0
