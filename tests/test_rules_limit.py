"""The charge limit: the everyday limit unless the day's trips need more, raised only close to departure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charge_logic.rules import decide
from tests.rules_support import CFG, NY, args, car, local, said, trip

SAT = (2026, 11, 28)
NIGHT = local(NY, 2026, 11, 27, 22, 0)  # departure 07:15 is 9.25 h away
EARLY = local(NY, *SAT, 2, 0)  # 5.25 h before departure


def day(*one_way_km: float) -> list:
    """Trips on Saturday from 08:00, one an hour, with 30 min drives: the first sets departure 07:15."""
    return [trip(f"Stop {i + 1}", local(NY, *SAT, 8 + i, 0), km, 30.0) for i, km in enumerate(one_way_km)]


LIMITS = [
    # name, now, trips, car changes, expected limit, needed %, phrase
    ("no trips: the reserve", NIGHT, [], {}, 80, 10.0, "the 10 % reserve is needed"),
    ("short trip under the base", NIGHT, day(45.0), {}, 80, 30.4, "everyday limit covers"),
    ("long day, close to departure", EARLY, day(100.0, 60.0), {}, 83, 82.5, "raised to 83 %"),
    ("long day, still far from departure", NIGHT, day(100.0, 60.0), {}, 80, 82.5, "goes up only within 6 h"),
    ("more than the top limit", EARLY, day(200.0), {}, 90, 100.7, "plan a charging stop"),
    ("the car's maximum caps it", EARLY, day(100.0, 60.0), {"charge_limit_soc_max": 82}, 82, 82.5,
     "the car's maximum 82 %"),
    ("unknown distance is not counted", EARLY, day(45.0) + [trip("Mystery", local(NY, *SAT, 12, 0), note="no key")],
     {}, 80, 30.4, "Distance unknown, not counted: Mystery (no key)"),
    ("the day after the next charge does not count", EARLY,
     day(45.0) + [trip("Sunday trip", local(NY, 2026, 11, 29, 9, 0), 300.0, 200.0)], {}, 80, 30.4, "Stop 1"),
    ("an all-day trip with a place counts", EARLY,
     day(45.0) + [trip("Cabin", local(NY, *SAT, 0, 0), 60.0, 50.0, all_day=True, hours=24)], {}, 80, 57.6,
     "Cabin 2 × 60.0 km"),  # 210 km × 170 Wh/km = 35.7 kWh of 75 = 47.6 % + 10 %
]


@pytest.mark.parametrize("now, trips, changes, limit, needed, phrase", [pytest.param(*c[1:], id=c[0]) for c in LIMITS])
def test_limit_for_the_trips(now, trips, changes, limit, needed, phrase):
    decision = decide(now, car(charge_limit_soc=70, **changes), [], trips, CFG, zone=NY)
    assert decision.charge_limit == limit
    assert args(decision, "set_charge_limit") == {"percent": limit}
    assert decision.needed_soc == pytest.approx(needed, abs=0.05)
    assert said(decision, phrase), decision.reasons


def test_the_limit_already_set_is_not_sent_again():
    decision = decide(NIGHT, car(charge_limit_soc=80), [], day(45.0), CFG, zone=NY)
    assert decision.charge_limit == 80 and args(decision, "set_charge_limit") is None


def test_never_below_the_minimum_limit_nor_the_cars():
    config = replace(CFG, base_charge_limit=55, min_charge_limit=50)
    decision = decide(NIGHT, car(charge_limit_soc=80, charge_limit_soc_min=60), [], [], config, zone=NY)
    assert decision.charge_limit == 60


def test_consumption_and_battery_are_settings():
    config = replace(CFG, consumption_wh_per_km=250.0, battery_kwh=50.0, reserve_soc=20)
    decision = decide(EARLY, car(), [], day(40.0), config, zone=NY)
    assert decision.needed_soc == 60.0  # 20 % + 80 km × 250 Wh/km of 50 kWh (40 %)


@pytest.mark.parametrize("settings, car_range, bounds", [
    ({}, (None, None), (50, 90)),  # the settings' range: min_charge_limit .. top_charge_limit
    ({"top_charge_limit": 100}, (None, None), (50, 94)),  # never at full_power_limit: it would read as "charge now"
    ({}, (None, 85), (50, 85)),  # the car's own maximum wins
    ({}, (60, None), (60, 90)),  # and its minimum
    ({"min_charge_limit": 70}, (None, 60), (60, 60)),  # a car that cannot reach the settings' floor: its maximum
])
def test_the_limits_the_scheduler_may_set(settings: dict, car_range: tuple, bounds: tuple) -> None:
    from charge_logic.limit import limit_bounds
    from charge_logic.models import VehicleSnapshot

    vehicle = VehicleSnapshot("…0001", "car", "online", charge_limit_soc_min=car_range[0],
                              charge_limit_soc_max=car_range[1])
    assert limit_bounds(replace(CFG, **settings), vehicle) == bounds
