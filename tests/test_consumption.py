"""The car's own Wh/km, from its drives between plug-ins: in the rules' trip energy once there are enough km."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from charge_logic.consumption import Drive, learn_consumption
from service.state_schema import FIRST_CAR, car_section
from tests.clock import Clock
from tests.test_coordinator import NY, make

KWH = 75.0  # 1 % of the battery = 750 Wh


@pytest.mark.parametrize("name, drives, wh_per_km", [
    ("nothing driven yet", [], None),
    ("too few km to trust", [Drive(60, 16)], None),  # 200 Wh/km, but only 60 km
    ("two commutes", [Drive(60, 16), Drive(60, 16)], 200.0),
    ("weighted by distance, not by drive", [Drive(100, 20), Drive(20, 8)], 175.0),  # (15 + 6) kWh / 120 km
    ("a charge away from home is left out", [Drive(60, 16), Drive(300, 10), Drive(60, 16)], 200.0),  # 25 Wh/km
    ("a partial charge on the way is left out", [Drive(60, 16)] * 3 + [Drive(300, 30)], 200.0),  # 75 Wh/km
    ("a short hop is left out", [Drive(60, 16), Drive(2, 3), Drive(60, 16)], 200.0),
    ("a charge that raised the SoC is left out", [Drive(60, 16), Drive(40, -20), Drive(60, 16)], 200.0),
    ("only the last drives count: winter came", [Drive(100, 20)] * 5 + [Drive(100, 40)] * 30, 300.0),
])
def test_learned_consumption(name: str, drives: list[Drive], wh_per_km: float | None) -> None:
    learned = learn_consumption(drives, KWH, 170.0)
    assert learned.wh_per_km == (pytest.approx(wh_per_km) if wh_per_km else None), name
    assert ("from the settings" in learned.reason) == (wh_per_km is None)
    assert "170" in learned.reason  # the setting is always named beside what is used


def test_the_daemon_learns_a_winter_car_and_plans_its_trips_with_it(tmp_path: Path) -> None:
    """Three evenings home from a 60 km day at 240 Wh/km (the setting says 170): the trips ahead are costed at 240."""
    clock = Clock(datetime(2026, 11, 23, 18, 0, tzinfo=NY))
    coord, car = make(tmp_path, clock, plugged_in=True, soc=50.0, amps=16, limit=80)
    for _day in range(3):
        leave = clock.now.replace(hour=7, minute=30) + timedelta(days=1)
        back = leave.replace(hour=18, minute=0)
        while clock.now < back:  # a tick every 14 minutes, all day: at home, then away
            if clock.now >= leave and car.s.plugged_in:
                car.drive(60, wh_per_km=240.0)  # to work and back, in one go
            result = coord.tick(clock())
            clock.advance(minutes=14)
        car.plug(True)
    coord.tick(clock())
    clock.advance(minutes=14)
    result = coord.tick(clock())
    reasons = " ".join(result.decision.reasons)
    learned = re.search(r"Consumption (\d+) Wh/km learned from the car's last 3 drives "
                        r"\(180 km; the setting says 170\)", reasons)
    assert learned, reasons
    wh = int(learned.group(1))
    assert 235 <= wh <= 255  # 240, seen through the car's whole-percent SoC
    battery = re.search(r"Battery ([\d.]+) kWh learned from the car's last 3 charges at home \(the setting says 75\)",
                        reasons)  # its charges at home say how big the battery is, too
    assert battery, reasons
    kwh = float(battery.group(1))
    assert 71 <= kwh <= 77  # 75, seen through the car's whole-percent SoC
    trips = re.search(r"= (\d+) km ≈ ([\d.]+) % of the battery", reasons)  # the rules cost the trips ahead with it
    assert trips, reasons
    assert float(trips.group(2)) == pytest.approx(int(trips.group(1)) * wh / (kwh * 1000) * 100, abs=0.3)
    events = [e for e in car_section(json.loads(coord.state_path.read_text()), FIRST_CAR)["events"] if e["distance_km"]]
    assert events and all(e["energy_kwh"] == pytest.approx(2 * e["distance_km"] * wh / 1000, abs=0.2) for e in events)
