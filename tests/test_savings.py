"""charge_logic.savings: the money and CO₂ of a plan against charging the same kWh at once, and of the month's
measured plug-ins against charging each at once from its arrival, worked by hand.

The clock is injected: NOW = 18:00 UTC. Prices: $0.40 from 18:00 to 21:00, $0.10 from 21:00 on. CO₂: 0.5 kg/kWh
until 21:00, 0.2 after. The car charges at 7 kW.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from charge_logic.models import ForecastPoint
from charge_logic.savings import (
    PlugIn,
    epoch_hour,
    hour_start,
    month_savings,
    plan_savings,
    plug_in_savings,
    plug_in_shares,
    savings_text,
    spread,
    taken_span,
)
from charge_logic.tariff import parse_tou

NOW = datetime(2024, 3, 5, 18, 0, tzinfo=UTC)


def at(h: float) -> datetime:
    return NOW + timedelta(hours=h)


PRICE = [ForecastPoint(at(h), 0.40 if h < 3 else 0.10) for h in range(12)]
CO2 = [ForecastPoint(at(h), 0.5 if h < 3 else 0.2) for h in range(12)]

CASES = [
    # (what, windows (start h, end h, kW), kWh, plan $, now $, plan kg, now kg)
    ("waits until 21:00, 14 kWh: now 2 h @0.40", [(3, 27, 7.0)], 14.0, 1.40, 5.60, 2.8, 7.0),
    ("waits, 28 kWh: now 3 h @0.40 + 1 h @0.10", [(3, 27, 7.0)], 28.0, 2.80, 9.10, 5.6, 11.9),
    ("charges at once: nothing saved", [(0, 24, 7.0)], 14.0, 5.60, 5.60, 7.0, 7.0),
    ("must-have 30 min now, the rest from 22:00", [(0, 0.5, 7.0), (4, 28, 7.0)], 7.0, 1.4 + 0.35, 2.80, 1.75 + 0.7,
     3.5),
    ("a window already under way counts from now", [(-2, 24, 7.0)], 7.0, 2.80, 2.80, 3.5, 3.5),
]


@pytest.mark.parametrize("what,windows,kwh,plan_usd,now_usd,plan_kg,now_kg", CASES, ids=[c[0] for c in CASES])
def test_plan_against_charging_now(what, windows, kwh, plan_usd, now_usd, plan_kg, now_kg):
    s = plan_savings(NOW, [(at(a), at(b), kw) for a, b, kw in windows], kwh, PRICE, CO2)
    assert s.kwh == pytest.approx(kwh)
    assert (s.plan_cost, s.now_cost) == (pytest.approx(plan_usd), pytest.approx(now_usd))
    assert (s.plan_kg, s.now_kg) == (pytest.approx(plan_kg), pytest.approx(now_kg))
    assert s.saved_usd == pytest.approx(now_usd - plan_usd)


def test_the_owners_sentence():
    s = plan_savings(NOW, [(at(6), at(30), 7.0)], 14.0, PRICE, CO2)  # from 00:00
    assert savings_text(s, at(6)) == "waiting until 00:00 saves $4.20 and 4 kg CO₂ against charging now (14.0 kWh)"
    money_only = plan_savings(NOW, [(at(6), at(30), 7.0)], 14.0, PRICE)
    assert savings_text(money_only, at(6)) == "waiting until 00:00 saves $4.20 against charging now (14.0 kWh)"


def test_waiting_into_dearer_hours_is_said_as_such():
    dear_later = [ForecastPoint(at(h), 0.10 if h < 3 else 0.40) for h in range(12)]
    s = plan_savings(NOW, [(at(3), at(27), 7.0)], 7.0, dear_later)
    assert s.saved_usd == pytest.approx(-2.10)
    assert savings_text(s, at(3)) == "waiting until 21:00 costs $2.10 more against charging now (7.0 kWh)"


def test_a_plan_past_the_known_prices_has_no_figure():
    s = plan_savings(NOW, [(at(10), at(30), 7.0)], 28.0, PRICE)  # needs hours 10..13, prices stop at 11
    assert s.plan_cost is None and s.saved_usd is None and savings_text(s, at(10)) is None
    assert plan_savings(NOW, [(at(3), at(27), 7.0)], 7.0, []).saved_usd is None


# ---------------------------------------------------------------------- the month, measured
# New York, on a TOU tariff: 0.32 $/kWh, 0.11 from 00:00 to 07:00 local. The charger gives 7.2 kW. Figures by hand.
NY = ZoneInfo("America/New_York")
TOU = parse_tou("0.32, 0-7 0.11")
KW = 7.2


def local(month: int, day: int, hour: float, year: int = 2026) -> datetime:
    h = int(hour)
    return datetime(year, month, day, h, round((hour - h) * 60), tzinfo=NY)


def tariff_hours(start: datetime, end: datetime) -> dict[int, float]:
    """Every real hour (stepped in UTC: the autumn's repeated 1 a.m. is two hours), priced at its local time."""
    return {epoch_hour(t): p for t, p in TOU.hourly(start.astimezone(UTC), end, NY)}


def plug_in(arrival: datetime, *charged: tuple[datetime, datetime, float]) -> PlugIn:
    taken: dict[int, float] = {}
    for a, b, kwh in charged:
        taken = spread(taken, a, b, kwh)
    return PlugIn(arrival, KW, taken)


PRICES = tariff_hours(local(10, 25, 0), local(1, 5, 0, 2027))
EVENING_DEC3 = plug_in(local(12, 3, 18), (local(12, 4, 0), local(12, 4, 2), 14.4))  # waited for 00:00
AT_ONCE_DEC5 = plug_in(local(12, 5, 18), (local(12, 5, 18), local(12, 5, 20), 14.4))  # charged at once
LATE_DEC7 = plug_in(local(12, 7, 23), (local(12, 7, 23), local(12, 8, 1), 14.4))  # plugged in at 23:00, over midnight
OVER_THE_1ST = plug_in(local(11, 30, 23), (local(12, 1, 1), local(12, 1, 3), 14.4))  # November's, charged in December
NEW_YEAR = plug_in(local(12, 31, 22), (local(1, 1, 0, 2027), local(1, 1, 2, 2027), 14.4))

MONTH_CASES = [
    # (what, now, plug-ins, sessions, $ measured, $ at once)
    ("waits for 00:00: 14.4 kWh @0.11 against 18:00-20:00 @0.32", local(12, 4, 8), [EVENING_DEC3], 1, 1.584, 4.608),
    ("charging at once saves nothing", local(12, 6, 8), [AT_ONCE_DEC5], 1, 4.608, 4.608),
    ("two plug-ins add up", local(12, 6, 8), [EVENING_DEC3, AT_ONCE_DEC5], 2, 6.192, 9.216),
    ("over midnight at once: 23:00 @0.32 then 00:00 @0.11", local(12, 8, 8), [LATE_DEC7], 1, 7.2 * 0.32 + 7.2 * 0.11,
     7.2 * 0.32 + 7.2 * 0.11),
    ("a plug-in of November 30 charged on December 1: all its energy, and so its saving, is December's",
     local(12, 1, 8), [OVER_THE_1ST], 1, 1.584, 7.2 * 0.32 + 7.2 * 0.11),
    ("... November has nothing of it: its plan took nothing then", local(11, 30, 23.5), [OVER_THE_1ST], 0, 0.0, 0.0),
    ("a new month starts at 0", local(1, 1, 8, 2027), [EVENING_DEC3, AT_ONCE_DEC5], 0, 0.0, 0.0),
    ("New Year's Eve's plug-in, charged after midnight, is January's", local(1, 1, 8, 2027),
     [EVENING_DEC3, AT_ONCE_DEC5, NEW_YEAR], 1, 1.584, 4.608),
    ("... and not December's", local(12, 31, 23), [EVENING_DEC3, NEW_YEAR], 1, 1.584, 4.608),
]


@pytest.mark.parametrize("what,now,plug_ins,sessions,usd,now_usd", MONTH_CASES, ids=[c[0] for c in MONTH_CASES])
def test_the_months_plug_ins_against_charging_each_at_once(what, now, plug_ins, sessions, usd, now_usd):
    m = month_savings(now, NY, [(p, PRICES, {}) for p in plug_ins], price_known=True)
    assert m.month == f"{now:%Y-%m}"
    assert (m.sessions, m.unpriced) == (sessions, 0)
    assert (m.cost_usd, m.now_cost_usd) == (pytest.approx(usd), pytest.approx(now_usd))
    assert m.saved_usd == pytest.approx(now_usd - usd)
    assert m.co2_kg is None and m.saved_co2_kg is None  # no CO₂ series: unknown, not 0


def test_an_hour_without_a_price_leaves_that_plug_in_out_and_says_so():
    only_evening = {h: v for h, v in PRICES.items() if hour_start(h) < local(12, 4, 1)}  # 01:00 on not published
    m = month_savings(local(12, 6, 8), NY, [(EVENING_DEC3, only_evening, {}), (AT_ONCE_DEC5, PRICES, {})])
    assert (m.sessions, m.unpriced) == (2, 1)
    assert (m.cost_usd, m.now_cost_usd) == (pytest.approx(4.608), pytest.approx(4.608))
    assert m.kwh == pytest.approx(28.8)


def test_without_any_price_the_month_is_unknown_not_zero():
    m = month_savings(local(12, 6, 8), NY, [(EVENING_DEC3, {}, {})])
    assert m.sessions == 1 and m.cost_usd is None and m.saved_usd is None
    empty = month_savings(local(12, 6, 8), NY, [], price_known=True)
    assert (empty.sessions, empty.saved_usd) == (0, 0.0)


def test_the_months_co2_beside_its_money():
    co2 = {h: (0.6 if hour_start(h).astimezone(NY).hour >= 7 else 0.3) for h in PRICES}
    m = month_savings(local(12, 4, 8), NY, [(EVENING_DEC3, PRICES, co2)], price_known=True)
    assert (m.co2_kg, m.now_co2_kg) == (pytest.approx(14.4 * 0.3), pytest.approx(14.4 * 0.6))
    assert m.saved_co2_kg == pytest.approx(14.4 * 0.3)


def test_a_plug_in_that_took_nothing_is_no_session():
    m = month_savings(local(12, 4, 8), NY, [(PlugIn(local(12, 3, 18), KW, {}), PRICES, {})], price_known=True)
    assert (m.sessions, m.saved_usd) == (0, 0.0)


def test_energy_spread_over_the_hours_it_was_taken_in():
    taken = spread({}, local(12, 3, 23.5), local(12, 4, 0.5), 6.0)
    assert {hour_start(h).astimezone(NY).hour: kwh for h, kwh in taken.items()} == {23: pytest.approx(3.0),
                                                                                  0: pytest.approx(3.0)}
    assert sum(spread(taken, local(12, 4, 0.5), local(12, 4, 0.5), 1.0).values()) == pytest.approx(7.0)


SPAN_CASES = [
    # (what, was charging, charging now, span start, span end): readings at 23:55 and 00:09, 1.2 kWh at 7.2 kW
    ("charging at both readings: over the gap", True, True, local(12, 3, 23 + 55 / 60), local(12, 4, 0.15)),
    ("started in between: the last 10 min", False, True, local(12, 3, 23 + 59 / 60), local(12, 4, 0.15)),
    ("stopped in between: the first 10 min", True, False, local(12, 3, 23 + 55 / 60), local(12, 4, 0 + 5 / 60)),
    ("neither reading saw it: over the gap", False, False, local(12, 3, 23 + 55 / 60), local(12, 4, 0.15)),
]


@pytest.mark.parametrize("what,was,now_charging,start,end", SPAN_CASES, ids=[c[0] for c in SPAN_CASES])
def test_when_between_two_readings_the_energy_was_taken(what, was, now_charging, start, end):
    span = taken_span(local(12, 3, 23 + 55 / 60), local(12, 4, 0.15), 1.2, KW, was_charging=was,
                      charging=now_charging)
    assert span == (start, end)


def test_energy_no_reading_places_counts_but_has_no_price():
    unplaced = PlugIn(local(12, 3, 18), KW, {}, unplaced_kwh=10.0)
    m = month_savings(local(12, 6, 8), NY, [(unplaced, PRICES, {}), (AT_ONCE_DEC5, PRICES, {})], price_known=True)
    assert (m.sessions, m.unpriced, m.kwh) == (2, 1, pytest.approx(24.4))
    assert m.cost_usd == pytest.approx(4.608) and m.saved_usd == pytest.approx(0.0)


# ---------------------------------------------------------------------- a plug-in over midnight of the 1st
# Each month: the energy taken in its hours and what that cost, as the owner's bill counts it, and the plug-in's saving
# in proportion to that energy. Figures by hand, TOU above (0.32; 0.11 from 00:00 to 07:00), 7.2 kW.
NIGHT_OVER_THE_1ST = plug_in(local(11, 30, 21), (local(11, 30, 23), local(12, 1, 3), 28.8))  # 23:00-03:00
WAITED_PAST_THE_1ST = plug_in(local(11, 30, 21), (local(12, 1, 0), local(12, 1, 2), 14.4))  # at once: 21:00-23:00
OVER_THE_CLOCK_CHANGE = plug_in(local(10, 31, 22), (local(10, 31, 23), local(11, 1, 3), 36.0))  # 5 h: 1 a.m. twice

NIGHT_SAVED = (21.6 * 0.32 + 7.2 * 0.11) - (7.2 * 0.32 + 21.6 * 0.11)  # at once 21:00-01:00, taken 23:00-03:00
WAITED_SAVED = 14.4 * 0.32 - 14.4 * 0.11
CLOCK_SAVED = (14.4 * 0.32 + 21.6 * 0.11) - (7.2 * 0.32 + 28.8 * 0.11)  # at once 22:00-02:00 EST, 5 real hours
ACROSS_CASES = [
    # (what, plug-in, (old month: now, plug-ins, kWh, $ measured, $ saved), (new month: …), whole $ saved)
    ("23:00-03:00 from a 21:00 plug-in: November a quarter of it, December three", NIGHT_OVER_THE_1ST,
     (local(11, 30, 23.9), 1, 7.2, 7.2 * 0.32, NIGHT_SAVED / 4), (local(12, 1, 8), 1, 21.6, 21.6 * 0.11,
                                                                   NIGHT_SAVED * 3 / 4), NIGHT_SAVED),
    ("at once would have ended at 23:00, the plan charged after midnight: all December's", WAITED_PAST_THE_1ST,
     (local(11, 30, 23.9), 0, 0.0, 0.0, 0.0), (local(12, 1, 8), 1, 14.4, 14.4 * 0.11, WAITED_SAVED), WAITED_SAVED),
    ("November 1st 2026 turns the clocks back at 2 a.m.: November has 4 hours, October 1", OVER_THE_CLOCK_CHANGE,
     (local(10, 31, 23.9), 1, 7.2, 7.2 * 0.32, CLOCK_SAVED / 5), (local(11, 1, 8), 1, 28.8, 28.8 * 0.11,
                                                                  CLOCK_SAVED * 4 / 5), CLOCK_SAVED),
]
CO2_NIGHT = {h: (0.6 if hour_start(h).astimezone(NY).hour >= 7 else 0.3) for h in PRICES}  # kg/kWh


@pytest.mark.parametrize("what,p,old,new,whole", ACROSS_CASES, ids=[c[0] for c in ACROSS_CASES])
def test_a_plug_in_over_midnight_of_the_1st_counts_in_each_month_by_its_energy(what, p, old, new, whole):
    months = []
    for now, sessions, kwh, usd, saved in (old, new):
        m = month_savings(now, NY, [(p, PRICES, CO2_NIGHT)], price_known=True, co2_known=True)
        assert m.month == f"{now:%Y-%m}"
        assert (m.sessions, m.unpriced) == (sessions, 0)
        assert m.kwh == pytest.approx(kwh, abs=1e-6)
        assert m.cost_usd == pytest.approx(usd, abs=1e-6)
        assert m.saved_usd == pytest.approx(saved, abs=1e-6)
        assert m.saved_usd >= 0  # a night that saved money never shows either month a cost
        months.append(m)
    assert sum(m.kwh for m in months) == pytest.approx(p.kwh)  # no hour lost nor counted twice
    assert sum(m.saved_usd for m in months) == pytest.approx(whole)  # the two months: the plug-in's whole saving
    s = plug_in_savings(p, PRICES, CO2_NIGHT)
    assert s.saved_usd == pytest.approx(whole)
    assert sum(m.cost_usd for m in months) == pytest.approx(s.plan_cost)  # the bills add up to the plug-in's
    assert sum(m.saved_co2_kg for m in months) == pytest.approx(s.saved_kg)  # the CO₂ split the same way
    assert sum(m.co2_kg for m in months) == pytest.approx(s.plan_kg)


def test_a_night_that_waited_past_midnight_of_the_1st_shows_its_saving_in_the_new_month_co2_alike():
    nov = month_savings(local(11, 30, 23.9), NY, [(WAITED_PAST_THE_1ST, PRICES, CO2_NIGHT)], price_known=True)
    dec = month_savings(local(12, 1, 8), NY, [(WAITED_PAST_THE_1ST, PRICES, CO2_NIGHT)], price_known=True)
    assert (nov.sessions, nov.saved_usd) == (0, pytest.approx(0.0))
    assert dec.saved_usd == pytest.approx(4.608 - 1.584)
    assert (dec.co2_kg, dec.saved_co2_kg) == (pytest.approx(14.4 * 0.3), pytest.approx(14.4 * 0.6 - 14.4 * 0.3))


def test_split_by_any_key_of_the_hour_the_shares_add_up_to_the_whole():
    by_local_day = plug_in_shares(NIGHT_OVER_THE_1ST, lambda h: f"{hour_start(h).astimezone(NY):%d}", PRICES)
    assert {d: round(s.kwh, 6) for d, s in by_local_day.items()} == {"30": 7.2, "01": 21.6}
    whole = plug_in_savings(NIGHT_OVER_THE_1ST, PRICES)
    assert sum(s.plan_cost for s in by_local_day.values()) == pytest.approx(whole.plan_cost)
    assert sum(s.now_cost for s in by_local_day.values()) == pytest.approx(whole.now_cost)


def test_energy_no_hour_is_known_for_stays_in_the_month_of_the_arrival_and_no_month_prices_the_plug_in():
    """Which of charging at once's hours stand for the unplaced kWh is not known, so neither month's saving is: a
    rebuilt plug-in of the 30th whose at-once hours ran past midnight must not show December a saving of nothing."""
    p = PlugIn(local(11, 30, 21), KW, WAITED_PAST_THE_1ST.taken, unplaced_kwh=3.6)  # 18 kWh: at once 21:00-23:30
    nov = month_savings(local(11, 30, 23.9), NY, [(p, PRICES, {})], price_known=True)
    assert (nov.sessions, nov.unpriced, nov.kwh, nov.saved_usd) == (1, 1, pytest.approx(3.6), 0.0)
    dec = month_savings(local(12, 1, 8), NY, [(p, PRICES, {})], price_known=True)
    assert (dec.sessions, dec.unpriced, dec.kwh, dec.saved_usd) == (1, 1, pytest.approx(14.4), 0.0)
    rebuilt = PlugIn(local(11, 30, 23), KW, {}, unplaced_kwh=21.6)  # no energy placed at all: November's
    dec = month_savings(local(12, 1, 8), NY, [(rebuilt, PRICES, {}), (EVENING_DEC3, PRICES, {})], price_known=True)
    assert (dec.sessions, dec.unpriced, dec.kwh) == (1, 0, pytest.approx(14.4))
    assert dec.saved_usd == pytest.approx(4.608 - 1.584)  # December 3's alone


def test_a_months_share_waits_until_every_hour_of_its_plug_in_is_priced():
    """The saving is the whole plug-in's, so November's share of a night over the 1st is known once December's
    hours have a price too (ComEd publishes each hour's after it)."""
    nov_only = {h: v for h, v in PRICES.items() if hour_start(h) < local(12, 1, 0)}  # December not published yet
    nov = month_savings(local(11, 30, 23.9), NY, [(NIGHT_OVER_THE_1ST, nov_only, {})])
    assert (nov.sessions, nov.unpriced, nov.kwh, nov.saved_usd) == (1, 1, pytest.approx(7.2), None)
    nov = month_savings(local(11, 30, 23.9), NY, [(NIGHT_OVER_THE_1ST, PRICES, {})])
    assert (nov.sessions, nov.unpriced, nov.saved_usd) == (1, 0, pytest.approx(NIGHT_SAVED / 4))
