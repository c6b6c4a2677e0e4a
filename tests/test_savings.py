"""charge_logic.savings: the money and CO₂ of a plan against charging the same kWh at once, worked by hand.

The clock is injected: NOW = 18:00 UTC. Prices: $0.40 from 18:00 to 21:00, $0.10 from 21:00 on. CO₂: 0.5 kg/kWh
until 21:00, 0.2 after. The car charges at 7 kW.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charge_logic.models import ForecastPoint
from charge_logic.savings import plan_savings, savings_text

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
