"""The real grid and trip providers in the daemon's tick, against the fakes: what reaches state.json, and a source
going down never stops the loop."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from clients.vehicle_sim import SimCarState, SimVehicle
from service.coordinator import Coordinator
from service.grid_source import make_forecast_provider
from service.settings import load_settings
from service.state_schema import FIRST_CAR, car_section
from service.trip_source import make_trip_provider
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes import gridstatus as gs
from tests.fakes import maps as fm
from tests.fakes.gridstatus import FakeGridStatus
from tests.fakes.http import Reply
from tests.fakes.ical import FakeICal
from tests.fakes.maps import FakeMaps

NY = ZoneInfo("America/New_York")
ICS = os.path.join(os.path.dirname(__file__), "data", "calendar.ics")


def test_grid_calendar_and_maps_reach_the_state_file_and_survive_outages(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 10, 31, 12, 0, tzinfo=NY))
    with FakeGridStatus() as grid, FakeICal(ICS) as ical, FakeMaps() as maps:
        settings = load_settings({
            "STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York", "GRID_STATUS_API_KEY": gs.KEY,
            "GRIDSTATUS_BASE_URL": grid.url, "ICAL_URL": ical.secret_url, "GOOGLE_MAPS_API_KEY": fm.KEY,
            "ROUTES_BASE_URL": maps.url, "TESLA_HOME_ADDRESS": "1 Home Rd, Springfield MA"}, env_file=None)
        forecast, trips = make_forecast_provider(settings), make_trip_provider(settings)
        car = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), plugged_in=True, soc=50.0,
                                                awake_until=(clock.now + timedelta(minutes=15)).isoformat()))
        link = VehicleLink(car, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40, zone=NY)
        coord = Coordinator(settings, link, forecast, trips, mode="live")
        coord.tick(clock())
        state = json.loads((tmp_path / "state.json").read_text())
        assert state["forecast"]["source"] == "gridstatus" and len(state["forecast"]["points"]) >= 72
        night = next(e for e in car_section(state, FIRST_CAR)["events"] if e["summary"] == "Night drive to Boston")
        assert (night["distance_km"], night["drive_minutes"]) == (145.0, 110.0)
        assert night["start"].startswith("2026-10-31T22:00") and night["end"].startswith("2026-11-01T06:00")
        health = state["health"]["sources"]
        assert health["grid"]["ok"] and health["calendar"]["ok"] and health["maps"]["calls_month"] == 1

        grid.errors = [Reply(503, {"detail": "Service Unavailable"})] * 50
        ical.status = 500
        maps.errors = [Reply(500, {"error": {"code": 500, "message": "x", "status": "INTERNAL"}})] * 50
        for _ in range(20):  # four and a half hours of outage
            clock.advance(minutes=14)
            coord.tick(clock())
        state = json.loads((tmp_path / "state.json").read_text())
        health = state["health"]["sources"]
        assert state["forecast"]["points"] and state["forecast"]["stale"]
        events = car_section(state, FIRST_CAR)["events"]
        assert any(e["summary"] == "Night drive to Boston" and e["distance_km"] == 145.0 for e in events)
        assert not health["grid"]["ok"] and not health["calendar"]["ok"] and health["calendar"]["stale"]
        assert len(maps.calls()) == 1  # the cached distance was enough
