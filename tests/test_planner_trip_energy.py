"""Trip energy: what the planner plans for — the rules' own departure and trip need, and the limit that covers it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from charge_logic.config import RuleConfig
from charge_logic.models import CalendarEvent, Route, Trip, VehicleSnapshot
from charge_logic.rules import decide
from charge_logic.trip_energy import trip_need

NY = ZoneInfo("America/New_York")
NOW = datetime(2024, 3, 5, 20, 0, tzinfo=NY)


def trip(start, km, minutes, summary="x", all_day=False, route=True):
    ev = CalendarEvent(summary, summary, start, start + timedelta(hours=1), all_day=all_day)
    return Trip(ev, Route(km, minutes) if route else None, None if route else "no location")


def test_round_trips_of_the_next_day_reserve_and_departure():
    cfg = RuleConfig()  # 75 kWh, 170 Wh/km, reserve 10 %, buffer 15 min
    trips = [
        trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), 30, 40, "Work"),
        trip(datetime(2024, 3, 6, 19, 0, tzinfo=NY), 10, 15, "Gym"),
        trip(datetime(2024, 3, 7, 9, 0, tzinfo=NY), 300, 200, "Far, the day after"),  # next charge comes first
    ]
    need = trip_need(NOW, trips, cfg, NY)
    assert [t.event.summary for t in need.trips] == ["Work", "Gym"]
    assert need.distance_km == 80  # (30 + 10) × 2
    assert need.energy_kwh == pytest.approx(80 * 0.17 + 7.5)
    assert need.needed_soc == pytest.approx(100 * (80 * 0.17 + 7.5) / 75)
    assert need.departure == datetime(2024, 3, 6, 8, 5, tzinfo=NY)  # 09:00 − 40 min − 15 min
    assert need.charge_limit == cfg.base_charge_limit  # 28 % needed: the everyday limit covers it


@pytest.mark.parametrize("trips", [
    [trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), 30, 40, "Work"), trip(datetime(2024, 3, 6, 19, 0, tzinfo=NY), 10, 15)],
    [trip(datetime(2024, 3, 6, 11, 30, tzinfo=NY), 60, 45, "After the latest departure")],
    [trip(datetime(2024, 3, 6, 0, 0, tzinfo=NY), 250, 180, "Holiday", all_day=True),
     trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), 20, 20, "Brunch")],
    [trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), 0, 0, "Lunch", route=False)],
    [],
])
def test_the_plan_and_the_rules_agree_on_departure_and_need(trips):
    car = VehicleSnapshot("…0001", "car", "online", battery_level=50, charge_limit_soc=80, charging_state="Stopped",
                          conn_charge_cable="IEC", scheduled_charging_mode="DepartBy", off_peak_charging_enabled=True)
    rules = decide(NOW, car, [], trips, RuleConfig(), zone=NY, at_home=True)
    need = trip_need(NOW, trips, RuleConfig(), NY)
    assert need.needed_soc == pytest.approx(rules.needed_soc, abs=0.05)  # the decision shows it to 0.1 %
    if trips:
        assert need.departure == rules.departure


@pytest.mark.parametrize("km,limit", [(100, 80), (160, 83), (400, 90)])
def test_limit_covers_the_trip_within_bounds(km, limit):
    need = trip_need(NOW, [trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), km, 60)], RuleConfig(), NY)
    assert need.charge_limit == limit  # 160 km: 2·160·0.17 = 54.4 kWh + 7.5 = 82.5 % → 83


def test_unknown_distance_is_said_and_not_counted():
    need = trip_need(NOW, [trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), 0, 0, "Lunch", route=False)], RuleConfig(),
                     NY)
    assert need.distance_km == 0 and need.needed_soc == RuleConfig().reserve_soc
    assert need.departure == datetime(2024, 3, 6, 8, 45, tzinfo=NY)


def test_nothing_ahead():
    need = trip_need(NOW, [trip(NOW - timedelta(hours=1), 30, 30)], RuleConfig(), NY)
    assert need.departure is None and need.charge_limit == 80 and need.trips == ()


def test_an_online_meeting_is_no_trip_and_sets_no_departure():
    meeting = Trip(CalendarEvent("m", "Stand-up", NOW + timedelta(hours=1), NOW + timedelta(hours=2), False,
                                 "https://meet.google.com/x"), None, "online meeting", virtual=True)
    need = trip_need(NOW, [meeting], RuleConfig(), NY)
    assert need.departure is None and need.trips == ()


@pytest.mark.parametrize("km,says_limit", [(40, False), (250, True)])
def test_the_plan_repeats_the_trip_only_when_it_raises_the_limit(km, says_limit):
    """The rules' reasons already name the trips and the need; the plan speaks up only for what it adds: a limit
    above the everyday one, charged for from now (the car's own limit is raised only close to departure)."""
    cfg = RuleConfig()
    need = trip_need(NOW, [trip(datetime(2024, 3, 6, 9, 0, tzinfo=NY), km, 40, "Work")], cfg, NY)
    assert (need.charge_limit > cfg.base_charge_limit) is says_limit
    assert any("charging to" in r and "from now" in r for r in need.reasons) is says_limit


@pytest.mark.parametrize("hour", [0, 5, 7, 8, 13, 23, 31, 47])
def test_no_trips_at_all_is_planned_as_trips_that_all_fall_outside_the_look_ahead(hour):
    """The no-trip case is computed once (most ticks have no calendar); it says what the full path says."""
    now = datetime(2026, 3, 8, 0, tzinfo=NY) + timedelta(hours=hour)  # across the spring DST change
    cfg = RuleConfig(reserve_soc=15, battery_kwh=60)
    far = Trip(CalendarEvent("x", "far away", now + timedelta(days=30), now + timedelta(days=30, hours=1)), None)
    assert trip_need(now, [], cfg, NY) == trip_need(now, [far], cfg, NY)
