"""Degrading safely, and saying so: a forecast past FORECAST_STALE_HOURS, a calendar past CALENDAR_STALE_HOURS, and
spent budgets, through the daemon's tick against the fakes."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from clients.vehicle_sim import SimCarState, SimVehicle
from service.backoff import Backoff
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
ICS = Path(__file__).parent / "data" / "calendar.ics"


def sim_link(tmp_path: Path, clock: Clock, **car: object) -> tuple[VehicleLink, SimVehicle]:
    awake = (clock.now + timedelta(minutes=15)).isoformat()
    vehicle = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), awake_until=awake, **car))
    link = VehicleLink(vehicle, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40, zone=NY)
    return link, vehicle


def test_a_forecast_past_forecast_stale_hours_is_dropped_and_charging_finishes_by_the_departure(tmp_path):
    clock = Clock(datetime(2026, 11, 26, 18, 0, tzinfo=NY))
    with FakeGridStatus() as grid:
        settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
                                  "GRID_STATUS_API_KEY": gs.KEY, "GRIDSTATUS_BASE_URL": grid.url,
                                  "FORECAST_STALE_HOURS": "24"}, env_file=None)
        link, car = sim_link(tmp_path, clock, plugged_in=True, soc=40.0)
        coord = Coordinator(settings, link, make_forecast_provider(settings), None)
        assert coord.tick(clock()).state["forecast"]["points"]
        grid.inject(Reply(503, {"detail": "Service Unavailable"}))
        clock.advance(hours=12)
        kept = coord.tick(clock())
        assert kept.state["forecast"]["points"] and kept.state["forecast"]["stale"]
        assert any("grid forecast is stale" in r for r in kept.decision.reasons)
        clock.advance(hours=12, minutes=30)
        car.drive(120)  # the next evening: back home, plugged in, GridStatus still down
        car.plug(True)
        clock.advance(minutes=30)
        result = coord.tick(clock())
    state, d = result.state, result.decision
    assert state["forecast"]["points"] == [] and state["forecast"]["stale"]
    assert not state["health"]["sources"]["grid"]["ok"] and state["health"]["sources"]["grid"]["retry_at"]
    departure = datetime(2026, 11, 28, 8, 0, tzinfo=NY)  # DEFAULT_DEPARTURE: no calendar
    assert d.departure == departure and d.off_peak_end == departure  # the car's off-peak window, to departure
    assert d.windows and all(w.end <= departure for w in d.windows)
    assert d.expected_soc[-1][0] <= departure and d.expected_soc[-1][1] >= d.charge_limit - 0.5
    missing = [r for r in d.reasons if "grid forecast is missing" in r]
    assert missing and "FORECAST_STALE_HOURS (24 h)" in missing[0] and "503" in missing[0]
    assert "finishes by the departure" in missing[0]


def test_a_calendar_past_calendar_stale_hours_gives_the_default_departure_and_limit(tmp_path):
    clock = Clock(datetime(2026, 10, 31, 12, 0, tzinfo=NY))
    with FakeICal(ICS) as ical, FakeMaps() as maps:
        settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
                                  "ICAL_URL": ical.secret_url, "CALENDAR_STALE_HOURS": "6",
                                  "GOOGLE_MAPS_API_KEY": fm.KEY, "ROUTES_BASE_URL": maps.url,
                                  "TESLA_HOME_ADDRESS": "1 Home Rd, Springfield MA"}, env_file=None)
        link, _ = sim_link(tmp_path, clock, plugged_in=True, soc=60.0)
        coord = Coordinator(settings, link, None, make_trip_provider(settings))
        first = coord.tick(clock())
        assert any(e["summary"] == "Night drive to Boston" for e in first.car["events"])
        assert first.decision.mode == "charge_now_trip"  # the 290 km round trip tonight shapes the decision
        ical.status = 500
        clock.advance(hours=3)
        stale = coord.tick(clock())
        assert any(e["summary"] == "Night drive to Boston" for e in stale.car["events"])
        assert any("calendar could not be read" in r and "using events from 3.0 h ago" in r
                   for r in stale.decision.reasons)
        clock.advance(hours=3, minutes=30)  # 6.5 h without a calendar
        result = coord.tick(clock())
    state, d = result.state, result.decision
    assert car_section(state, FIRST_CAR)["events"] == [] and state["health"]["sources"]["calendar"]["stale"]
    assert d.departure == datetime(2026, 11, 1, 8, 0, tzinfo=NY)  # DEFAULT_DEPARTURE
    assert d.charge_limit == settings.base_charge_limit and d.mode != "charge_now_trip"
    assert not any("Night drive" in r for r in d.reasons)
    said = [r for r in d.reasons if "CALENDAR_STALE_HOURS" in r]
    assert said and "default departure (08:00) and limit (80 %)" in said[0] and "answered 500" in said[0]


def test_the_backoff_spaces_the_retries_of_a_source_that_stays_down(tmp_path):
    """A calendar down for a day is asked about 10 times, not 100; its retry time is in state.json."""
    clock = Clock(datetime(2026, 10, 31, 12, 0, tzinfo=NY))
    with FakeICal(ICS) as ical:
        settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
                                  "ICAL_URL": ical.secret_url}, env_file=None)
        trips = make_trip_provider(settings)
        assert trips is not None
        trips.backoff = Backoff(timedelta(minutes=14), rng=random.Random(5))
        link, _ = sim_link(tmp_path, clock, plugged_in=False)
        coord = Coordinator(settings, link, None, trips)
        coord.tick(clock())
        ical.status = 503
        ticks = 0
        while clock.now < datetime(2026, 11, 1, 12, 0, tzinfo=NY):
            clock.advance(minutes=14)
            coord.tick(clock())
            ticks += 1
        asked = len(ical.log) - 1
        st = json.loads((tmp_path / "state.json").read_text())["health"]["sources"]["calendar"]
        ical.status = 200
        coord.tick(datetime.fromisoformat(st["retry_at"]))
    print(f"\ncalendar down 24 h: asked {asked} times in {ticks} ticks")
    assert ticks == 103 and 8 <= asked <= 12
    assert trips.status.ok and trips.status.retry_at is None and len(ical.log) == asked + 2
