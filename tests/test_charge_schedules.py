"""The plan as the car's own charge schedule on firmware 2024.26+ (issue 15, item 1): the daemon's Coordinator with the
real Fleet client against the fake car behind tesla-http-proxy's reply shapes, an evening and a night.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from charge_logic.charge_schedules import SCHEDULER_ID, Place, with_charge_schedule
from charge_logic.models import ChargeWindow, Command, Decision
from clients.tesla_fleet import FleetVehicle, save_token
from service.coordinator import Coordinator
from service.demo import DemoForecast, demo_trips
from service.settings import load_settings
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.tesla_car import FIRMWARE_2026, LEGACY_FIRMWARE
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi

NY = ZoneInfo("America/New_York")
EVENING = datetime(2026, 11, 24, 18, 3, tzinfo=NY)  # a Tuesday
HOME = (40.0, -75.0)
WORK = (40.3, -74.6)


def car_at_home(firmware: str) -> FakeCar:
    car = FakeCar(now=EVENING, plugged=False, state="online", battery_level=40, charge_limit=80, firmware=firmware)
    car.lat, car.lon = HOME
    if car.takes_schedules:  # the owner's own schedule, for the office car park: never the scheduler's business
        car.owner_schedule(days_of_week=62, start_enabled=True, start_time=9 * 60, end_enabled=True,
                           end_time=17 * 60, latitude=WORK[0], longitude=WORK[1])
    car.plug_in()
    return car


def coordinator(fake: FakeFleetApi, tmp_path: Path, clock: Clock, **settings: object) -> Coordinator:
    s = load_settings({}, env_file=None, state_dir=str(tmp_path), time_zone="America/New_York", tesla_backend="fleet",
                      home_latitude=HOME[0], home_longitude=HOME[1], **settings)
    token = tmp_path / "tesla_fleet_token.json"
    save_token(token, fake.grant())
    vehicle = FleetVehicle(fake.url, token_file=token, client_id=fake.client_id, token_url=fake.url,
                           vin=fake.car.vin, clock=clock, sleep=lambda s: None)
    link = VehicleLink(vehicle, tmp_path, data_min_interval_min=10, data_idle_interval_min=30, wakes_per_day=4,
                       commands_per_day=40, zone=NY)
    return Coordinator(s, link, DemoForecast(), demo_trips(NY, tmp_path), mode="live")


def run(coord: Coordinator, clock: Clock, car: FakeCar, until: datetime, *, down_from: datetime | None = None):
    """14-minute ticks until `until`; from `down_from` on the daemon is down and only the car's clock runs."""
    results = []
    while clock.now < until:
        car.advance(clock.now - car.now)
        if down_from is None or clock.now < down_from:
            results.append(coord.tick(clock.now))
        clock.advance(minutes=14)
    car.advance(clock.now - car.now)
    return results


def commands(fake: FakeFleetApi) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in fake.requests("POST", r"/command/")]


def test_on_2026_firmware_the_plan_becomes_the_car_s_own_schedule(tmp_path):
    clock = Clock(EVENING)
    car = car_at_home(FIRMWARE_2026)
    owner_before = [dict(x) for x in car.schedules]
    with FakeFleetApi(car) as fake:
        coord = coordinator(fake, tmp_path, clock)
        results = run(coord, clock, car, EVENING + timedelta(hours=13, minutes=30))
        sent = commands(fake)
        assert "set_scheduled_departure" not in sent  # each would add a schedule on this firmware
        assert sent.count("add_charge_schedule") <= 2 and "charge_start" not in sent
        ours = [x for x in car.schedules if x["id"] == SCHEDULER_ID]
        assert len(ours) == 1 and len(car.schedules) == 2  # ours, and the owner's, untouched
        assert car.owner_touched == 0 and [x for x in car.schedules if x["id"] != SCHEDULER_ID] == owner_before
        mine = ours[0]
        assert (mine["start_enabled"], mine["end_enabled"], mine["days_of_week"], mine["one_time"]) == \
            (True, True, 127, False)
        assert abs(mine["latitude"] - HOME[0]) < 1e-4 and abs(mine["longitude"] - HOME[1]) < 1e-4
        # the planner's first window is the car's schedule start (to the quarter hour)
        written = next(r for r in results if any(c.name == "add_charge_schedule" for c in r.decision.commands))
        first = min(w.start for w in written.decision.windows).astimezone(NY)
        args = next(c.args for c in written.decision.commands if c.name == "add_charge_schedule")
        assert args["start_time"] == (first.hour * 60 + first.minute) // 15 * 15
        assert car.schedule_starts and car.schedule_starts[0][1] == SCHEDULER_ID  # the car started itself
        assert car.battery >= 79


def test_the_car_charges_the_plan_while_the_daemon_is_down(tmp_path):
    clock = Clock(EVENING)
    car = car_at_home(FIRMWARE_2026)
    with FakeFleetApi(car) as fake:
        coord = coordinator(fake, tmp_path, clock)
        run(coord, clock, car, EVENING + timedelta(hours=13, minutes=30), down_from=EVENING + timedelta(hours=1))
        assert "add_charge_schedule" in commands(fake)
        assert car.schedule_starts and car.battery >= 79  # nobody was there to say charge_start


def test_the_schedule_is_found_again_and_never_duplicated_across_restarts(tmp_path):
    clock = Clock(EVENING)
    car = car_at_home(FIRMWARE_2026)
    with FakeFleetApi(car) as fake:
        for _ in range(3):  # three processes, one after the other, over one evening
            coord = coordinator(fake, tmp_path, clock)
            run(coord, clock, car, clock.now + timedelta(hours=2))
        assert [x["id"] for x in car.schedules].count(SCHEDULER_ID) == 1
        assert commands(fake).count("add_charge_schedule") <= 2


def test_turned_off_the_scheduler_removes_its_schedule_and_keeps_the_owner_s(tmp_path):
    clock = Clock(EVENING)
    car = car_at_home(FIRMWARE_2026)
    with FakeFleetApi(car) as fake:
        run(coordinator(fake, tmp_path, clock), clock, car, EVENING + timedelta(hours=1))
        assert any(x["id"] == SCHEDULER_ID for x in car.schedules)
        off = coordinator(fake, tmp_path, clock, tesla_charge_schedules=False)
        run(off, clock, car, clock.now + timedelta(hours=13))
        assert [x["id"] for x in car.schedules] == [next(iter(car.owner_ids))]
        assert "set_scheduled_departure" not in commands(fake) and car.owner_touched == 0
        assert car.battery >= 79  # the daemon's own start and stop did it


def test_old_firmware_keeps_the_scheduled_departure(tmp_path):
    clock = Clock(EVENING)
    car = car_at_home(LEGACY_FIRMWARE)
    car.scheduled_mode, car.off_peak = "DepartBy", True  # the owner's scheduled departure, as the rules want it
    car.want_charge = False
    with FakeFleetApi(car) as fake:
        run(coordinator(fake, tmp_path, clock), clock, car, EVENING + timedelta(hours=13, minutes=30))
        sent = commands(fake)
        assert "add_charge_schedule" not in sent and sent.count("set_scheduled_departure") >= 1
        assert car.scheduled_mode == "DepartBy" and car.battery >= 79


def test_on_2026_firmware_each_scheduled_departure_adds_a_schedule_and_reads_off(tmp_path):
    """The quirk the fake carries (vehicle-command issue 290): the reason not to send it there."""
    car = car_at_home(FIRMWARE_2026)
    args = {"enable": True, "departure_time": 450, "off_peak_charging_enabled": True, "end_off_peak_time": 420}
    for _ in range(3):
        assert car.command("set_scheduled_departure", args) == (True, "")
    cs = car.vehicle_data(None)["charge_state"]
    assert (cs["scheduled_charging_mode"], cs["scheduled_departure_time_minutes"]) == ("Off", None)
    assert len(car.schedules) == 1 + 3


@pytest.mark.parametrize("bad", [{"days_of_week": "Someday"}, {"lat": None}])
def test_the_fake_refuses_a_schedule_the_proxy_would(bad):
    car = car_at_home(FIRMWARE_2026)
    args = {"days_of_week": "All", "enabled": True, "start_enabled": True, "start_time": 60, "end_enabled": True,
            "end_time": 300, "lat": 40.0, "lon": -75.0, **bad}
    assert car.command("add_charge_schedule", args)[0] is False


# ---------------------------------------------------------------------- what a write costs (issue 15's budgets)
def _snapshot(fake: FakeFleetApi, tmp_path: Path, clock: Clock):
    token = tmp_path / "tesla_fleet_token.json"
    save_token(token, fake.grant())
    return FleetVehicle(fake.url, token_file=token, client_id=fake.client_id, token_url=fake.url, vin=fake.car.vin,
                        clock=clock, sleep=lambda s: None).snapshot()


def _charging_now(now: datetime, *windows: ChargeWindow) -> Decision:
    return Decision(at=now, mode="plan_charging", charge_now=True, amps=None, charge_limit=None, departure=None,
                    off_peak_end=None, needed_soc=None, reasons=(), commands=(Command("charge_start"),),
                    windows=windows)


def test_a_plan_that_charges_now_starts_the_car_at_the_next_quarter_hour_not_at_a_start_gone_by(tmp_path):
    """The car starts a schedule when its clock reaches the start: written at 18:03 with the plan's 18:00 it would wait
    until tomorrow's 18:00, and the charge_start the schedule replaces is not sent."""
    clock = Clock(EVENING)  # 18:03
    car = car_at_home(FIRMWARE_2026)
    car.command("charge_stop", {})
    with FakeFleetApi(car) as fake:
        snap = _snapshot(fake, tmp_path, clock)
    decision = _charging_now(EVENING, ChargeWindow(EVENING - timedelta(minutes=3), EVENING + timedelta(hours=4), 32))
    d = with_charge_schedule(decision, snap, now=EVENING, zone=NY, place=Place(*HOME), enabled=True)
    assert [c.name for c in d.commands] == ["add_charge_schedule"]
    args = d.commands[0].args
    assert args["start_time"] == 18 * 60 + 15
    assert car.command("add_charge_schedule", args) == (True, "")
    car.advance(timedelta(minutes=15))
    assert car.charging_state == "Charging" and car.schedule_starts[-1][1] == SCHEDULER_ID


def test_a_plan_that_charges_now_starts_a_car_whose_schedule_would_not_and_keeps_the_schedule(tmp_path):
    """Stopped inside its schedule (its start is behind it: the car waits for tomorrow's), or holding one that starts
    hours later: the plan's charge_start goes, one command like a rewrite, but the car charges at once and keeps the
    schedule for the nights it was written for (a plan that charges now often waits again within the hour)."""
    clock = Clock(EVENING + timedelta(minutes=10))  # 18:13
    car = car_at_home(FIRMWARE_2026)
    car.command("add_charge_schedule", {"id": SCHEDULER_ID, "days_of_week": "All", "enabled": True,
                                        "start_enabled": True, "start_time": 18 * 60, "end_enabled": True,
                                        "end_time": 7 * 60, "lat": HOME[0], "lon": HOME[1]})
    car.command("charge_stop", {})
    car.advance(clock.now - car.now)
    with FakeFleetApi(car) as fake:
        snap = _snapshot(fake, tmp_path, clock)
    decision = _charging_now(clock.now, ChargeWindow(EVENING, EVENING + timedelta(hours=5), 32))
    d = with_charge_schedule(decision, snap, now=clock.now, zone=NY, place=Place(*HOME), enabled=True)
    assert [c.name for c in d.commands] == ["charge_start"]
    car.command("charge_start", {})
    assert car.charging_state == "Charging"
    later = replace(snap, charge_schedules=(replace(snap.charge_schedules[-1], start_time=23 * 60),))
    d = with_charge_schedule(decision, later, now=clock.now, zone=NY, place=Place(*HOME), enabled=True)
    assert [c.name for c in d.commands] == ["charge_start"]
    soon = replace(snap, charge_schedules=(replace(snap.charge_schedules[-1], start_time=18 * 60 + 15,
                                                   end_time=23 * 60 + 15),))
    d = with_charge_schedule(decision, soon, now=clock.now, zone=NY, place=Place(*HOME), enabled=True)
    assert d.commands == ()  # it starts by itself in two minutes


def _ours(start: int, end: int) -> dict:
    return {"id": SCHEDULER_ID, "days_of_week": "All", "enabled": True, "start_enabled": True, "start_time": start,
            "end_enabled": True, "end_time": end, "lat": HOME[0], "lon": HOME[1]}


def test_a_charge_started_at_plug_in_that_the_plan_then_defers_is_stopped_by_the_rewrite_alone(tmp_path):
    """Issue 15's third command (seeds 7 and 11 of the 2026 soak): the plan charged at plug-in for a trip that was due
    (charge_start), then the trip went by without the car and the plan waits for midnight, while the car still holds
    last night's schedule two hours early. The schedule is rewritten, and that alone stops the car (it charges outside
    every schedule of its place, and waits for them as when plugged in): no charge_stop beside it."""
    clock = Clock(EVENING + timedelta(minutes=32))  # 18:35
    car = car_at_home(FIRMWARE_2026)
    car.command("charge_stop", {})
    assert car.command("add_charge_schedule", _ours(22 * 60, 10 * 60)) == (True, "")
    assert car.command("charge_start", {}) == (True, "")  # the plug-in's start, for the trip that was due
    car.advance(clock.now - car.now)
    with FakeFleetApi(car) as fake:
        snap = _snapshot(fake, tmp_path, clock)
        assert snap.charging
        midnight = datetime(2026, 11, 25, 0, 0, tzinfo=NY)
        waiting = Decision(at=clock.now, mode="plan_waiting", charge_now=False, amps=None, charge_limit=None,
                           departure=midnight + timedelta(hours=4, minutes=55), off_peak_end=None, needed_soc=None,
                           reasons=(), commands=(Command("charge_stop"),),
                           windows=(ChargeWindow(midnight, midnight + timedelta(hours=16), 32),))
        d = with_charge_schedule(waiting, snap, now=clock.now, zone=NY, place=Place(*HOME), enabled=True)
        assert [c.name for c in d.commands] == ["add_charge_schedule"]
        assert (d.commands[0].args["start_time"], d.commands[0].args["end_time"]) == (0, 5 * 60)
        assert car.command("add_charge_schedule", d.commands[0].args) == (True, "")
        assert car.charging_state == "Stopped"  # it waits for its new schedule
        after = _snapshot(fake, tmp_path, clock)  # the rules send no stop to a car that is not charging
        assert not after.charging and with_charge_schedule(replace(waiting, commands=()), after, now=clock.now,
                                                           zone=NY, place=Place(*HOME), enabled=True).commands == ()
        car.advance(datetime(2026, 11, 25, 0, 1, tzinfo=NY) - car.now)
        assert car.charging_state == "Charging" and car.schedule_starts[-1][1] == SCHEDULER_ID


def test_a_car_whose_own_schedule_starts_a_little_later_and_fills_it_in_time_is_not_started(tmp_path):
    """The plan charges from 23:00; the car's schedule was kept at midnight because, starting then, it is still full
    hours before the schedule's end and the 07:30 departure. At 23:07 the plan's charge_start (and a wake for it) would
    buy nothing the schedule does not. With the departure close, it is sent."""
    clock = Clock(datetime(2026, 11, 24, 23, 7, tzinfo=NY))
    car = car_at_home(FIRMWARE_2026)
    car.command("charge_stop", {})
    assert car.command("add_charge_schedule", _ours(0, 5 * 60)) == (True, "")
    car.advance(clock.now - car.now)
    car.state = "online"
    with FakeFleetApi(car) as fake:
        snap = _snapshot(fake, tmp_path, clock)
    eleven = datetime(2026, 11, 24, 23, 0, tzinfo=NY)

    def charging(departure: datetime) -> Decision:
        return replace(_charging_now(clock.now, ChargeWindow(eleven, eleven + timedelta(hours=5), 32)),
                       departure=departure, expected_soc=((clock.now, 40.0), (eleven + timedelta(hours=3), 80.0)))

    d = with_charge_schedule(charging(datetime(2026, 11, 25, 7, 30, tzinfo=NY)), snap, now=clock.now, zone=NY,
                             place=Place(*HOME), enabled=True)
    assert d.commands == ()
    d = with_charge_schedule(charging(datetime(2026, 11, 25, 2, 45, tzinfo=NY)), snap, now=clock.now, zone=NY,
                             place=Place(*HOME), enabled=True)
    assert "charge_start" in [c.name for c in d.commands]


def test_a_full_car_inside_its_schedule_gets_the_raised_limit_alone_not_a_rewrite(tmp_path):
    """Seed 11 of the 2026 soak: full at 80 % inside its 22:00-10:00 schedule, the car is to reach 90 % for a 10:00
    departure. Raised, the limit alone restarts it (it resumes inside its schedule); rewriting the schedule to start at
    the next quarter hour was a second command, and stopped the car until then."""
    clock = Clock(datetime(2026, 11, 25, 4, 7, tzinfo=NY))
    car = car_at_home(FIRMWARE_2026)
    car.command("charge_stop", {})
    assert car.command("add_charge_schedule", _ours(22 * 60, 10 * 60)) == (True, "")
    car.advance(datetime(2026, 11, 24, 22, 0, tzinfo=NY) - car.now)
    car.advance(clock.now - car.now)
    car.state = "online"
    assert car.charging_state == "Complete"
    with FakeFleetApi(car) as fake:
        snap = _snapshot(fake, tmp_path, clock)
    departure = datetime(2026, 11, 25, 10, 0, tzinfo=NY)
    decision = replace(_charging_now(clock.now, ChargeWindow(clock.now, clock.now + timedelta(hours=17), 32)),
                       charge_limit=90, departure=departure,
                       commands=(Command("set_charge_limit", {"percent": 90}), Command("charge_start")),
                       expected_soc=((clock.now, 80.0), (clock.now + timedelta(hours=1), 90.0)))
    d = with_charge_schedule(decision, snap, now=clock.now, zone=NY, place=Place(*HOME), enabled=True)
    assert [c.name for c in d.commands] == ["set_charge_limit"]
    assert car.command("set_charge_limit", {"percent": 90}) == (True, "")
    assert car.charging_state == "Charging"
