"""The simulated car behaves like a car where the scheduler cares: it sleeps, charges, obeys, runs its schedule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from charge_logic.models import Command
from clients.vehicle import VehicleAsleep
from clients.vehicle_sim import SimCarState, SimVehicle
from tests.clock import Clock

NY = ZoneInfo("America/New_York")


def car(clock: Clock, **kw: object) -> SimVehicle:
    return SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), awake_until=clock.now.isoformat(), **kw))


def test_it_falls_asleep_and_refuses_data_and_commands_until_woken() -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = car(clock, scheduled_departure=False)
    clock.advance(minutes=1)
    assert v.summary().state == "asleep"
    with pytest.raises(VehicleAsleep):
        v.snapshot()
    with pytest.raises(VehicleAsleep):
        v.execute(Command("charge_start"))
    assert v.wake() and v.summary().state == "online"
    assert v.calls.wakes == 1 and v.calls.data == 1 and v.calls.commands == 1


def test_it_charges_at_amps_times_volts_and_stops_at_the_limit() -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = car(clock, soc=40.0, limit=80, scheduled_departure=False)
    v.wake()
    v.execute(Command("set_charging_amps", {"charging_amps": 32}))
    assert v.execute(Command("charge_start")).ok
    clock.advance(hours=1)
    snap = v.snapshot()
    # 32 A x 240 V = 7.68 kWh in an hour = 10.2 % of 75 kWh
    assert snap.battery_level == 50 and snap.charging_state == "Charging" and snap.charger_actual_current == 32
    clock.advance(hours=10)
    snap = v.snapshot() if v.summary().state == "online" else (v.wake(), v.snapshot())[1]
    assert snap.battery_level == 80 and snap.charging_state == "Complete"


def test_benign_replies_are_successes() -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = car(clock, scheduled_departure=False)
    v.wake()
    assert v.execute(Command("charge_stop")).reason == "not_charging"
    assert v.execute(Command("set_charge_limit", {"percent": 80})).reason == "already_set"


def test_its_own_departure_schedule_charges_with_nobody_sending_anything() -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = car(clock, soc=50.0, limit=80, amps=16, off_peak_end_minutes=7 * 60)
    clock.advance(hours=13, minutes=5)  # 07:05 next morning
    v.wake()
    snap = v.snapshot()
    assert snap.battery_level >= 79  # 22.5 kWh at 3.84 kW: it started about 01:10 and finished by 07:00


def test_state_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = SimVehicle(clock, NY, path=tmp_path / "car.json")
    v.wake()
    v.execute(Command("set_charge_limit", {"percent": 90}))
    again = SimVehicle(clock, NY, path=tmp_path / "car.json")
    again.wake()
    assert again.snapshot().charge_limit_soc == 90


def test_on_2026_firmware_it_keeps_charge_schedules_and_starts_itself_by_them() -> None:
    """Issue 15: the simulated car does both firmwares. On 2024.26+ a schedule made out to where it is starts the
    charge at its start minute and stops it at its end; the scheduled-departure fields read Off; each
    set_scheduled_departure adds a schedule (vehicle-command issue 290)."""
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = car(clock, soc=40.0, limit=80, plugged_in=False, firmware="2026.38.4")
    v.wake()
    here = {"days_of_week": "All", "enabled": True, "start_enabled": True, "start_time": 23 * 60,
            "end_enabled": True, "end_time": 23 * 60 + 30, "lat": v.s.latitude, "lon": v.s.longitude}
    assert v.execute(Command("add_charge_schedule", {"id": 7, **here})).ok
    assert v.execute(Command("add_charge_schedule", {"id": 7, **here, "start_time": 22 * 60})).ok  # replaced
    v.plug(True)  # a schedule applies here and it is not inside it: it waits
    snap = v.snapshot()
    assert snap.charging_state == "Stopped" and snap.scheduled_charging_mode == "Off"
    assert [(s.id, s.start_time) for s in snap.charge_schedules or ()] == [(7, 22 * 60)]
    assert snap.car_version == "2026.38.4"
    clock.advance(minutes=4 * 60 + 5)  # 22:05
    v.wake()
    assert v.snapshot().charging_state == "Charging"
    clock.advance(minutes=90)  # 23:35: its end stopped the charge it started
    v.wake()
    assert v.snapshot().charging_state == "Stopped" and v.s.soc < 80
    v.execute(Command("set_scheduled_departure", {"enable": True, "departure_time": 450, "end_off_peak_time": 420}))
    v.execute(Command("set_scheduled_departure", {"enable": True, "departure_time": 450, "end_off_peak_time": 420}))
    assert len(v.s.schedules) == 3
    assert v.execute(Command("remove_charge_schedule", {"id": 7})).ok and len(v.s.schedules) == 2


def test_an_older_firmware_refuses_charge_schedules() -> None:
    clock = Clock(datetime(2026, 11, 27, 18, 0, tzinfo=NY))
    v = car(clock)
    v.wake()
    result = v.execute(Command("add_charge_schedule", {"id": 7, "days_of_week": "All", "enabled": True,
                                                       "start_enabled": True, "end_enabled": False, "lat": 0,
                                                       "lon": 0}))
    assert (result.ok, result.reason) == (False, "not_supported") and v.snapshot().charge_schedules is None
