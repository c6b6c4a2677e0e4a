"""The scheduled departure the car is given: from the calendar, around midnight and across both DST changes.

The car holds departure and off-peak end as minutes after local midnight; every case checks those minutes and the
instant they stand for, because a wrong hour means a car charged an hour late.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, time, timedelta

import pytest

from charge_logic.rules import decide
from tests.rules_support import CFG, NY, OSLO, args, car, forecast, local, said, trip

EVE = local(NY, 2026, 11, 27, 22, 0)  # Friday evening
SAT = (2026, 11, 28)

CALENDAR = [
    # name, now, trips, expected departure (local), phrase
    ("event with drive", EVE, [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)],
     local(NY, *SAT, 8, 5), "40 min drive + 15 min buffer"),
    ("drive time unknown", EVE, [trip("Party", local(NY, *SAT, 9, 0), note="no maps key")],
     local(NY, *SAT, 8, 45), "unknown (no maps key)"),
    ("no event: default", EVE, [], local(NY, *SAT, 8, 0), "default"),
    ("an online meeting does not set it", EVE, [trip("Stand-up", local(NY, *SAT, 7, 0), note="online meeting",
                                                     virtual=True)], local(NY, *SAT, 8, 0), "default"),
    ("all-day event does not set it", EVE, [trip("Holiday", local(NY, *SAT, 0, 0), 10.0, 15.0, all_day=True,
                                                 hours=24)], local(NY, *SAT, 8, 0), "default"),
    ("late event capped at latest", EVE, [trip("Lunch", local(NY, *SAT, 14, 0), 20.0, 30.0)],
     local(NY, *SAT, 10, 0), "stays at the latest 10:00"),
    ("beyond the 36 h horizon", EVE, [trip("Far", local(NY, 2026, 11, 29, 11, 0), 20.0, 30.0)],
     local(NY, *SAT, 8, 0), "No timed event in the next 36 h"),
    ("earliest of several", EVE, [trip("Gym", local(NY, *SAT, 9, 30), 5.0, 10.0),
                                  trip("Airport", local(NY, *SAT, 9, 45), 60.0, 75.0)],
     local(NY, *SAT, 8, 15), "Airport"),
    ("event already started is ignored", EVE, [trip("Movie", local(NY, 2026, 11, 27, 21, 30), 5.0, 10.0),
                                               trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)],
     local(NY, *SAT, 8, 5), "Dentist"),
    ("too late to leave for it", local(NY, 2026, 11, 28, 8, 50), [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)],
     local(NY, 2026, 11, 29, 8, 0), "default"),
    ("tonight's event after the latest", local(NY, 2026, 11, 27, 12, 0),
     [trip("Dinner", local(NY, 2026, 11, 27, 19, 0), 10.0, 20.0)], local(NY, *SAT, 8, 0), "Dinner"),
    # around midnight
    ("just after midnight, the drive starts before it", EVE, [trip("Night shift", local(NY, *SAT, 0, 20), 20.0, 30.0)],
     local(NY, 2026, 11, 27, 23, 35), "Night shift"),
    ("ten to midnight, event at 00:30", local(NY, 2026, 11, 27, 23, 50),
     [trip("Ferry", local(NY, *SAT, 0, 30), 8.0, 10.0)], local(NY, *SAT, 0, 5), "Ferry"),
    ("ten to midnight, default is tomorrow", local(NY, 2026, 11, 27, 23, 50), [], local(NY, *SAT, 8, 0), "default"),
    ("ten past midnight, default is this morning", local(NY, *SAT, 0, 10), [], local(NY, *SAT, 8, 0), "default"),
]


@pytest.mark.parametrize("now, trips, expected, phrase", [pytest.param(*c[1:], id=c[0]) for c in CALENDAR])
def test_departure_from_the_calendar(now, trips, expected, phrase):
    vehicle = car(scheduled_departure_time_minutes=1, off_peak_hours_end_time=1)  # something else on the car
    decision = decide(now, vehicle, forecast(now, 90_000), trips, CFG, zone=NY)
    assert decision.departure == expected
    minutes = expected.hour * 60 + expected.minute
    sent = args(decision, "set_scheduled_departure")
    assert sent is not None and sent["departure_time"] == minutes and sent["end_off_peak_time"] == minutes
    assert said(decision, phrase), decision.reasons


DST = [
    # name, zone, now, trips, config changes, expected departure (aware, fold-exact), minutes on the car's clock
    ("NY spring forward: event the morning after", NY, local(NY, 2026, 3, 7, 22, 0),
     [trip("Brunch", local(NY, 2026, 3, 8, 9, 0), 30.0, 60.0)], {}, local(NY, 2026, 3, 8, 7, 45), 465),
    ("NY spring forward: default 02:30 does not exist", NY, local(NY, 2026, 3, 7, 22, 0), [],
     {"default_departure": time(2, 30)}, local(NY, 2026, 3, 8, 3, 30), 210),
    ("NY spring forward: 45 min before 03:10 EDT is 01:25 EST", NY, local(NY, 2026, 3, 7, 22, 0),
     [trip("Early flight", local(NY, 2026, 3, 8, 3, 10), 20.0, 30.0)], {}, local(NY, 2026, 3, 8, 1, 25), 85),
    ("NY fall back: 45 min before 01:30 EST is 01:45 EDT", NY, local(NY, 2026, 10, 31, 22, 0),
     [trip("Night train", local(NY, 2026, 11, 1, 1, 30, fold=1), 20.0, 30.0)], {},
     local(NY, 2026, 11, 1, 1, 45, fold=0), 105),
    ("NY fall back: event the morning after", NY, local(NY, 2026, 10, 31, 22, 0),
     [trip("Church", local(NY, 2026, 11, 1, 8, 0), 30.0, 60.0)], {}, local(NY, 2026, 11, 1, 6, 45), 405),
    ("NY fall back: ambiguous 01:30 default is the first one", NY, local(NY, 2026, 10, 31, 22, 0), [],
     {"default_departure": time(1, 30)}, local(NY, 2026, 11, 1, 1, 30, fold=0), 90),
    ("Oslo spring forward: 02:30 does not exist", OSLO, local(OSLO, 2026, 3, 28, 22, 0), [],
     {"default_departure": time(2, 30)}, local(OSLO, 2026, 3, 29, 3, 30), 210),
    ("Oslo spring forward: 45 min before 03:30 CEST is 01:45 CET", OSLO, local(OSLO, 2026, 3, 28, 22, 0),
     [trip("Ferry", local(OSLO, 2026, 3, 29, 3, 30), 20.0, 30.0)], {}, local(OSLO, 2026, 3, 29, 1, 45), 105),
    ("Oslo fall back: 45 min before 02:30 CET is 02:45 CEST", OSLO, local(OSLO, 2026, 10, 24, 22, 0),
     [trip("Ferry", local(OSLO, 2026, 10, 25, 2, 30, fold=1), 20.0, 30.0)], {},
     local(OSLO, 2026, 10, 25, 2, 45, fold=0), 165),
    ("Oslo fall back: event the morning after", OSLO, local(OSLO, 2026, 10, 24, 22, 0),
     [trip("Work", local(OSLO, 2026, 10, 25, 7, 30), 25.0, 30.0)], {}, local(OSLO, 2026, 10, 25, 6, 45), 405),
]


@pytest.mark.parametrize("zone, now, trips, changes, expected, minutes", [pytest.param(*c[1:], id=c[0]) for c in DST])
def test_departure_across_dst(zone, now, trips, changes, expected, minutes):
    decision = decide(now, car(), forecast(now, 90_000), trips, replace(CFG, **changes), zone=zone)
    assert decision.departure is not None
    assert decision.departure.utcoffset() == expected.utcoffset()  # the right side of the change
    assert decision.departure == expected
    sent = args(decision, "set_scheduled_departure")
    assert sent is not None and sent["departure_time"] == minutes and sent["end_off_peak_time"] == minutes


def test_utc_event_times_read_in_local_time():
    start = local(NY, *SAT, 9, 0).astimezone(UTC)  # calendars often answer in UTC
    decision = decide(EVE, car(), [], [trip("Dentist", start, 45.0, 40.0)], CFG, zone=NY)
    assert args(decision, "set_scheduled_departure")["departure_time"] == 8 * 60 + 5


SCHEDULES = [
    # name, car's schedule settings, departure set?, phrase
    ("DepartBy with off-peak", {}, True, "Departure"),
    ("off-peak on, no mode reported", {"scheduled_charging_mode": None}, True, "Departure"),
    ("DepartBy, off-peak off", {"off_peak_charging_enabled": False}, True, "Departure"),
    ("no schedule", {"scheduled_charging_mode": "Off", "off_peak_charging_enabled": False}, False, "is off in the car"),
    ("owner's start time kept", {"scheduled_charging_mode": "StartAt", "off_peak_charging_enabled": True}, False,
     "at its own set time (Scheduled Charging)"),
    ("below the minimum SoC", {"battery_level": 15}, False, "left alone while the battery is below 20 %"),
]


@pytest.mark.parametrize("changes, is_set, phrase", [pytest.param(*c[1:], id=c[0]) for c in SCHEDULES])
def test_departure_is_set_only_when_the_car_schedules_by_departure(changes, is_set, phrase):
    vehicle = car(scheduled_departure_time_minutes=420, **changes)
    decision = decide(EVE, vehicle, [], [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)], CFG, zone=NY)
    assert (args(decision, "set_scheduled_departure") is not None) is is_set
    assert (decision.departure is not None) is is_set
    assert said(decision, phrase), decision.reasons


def test_owner_preconditioning_and_weekday_choices_are_kept():
    vehicle = car(preconditioning_enabled=True, preconditioning_times="weekdays", off_peak_charging_times="weekdays")
    sent = args(decide(EVE, vehicle, [], [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)], CFG, zone=NY),
                "set_scheduled_departure")
    assert sent == {"enable": True, "departure_time": 485, "preconditioning_enabled": True,
                    "preconditioning_weekdays_only": True, "off_peak_charging_enabled": True,
                    "off_peak_charging_weekdays_only": True, "end_off_peak_time": 485}


def test_departure_already_on_the_car_is_not_sent_again():
    vehicle = car(scheduled_departure_time_minutes=485, off_peak_hours_end_time=485)
    decision = decide(EVE, vehicle, [], [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)], CFG, zone=NY)
    assert decision.departure == local(NY, *SAT, 8, 5)
    assert args(decision, "set_scheduled_departure") is None


def test_buffer_and_latest_are_settings():
    config = replace(CFG, departure_buffer_min=30, latest_departure=time(8, 0))
    decision = decide(EVE, car(), [], [trip("Dentist", local(NY, *SAT, 9, 0), 45.0, 40.0)], config, zone=NY)
    assert decision.departure == local(NY, *SAT, 7, 50)
    late = decide(EVE, car(), [], [trip("Lunch", local(NY, *SAT, 12, 0), 5.0, 5.0)], config, zone=NY)
    assert late.departure == local(NY, *SAT, 8, 0)


def test_naive_event_time_is_refused_naming_the_event():
    naive = trip("Dentist", local(NY, *SAT, 9, 0).replace(tzinfo=None) + timedelta(0), 45.0, 40.0)
    with pytest.raises(ValueError, match="Dentist"):
        decide(EVE, car(), [], [naive], CFG, zone=NY)
