"""Following the planner's windows, and the charging a decision implies (what the dashboard shades)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charge_logic.models import ChargeWindow
from charge_logic.rules import decide
from tests.rules_support import CFG, NY, OSLO, args, car, forecast, local, names, said, trip

EVE = local(NY, 2026, 11, 27, 22, 0)
SAT = (2026, 11, 28)
TRIPS = [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)]  # departure 08:05
W1 = ChargeWindow(local(NY, 2026, 11, 27, 21, 0), local(NY, *SAT, 1, 0), 20)
W2 = ChargeWindow(local(NY, *SAT, 3, 0), local(NY, *SAT, 6, 0), 12)
AFTER = ChargeWindow(local(NY, *SAT, 9, 0), local(NY, *SAT, 10, 0), 32)
ACROSS = ChargeWindow(local(NY, *SAT, 6, 0), local(NY, *SAT, 9, 0), 16)

PLANS = [
    # name, now, car changes, windows, mode, amps, commands present, absent, off-peak end, phrase
    ("inside a window: start at its amps", EVE, {}, [W1, W2], "plan_charging", 20,
     {"charge_start", "set_charging_amps"}, {"charge_stop"}, local(NY, *SAT, 6, 0),
     "charges now until tomorrow 01:00 at 20 A"),
    ("between windows while charging: stop", local(NY, *SAT, 2, 0), {"charging_state": "Charging"}, [W1, W2],
     "plan_waiting", None, {"charge_stop"}, {"charge_start", "set_charging_amps"}, local(NY, *SAT, 6, 0),
     "next charge starts 03:00 at 12 A"),
    ("between windows, not charging: nothing to stop", local(NY, *SAT, 2, 0), {}, [W1, W2], "plan_waiting", None,
     set(), {"charge_stop", "charge_start"}, local(NY, *SAT, 6, 0), "not charging until then"),
    # a window under way is the scheduler's own charge: the car's off-peak end stays at the departure
    ("window amps above the charger: capped", EVE, {}, [ChargeWindow(W1.start, W1.end, 40)], "plan_charging", 32,
     {"charge_start"}, set(), local(NY, *SAT, 8, 5), "at 32 A"),
    ("low battery overrides waiting", local(NY, *SAT, 2, 0), {"battery_level": 12}, [W1, W2],
     "charge_now_low_soc", 32, {"charge_start"}, {"charge_stop"}, None, "below 20 %"),
    ("empty plan", EVE, {"charging_state": "Charging"}, [], "plan_waiting", None, {"charge_stop"}, {"charge_start"},
     local(NY, *SAT, 8, 5), "no more charging"),
    ("inside a window at the limit: no start", EVE, {"battery_level": 80}, [W1], "plan_charging", 20, set(),
     {"charge_start"}, local(NY, *SAT, 8, 5), "charges now"),
    ("a window after departure does not set off-peak end", local(NY, *SAT, 2, 0), {}, [W2, AFTER], "plan_waiting",
     None, set(), {"charge_start"}, local(NY, *SAT, 6, 0), "03:00"),
    ("a window across departure ends off-peak at departure", local(NY, *SAT, 2, 0), {}, [ACROSS], "plan_waiting",
     None, set(), {"charge_start"}, local(NY, *SAT, 8, 5), "06:00"),
]


@pytest.mark.parametrize("now, changes, windows, mode, amps, present, absent, end, phrase",
                         [pytest.param(*c[1:], id=c[0]) for c in PLANS])
def test_following_the_plan(now, changes, windows, mode, amps, present, absent, end, phrase):
    decision = decide(now, car(**changes), forecast(now, 105_000), TRIPS, CFG, zone=NY, windows=windows)
    sent = set(names(decision))
    assert decision.mode == mode
    assert decision.amps == amps
    assert present <= sent and not (absent & sent), decision.commands
    assert said(decision, phrase), decision.reasons
    if end is not None:
        assert decision.off_peak_end == end
        minutes = end.hour * 60 + end.minute
        departure = args(decision, "set_scheduled_departure")
        assert departure is not None and departure["end_off_peak_time"] == minutes
        assert departure["departure_time"] == 8 * 60 + 5


def test_plan_windows_are_shown_from_now_on():
    now = local(NY, 2026, 11, 27, 23, 0)
    decision = decide(now, car(), [], TRIPS, CFG, zone=NY, windows=[W1, W2])
    assert [(w.start, w.end, w.amps) for w in decision.windows] == [(now, W1.end, 20), (W2.start, W2.end, 12)]
    socs = dict(decision.expected_soc)
    assert socs[now] == 45.0
    assert socs[W1.end] == pytest.approx(45 + 2 * 4.8 * 0.9 / 75 * 100, abs=0.1)  # 2 h at 20 A × 240 V
    assert socs[W2.start] == socs[W1.end]  # nothing added between windows


def shading_ok(decision, soc_now: float, limit: int) -> None:
    levels = [soc for _, soc in decision.expected_soc]
    times = [t for t, _ in decision.expected_soc]
    assert levels[0] == soc_now and levels[-1] <= limit
    assert levels == sorted(levels) and times == sorted(times)


def test_seed_shading_is_the_stretch_before_departure():
    decision = decide(EVE, car(), forecast(EVE, 85_000), TRIPS, CFG, zone=NY)  # 24 A
    (window,) = decision.windows
    assert window.end == decision.departure == local(NY, *SAT, 8, 5)
    assert window.amps == 24
    # 35 % of 75 kWh at 240 V × 24 A with 90 % reaching the battery: 5.06 h
    assert window.end - window.start == pytest.approx(timedelta(hours=5.06), abs=timedelta(minutes=2))
    shading_ok(decision, 45.0, 80)
    assert decision.expected_soc[-1][1] == 80.0


def test_charge_now_shading_starts_now():
    decision = decide(EVE, car(battery_level=10), [], TRIPS, CFG, zone=NY)
    (window,) = decision.windows
    assert window.start == EVE and window.amps == 32
    assert window.end - window.start == pytest.approx(timedelta(hours=52.5 / (7.68 * 0.9)), abs=timedelta(minutes=2))
    shading_ok(decision, 10.0, 80)


def test_three_phase_charging_is_faster():
    now = local(OSLO, 2026, 10, 24, 22, 0)
    vehicle = car(battery_level=10, charger_voltage=230, charger_phases=3, charge_current_request_max=16)
    (window,) = decide(now, vehicle, [], [], CFG, zone=OSLO).windows
    assert window.end - window.start == pytest.approx(timedelta(hours=52.5 / (11.04 * 0.9)), abs=timedelta(minutes=2))


def test_nothing_to_shade_when_already_at_the_limit():
    decision = decide(EVE, car(battery_level=80), [], TRIPS, CFG, zone=NY)
    assert decision.windows == () and decision.expected_soc == ()
    assert said(decision, "already at the 80 % limit")


def test_the_callers_notes_come_last_in_the_reasons():
    decision = decide(EVE, car(), [], TRIPS, CFG, zone=NY, notes=("Forecast is 5 h old", "Calendar is stale"))
    assert decision.reasons[-2:] == ("Forecast is 5 h old", "Calendar is stale")
