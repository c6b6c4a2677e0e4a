"""The battery's usable kWh, from the car's own charges at home: in the plans once three charges say it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from charge_logic.battery import Charge, learn_capacity
from charge_logic.models import VehicleSnapshot
from charge_logic.power import CHARGE_EFFICIENCY
from service.session_log import SessionLog
from tests.clock import Clock
from tests.test_coordinator import NY, make

RWD = [Charge(20, 11.5), Charge(30, 17.25), Charge(40, 23.0)]  # a Model 3 RWD: 57.5 kWh


@pytest.mark.parametrize("name, charges, kwh", [
    ("nothing charged yet", [], None),
    ("two charges are not enough", RWD[:2], None),
    ("three charges", RWD, 57.5),
    ("a top-up of a few percent is left out", [Charge(4, 6.0), *RWD[:2]], None),
    ("a counter stale from the plug-in before is outvoted", [*RWD, Charge(20, 30.0)], 57.5),
    ("an impossible count is left out", [*RWD[:2], Charge(20, 80.0)], None),  # 400 kWh
    ("whole-percent steps average out", [Charge(19, 11.5), Charge(21, 11.5), Charge(20, 11.5)], 57.5),
    ("only the last charges count: the pack aged", [Charge(20, 15.0)] * 30 + [Charge(20, 14.0)] * 20, 70.0),
])
def test_learned_capacity(name: str, charges: list[Charge], kwh: float | None) -> None:
    learned = learn_capacity(charges, 75.0)
    assert learned.kwh == (pytest.approx(kwh, abs=0.05) if kwh else None), name
    assert ("from the settings" in learned.reason) == (kwh is None)
    assert "75" in learned.reason  # the setting is always named beside what is used


def test_the_daemon_learns_a_smaller_battery_than_the_setting(tmp_path: Path) -> None:
    """A 57.5 kWh car with BATTERY_KWH left at 75: after three evenings' charges the plans use ~57.5, and the
    household's sessions count what the car really took, not 75 kWh's worth of percent."""
    clock = Clock(datetime(2026, 11, 23, 18, 0, tzinfo=NY))
    coord, car = make(tmp_path, clock, plugged_in=True, soc=50.0, amps=16, limit=80, battery_kwh=57.5)
    for _day in range(3):
        leave = clock.now.replace(hour=7, minute=30) + timedelta(days=1)
        back = leave.replace(hour=18, minute=0)
        while clock.now < back:
            if clock.now >= leave and car.s.plugged_in:
                car.drive(70, wh_per_km=170.0)  # 11.9 kWh: about 20 % of this battery
            coord.tick(clock())
            clock.advance(minutes=14)
        car.plug(True)
    result = coord.tick(clock())
    reasons = " ".join(result.decision.reasons)
    learned = re.search(r"Battery (\d+) kWh learned from the car's last (\d) charges at home \(the setting says 75\)",
                        reasons)
    assert learned, reasons
    assert 55 <= int(learned.group(1)) <= 60 and coord.rules.battery_kwh == pytest.approx(57.5, rel=0.04)
    taken = [s.energy_kwh for s in coord.sessions()]
    # each evening put back one day's drive, at the wall (the car counts what reached the battery)
    assert taken and all(abs(e * CHARGE_EFFICIENCY - 11.9) < 1.0 for e in taken[1:]), taken


def reading(at: datetime, soc: int | None, counter: float | None, plugged: bool = True) -> VehicleSnapshot:
    return VehicleSnapshot("…0001", "Car", "online", read_at=at, battery_level=soc,
                           charging_state="Charging" if plugged else "Disconnected", charge_energy_added=counter)


@pytest.mark.parametrize("name, readings", [
    ("counted from plug-in", [(40, 0.0), (50, 5.75), (60, 11.5)]),
    ("the count from the plug-in before, until charging starts", [(40, 30.0), (40, 30.0), (50, 5.75), (60, 11.5)]),
    ("first read after charging began", [(43, 1.8), (53, 7.55), (63, 13.3)]),
    ("asleep at plug-in, read later", [(None, None), (43, 1.8), (63, 13.3)]),
])
def test_the_session_log_pairs_the_cars_count_with_the_soc_it_gained(tmp_path: Path, name, readings) -> None:
    """Whatever the car's counter showed at the first reading, three such charges measure a 57.5 kWh battery."""
    log = SessionLog(tmp_path, 75.0, datetime(2026, 11, 1, tzinfo=NY))
    t = datetime(2026, 11, 1, 18, 0, tzinfo=NY)
    for _evening in range(3):
        for soc, counter in readings:
            log.observe(t, reading(t, soc, counter))
            t += timedelta(minutes=14)
        log.observe(t, reading(t, 63, None, plugged=False))
        t += timedelta(hours=20)
    assert learn_capacity(log.charges(), 75.0).kwh == pytest.approx(57.5, abs=0.1), name
