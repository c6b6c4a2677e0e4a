"""An evening and a night of the real daemon tick (coordinator + vehicle link) on the Fleet backend against the fake
Fleet API: plugged in at 18:00, leaves at 07:30, a tick every 14 minutes on an injected clock. What it cost is read
from the fake's own request log, not from the client's counters."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clients.tesla_fleet import FleetVehicle, save_token
from service.coordinator import Coordinator
from service.demo import DemoForecast
from service.settings import load_settings
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi

NY = ZoneInfo("America/New_York")


def simulate_night(tmp_path: Path, *, soc: float = 40.0, data_interval_min: float = 10.0) -> tuple[FakeFleetApi, list,
                                                                                                   dict]:
    clock = Clock(datetime(2026, 11, 27, 17, 2, tzinfo=NY))
    car = FakeCar(now=clock.now, zone="America/New_York", battery_level=soc, plugged=False, state="asleep")
    with FakeFleetApi(car) as fake:
        token = tmp_path / "tesla_fleet_token.json"
        save_token(token, fake.grant())
        settings = load_settings({}, env_file=None, state_dir=str(tmp_path), time_zone="America/New_York",
                                 tesla_backend="fleet", default_departure=time(7, 30),
                                 vehicle_data_min_interval_min=data_interval_min)
        vehicle = FleetVehicle(fake.url, token_file=token, client_id=fake.client_id, token_url=fake.url,
                               vin=car.vin, clock=clock, sleep=lambda s: None)
        link = VehicleLink.from_settings(vehicle, settings)
        coord = Coordinator(settings, link, DemoForecast(), None, mode="live", interval_min=14)
        plug_at = datetime(2026, 11, 28, 18, 0, tzinfo=NY) - timedelta(days=1)
        leave_at = datetime(2026, 11, 28, 7, 30, tzinfo=NY)
        results, timeline = [], {"asleep_ticks": 0, "ticks": 0}
        while clock.now < leave_at:
            if not car.plugged and clock.now >= plug_at:
                car.plug_in()
            timeline["ticks"] += 1
            timeline["asleep_ticks"] += car.state != "online"
            results.append(coord.tick(clock()))
            clock.advance(minutes=14)
            car.advance(clock.now - car.now)
        timeline["final_soc"] = car.battery
        timeline["final_limit"] = car.limit
        timeline["cost"] = vehicle.calls.cost_usd()
        return fake, results, timeline


@pytest.mark.parametrize("data_interval_min", [
    10.0,  # the default: every 10 min while charging, every 30 min otherwise, so the car can sleep when idle
    60.0,  # data at most hourly: the car sleeps once full, and amps alone never wake it
])
def test_a_night_costs_at_most_one_wake_and_six_commands(tmp_path, data_interval_min):
    fake, results, timeline = simulate_night(tmp_path, data_interval_min=data_interval_min)
    wakes = fake.requests("POST", r"/wake_up$")
    commands = fake.requests("POST", r"/command/")
    data = fake.requests("GET", r"/vehicle_data$")
    summaries = fake.requests("GET", r"^/api/1/vehicles$")
    names = [c.path.rsplit("/", 1)[1] for c in commands]
    print(f"\nnight on the Fleet fake, data every >= {data_interval_min:g} min: {timeline['ticks']} ticks, "
          f"{len(summaries)} free summaries, {len(data)} data reads, {len(wakes)} wakes, {len(commands)} commands "
          f"({names}), {fake.car.asleep_reads} reads of a sleeping car, asleep at {timeline['asleep_ticks']} ticks, "
          f"est. ${timeline['cost']:.3f}, SoC {timeline['final_soc']:.0f}% by 07:30 (limit {timeline['final_limit']})")
    assert len(wakes) <= 1
    assert len(commands) <= 6
    assert fake.car.asleep_reads == 0, "vehicle_data was asked of a sleeping car"
    # one free summary a tick, a few more only while waking the car
    assert timeline["ticks"] <= len(summaries) <= timeline["ticks"] + 5 * len(wakes)
    assert timeline["final_soc"] >= 70, "the car was not charged by the morning"
