"""VehicleLink against the fake Fleet API: what the soak (tests/test_soak.py) found about reading the car."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clients.tesla_fleet import FleetVehicle, save_token
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi

NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 11, 27, 6, 0, tzinfo=NY)


class PatchyCar(FakeCar):
    """Leaves the named charge_state fields null, as Tesla's replies now and then do."""

    nulls: tuple[str, ...] = ()

    def vehicle_data(self, endpoints: str | None) -> dict[str, Any]:
        data = super().vehicle_data(endpoints)
        for key in self.nulls:
            data["charge_state"][key] = None
        return data


def link_for(fake: FakeFleetApi, tmp_path, clock: Clock) -> VehicleLink:
    token = tmp_path / "tesla_fleet_token.json"
    save_token(token, fake.grant())
    vehicle = FleetVehicle(fake.url, token_file=token, client_id=fake.client_id, token_url=fake.url,
                           vin=fake.car.vin, clock=clock, sleep=lambda s: None)
    return VehicleLink(vehicle, tmp_path, data_min_interval_min=10, data_idle_interval_min=30, wakes_per_day=4,
                       commands_per_day=40, zone=NY)


def step(clock: Clock, car: FakeCar, minutes: float) -> datetime:
    clock.advance(minutes=minutes)
    car.advance(clock.now - car.now)
    return clock.now


def test_a_car_that_wakes_by_itself_is_read_at_once(tmp_path):
    """An unplugged car asleep again before the next due read was still thought plugged in, and woken for nothing."""
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online", battery_level=80, charge_limit=80)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        assert link.read(clock()).plugged_in is True
        link.read(step(clock, car, 14))  # still online, not due
        link.read(step(clock, car, 14))  # asleep now
        assert car.state == "asleep" and not link.online
        car.unplug()
        car.state = "online"  # unlatching the cable wakes the car
        snap = link.read(step(clock, car, 1))  # 29 min after the last read: not due by the 30 min idle interval
        assert snap.plugged_in is False
        assert len(fake.requests("GET", r"/vehicle_data$")) == 2


def test_settings_a_reply_leaves_null_keep_their_last_known_value(tmp_path):
    """A null limit or amps read as "unknown, so different" made the car get a command it already had."""
    clock = Clock(T0)
    car = PatchyCar(now=T0, plugged=True, state="online", battery_level=60, charge_limit=80)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        first = link.read(clock())
        car.nulls = ("charge_limit_soc", "charge_current_request", "battery_level", "charging_state",
                     "conn_charge_cable")
        now = step(clock, car, 31)
        car.state = "online"
        again = link.read(now)
        assert len(fake.requests("GET", r"/vehicle_data$")) == 2
        assert (again.charge_limit_soc, again.charge_current_request) == (80, first.charge_current_request)
        assert again.read_at > first.read_at
        # the car's state moves by itself: a stale one is worse than none (a stale "Complete" kept a car that had
        # been unplugged and driven off "plugged in", and it was sent charge_start tick after tick)
        assert (again.battery_level, again.charging_state, again.conn_charge_cable) == (None, None, None)
        assert again.plugged_in is None


class Surprising:
    """A backend that raises what no backend should: the link must still return and keep the last car."""

    def __init__(self) -> None:
        from clients.vehicle import CallCounter

        self.calls = CallCounter()

    def summary(self):
        raise AttributeError("'str' object has no attribute 'get'")

    def snapshot(self):
        raise AttributeError("x")

    def wake(self, timeout_s: float = 30.0) -> bool:
        raise KeyError("state")

    def execute(self, command):
        raise TypeError("x")


def test_a_backend_surprise_is_a_vehicle_error_not_the_end_of_the_tick(tmp_path):
    link = VehicleLink(Surprising(), tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40,
                       zone=NY)
    assert link.read(T0) is None
    assert not link.status.ok and "could not be used (AttributeError)" in link.status.last_error


def test_a_refused_command_makes_the_next_tick_read_the_car(tmp_path):
    """The car answered "disconnected": the link's picture is wrong, so it reads the car again at once rather than
    sending the same command every tick until the next due read."""
    from charge_logic.models import Command, Decision

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online", battery_level=50, charge_limit=80)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        assert link.read(clock()).plugged_in is True
        car.unplug()  # and it stays online, so no "came online" read
        now = step(clock, car, 5)
        assert link.read(now).plugged_in is True  # not due yet: the link still thinks it plugged in
        start = Decision(now, "charge_now_low_soc", True, None, None, None, None, None, (), (Command("charge_start"),))
        report = link.send(now, start, lambda snap: start)
        assert report.sent == [{"name": "charge_start", "ok": False, "reason": "disconnected"}]
        assert link.read(step(clock, car, 5)).plugged_in is False  # 10 min after the last read, well before due


def test_a_command_that_failed_in_transit_makes_the_next_tick_read_the_car(tmp_path):
    """A 500 on charge_start after a limit raise: the car may have resumed by itself, so the next tick reads it
    before sending the start again (it had resumed: found by the soak, seed 8)."""
    from charge_logic.models import Command, Decision

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online", battery_level=50, charge_limit=80)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        now = step(clock, car, 5)
        link.read(now)
        fake.fail("500", path=r"/command/")
        start = Decision(now, "charge_now_low_soc", True, None, None, None, None, None, (), (Command("charge_start"),))
        assert link.send(now, start, lambda snap: start).sent[0]["ok"] is False
        wait = (link.status.retry_at - now).total_seconds() / 60 if link.status.retry_at else 5  # the backoff
        later = step(clock, car, wait + 1)  # still well before the 30 min idle interval is due
        car.state = "online"
        link.read(later)
        assert wait + 1 < 25 and len(fake.requests("GET", r"/vehicle_data$")) == 2


def test_a_restart_keeps_teslas_retry_after_and_calls_nothing_meanwhile(tmp_path):
    """Tesla rate-limits the account for 10 minutes (429, Retry-After: 600) and bills the calls all the same; the
    daemon restarts 3 minutes later: the new process neither reads nor wakes the car until the 10 minutes are up."""
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online", battery_level=50, charge_limit=80)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        fake.fail("429", times=1, retry_after=600)
        link.read(clock())
        assert link.status.retry_at is not None and link.status.retry_at >= clock.now + timedelta(minutes=10)
        calls = len(fake.log)
        restarted = link_for(fake, tmp_path, clock)
        assert restarted.status.retry_at == link.status.retry_at
        restarted.read(step(clock, car, 3))
        assert len(fake.log) == calls
        later = step(clock, car, (restarted.status.retry_at - clock.now).total_seconds() / 60 + 1)
        car.state = "online"  # someone opened the app meanwhile: it may be read without a wake
        assert restarted.read(later).battery_level == 50 and len(fake.log) > calls


def test_a_usage_file_from_an_older_version_keeps_the_month_s_counts(tmp_path):
    """usage.data_today was dropped (never read); a vehicle.json that still has it must not reset the month."""
    import json

    (tmp_path / "vehicle.json").write_text(json.dumps({"usage": {
        "month": "2026-11", "day": "2026-11-27", "data": 12, "commands": 5, "wakes": 2, "data_today": 3,
        "commands_today": 1, "wakes_today": 1}, "last": None}))
    with FakeFleetApi(FakeCar()) as fake:
        link = link_for(fake, tmp_path, Clock(T0))
    assert (link.usage.data, link.usage.commands, link.usage.wakes, link.usage.wakes_today) == (12, 5, 2, 1)


def test_a_sim_car_saved_by_an_older_version_carries_on(tmp_path):
    import json

    from clients.vehicle_sim import SimVehicle

    path = tmp_path / "demo_car.json"
    path.write_text(json.dumps({"clock": T0.isoformat(), "soc": 61.5, "manual_start": True}))
    assert SimVehicle(lambda: T0, NY, path=path).s.soc == 61.5
    path.write_text("[]")
    assert SimVehicle(lambda: T0, NY, path=path).s.soc == 45.0, "not a state: started afresh"


def test_a_sleeping_car_is_not_woken_to_lower_its_limit(tmp_path):
    """Issue 15's budgets (seed 3 of the 2026 soak): after a trip that needed 90 % went by, the limit goes back to 80 %.
    The car is asleep, so not charging: a wake ($0.02) and a command then buy nothing; the lower limit goes when the
    car wakes by itself. A higher limit still wakes it (a trip may need it)."""
    from charge_logic.models import Command, Decision

    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="online", battery_level=90, charge_limit=90)

    def wanting(percent: int) -> Decision:
        return Decision(at=clock.now, mode="plan_waiting", charge_now=None, amps=None, charge_limit=percent,
                        departure=None, off_peak_end=None, needed_soc=None, reasons=(),
                        commands=(Command("set_charge_limit", {"percent": percent}),))

    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        link.read(step(clock, car, 30))
        assert car.state == "asleep" and not link.online
        report = link.send(clock.now, wanting(80), lambda fresh: wanting(80))
        assert not report.woke and report.sent == [] and "lower charge limit" in (report.skipped or "")
        assert fake.requests("POST", r"/wake_up$") == [] and car.limit == 90
        report = link.send(clock.now, wanting(95), lambda fresh: wanting(95))
        assert report.woke and car.limit == 95


def test_the_vehicle_list_is_counted_in_the_month_s_bill_as_a_data_request(tmp_path):
    """Tesla bills every Fleet API reply below 500 and shows no free pricing category for GET /api/1/vehicles: the
    tick's list is billed as data in the month's cost (state.json's tesla.est_cost_usd), and a 500 is not."""
    clock = Clock(T0)
    car = FakeCar(now=T0, plugged=True, state="asleep", battery_level=80, charge_limit=80)
    with FakeFleetApi(car) as fake:
        link = link_for(fake, tmp_path, clock)
        link.read(clock())
        link.read(step(clock, car, 14))
        fake.fail("500", path="/api/1/vehicles$")
        link.read(step(clock, car, 14))
        assert (link.usage.listed, link.usage.data) == (2, 0) and link.usage.cost_usd() == 0.004
        link.save()
        assert VehicleLink(link.vehicle, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40,
                           zone=NY).usage.listed == 2  # kept across a restart


# ---------------------------------------------------------------------- the vehicle list's cadence (issue 15)
def scheduled_car(now: datetime, **kw: Any) -> FakeCar:
    """A car on 2026 firmware holding the scheduler's own daily schedule for home (01:00-05:00): it charges the plan
    by itself."""
    from charge_logic.charge_schedules import SCHEDULER_ID
    from tests.fakes.tesla_car import FIRMWARE_2026

    car = FakeCar(now=now, firmware=FIRMWARE_2026, **kw)
    car.schedules.append({"id": SCHEDULER_ID, "name": "Charge scheduler", "days_of_week": 127, "start_enabled": True,
                          "start_time": 60, "end_enabled": True, "end_time": 300, "one_time": False, "enabled": True,
                          "latitude": car.lat, "longitude": car.lon})
    return car


def idle_link(fake: FakeFleetApi, tmp_path, clock: Clock, learned: bool = True) -> VehicleLink:
    """A link with VEHICLE_LIST_IDLE_MIN 60 and 14-minute ticks; `learned`: a week of plug-ins at about 18:00 and
    unplugs at about 07:30 in its session log."""
    link = link_for(fake, tmp_path, clock)
    link.list_idle, link.tick = timedelta(minutes=60), timedelta(minutes=14)
    days = range(1, 8 if learned else 3)
    link.learn_hours([T0.replace(hour=18, minute=5) - timedelta(days=d) for d in days],
                     [T0.replace(hour=7, minute=30) - timedelta(days=d) for d in days])
    return link


def lists(fake: FakeFleetApi) -> int:
    return len(fake.requests("GET", r"^/api/1/vehicles$"))


def test_a_car_asleep_and_plugged_in_with_the_scheduler_s_schedule_is_not_listed_every_tick(tmp_path):
    """Each list is billed as a data request ($0.002): at a tick every 14 minutes that was $5.80 a car-month. A car
    that charges the plan by itself, asleep at home, is looked at hourly, not every tick."""
    start = T0.replace(hour=21, minute=0)
    clock = Clock(start)
    car = scheduled_car(start, plugged=True, state="online", battery_level=60)
    with FakeFleetApi(car) as fake:
        link = idle_link(fake, tmp_path, clock)
        snap = link.read(clock())
        assert snap.plugged_in is True and snap.charge_schedules  # read once, schedule and all
        for _ in range(15):  # 21:14 ... 00:30: the car falls asleep at 21:15 and waits for its 01:00 start
            link.read(step(clock, car, 14))
        assert car.state == "asleep" and car.charging_state == "Stopped"
        assert lists(fake) <= 6, f"{lists(fake)} lists in 16 ticks of a sleeping car that charges by itself"
        assert link.list_why is None or "VEHICLE_LIST_IDLE_MIN" in link.list_why


def test_a_plug_in_inside_the_arrival_hours_is_read_within_one_tick(tmp_path):
    """Away (unplugged, asleep) the car is listed hourly; in the hours the household comes home, every tick, so the
    plug-in is seen in the car's 15 awake minutes: the plan goes to it without a wake."""
    start = T0.replace(hour=12, minute=0)
    clock = Clock(start)
    car = scheduled_car(start, plugged=False, state="online", battery_level=50)
    with FakeFleetApi(car) as fake:
        link = idle_link(fake, tmp_path, clock)
        assert link.read(clock()).plugged_in is False
        while clock.now < start.replace(hour=16, minute=50):  # the afternoon: asleep away from home
            link.read(step(clock, car, 14))
        afternoon = lists(fake)
        assert afternoon <= 7, f"{afternoon} lists in a 5-hour afternoon asleep away"
        while clock.now < start.replace(hour=18, minute=30):
            link.read(step(clock, car, 14))
        car.plug_in()  # 18:30, in the learned arrival hours: the car wakes for 15 minutes
        plugged_at = car.now
        snap = link.read(step(clock, car, 14))
        assert snap.plugged_in is True and snap.read_at is not None and snap.read_at - plugged_at <= timedelta(
            minutes=14)
        assert not car.woken_times


def test_before_the_household_s_hours_are_learned_every_tick_is_listed(tmp_path):
    """Two plug-ins say nothing of when the household comes home: a plug-in at any hour must still be seen."""
    start = T0.replace(hour=12, minute=0)
    clock = Clock(start)
    car = scheduled_car(start, plugged=False, state="online", battery_level=50)
    with FakeFleetApi(car) as fake:
        link = idle_link(fake, tmp_path, clock, learned=False)
        link.read(clock())
        for _ in range(10):
            link.read(step(clock, car, 14))
        assert lists(fake) == 11


def test_a_car_without_the_scheduler_s_schedule_is_listed_every_tick(tmp_path):
    """An older car (or one whose owner opted out) charges by the daemon's commands: it is watched every tick."""
    start = T0.replace(hour=21, minute=0)
    clock = Clock(start)
    car = FakeCar(now=start, plugged=True, state="online", battery_level=60)
    with FakeFleetApi(car) as fake:
        link = idle_link(fake, tmp_path, clock)
        link.read(clock())
        for _ in range(10):
            link.read(step(clock, car, 14))
        assert lists(fake) == 11
