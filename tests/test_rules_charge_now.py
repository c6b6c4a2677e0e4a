"""Charge now at full power when the battery is low or the owner asked for a full charge; stop once above the
minimum so the car's own schedule takes over."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from charge_logic.rules import decide
from tests.rules_support import CFG, NY, args, car, forecast, local, names, said, trip

EVE = local(NY, 2026, 11, 27, 22, 0)
LATE = local(NY, 2026, 11, 28, 2, 30)  # the car's off-peak charge to 80 % by 08:00 starts about 02:56
NO_SCHEDULE = {"scheduled_charging_mode": "Off", "off_peak_charging_enabled": False}

CASES = [
    # name, now, car changes, mode, amps, commands expected (subset), commands that must not appear, phrase
    ("below min, stopped: start at full power", EVE, {"battery_level": 15}, "charge_now_low_soc", 32,
     {"charge_start", "set_charging_amps"}, {"charge_stop"}, "below 20 %: charging now at the full 32 A"),
    ("below min, already charging: no second start", EVE, {"battery_level": 15, "charging_state": "Charging"},
     "charge_now_low_soc", 32, {"set_charging_amps"}, {"charge_start", "charge_stop"}, "below 20 %"),
    ("below min on a 16 A car", EVE, {"battery_level": 5, "charge_current_request_max": 16,
                                      "charge_current_request": 16}, "charge_now_low_soc", 16, {"charge_start"},
     {"set_charging_amps"}, "the full 16 A (the car's maximum)"),
    ("below min, complete at an odd limit", EVE, {"battery_level": 15, "charging_state": "Complete"},
     "charge_now_low_soc", 32, {"charge_start"}, set(), "below 20 %"),
    ("at min, charging long before the schedule: stop", EVE, {"battery_level": 20, "charging_state": "Charging"},
     "scheduled", 24, {"charge_stop"}, {"charge_start"}, "charging stops now"),
    ("above min, charging, no schedule in the car: keep charging", EVE,
     {"charging_state": "Charging", **NO_SCHEDULE}, "scheduled", 24, set(), {"charge_stop", "charge_start"},
     "no off-peak departure schedule"),
    ("above min, charging near the schedule's start: keep", LATE, {"charging_state": "Charging"}, "scheduled", 24,
     set(), {"charge_stop", "charge_start"}, "off-peak schedule charges it to 80 %"),
    ("above min, waiting for the schedule", EVE, {}, "scheduled", 24, set(), {"charge_stop", "charge_start"},
     "from about"),
    ("full charge asked at 100 %", EVE, {"charge_limit_soc": 100}, "charge_now_full", 32, {"charge_start"},
     {"set_charge_limit"}, "set to 100 %"),
    ("full charge asked at 95 %", EVE, {"charge_limit_soc": 95, "charging_state": "Charging"}, "charge_now_full", 32,
     set(), {"set_charge_limit", "charge_start", "charge_stop"}, "at or above 95 %"),
    ("94 % is not a full-charge request", EVE, {"charge_limit_soc": 94}, "scheduled", 24, {"set_charge_limit"},
     {"charge_start"}, "Charge limit 80 %"),
    ("full charge already done", EVE, {"charge_limit_soc": 100, "battery_level": 100, "charging_state": "Complete"},
     "charge_now_full", 32, set(), {"charge_start", "set_charge_limit"}, "set to 100 %"),
    ("low and a full charge asked", EVE, {"battery_level": 10, "charge_limit_soc": 100}, "charge_now_low_soc", 32,
     {"charge_start"}, {"set_charge_limit"}, "also charging now"),
]


@pytest.mark.parametrize("now, changes, mode, amps, present, absent, phrase",
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_charge_now_rules(now, changes, mode, amps, present, absent, phrase):
    decision = decide(now, car(**changes), forecast(now, 85_000), [], CFG, zone=NY)  # 75 % band
    sent = set(names(decision))
    assert decision.mode == mode
    assert decision.amps == amps
    assert present <= sent, decision.commands
    assert not (absent & sent), decision.commands
    assert said(decision, phrase), decision.reasons


def test_start_comes_after_the_limit_is_raised():
    decision = decide(EVE, car(battery_level=15, charge_limit_soc=10), [], [], CFG, zone=NY)
    assert names(decision).index("set_charge_limit") < names(decision).index("charge_start")


def test_the_full_charge_limit_is_left_as_the_owner_set_it():
    decision = decide(EVE, car(charge_limit_soc=100), [], [], CFG, zone=NY)
    assert decision.charge_limit == 100 and args(decision, "set_charge_limit") is None


def test_min_soc_is_a_setting():
    config = replace(CFG, min_soc=50)
    assert decide(EVE, car(battery_level=45), [], [], config, zone=NY).mode == "charge_now_low_soc"
    assert decide(EVE, car(battery_level=45), [], [], CFG, zone=NY).mode == "scheduled"


def test_no_stop_when_the_schedule_could_not_finish_in_time():
    """At 8 A (busy grid) 20 → 80 % takes 13 h: the amps rise and charging goes on, or the driver is short at 08:00."""
    decision = decide(EVE, car(battery_level=20, charging_state="Charging"), forecast(EVE, 105_000), [], CFG, zone=NY)
    assert decision.amps > 8 and decision.expected_soc[-1][1] >= 80
    assert "charge_stop" not in names(decision)
    assert decision.windows[0].start - EVE < timedelta(minutes=15)


def test_a_charge_the_schedule_would_miss_is_started():
    """At 05:00, 45 → 80 % takes 3.8 h even at 32 A: waiting for the car's (maybe paused) schedule means short at
    08:00, so charging starts now at full power."""
    now = local(NY, 2026, 11, 28, 5, 0)
    decision = decide(now, car(), forecast(now, 105_000), [], CFG, zone=NY)
    assert decision.mode == "scheduled" and decision.charge_now is True
    assert names(decision)[-1] == "charge_start" and decision.amps == 32
    assert said(decision, "must start now")
    assert decision.windows[0].start == now


def test_a_charge_with_time_to_spare_is_left_to_the_car():
    now = local(NY, 2026, 11, 28, 1, 0)
    decision = decide(now, car(), forecast(now, 105_000), [], CFG, zone=NY)
    assert "charge_start" not in names(decision) and decision.charge_now is None
    assert decision.windows[0].start > now


MORNING = local(NY, 2026, 11, 27, 10, 30)  # after the 10:00 latest departure: today's trips cannot set it


def afternoon(km: float) -> list:
    return [trip("Client visit", local(NY, 2026, 11, 27, 14, 0), km, 60.0)]


TRIP_FIRST = [
    # name, battery, one-way km, windows, mode, charge_start?, limit sent, phrase
    ("long trip this afternoon, battery too low", 40, 150.0, None, "charge_now_trip", True, None,
     "needs 78.0 % and the battery has 40 %"),
    ("longer than the everyday limit", 40, 200.0, None, "charge_now_trip", True, 90, "needs 90.0 %"),
    ("enough already", 85, 150.0, None, "scheduled", False, None, "does not set the departure"),
    ("short trip", 40, 5.0, None, "scheduled", False, None, "does not set the departure"),
    ("the planner's plan decides instead", 40, 150.0, [], "plan_waiting", False, None, "no more charging"),
]


@pytest.mark.parametrize("battery, km, windows, mode, start, limit, phrase",
                         [pytest.param(*c[1:], id=c[0]) for c in TRIP_FIRST])
def test_a_trip_before_the_scheduled_departure_is_charged_for(battery, km, windows, mode, start, limit, phrase):
    decision = decide(MORNING, car(battery_level=battery), forecast(MORNING, 105_000), afternoon(km), CFG, zone=NY,
                      windows=windows)
    assert decision.mode == mode
    assert ("charge_start" in names(decision)) is start
    assert args(decision, "set_charge_limit") == (None if limit is None else {"percent": limit})
    assert decision.departure == local(NY, 2026, 11, 28, 8, 0)  # tomorrow's departure is still the default
    assert said(decision, phrase), decision.reasons


def test_charging_for_the_trip_stops_once_it_has_enough():
    now = local(NY, 2026, 11, 27, 12, 0)
    decision = decide(now, car(battery_level=79, charging_state="Charging"), forecast(now, 105_000), afternoon(150.0),
                      CFG, zone=NY)
    assert decision.mode == "scheduled" and "charge_stop" in names(decision)
