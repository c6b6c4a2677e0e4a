"""Tesla as it answers in 2026 (issue 15): tesla-http-proxy's reply shapes, unsigned-command refusals, billing and
the refusals only the owner can fix, the Owner API's closed door. The real clients and VehicleLink against the fakes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from charge_logic.models import Command, Decision
from clients.tesla_fleet import FleetVehicle, save_token
from clients.vehicle import CommandProtocolRequired, VehicleError, VehicleSetupError
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 27, 20, 0, tzinfo=NY)


def vehicle_for(fake: FakeFleetApi, tmp_path, clock: Clock, **kw) -> FleetVehicle:
    token = tmp_path / "tesla_fleet_token.json"
    save_token(token, fake.grant())
    return FleetVehicle(fake.url, token_file=token, client_id=fake.client_id, token_url=fake.url, vin=fake.car.vin,
                        clock=clock, sleep=lambda s: None, **kw)


def link_for(fake: FakeFleetApi, tmp_path, clock: Clock) -> VehicleLink:
    return VehicleLink(vehicle_for(fake, tmp_path, clock), tmp_path, data_min_interval_min=10,
                       data_idle_interval_min=30, wakes_per_day=4, commands_per_day=40, zone=NY)


def wanting(now: datetime, *commands: Command) -> Decision:
    return Decision(at=now, mode="plan_charging", charge_now=True, amps=None, charge_limit=None, departure=None,
                    off_peak_end=None, needed_soc=None, reasons=(), commands=commands)


def step(clock: Clock, car: FakeCar, minutes: float) -> datetime:
    clock.advance(minutes=minutes)
    car.advance(clock.now - car.now)
    return clock.now


def billed(fake: FakeFleetApi) -> int:
    """Replies Tesla bills: every one below 500 on the API (developer.tesla.com/docs/fleet-api/billing-and-limits)."""
    return sum(1 for r in fake.requests(path_re=r"^/api/1/vehicles/.+") if r.status < 500)


# ---------------------------------------------------------------------- item 3: the proxy's refusals
@pytest.mark.parametrize("setup, command, reason", [
    (lambda c: None, Command("charge_start"), "is_charging"),
    (lambda c: None, Command("set_charge_limit", {"percent": 80}), "already_set"),
    (lambda c: c.command("charge_stop", {}), Command("charge_stop"), "not_charging"),
    (lambda c: setattr(c, "limit", 45), Command("charge_start"), "complete"),
])
def test_a_harmless_refusal_through_the_proxy_is_done_and_costs_no_reread(tmp_path, setup, command, reason):
    """tesla-http-proxy: HTTP 200 {"response": {"result": false, "reason": "car could not execute command:
    is_charging"}}. Read as a failure, it made the next tick pay for a fresh vehicle_data."""
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=False, state="online")
    car.plug_in()
    setup(car)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        report = link.send(clock(), wanting(clock(), command), lambda fresh: wanting(clock(), command))
        assert fake.log[-1].path.endswith(f"/command/{command.name}")
        assert [(s["ok"], s["reason"]) for s in report.sent] == [(True, reason)]
        link.read(step(clock, car, 5))  # not due yet, and nothing went wrong: no read
        assert len(fake.requests("GET", r"/vehicle_data$")) == 1


def test_a_real_refusal_through_the_proxy_is_a_failure_named_by_the_car_s_word(tmp_path):
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=False, state="online")
    with FakeFleetApi(car) as fake:
        result = vehicle_for(fake, tmp_path, clock).execute(Command("charge_start"))
        assert (result.ok, result.reason) == (False, "disconnected")


# ---------------------------------------------------------------------- item 4: unsigned commands
@pytest.mark.parametrize("how", ["200 unsigned_cmds_hardlocked", "403 command protocol required"])
def test_an_unsigned_refusal_is_told_once_and_the_loop_stops_paying_for_commands(tmp_path, caplog, how):
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online", battery_level=50)
    with FakeFleetApi(car) as fake:
        fake.proxy = False  # the scheduler talks to Tesla's host itself, unsigned
        if how.startswith("200"):
            fake.unsigned_hardlocked = True
        else:
            fake.commands_need_signing = True
        link = link_for(fake, tmp_path, clock)
        caplog.set_level(logging.WARNING)
        skipped = []
        for _ in range(int(24 * 60 / 14)):  # a day of ticks, each wanting a command
            now = step(clock, car, 14)
            link.read(now)
            car.state = "online"
            decision = wanting(now, Command("set_charging_amps", {"charging_amps": 12}))
            report = link.send(now, decision, lambda fresh, d=decision: d)
            skipped.append(report.skipped)
        assert len(fake.requests("POST", r"/command/")) == 1  # refused once, then not paid for again that day
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "tesla-http-proxy" in warnings[0] and "TESLA_FLEET_BASE_URL" in warnings[0]
        assert all(s and "tesla-http-proxy" in s for s in skipped[1:])
        assert "tesla-http-proxy" in link.status.last_error


def test_command_signing_required_in_the_vehicle_list_is_told_up_front(tmp_path, caplog):
    """The free vehicle list says command_signing: required; with TESLA_FLEET_BASE_URL on Tesla's own host every
    command would be refused (and billed): the owner is told at the first look, and no command is sent."""
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online")
    car.command_signing = "required"
    with FakeFleetApi(car) as fake:
        fake.proxy = False
        caplog.set_level(logging.WARNING)
        vehicle = vehicle_for(fake, tmp_path, clock, direct=True)  # this fake stands for Tesla's host here
        vehicle.summary()
        assert any("tesla-http-proxy" in r.getMessage() for r in caplog.records)
        with pytest.raises(CommandProtocolRequired, match="tesla-http-proxy"):
            vehicle.execute(Command("charge_start"))
        assert fake.requests("POST", r"/command/") == []


# ---------------------------------------------------------------------- item 7: billing and the owner's fixes
def test_every_reply_below_500_is_counted_as_billed(tmp_path):
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online")
    with FakeFleetApi(car) as fake:
        vehicle = vehicle_for(fake, tmp_path, clock, max_retry_after_s=30)
        vehicle.summary()
        fake.fail("429", path="vehicle_data", retry_after=600)  # too long to wait: this tick gives up
        with pytest.raises(VehicleError):
            vehicle.snapshot()
        fake.fail("500", path="vehicle_data")
        with pytest.raises(VehicleError):
            vehicle.snapshot()
        assert vehicle.calls.data == 1 == fake.billed()["data"]  # the 429 is billed, the 500 is not


@pytest.mark.parametrize("kind, path, fix", [
    ("402", None, "developer.tesla.com"),
    ("412", None, "partner_accounts"),
    ("451", None, "region"),
    ("401_mobile", "vehicle_data", "Allow Mobile Access"),
])
def test_a_refusal_only_the_owner_can_fix_is_one_clear_line_and_no_billed_retry_loop(tmp_path, kind, path, fix):
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online")
    with FakeFleetApi(car) as fake:
        fake.fail(kind, times=10_000, path=path)
        link = link_for(fake, tmp_path, clock)
        errors = set()
        for _ in range(int(24 * 60 / 14)):
            now = step(clock, car, 14)
            car.state = "online"
            link.read(now)
            errors.add(link.status.last_error)
        assert len(errors) == 1 and fix in next(iter(errors))
        assert billed(fake) + len(fake.requests("GET", r"^/api/1/vehicles$")) <= 2  # once, and once a day later
        assert fake.requests("POST", r"/oauth2/v3/token") == []  # mobile access off is not a token to refresh


def test_a_402_is_a_setup_error_with_a_day_s_pause(tmp_path):
    clock = Clock(T0)
    with FakeFleetApi(FakeCar(now=T0, state="online")) as fake:
        fake.fail("402")
        with pytest.raises(VehicleSetupError) as err:
            vehicle_for(fake, tmp_path, clock).summary()
        assert err.value.retry_after_s == 86400


def test_a_missing_scope_names_the_scopes_and_the_sign_in(tmp_path):
    clock = Clock(T0)
    with FakeFleetApi(FakeCar(now=T0, state="online")) as fake:
        fake.fail("403_scopes", path="vehicle_data")
        vehicle = vehicle_for(fake, tmp_path, clock)
        with pytest.raises(VehicleError, match="vehicle_location.*auth tesla"):
            vehicle.snapshot()


def test_a_wake_may_take_up_to_a_minute(tmp_path):
    clock = Clock(T0)
    car = FakeCar(now=T0, state="asleep", wake_polls=6)  # comes online after six looks, about 40 s
    with FakeFleetApi(car) as fake:
        slept: list[float] = []
        token = tmp_path / "tesla_fleet_token.json"
        save_token(token, fake.grant())
        vehicle = FleetVehicle(fake.url, token_file=token, client_id=fake.client_id, token_url=fake.url,
                               vin=car.vin, clock=clock, sleep=slept.append)
        assert vehicle.wake() is True and 30 < sum(slept) <= 60


# ---------------------------------------------------------------------- item 6: preconditioning through the proxy
@pytest.mark.parametrize("was_on", [False, True])
def test_the_scheduled_departure_keeps_the_owner_s_preconditioning(tmp_path, was_on):
    """Through the proxy preconditioning_weekdays_only: true means preconditioning on (weekdays) whatever
    preconditioning_enabled says: an owner who had it off, with "weekdays" remembered, kept finding it on."""
    from charge_logic.commands import departure_command

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online")
    car.preconditioning, car.preconditioning_times = was_on, "weekdays"
    with FakeFleetApi(car) as fake:
        vehicle = vehicle_for(fake, tmp_path, clock)
        assert vehicle.execute(departure_command(vehicle.snapshot(), 450, 420)).ok
        assert car.preconditioning is was_on


# ---------------------------------------------------------------------- item 2: a token without vehicle_location
def _day_at_home(tmp_path, *, location_scope: bool):
    """A day of the daemon's ticks (Coordinator, VehicleLink, the Fleet client) with a 2026 car plugged in at home,
    its token granted vehicle_location or not (Tesla then sends vehicle_data without a position)."""
    from service.coordinator import Coordinator
    from service.demo import DemoForecast, demo_trips
    from service.settings import load_settings
    from tests.fakes.tesla_car import FIRMWARE_2026

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=False, state="online", battery_level=40, firmware=FIRMWARE_2026)
    car.plug_in()
    with FakeFleetApi(car) as fake:
        fake.location_scope = location_scope
        settings = load_settings({}, env_file=None, state_dir=str(tmp_path), time_zone="America/New_York",
                                 tesla_backend="fleet", home_latitude=car.lat, home_longitude=car.lon)
        coord = Coordinator(settings, link_for(fake, tmp_path, clock), DemoForecast(), demo_trips(NY, tmp_path),
                            mode="live")
        results = []
        for _ in range(int(24 * 60 / 14)):
            results.append(coord.tick(clock()))
            step(clock, car, 14)
        return results, fake, car


def test_without_the_location_scope_the_car_is_never_assumed_at_home_and_the_note_names_the_scope(tmp_path):
    """A Fleet token signed in before vehicle_location existed (2024-11) reads the car with no position: whether it
    is at home cannot be told, so nothing is changed; one line says which scope is missing and how to grant it, and
    the loop pays for no more than a car with the scope would."""
    from service.coordinator import NO_POSITION_HELP

    results, fake, car = _day_at_home(tmp_path / "without", location_scope=False)
    assert {r.decision.mode for r in results} == {"location_unknown"}
    assert all(NO_POSITION_HELP in r.decision.reasons for r in results)
    assert "vehicle_location" in NO_POSITION_HELP and "auth tesla" in NO_POSITION_HELP
    assert fake.requests("POST", r"/command/") == [] and fake.requests("POST", r"/wake_up$") == []
    assert car.schedules == []  # no charge schedule written for a place the car may not be at
    _, with_scope, _ = _day_at_home(tmp_path / "with", location_scope=True)
    assert fake.billed()["data"] <= with_scope.billed()["data"]  # no billed retry loop for the missing position


# ---------------------------------------------------------------------- item 1: a restart after the daemon was down
@pytest.mark.parametrize("down_h, woken", [(0.25, True), (24, False)])
def test_after_a_day_unwatched_a_car_holding_our_schedule_is_not_woken_on_an_old_plugged_in_reading(
        tmp_path, down_h, woken):
    """The daemon was down a day; meanwhile the owner unplugged, drove and parked without plugging in. The last reading
    (plugged in) is a day old: waking the car for a command (billed, $0.02) found it unplugged in the soak. A car on
    2024.26+ holding the scheduler's schedule charges the plan by itself, so it waits until it is seen again."""
    from datetime import timedelta

    from charge_logic.charge_schedules import SCHEDULER_ID
    from tests.fakes.tesla_car import FIRMWARE_2026

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=False, state="online", firmware=FIRMWARE_2026)
    car.plug_in()
    assert car.command("add_charge_schedule", {"id": SCHEDULER_ID, "days_of_week": "All", "enabled": True,
                                               "start_enabled": True, "start_time": 60, "end_enabled": True,
                                               "end_time": 360, "lat": car.lat, "lon": car.lon}) == (True, "")
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        link.save()  # the process stops here
        car.advance(timedelta(hours=down_h))
        car.unplug()
        car.advance(timedelta(minutes=30))  # asleep again, away from the charger
        clock.advance(minutes=down_h * 60 + 30)
        link = link_for(fake, tmp_path, clock)  # a new process
        link.read(clock())
        assert car.state == "asleep" and link.last.plugged_in  # what it last knew
        # a new start within half an hour: a car known to be plugged in would be woken for it
        move = Command("add_charge_schedule", {"id": SCHEDULER_ID, "days_of_week": "All", "enabled": True,
                                               "start_enabled": True, "start_time": 21 * 60, "end_enabled": True,
                                               "end_time": 360, "lat": car.lat, "lon": car.lon})
        report = link.send(clock(), wanting(clock(), move), lambda fresh: wanting(clock(), move))
        assert report.woke is woken and bool(fake.requests("POST", r"/wake_up$")) is woken
        if not woken:
            assert "not watched" in report.skipped


# ---------------------------------------------------------------------- issue 15's budgets: wakes and data reads
def _ours(car: FakeCar, start: int, end: int) -> dict:
    from charge_logic.charge_schedules import SCHEDULER_ID

    return {"id": SCHEDULER_ID, "days_of_week": "All", "enabled": True, "start_enabled": True, "start_time": start,
            "end_enabled": True, "end_time": end, "lat": car.lat, "lon": car.lon}


def test_a_sleeping_car_keeps_its_schedule_until_the_rewrite_matters_then_is_woken_once(tmp_path):
    """Plugged in at 20:00 holding a schedule from 23:00, it falls asleep; the plan then wants 22:00. A sleeping car
    does not charge: until 22:00 draws near both schedules do the same, so it is not woken ($0.02) at once, and the
    moves the plan makes meanwhile cost one write. It is woken in time for the car to start at 22:00 by itself."""
    from datetime import timedelta

    from tests.fakes.tesla_car import FIRMWARE_2026

    clock = Clock(T0)  # 20:00
    car = FakeCar(now=T0, plugged=False, state="online", battery_level=50, firmware=FIRMWARE_2026)
    assert car.command("add_charge_schedule", _ours(car, 23 * 60, 6 * 60)) == (True, "")
    car.plug_in()
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        step(clock, car, 20)
        assert car.state == "asleep"
        reports = []
        for start in (22 * 60 + 15, 22 * 60 + 30, 22 * 60, 22 * 60, 22 * 60, 22 * 60, 22 * 60, 22 * 60, 22 * 60,
                      22 * 60, 22 * 60):
            now = step(clock, car, 14)
            link.read(now)
            move = Command("add_charge_schedule", _ours(car, start, 6 * 60))
            if any(x["start_time"] == start for x in car.schedules):
                break
            reports.append((now, link.send(now, wanting(now, move), lambda fresh, m=move, t=now: wanting(t, m))))
        woken = [now for now, r in reports if r.woke]
        assert len(woken) == 1 and len(fake.requests("POST", r"/wake_up$")) == 1
        assert T0 + timedelta(hours=1, minutes=30) <= woken[0] < T0 + timedelta(hours=2)  # 21:30 to 22:00
        assert all("wakes by itself" in r.skipped for now, r in reports if now < woken[0])
        assert len(fake.requests("POST", r"/command/add_charge_schedule$")) == 1
        car.advance(T0 + timedelta(hours=2, minutes=5) - car.now)
        assert car.charging_state == "Charging"  # started at 22:00 by itself


def test_a_car_charging_by_its_own_schedule_is_read_seldom_and_seen_full_before_it_sleeps(tmp_path):
    """It starts and stops itself: reading it every 10 minutes (billed, $0.002 each) watched a charge the daemon has
    nothing to do in. Read as seldom as an idle car, and once more when the car says it should be full."""
    from datetime import timedelta

    from tests.fakes.tesla_car import FIRMWARE_2026

    clock = Clock(T0)  # 20:00
    car = FakeCar(now=T0, plugged=False, state="online", battery_level=60, firmware=FIRMWARE_2026)
    assert car.command("add_charge_schedule", _ours(car, 19 * 60 + 45, 6 * 60)) == (True, "")
    car.plug_in()  # inside its schedule: it charges at once, 20 % in about two hours
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        seen = []
        while clock.now < T0 + timedelta(hours=4):
            link.read(clock())
            seen.append(link.last.charging_state)
            step(clock, car, 14)
        reads = len(fake.requests("GET", r"/vehicle_data$"))
        assert car.charging_state == "Complete" and car.state == "asleep"
        assert "Complete" in seen and link.last.charging_state == "Complete"  # the end of the charge was seen
        assert reads <= 6  # every tick while it charged would be 10


def test_a_command_after_a_seldom_read_goes_on_a_fresh_reading(tmp_path):
    """Read half an hour ago while charging by its schedule; meanwhile the owner unplugged and drove off (the car stays
    awake). A schedule moved now would go to an unplugged car: the car is read first, and nothing is sent."""
    from tests.fakes.tesla_car import FIRMWARE_2026

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=False, state="online", battery_level=40, firmware=FIRMWARE_2026)
    assert car.command("add_charge_schedule", _ours(car, 19 * 60 + 45, 6 * 60)) == (True, "")
    car.plug_in()
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        now = step(clock, car, 14)
        car.unplug()
        now = step(clock, car, 6)
        link.read(now)  # not due: the last reading (20 minutes old) still says charging
        assert link.last.plugged_in
        move = Command("add_charge_schedule", _ours(car, 23 * 60, 6 * 60))
        report = link.send(now, wanting(now, move), lambda fresh: wanting(now, move))
        assert report.sent == [] and "not to be plugged in" in report.skipped
        assert fake.requests("POST", r"/command/") == [] and link.last.plugged_in is False
