"""The daemon's tick with the simulated car: what it costs, what it never does, and what it writes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from charge_logic.models import Command
from clients.vehicle import CallCounter
from clients.vehicle_sim import SimCarState, SimVehicle
from service.coordinator import Coordinator
from service.demo import DemoForecast, demo_trips
from service.settings import load_settings
from service.state_schema import FIRST_CAR, car_section
from service.vehicle_link import VehicleLink
from tests.clock import Clock

NY = ZoneInfo("America/New_York")


def make(tmp_path: Path, clock: Clock, **car: object) -> tuple[Coordinator, SimVehicle]:
    settings = load_settings({}, env_file=None, state_dir=str(tmp_path), time_zone="America/New_York")
    awake = (clock.now + timedelta(minutes=15)).isoformat()  # just plugged in / just parked: awake
    vehicle = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), awake_until=awake, **car))
    link = VehicleLink(vehicle, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40, zone=NY)
    return Coordinator(settings, link, DemoForecast(), demo_trips(NY, tmp_path), mode="demo"), vehicle


def test_an_unplugged_sleeping_car_is_never_woken_or_commanded(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    coord, car = make(tmp_path, clock, plugged_in=False, soc=15.0, amps=8)
    for _ in range(100):  # a day and a half of 14-minute ticks
        coord.tick(clock())
        clock.advance(minutes=14)
    assert car.calls.wakes == 0 and car.calls.commands == 0
    state = json.loads((tmp_path / "state.json").read_text())
    assert car_section(state, FIRST_CAR)["decision"]["sent"] == [] and state["health"]["tesla"]["wakes"] == 0


def test_a_second_identical_tick_sends_nothing(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    coord, car = make(tmp_path, clock, plugged_in=True, soc=45.0, amps=5, limit=60)
    first = coord.tick(clock())
    assert [s for s in first.report.sent if s["ok"]], "the first tick should have changed something"
    commands_after_first = car.calls.commands
    second = coord.tick(clock())
    assert second.report.sent == [] and car.calls.commands == commands_after_first


def test_an_evening_and_night_costs_at_most_one_wake_and_six_commands(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 24, 18, 0, tzinfo=NY))  # a Tuesday evening, plugged in at 18:00
    coord, car = make(tmp_path, clock, plugged_in=True, soc=35.0, amps=16, limit=80)
    asleep_reads = 0
    while clock.now < datetime(2026, 11, 25, 7, 30, tzinfo=NY):  # leaves at 07:30
        asleep_before = car.summary().state == "asleep"
        data_before = car.calls.data
        coord.tick(clock())
        if asleep_before and car.calls.data > data_before and not coord.link.usage.wakes_today:
            asleep_reads += 1
        clock.advance(minutes=14)
    assert car.calls.wakes <= 1 and car.calls.commands <= 6, car.calls
    assert asleep_reads == 0
    car.advance()
    assert car.s.soc >= 79  # and the car is ready: charged to its limit by the morning


def test_a_simulated_2026_car_charges_the_plan_by_its_own_schedule(tmp_path: Path) -> None:
    """Issue 15: the demo's car on firmware 2024.26+ gets the plan as its own charge schedule (no scheduled
    departure, which would pile schedules up there), starts by itself and is ready by the morning, for a command or
    two and no wake. It holds last night's schedule, as after its first night with the scheduler."""
    clock = Clock(datetime(2026, 11, 24, 18, 0, tzinfo=NY))  # a Tuesday evening, plugged in at 18:00
    settings = load_settings({}, env_file=None, state_dir=str(tmp_path), time_zone="America/New_York",
                             tesla_backend="sim")
    awake = (clock.now + timedelta(minutes=15)).isoformat()
    car = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), awake_until=awake, plugged_in=True,
                                            soc=35.0, amps=32, limit=80, firmware="2026.38.4"))
    last_night = {"id": 4_102_444_800, "name": "Charge scheduler", "days_of_week": "All", "enabled": True,
                  "start_enabled": True, "start_time": 23 * 60, "end_enabled": True, "end_time": 7 * 60,
                  "lat": car.s.latitude, "lon": car.s.longitude}
    assert car.execute(Command("add_charge_schedule", last_night)).ok
    car.calls = CallCounter()
    link = VehicleLink(car, tmp_path, data_min_interval_min=10, data_idle_interval_min=30, wakes_per_day=4,
                       commands_per_day=40, zone=NY)
    coord = Coordinator(settings, link, DemoForecast(), demo_trips(NY, tmp_path), mode="demo")
    sent: list[str] = []
    while clock.now < datetime(2026, 11, 25, 7, 30, tzinfo=NY):
        sent += [s["name"] for s in coord.tick(clock()).report.sent if s["ok"]]
        clock.advance(minutes=14)
    assert "set_scheduled_departure" not in sent
    assert [x["id"] for x in car.s.schedules] == [4_102_444_800]
    assert car.s.soc >= 79 and car.calls.commands <= 2 and car.calls.wakes == 0, (sent, car.calls)
    assert car.s.by_schedule or any(x["start_time"] != 23 * 60 for x in car.s.schedules) or "charge_start" in sent
