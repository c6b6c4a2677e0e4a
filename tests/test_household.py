"""Learning the household from its finished sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from charge_logic.household import HouseholdModel, PastSession, learn

OSLO = ZoneInfo("Europe/Oslo")


def weeks(n=8):
    """Weekdays: plug in 17:30, leave 07:15 (a Friday: leave Saturday 10:00). Weekends: plug in 12:00 for 3 h."""
    out = []
    day = datetime(2024, 1, 1, tzinfo=OSLO)  # a Monday
    for d in range(7 * n):
        t = day + timedelta(days=d)
        if t.weekday() < 5:
            arrival = t.replace(hour=17, minute=30)
            leave = (t + timedelta(days=1)).replace(hour=7 if t.weekday() < 4 else 10, minute=15 if t.weekday() < 4
                                                    else 0)
            out.append(PastSession("home", arrival, leave, 12.0))
        else:
            arrival = t.replace(hour=12)
            out.append(PastSession("home", arrival, arrival + timedelta(hours=3), 4.0))
    return out


def test_weekday_evening_plug_in_expects_a_morning_departure():
    model = learn(weeks())
    tuesday = datetime(2024, 3, 5, 17, 40, tzinfo=OSLO)
    scen = model.scenarios("home", tuesday, k=20)
    assert len(scen) == 20
    stays = sorted(s.stay_h for s in scen)
    assert stays[0] >= 13.5  # 17:30 → 07:15 is 13.75 h; the Friday→Saturday ones are longer
    assert all(s.energy_kwh == 12.0 for s in scen)


def test_weekend_midday_plug_in_expects_a_short_stay():
    model = learn(weeks())
    saturday = datetime(2024, 3, 9, 12, 5, tzinfo=OSLO)
    scen = model.scenarios("home", saturday, k=10)
    assert max(s.stay_h for s in scen) == pytest.approx(3.0)
    assert {s.energy_kwh for s in scen} == {4.0}


def test_own_household_comes_before_the_neighbours():
    model = HouseholdModel()
    for s in weeks(4):
        model.add(s)
        model.add(PastSession("neighbour", s.arrival, s.arrival + timedelta(hours=1), 30.0))
    scen = model.scenarios("home", datetime(2024, 3, 5, 17, 30, tzinfo=OSLO), k=10)
    assert all(s.energy_kwh == 12.0 for s in scen)


def test_a_household_keeps_its_own_history_when_many_charge_points_are_learned_together():
    """The model looks at the last `recent` sessions of every charge point, and at all of this one's own: a busy
    garage's other plug-ins must not push a household's own evenings out of its memory."""
    model = HouseholdModel(other_station=10.0)
    for s in weeks(4):
        model.add(s)
    later = datetime(2024, 2, 1, tzinfo=OSLO)
    for i in range(300):  # a neighbour's plug-ins since: short evening stays
        arrival = later + timedelta(hours=3 * i)
        model.add(PastSession("neighbour", arrival, arrival + timedelta(hours=1), 30.0))
    stay, energy = model.nearest("home", datetime(2024, 3, 5, 17, 30, tzinfo=OSLO), k=10, recent=100)
    assert len(stay) == 10 and set(energy) == {12.0} and stay.min() >= 13.5


def test_too_little_history_gives_no_scenarios():
    model = learn(weeks()[:5])
    assert model.scenarios("home", datetime(2024, 3, 5, 17, 30, tzinfo=OSLO)) == []


def test_driver_estimates_pick_similar_sessions():
    model = HouseholdModel()
    base = datetime(2024, 1, 1, 8, 0, tzinfo=OSLO)
    for d in range(30):  # short-stay drivers say 2 h and stay 2.5 h; long-stay drivers say 9 h and stay 8 h
        a = base + timedelta(days=d)
        model.add(PastSession("garage", a, a + timedelta(hours=2.5), 5.0), a + timedelta(hours=2), 6.0)
        model.add(PastSession("garage", a, a + timedelta(hours=8), 20.0), a + timedelta(hours=9), 25.0)
    now = base + timedelta(days=40)
    scen = model.scenarios("garage", now, estimated_departure=now + timedelta(hours=9), requested_energy_kwh=24.0,
                           k=10)
    assert {s.stay_h for s in scen} == {8.0}


def test_the_station_weight_can_be_overridden_per_query():
    mine = weeks()
    theirs = [PastSession("other", s.arrival + timedelta(minutes=5), s.arrival + timedelta(minutes=65), 3.0)
              for s in weeks()]
    model = learn(mine + theirs)
    tuesday = datetime(2024, 3, 5, 17, 40, tzinfo=OSLO)
    stays, _ = model.nearest("home", tuesday, k=10)
    assert min(stays) > 13  # its own station first
    stays, _ = model.nearest("home", tuesday, k=10, other_station=0.0)
    assert min(stays) == 1.0  # the station ignored: the neighbours' plug-ins at 17:35 are nearer in time


@pytest.mark.parametrize("samples,actual,better_than", [
    ([5.0, 6.0, 7.0], 6.0, [1.0, 2.0, 3.0]),  # centred on what happened beats far off
    ([6.0, 6.0, 6.0], 6.0, [4.0, 6.0, 8.0]),  # sharp and right beats spread and right
    ([4.0, 6.0, 8.0], 6.0, [9.0, 9.0, 9.0]),  # spread and right beats sharp and wrong
])
def test_crps_ranks_forecasts_by_how_near_and_how_sharp(samples, actual, better_than):
    import numpy as np

    from charge_logic.household import crps

    w = np.ones(3)
    assert crps(np.array(samples), w, actual) < crps(np.array(better_than), w, actual)
    assert crps(np.array([6.0]), np.ones(1), 6.0) == 0.0


def test_habits_can_be_aged_faster_per_query():
    old = [PastSession("home", s.arrival, s.arrival + timedelta(hours=2), 4.0) for s in weeks(4)]
    new = [PastSession("home", s.arrival + timedelta(days=365, minutes=50), s.arrival + timedelta(days=365, hours=12),
                       12.0) for s in weeks(4)]
    model = learn(old + new)
    later = datetime(2025, 3, 4, 17, 30, tzinfo=OSLO)
    assert min(model.nearest("home", later, k=5, per_year=0.0)[1]) == 4.0  # the same plug-in time, a year ago
    assert min(model.nearest("home", later, k=5, per_year=4.0)[1]) == 12.0  # this year's habit, 50 min off


def test_a_short_last_stay_finds_the_busy_days():
    """Busy days: a 1 h top-up then out again after 2 h; quiet days: one long evening. Same plug-in times."""
    model = HouseholdModel()
    day = datetime(2024, 1, 1, 12, 0, tzinfo=OSLO)
    for d in range(60):
        t = day + timedelta(days=d)
        if d % 2:  # busy: 12:00–13:00, then 17:30–19:30
            model.add(PastSession("home", t, t + timedelta(hours=1), 5.0))
            model.add(PastSession("home", t.replace(hour=17, minute=30), t.replace(hour=19, minute=30), 8.0))
        else:  # quiet: 09:00–15:00, then 17:30 → next morning
            model.add(PastSession("home", t.replace(hour=9), t.replace(hour=15), 5.0))
            model.add(PastSession("home", t.replace(hour=17, minute=30), t + timedelta(hours=19), 8.0))
    busy = datetime(2024, 3, 1, 17, 30, tzinfo=OSLO)
    model.add(PastSession("home", busy.replace(hour=12), busy.replace(hour=13), 5.0))  # today's last stay: 1 h
    stays, _ = model.nearest("home", busy, k=10, previous=1.0)
    assert max(stays) == 2.0
    assert max(model.nearest("home", busy, k=10)[0]) > 2.0  # without it, busy and quiet evenings mix


def test_the_drivers_estimate_can_count_more_per_query():
    model = HouseholdModel()
    day = datetime(2024, 1, 1, 8, 0, tzinfo=OSLO)
    for d in range(40):
        t = day + timedelta(days=d)
        # half said 4 h and left after 4 h, plugged in 90 min off the query's time of day; half said 5 h and left
        # after 9 h, plugged in at the query's time
        model.add(PastSession("g", t + timedelta(minutes=90), t + timedelta(minutes=90, hours=4), 5.0),
                  estimated_departure=t + timedelta(minutes=90, hours=4))
        model.add(PastSession("g", t, t + timedelta(hours=9), 5.0), estimated_departure=t + timedelta(hours=5))
    query = datetime(2024, 3, 1, 8, 0, tzinfo=OSLO)
    plain = model.nearest_readings("g", query, [{}], estimated_stay_h=4.0, k=10)[0][0]
    heavy = model.nearest_readings("g", query, [{"estimate": 4.0}], estimated_stay_h=4.0, k=10)[0][0]
    assert min(plain) == 9.0  # 90 min off the plug-in time weighs more than 1 h off the estimate
    assert max(heavy) == 4.0  # the estimate, made to count, finds the sessions that said 4 h
