"""The planner as a replay policy: the price of a car left short follows how its own ended sessions went."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from backtest.planner_policy import PlannerPolicy
from charge_logic.household import PastSession

ARRIVAL = datetime(2024, 3, 5, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("plan_start_h,left_after_h,failed", [
    (0.0, 3.0, False),  # charged at once: 10 kWh in 1.3 h, ready
    (8.0, 13.0, False),  # waited for the trough and the car stayed: ready
    (8.0, 3.0, True),  # waited, and the car left before the trough: short
])
def test_the_price_rises_after_a_car_left_short_and_eases_otherwise(plan_start_h, left_after_h, failed):
    policy = PlannerPolicy(gain=0.2, target_ready=0.99)
    t0 = ARRIVAL.timestamp()
    start = t0 + plan_start_h * 3600
    policy.mine[("home", t0)] = (t0, 0.0, ((start, start + 14 * 86400, 32),))
    before = policy.price
    policy._score(PastSession("home", ARRIVAL, ARRIVAL + timedelta(hours=left_after_h), 10.0))
    expected = 0.2 * (1.0 - 0.01) if failed else -0.2 * 0.01
    assert math.log(policy.price / before) == pytest.approx(expected)
