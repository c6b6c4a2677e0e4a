"""Each guard: the owner sees why nothing happens, and the car gets no command (so it is never woken for it)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charge_logic.models import ChargeWindow, ForecastPoint
from charge_logic.rules import decide
from tests.rules_support import CFG, NY, car, forecast, local, said, trip

NOW = local(NY, 2026, 11, 27, 22, 0)
TRIPS = [trip("Dentist", local(NY, 2026, 11, 28, 9, 0), 45.0, 40.0)]

GUARDS = [
    # name, vehicle, at_home, mode, phrase the owner reads
    ("no data yet", None, True, "no_vehicle_data", "No data from the car"),
    ("asleep, only the summary", car(state="asleep", battery_level=None, charging_state=None,
                                     conn_charge_cable=None), True, "no_charge_data", "asleep"),
    ("online without charge data", car(battery_level=None, charging_state=None, conn_charge_cable=None), True,
     "no_charge_data", "no charge data"),
    ("unplugged", car(charging_state="Disconnected", conn_charge_cable="<invalid>"), True, "not_plugged_in",
     "not plugged in"),
    ("unplugged and low", car(battery_level=12, charging_state="Disconnected", conn_charge_cable="<invalid>"), True,
     "not_plugged_in", "Plug in", "12 %"),
    ("away from home", car(battery_level=12, charging_state="Stopped"), False, "not_at_home", "away from home"),
    ("supercharging", car(battery_level=12, charging_state="Charging", fast_charger_present=True,
                          conn_charge_cable="IEC"), False, "supercharging", "fast charger"),
    ("supercharging, location unknown", car(charging_state="Charging", fast_charger_present=True), None,
     "supercharging", "fast charger"),
    ("no power from the charger, low battery", car(battery_level=10, charging_state="NoPower"), True, "no_power",
     "no power"),
    ("no power, full charge asked", car(charging_state="NoPower", charge_limit_soc=100), True, "no_power",
     "no start is sent"),
]


@pytest.mark.parametrize("vehicle, at_home, mode, phrases",
                         [pytest.param(v, h, m, p, id=n) for n, v, h, m, *p in GUARDS])
def test_guard_sends_nothing_and_says_why(vehicle, at_home, mode, phrases):
    decision = decide(NOW, vehicle, forecast(NOW, 95_000), TRIPS, CFG, zone=NY, at_home=at_home)
    assert decision.mode == mode
    assert decision.commands == ()
    assert decision.charge_now is None and decision.amps is None and decision.charge_limit is None
    assert decision.windows == () and decision.expected_soc == ()
    assert said(decision, *phrases), decision.reasons


def test_unplugged_with_enough_charge_does_not_nag():
    decision = decide(NOW, car(battery_level=70, charging_state="Disconnected", conn_charge_cable="<invalid>"),
                      forecast(NOW, 95_000), TRIPS, CFG, zone=NY)
    assert not said(decision, "Plug in")
    assert decision.needed_soc == 30.4  # 2 × 45 km × 170 Wh/km of 75 kWh + 10 % reserve


def test_caller_notes_reach_the_owner_even_under_a_guard():
    decision = decide(NOW, None, [], [], CFG, zone=NY, notes=("Forecast is 5 h old",))
    assert decision.reasons[-1] == "Forecast is 5 h old"


def test_naive_now_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="now must be a timezone-aware"):
        decide(NOW.replace(tzinfo=None), car(), [], [], CFG, zone=NY)


def test_a_zone_name_instead_of_a_zone_is_refused_clearly():
    with pytest.raises(ValueError, match="ZoneInfo"):
        decide(NOW, car(), [], [], CFG, zone="America/New_York")


def test_a_naive_planner_window_is_refused_clearly():
    window = ChargeWindow(NOW.replace(tzinfo=None), NOW.replace(tzinfo=None), 16)
    with pytest.raises(ValueError, match="planner window start"):
        decide(NOW, car(), [], [], CFG, zone=NY, windows=[window])


def test_a_naive_forecast_is_refused_clearly():
    with pytest.raises(ValueError, match="forecast point start"):
        decide(NOW, car(), [ForecastPoint(NOW.replace(tzinfo=None), 90_000.0)], [], CFG, zone=NY)


def test_settings_that_contradict_are_refused_clearly():
    with pytest.raises(ValueError, match="min_amps 40 is above max_amps 32"):
        decide(NOW, car(), [], [], replace(CFG, min_amps=40), zone=NY)
