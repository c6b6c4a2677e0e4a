"""Amps from the grid forecast: the busier this hour is compared with the coming days, the slower the charge."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

import pytest

from charge_logic.models import ForecastPoint
from charge_logic.rules import decide
from tests.rules_support import CFG, NY, args, car, forecast, local, said

NOW = local(NY, 2026, 11, 27, 22, 10)

BANDS = [
    # this hour's load (MW), car's max A, expected A, phrase
    (105_000, 32, 8, "above the 3-day mean + σ"),
    (95_000, 32, 16, "above the 3-day mean 90.1 GW"),
    (90_000, 32, 24, "at or below the 3-day mean"),
    (85_000, 32, 24, "at or below the 3-day mean"),
    (70_000, 32, 32, "below the 3-day mean − σ"),
    (95_000, 48, 16, "50 % of 32 A"),  # the wall charger's 32 A caps a 48 A car
    (95_000, 24, 12, "50 % of 24 A (the car's maximum)"),
    (105_000, 16, 5, "raised to the 5 A minimum"),  # 25 % of 16 A = 4 A is below MIN_AMPS
]


@pytest.mark.parametrize("load, car_max, amps, phrase", BANDS)
def test_amps_follow_the_load_band(load, car_max, amps, phrase):
    # 75 -> 80 % overnight: any band's amps make it by 08:00, so the band alone sets them
    vehicle = car(battery_level=75, charge_current_request=10, charge_current_request_max=car_max)
    decision = decide(NOW, vehicle, forecast(NOW, load), [], CFG, zone=NY)
    assert decision.amps == amps
    assert args(decision, "set_charging_amps") == {"charging_amps": amps}
    assert said(decision, "Forecast load", phrase, f"= {amps} A"), decision.reasons


def test_reason_reads_with_the_numbers():
    decision = decide(NOW, car(), forecast(NOW, 95_000), [], CFG, zone=NY)
    reason = next(r for r in decision.reasons if r.startswith("Forecast load"))
    # 73 hourly points in [now, now + 3 days): 95 GW now, then 36 × 80 GW and 36 × 100 GW -> mean 90.07 GW
    assert reason == "Forecast load 95.0 GW is above the 3-day mean 90.1 GW: 50 % of 32 A = 16 A"


def test_percentages_are_settings():
    config = replace(CFG, amps_pct_high_load=40, max_amps=40)
    decision = decide(NOW, car(charge_current_request_max=48), forecast(NOW, 95_000), [], config, zone=NY)
    assert decision.amps == 16
    assert said(decision, "40 % of 40 A = 16 A")


def test_no_forecast_means_full_amps_to_be_ready():
    decision = decide(NOW, car(), [], [], CFG, zone=NY)
    assert decision.amps == 32
    assert said(decision, "No load forecast", "32 A")


def test_a_forecast_entirely_in_the_past_counts_as_none():
    old = forecast(NOW - timedelta(days=5), 70_000, hours=48)
    decision = decide(NOW, car(), old, [], CFG, zone=NY)
    assert decision.amps == 32 and said(decision, "No load forecast")


def test_load_beyond_the_forecast_days_does_not_move_the_mean():
    base = forecast(NOW, 95_000, hours=73)  # the 73 hours that start within [now, now + 3 days)
    spike_start = base[-1].start + timedelta(hours=1)
    spiked = base + [ForecastPoint(spike_start + timedelta(hours=h), 500_000.0) for h in range(24)]
    assert decide(NOW, car(), spiked, [], CFG, zone=NY).amps == decide(NOW, car(), base, [], CFG, zone=NY).amps == 16


def test_a_missing_current_hour_uses_the_next_hour_and_says_so():
    points = forecast(NOW + timedelta(hours=1), 105_000)  # nothing for 22:00; 105 GW at 23:00
    decision = decide(NOW, car(battery_level=75), points, [], CFG, zone=NY)
    assert decision.amps == 8
    assert said(decision, "(next forecast hour)")


def test_the_band_is_raised_when_it_would_leave_the_car_short():
    """45 -> 80 % is 26 kWh; 8 A (busy grid) gives 1.92 kW, 13.7 h: too slow for 08:00, so more amps."""
    decision = decide(NOW, car(battery_level=45), forecast(NOW, 105_000), [], CFG, zone=NY)
    assert decision.amps == 13  # 26.25 kWh / 9.83 h = 2.67 kW = 11.1 A at 240 V; 13 A with the taper's margin
    assert said(decision, "8 A would not reach 80 % by", "13 A instead")
    assert decision.expected_soc[-1][1] >= 80


def test_unsorted_forecast_gives_the_same_amps():
    points = forecast(NOW, 70_000)
    assert decide(NOW, car(), points[::-1], [], CFG, zone=NY).amps == 32


def test_small_grid_loads_read_in_mw():
    points = [ForecastPoint(NOW.astimezone(UTC) + timedelta(hours=h), 6_000.0 + 100 * (h % 2)) for h in range(-1, 70)]
    decision = decide(NOW, car(), points, [], CFG, zone=NY)
    assert said(decision, "Forecast load 6,", " MW is ", "mean 6,0")


def test_amps_already_set_are_not_sent_again():
    decision = decide(NOW, car(charge_current_request=16), forecast(NOW, 95_000), [], CFG, zone=NY)
    assert decision.amps == 16 and args(decision, "set_charging_amps") is None



def test_with_the_cost_objective_the_bands_speak_in_dollars_per_kwh():
    """OBJECTIVE=cost: the series is the price ($/kWh) and the reason says so, with the same bands."""
    from charge_logic.objective import Objective

    config = replace(CFG, objective=Objective.COST)
    price = [ForecastPoint(p.start, p.load_mw / 300_000) for p in forecast(NOW, 95_000)]  # 0.317 now, mean 0.300
    decision = decide(NOW, car(), price, [], config, zone=NY)
    reason = next(r for r in decision.reasons if r.startswith("Forecast price"))
    assert reason == "Forecast price 0.317 $/kWh is above the 3-day mean 0.300 $/kWh: 50 % of 32 A = 16 A"
    assert said(decide(NOW, car(), [], [], config, zone=NY), "No price forecast", "32 A")
