"""Properties that hold for any car, forecast, calendar and clock: checked with generated inputs (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charge_logic.commands import apply_commands
from charge_logic.config import RuleConfig
from charge_logic.limit import limit_bounds
from charge_logic.models import CalendarEvent, ChargeWindow, ForecastPoint, Route, Trip, VehicleSnapshot
from charge_logic.rules import decide

ZONES = [ZoneInfo("America/New_York"), ZoneInfo("Europe/Oslo"), ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")]
STATES = ["Charging", "Starting", "Stopped", "Complete", "Disconnected", "NoPower", None]

moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),
                       timezones=st.sampled_from(ZONES), allow_imaginary=False)


@st.composite
def configs(draw) -> RuleConfig:
    low, high = sorted(draw(st.lists(st.integers(1, 48), min_size=2, max_size=2)))
    limits = sorted(draw(st.lists(st.integers(50, 100), min_size=3, max_size=3)))
    default = draw(st.times(max_value=time(12, 0)))
    latest = max(default, draw(st.times(max_value=time(14, 0))))
    pcts = draw(st.lists(st.integers(0, 100), min_size=4, max_size=4))
    return RuleConfig(min_soc=draw(st.integers(0, 60)), full_power_limit=draw(st.integers(50, 100)),
                      default_departure=default.replace(second=0, microsecond=0),
                      latest_departure=latest.replace(second=0, microsecond=0), min_charge_limit=limits[0],
                      base_charge_limit=limits[1], top_charge_limit=limits[2],
                      high_limit_hours=draw(st.floats(0, 48)), departure_buffer_min=draw(st.integers(0, 240)),
                      forecast_days=draw(st.sampled_from([0.5, 1.0, 3.0, 7.0])),
                      amps_pct_very_high_load=pcts[0], amps_pct_high_load=pcts[1], amps_pct_low_load=pcts[2],
                      amps_pct_very_low_load=pcts[3], min_amps=low, max_amps=high,
                      battery_kwh=draw(st.floats(10, 250)), consumption_wh_per_km=draw(st.floats(50, 600)),
                      reserve_soc=draw(st.integers(0, 50)), events_horizon_hours=draw(st.floats(1, 168)))


@st.composite
def vehicles(draw) -> VehicleSnapshot | None:
    if draw(st.integers(0, 20)) == 0:
        return None
    charging_state = draw(st.sampled_from(STATES))
    maybe = st.none() | st.booleans()
    return VehicleSnapshot(
        vin_short="…0001", display_name="Car", state=draw(st.sampled_from(["online", "asleep", "offline"])),
        battery_level=draw(st.none() | st.integers(0, 100)), charge_limit_soc=draw(st.none() | st.integers(50, 100)),
        charge_limit_soc_min=draw(st.sampled_from([None, 50])),
        charge_limit_soc_max=draw(st.sampled_from([None, 90, 100])), charging_state=charging_state,
        charge_current_request=draw(st.none() | st.integers(0, 48)),
        charge_current_request_max=draw(st.sampled_from([None, 0, 12, 16, 32, 48])),
        charger_voltage=draw(st.sampled_from([None, 0, 2, 120, 230, 240])),
        charger_phases=draw(st.sampled_from([None, 0, 1, 2, 3])),
        conn_charge_cable=draw(st.sampled_from([None, "SAE", "IEC", "<invalid>"])),
        fast_charger_present=draw(maybe),
        scheduled_charging_mode=draw(st.sampled_from([None, "Off", "StartAt", "DepartBy"])),
        off_peak_charging_enabled=draw(maybe),
        off_peak_charging_times=draw(st.sampled_from([None, "all_week", "weekdays"])),
        scheduled_departure_time_minutes=draw(st.none() | st.integers(0, 1439)),
        off_peak_hours_end_time=draw(st.none() | st.integers(0, 1439)),
        preconditioning_enabled=draw(maybe), preconditioning_times=draw(st.sampled_from([None, "all_week",
                                                                                         "weekdays"])))


@st.composite
def worlds(draw):
    now = draw(moments)
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = draw(st.integers(-6, 3))
    loads = draw(st.lists(st.floats(1_000, 200_000), max_size=120))
    forecast = [ForecastPoint(hour + timedelta(hours=first + i), load) for i, load in enumerate(loads)]
    trips = []
    for i in range(draw(st.integers(0, 4))):
        start = now + timedelta(minutes=draw(st.integers(-180, 4000)))
        all_day = draw(st.booleans())
        route = draw(st.none() | st.builds(Route, st.floats(0, 500), st.floats(0, 400)))
        trips.append(Trip(CalendarEvent(str(i), f"Event {i}", start, start + timedelta(hours=1), all_day), route))
    windows = None
    if draw(st.booleans()):
        windows = []
        for _ in range(draw(st.integers(0, 4))):
            start = now + timedelta(minutes=draw(st.integers(-600, 2000)))
            windows.append(ChargeWindow(start, start + timedelta(minutes=draw(st.integers(1, 600))),
                                        draw(st.integers(0, 60))))
    return dict(now=now, vehicle=draw(vehicles()), forecast=forecast, trips=trips, config=draw(configs()),
                zone=draw(st.sampled_from(ZONES)), at_home=draw(st.sampled_from([True, False, None])), windows=windows)


def amps_range(config: RuleConfig, vehicle: VehicleSnapshot | None) -> tuple[int, int]:
    """The wall charger's max lowered by the car's own; min_amps unless the car's max is below it."""
    top = config.max_amps
    if vehicle is not None and vehicle.charge_current_request_max:
        top = min(top, vehicle.charge_current_request_max)
    return min(config.min_amps, top), top


def run(world, vehicle=None):
    w = dict(world)
    if vehicle is not None:
        w["vehicle"] = vehicle
    return decide(w["now"], w["vehicle"], w["forecast"], w["trips"], w["config"], zone=w["zone"],
                  at_home=w["at_home"], windows=w["windows"])


PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(worlds())
def test_amps_stay_within_what_charger_and_car_allow(world):
    decision = run(world)
    low, top = amps_range(world["config"], world["vehicle"])
    amps = [decision.amps] + [c.args["charging_amps"] for c in decision.commands if c.name == "set_charging_amps"]
    amps += [w.amps for w in decision.windows]
    for a in amps:
        assert a is None or a == 0 or low <= a <= top


@PROPS
@given(worlds())
def test_limit_stays_within_bounds(world):
    decision, vehicle, config = run(world), world["vehicle"], world["config"]
    low, high = limit_bounds(config, vehicle)  # the settings' range within the car's (tests/test_rules_limit.py)
    for c in decision.commands:
        if c.name == "set_charge_limit":
            assert low <= c.args["percent"] <= high
    if decision.charge_limit is not None and decision.mode != "charge_now_full":
        owner_asked_full = vehicle.charge_limit_soc is not None and vehicle.charge_limit_soc >= config.full_power_limit
        if owner_asked_full:
            assert decision.charge_limit == vehicle.charge_limit_soc
        else:
            assert low <= decision.charge_limit <= high


@PROPS
@given(worlds())
def test_plugged_in_below_min_soc_charges_now(world):
    vehicle, config = world["vehicle"], world["config"]
    decision = run(world)
    if (vehicle is None or vehicle.battery_level is None or not vehicle.plugged_in or world["at_home"] is not True
            or vehicle.fast_charger_present or vehicle.charging_state == "NoPower"):
        assert decision.commands == () and decision.charge_now is None
        return
    names = [c.name for c in decision.commands]
    if vehicle.battery_level < config.min_soc:
        assert decision.charge_now is True and decision.mode == "charge_now_low_soc"
        assert "charge_stop" not in names
        limit = decision.charge_limit
        # a charging state the car left null may be "Charging": the start waits for a reading that says
        if not vehicle.charging and vehicle.charging_state is not None and limit is not None \
                and vehicle.battery_level < limit:
            assert names[-1] == "charge_start"


@PROPS
@given(worlds())
def test_same_inputs_give_the_same_decision(world):
    assert run(world) == run(world)


@PROPS
@given(worlds())
def test_applying_the_commands_then_deciding_again_sends_nothing(world):
    first = run(world)
    if world["vehicle"] is None:
        return
    after = apply_commands(world["vehicle"], first.commands)
    assert run(world, after).commands == ()


@PROPS
@given(worlds())
def test_departure_is_ahead_and_on_the_cars_clock(world):
    decision = run(world)
    for c in decision.commands:
        if c.name == "set_scheduled_departure":
            assert 0 <= c.args["departure_time"] < 1440 and 0 <= c.args["end_off_peak_time"] < 1440
    if decision.departure is not None:
        now, config = world["now"], world["config"]
        assert now < decision.departure <= now + timedelta(hours=config.events_horizon_hours, days=1)
        assert decision.off_peak_end is not None and decision.off_peak_end <= decision.departure


@PROPS
@given(worlds(), st.randoms(use_true_random=False))
def test_the_order_inputs_arrive_in_does_not_change_the_decision(world, rnd):
    """A forecast or calendar reply in another order (GridStatus pages, iCal feeds) is the same input."""
    shuffled = dict(world, forecast=list(world["forecast"]), trips=list(world["trips"]))
    rnd.shuffle(shuffled["forecast"])
    rnd.shuffle(shuffled["trips"])
    assert run(shuffled) == run(world)


def _planned(world, vehicle):
    """What the daemon does with POLICY=planner: plan windows for this car, then decide with them."""
    from charge_logic.vehicle_plan import plan_for_vehicle

    windows = None
    if vehicle is not None:
        windows = plan_for_vehicle(world["now"], vehicle, world["forecast"], world["trips"], world["config"],
                                   world["zone"])[0]
    return decide(world["now"], vehicle, world["forecast"], world["trips"], world["config"], zone=world["zone"],
                  at_home=world["at_home"], windows=windows)


@PROPS
@given(worlds())
def test_with_the_planner_a_car_given_its_commands_gets_none_again(world):
    """The daemon re-plans from the car as the commands left it: the new plan must not ask for anything more (the
    plan depends on the car's SoC, limit and charger, which the commands may change)."""
    vehicle = world["vehicle"]
    if vehicle is None:
        return
    first = _planned(world, vehicle)
    after = apply_commands(vehicle, first.commands)
    assert _planned(world, after).commands == ()
