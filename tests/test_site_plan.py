"""The site planner: two cars on one circuit, planned with an injected `now` (table tests and a property)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from charge_logic.models import ChargeWindow, ForecastPoint
from charge_logic.site import CarNeed, car_need, share_circuit

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 4, 22, 0, tzinfo=NY)
KW_PER_A = 0.25  # 250 V, one phase: 32 A is 8 kW


def at(h: float) -> datetime:
    return NOW + timedelta(hours=h)


def car(name: str, windows: list[tuple[float, float, int]], kwh: float, leaves: float | None) -> CarNeed:
    return CarNeed(name, tuple(ChargeWindow(at(a), at(b), amps) for a, b, amps in windows), kwh,
                   at(leaves) if leaves is not None else None, KW_PER_A)


def total_amps(plan, t: datetime) -> int:
    return sum(w.amps for c in plan.cars for w in c.windows if w.start <= t < w.end)


def shares(plan) -> dict[str, list[tuple[float, float, int]]]:
    return {c.name: [((w.start - NOW) / timedelta(hours=1), (w.end - NOW) / timedelta(hours=1), w.amps)
                     for w in c.windows] for c in plan.cars}


# the grid's forecast from 22:00: high in the evening, lowest 00:00-04:00, low again 04:00-06:00
EVENING = [ForecastPoint(at(h), mw) for h, mw in enumerate([100, 100, 50, 50, 50, 50, 60, 60, 90, 90, 90, 90])]

TABLE = [
    # name, cars, circuit, forecast, expected windows per car (hours from 22:00), ready per car
    ("one car alone keeps its plan", [car("Alex", [(2, 6, 32)], 30.0, 9)], 48, EVENING,
     {"Alex": [(2, 6, 32)]}, {"Alex": True}),
    ("no shared circuit: both keep their plans",
     [car("Alex", [(2, 6, 32)], 30.0, 9), car("Sam", [(2, 6, 32)], 30.0, 10)], None, EVENING,
     {"Alex": [(2, 6, 32)], "Sam": [(2, 6, 32)]}, {"Alex": True, "Sam": True}),
    ("the earlier departure goes first; the other takes the rest, then what it lacks in the next lowest hours",
     [car("Sam", [(2, 6, 32)], 30.0, 10), car("Alex", [(2, 6, 32)], 30.0, 8)], 48, EVENING,
     {"Alex": [(2, 6, 32)], "Sam": [(2, 6, 16), (6, 7.75, 32)]}, {"Alex": True, "Sam": True}),
    ("same departure: the larger need goes first; with no forecast the earliest spare time",
     [car("Sam", [(0, 4, 32)], 10.0, 8), car("Alex", [(0, 4, 32)], 30.0, 8)], 40, [],
     {"Alex": [(0, 4, 32)], "Sam": [(0, 4, 8), (4, 4.25, 32)]}, {"Alex": True, "Sam": True}),
    ("a remainder below the charger's 5 A minimum is no charge at all",
     [car("Alex", [(0, 4, 32)], 30.0, 8), car("Sam", [(0, 4, 32)], 4.0, 9)], 35, [],
     {"Alex": [(0, 4, 32)], "Sam": [(4, 4.5, 32)]}, {"Alex": True, "Sam": True}),
    ("the circuit cannot make both ready: the later one is short",
     [car("Alex", [(0, 8, 32)], 60.0, 8), car("Sam", [(0, 8, 32)], 40.0, 8)], 40, [],
     {"Alex": [(0, 8, 32)], "Sam": [(0, 8, 8)]}, {"Alex": True, "Sam": False}),
]


@pytest.mark.parametrize("name,cars,circuit,forecast,windows,ready", TABLE, ids=[t[0] for t in TABLE])
def test_site_plan(name, cars, circuit, forecast, windows, ready) -> None:
    plan = share_circuit(NOW, cars, circuit, forecast)
    assert shares(plan) == windows
    assert {c.name: c.ready for c in plan.cars} == ready
    if circuit is not None:
        assert plan.peak_amps <= circuit


def test_the_car_that_waits_is_named_with_the_car_it_waits_for() -> None:
    plan = share_circuit(NOW, [car("Alex", [(0, 8, 32)], 60.0, 8), car("Sam", [(0, 8, 32)], 40.0, 8)], 40)
    sam = next(c for c in plan.cars if c.name == "Sam")
    assert any("with Alex" in r for r in sam.reasons), sam.reasons
    assert any("Sam gets 16.0 of 40.0 kWh by Sat 06:00" in r for r in sam.reasons), sam.reasons
    alex = next(c for c in plan.cars if c.name == "Alex")
    assert alex.reasons == ()


def test_the_load_steps_are_the_sum_of_the_cars() -> None:
    plan = share_circuit(NOW, [car("Sam", [(2, 6, 32)], 30.0, 10), car("Alex", [(2, 6, 32)], 30.0, 8)], 48, EVENING)
    assert [((t - NOW) / timedelta(hours=1), a) for t, a in plan.load] == [(0, 0), (2, 48), (6, 32), (7.75, 0)]


def test_now_must_be_aware_and_the_circuit_positive() -> None:
    with pytest.raises(ValueError, match="aware"):
        share_circuit(NOW.replace(tzinfo=None), [], 48)
    with pytest.raises(ValueError, match="above 0"):
        share_circuit(NOW, [], 0)


window = st.tuples(st.integers(0, 40), st.integers(1, 16), st.integers(5, 48))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(window, max_size=3), st.floats(0, 80), st.one_of(st.none(), st.integers(1, 60))),
                min_size=1, max_size=4), st.integers(6, 80))
@example(raw=[([(0, 1, 5)], 2.0, 1)], circuit=6)  # the top-up would need more than the circuit has
def test_never_over_the_circuit(raw, circuit) -> None:
    cars = [car(f"car{i}", [(q / 4, q / 4 + d / 4, a) for q, d, a in ws], kwh, leaves)
            for i, (ws, kwh, leaves) in enumerate(raw)]
    plan = share_circuit(NOW, cars, circuit)
    moments = {w.start for c in plan.cars for w in c.windows}
    assert all(total_amps(plan, t) <= circuit for t in moments), "the cars draw more than the circuit"
    assert plan.peak_amps <= circuit
    for c, need in zip(plan.cars, cars, strict=True):
        assert all(need.min_amps <= w.amps <= need.max_amps for w in c.windows), "amps the charger cannot draw"
        assert c.ready or c.reasons, "a car left short must say why"
    if len(cars) == 1 and cars[0].windows:
        got = share_circuit(NOW, cars, None).cars[0]
        # a circuit the car's plan never reaches changes nothing (one its top-up would exceed, found by hypothesis:
        # a 5 A hour, 2 kWh to add and a 6 A circuit, does: 1.5 kWh, and the car says so)
        if all(w.amps <= circuit for w in got.windows):
            assert plan.cars[0].energy_by_departure_kwh >= got.energy_by_departure_kwh - 1e-6


def test_with_no_departure_known_the_car_whose_plan_starts_first_keeps_its_amps() -> None:
    # two household plans ("charge from", until full): ranked by the kWh they lack, the two would swap every tick as
    # the one charging faster comes to lack less; the one whose own plan started first keeps its 32 A
    early = car("Alex", [(0, 24, 32)], 40.0, None)
    later = car("Sam", [(1, 25, 32)], 60.0, None)
    for lack in (40.0, 70.0):  # Alex lacking less or more than Sam: the same plan
        plan = share_circuit(NOW, [later, CarNeed("Alex", early.windows, lack, None, KW_PER_A)], 48)
        assert shares(plan) == {"Alex": [(0, 24, 32)], "Sam": [(1, 24, 16), (24, 25, 32)]}
    # a car with a departure still goes before them
    plan = share_circuit(NOW, [early, car("Kim", [(2, 4, 32)], 16.0, 5)], 48)
    assert shares(plan)["Kim"] == [(2, 4, 32)] and shares(plan)["Alex"] == [(0, 2, 32), (2, 4, 16), (4, 24, 32)]


def test_car_need_from_the_daemons_plan_and_snapshot() -> None:
    from charge_logic.config import RuleConfig
    from charge_logic.models import VehicleSnapshot
    from charge_logic.vehicle_plan import VehiclePlan

    config = RuleConfig(battery_kwh=75.0)
    w = (ChargeWindow(at(1), at(5), 24), ChargeWindow(at(5), at(6), 0))
    plan = VehiclePlan(w, ((NOW, 40.0), (at(5), 80.0)), None, ())
    snap = VehicleSnapshot("…0001", "Alex", "online", battery_level=40, charging_state="Stopped",
                           charger_voltage=230, charger_phases=3, charge_current_request_max=16)
    need = car_need("Alex", plan, snap, config, at(8))
    # 40 % of 75 kWh at the wall; 230 V × 3 phases; the car's own 16 A; a 0 A window is no window
    assert need.energy_kwh == pytest.approx(0.4 * 75 / 0.9)
    assert need.kw_per_amp == pytest.approx(0.69) and need.max_amps == 16
    assert need.windows == w[:1] and need.departure == at(8)
    full = car_need("Alex", plan, VehicleSnapshot("…0001", "Alex", "online", battery_level=40,
                                                    charging_state="Complete"), config, None)
    assert full.windows == (), "a car that has stopped taking energy leaves the circuit to the others"
