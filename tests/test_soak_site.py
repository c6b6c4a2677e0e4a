"""A month of two cars on one 48 A circuit: the daemon as scheduler.py builds it (CARS=car1,car2, the Fleet backend,
each driver's own iCal calendar) against the fake Fleet API, a tick every 14 minutes on an injected clock, a restart
halfway. Alex drives to the office on weekdays (leaves 08:15), Sam to an early shift six days a week (leaves 06:00);
both come home in the evening and plug in. What must hold (issue 18):

- 0 moments over the circuit: the amps the two fake cars really draw, minute by minute, never add up to more than 48;
- 0 commands to the wrong car: every command the fake received in a tick went to the VIN of the car whose report sent
  it, and to no other;
- each car's budgets kept: its own commands and wakes a day within TESLA_COMMANDS_PER_DAY and TESLA_WAKES_PER_DAY;
- both cars ready every morning their calendars ask for: when the driver leaves (at the departure the daemon states,
  from the drive it measured through the fake Maps), the car has the SoC the daemon said was needed and what the
  day's drive there and back really takes, plus the 10 % reserve.

`python -m pytest tests/test_soak_site.py -s` prints the figures.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clients.tesla_fleet import save_token
from scheduler import make_coordinator
from service.client_io import ClientIO
from service.demo import DemoForecast
from service.settings import load_settings
from service.site import Site
from tests.clock import Clock
from tests.fakes import maps as fm
from tests.fakes.maps import FakeMaps
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi

pytestmark = pytest.mark.soak

NY = ZoneInfo("America/New_York")
VIN1, VIN2 = "5YJ3E1EA7KF000001", "7SAYGDEE1PA000002"
CIRCUIT, DAYS = 48, 30
START = datetime(2026, 11, 1, 20, 0, tzinfo=NY)  # a Sunday evening, both cars at home; the month turns once
HOME = "1 Home Rd, Springfield MA"
OFFICE, HOSPITAL = "Office Tower, 1 State St, Hartford CT", "County Hospital, 9 Elm St, Worcester MA"
PLACES = {OFFICE.lower(): (60000, 2700), HOSPITAL.lower(): (75000, 3300)}  # one way: metres, seconds

CALENDAR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//charge-scheduler//soak//EN
BEGIN:VEVENT
UID:{uid}@soak
SUMMARY:{summary}
LOCATION:{location}
DTSTART;TZID=America/New_York:20261102T{start}00
DTEND;TZID=America/New_York:20261102T{end}00
RRULE:FREQ=WEEKLY;BYDAY={days}
END:VEVENT
END:VCALENDAR
"""


@dataclass
class Driver:
    car_id: str
    car: FakeCar
    days: tuple[int, ...]  # weekdays (Mon = 0) the calendar asks for the car
    leaves: tuple[int, int]  # local hour, minute
    back: tuple[int, int]
    km: float  # there and back
    wh_per_km: float


def build(tmp_path: Path, fake: FakeFleetApi, maps: FakeMaps, clock: Clock) -> Site:
    io = ClientIO(clock=clock, sleep=lambda s: None, timeout_s=5.0)
    settings = load_settings({
        "CARS": "car1,car2", "TESLA_BACKEND": "fleet", "TESLA_VIN": VIN1, "CAR1_NAME": "Alex", "CAR2_VIN": VIN2,
        "CAR2_NAME": "Sam", "CIRCUIT_MAX_AMPS": str(CIRCUIT), "TIME_ZONE": "America/New_York",
        "CALENDAR_SOURCE": "ical", "ICAL_URL": str(tmp_path / "alex.ics"), "CAR2_ICAL_URL": str(tmp_path / "sam.ics"),
        "DEFAULT_DEPARTURE": "08:15", "CAR2_DEFAULT_DEPARTURE": "06:00", "CAR2_CONSUMPTION_WH_PER_KM": "190",
        "GOOGLE_MAPS_API_KEY": fm.KEY, "MAPS_API": "routes", "ROUTES_BASE_URL": maps.url, "TESLA_HOME_ADDRESS": HOME,
        "TESLA_FLEET_BASE_URL": fake.url, "TESLA_TOKEN_URL": fake.url, "TESLA_CLIENT_ID": fake.client_id,
        "STATE_DIR": str(tmp_path / "state")}, env_file=None)
    site, _ = make_coordinator(argparse.Namespace(demo=False, interval=14.0), settings, io)
    site.forecast_source = DemoForecast()  # a real week of PJM load, repeated
    return site


def run_month(tmp_path: Path) -> dict[str, Any]:  # noqa: C901 - one loop: the month
    (tmp_path / "alex.ics").write_text(CALENDAR.format(uid="office", summary="Office", start="0900", end="1730",
                                                       days="MO,TU,WE,TH,FR", location=OFFICE))
    (tmp_path / "sam.ics").write_text(CALENDAR.format(uid="shift", summary="Early shift", start="0700",
                                                      end="1530", days="MO,TU,WE,TH,FR,SA", location=HOSPITAL))
    clock = Clock(START)
    alex = FakeCar(now=clock.now, vin=VIN1, name="Alex's 3", battery_level=50.0, state="online")
    sam = FakeCar(now=clock.now, vin=VIN2, name="Sam's Y", battery_level=40.0, state="online")
    # each leaves at the departure the daemon states (the drive, then DEPARTURE_BUFFER_MIN) and drives there and back
    drivers = [Driver("car1", alex, (0, 1, 2, 3, 4), (7, 15), (18, 30), 120.0, 170.0),
               Driver("car2", sam, (0, 1, 2, 3, 4, 5), (5, 0), (16, 30), 150.0, 190.0)]
    out: dict[str, Any] = {"over": [], "wrong": [], "ticks": 0, "peak": 0, "mornings": Counter(), "short": [],
                           "per_day": defaultdict(Counter), "restarts": 0, "failed_ticks": 0,
                           "soc_at_leaving": defaultdict(list)}
    (tmp_path / "state").mkdir()
    with FakeFleetApi(alex) as fake, FakeMaps() as maps:
        fake.others.append(sam)
        fake._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[union-attr]
        save_token(tmp_path / "state" / "tesla_fleet_token.json", fake.grant())
        site = build(tmp_path, fake, maps, clock)
        left: set[tuple[str, str]] = set()
        wanted: dict[str, tuple[datetime, float]] = {}
        while clock.now < START + timedelta(days=DAYS):
            if clock.now >= START + timedelta(days=DAYS / 2) and not out["restarts"]:
                site, out["restarts"] = build(tmp_path, fake, maps, clock), 1  # a restart: everything from the files
            local = clock.now.astimezone(NY)
            for d in drivers:
                back = local.replace(hour=d.back[0], minute=d.back[1], second=0, microsecond=0)
                if not d.car.plugged and local >= back:
                    d.car.plug_in()
            before = len(fake.log)
            result = site.tick(clock())
            out["ticks"] += 1
            out["failed_ticks"] += sum(r is None for r in result.cars)
            day = local.strftime("%Y-%m-%d")
            got = Counter((r.path.split("/")[4], r.path.rsplit("/", 1)[1]) for r in fake.log[before:]
                          if "/command/" in r.path)
            wanted = Counter((vin, s["name"]) for r, vin in zip(result.cars, (VIN1, VIN2), strict=True) if r
                             for s in r.report.sent)
            if got != wanted:
                out["wrong"].append((local, got, wanted))
            for r, vin in zip(result.cars, (VIN1, VIN2), strict=True):
                if r is not None:
                    out["per_day"][(vin, day)]["commands"] += len(r.report.sent)
                    out["per_day"][(vin, day)]["wakes"] += int(r.report.woke)
            for d, r in zip(drivers, result.cars, strict=True):  # leaving, as the calendar says
                stated = wanted.get(d.car_id)  # as the tick before said it
                entry = r.car if r is not None else {}
                if entry.get("departure") is not None and r is not None and r.decision.needed_soc is not None:
                    wanted[d.car_id] = (datetime.fromisoformat(entry["departure"]), r.decision.needed_soc)
                leave = local.replace(hour=d.leaves[0], minute=d.leaves[1], second=0, microsecond=0)
                if local.weekday() not in d.days or local < leave or (d.car_id, day) in left or not d.car.plugged:
                    continue
                at, needed = stated or (leave, 0.0)
                if local < at:  # the daemon's own departure, from the drive it measured
                    continue
                left.add((d.car_id, day))
                out["mornings"][d.car_id] += 1
                trip_pct = d.km * d.wh_per_km / 1000 / d.car.battery_kwh * 100
                if d.car.battery < max(needed, trip_pct + 10) - 0.5:  # the daemon's need, and the trip's own
                    out["short"].append((d.car_id, local.isoformat(), round(d.car.battery, 1), round(needed, 1),
                                         round(trip_pct + 10, 1)))
                out["soc_at_leaving"][d.car_id].append(round(d.car.battery))
                d.car.unplug()
                d.car.drive(d.km, d.wh_per_km)
            for _ in range(14):  # what the two cars really draw, minute by minute
                clock.advance(minutes=1)
                for d in drivers:
                    d.car.advance(clock.now - d.car.now)
                drawn = sum(d.car.amps for d in drivers if d.car.charging_state == "Charging")
                out["peak"] = max(out["peak"], drawn)
                if drawn > CIRCUIT:
                    out["over"].append((clock.now, drawn))
        out["commands"] = Counter(r.path.split("/")[4] for r in fake.log if "/command/" in r.path)
        out["wakes"] = Counter(r.path.split("/")[4] for r in fake.log if r.path.endswith("/wake_up"))
        out["state"] = result.state
    return out


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    saved = dict(fm.PLACES)
    fm.PLACES.update(PLACES)  # the fake Maps knows the two drivers' places
    try:
        shm = Path("/dev/shm")  # a month of fsyncs: on tmpfs when there is one (the soak's figures do not change)
        where = Path(tempfile.mkdtemp(prefix="site-soak-", dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("s")
        try:
            m = run_month(where)
        finally:
            shutil.rmtree(where, ignore_errors=True)
    finally:
        fm.PLACES.clear()
        fm.PLACES.update(saved)
    busiest = max(m["per_day"].values(), key=lambda c: c["commands"])
    print(f"\ntwo cars, one {CIRCUIT} A circuit, {DAYS} days, {m['ticks']} ticks, {m['restarts']} restart: peak drawn "
          f"{m['peak']} A, {len(m['over'])} minutes over; commands {dict(m['commands'])}, wakes {dict(m['wakes'])}, "
          f"busiest car-day {dict(busiest)}; {len(m['wrong'])} ticks with a command to the wrong car; mornings "
          f"{dict(m['mornings'])}, short {m['short']}; SoC at leaving {dict(m['soc_at_leaving'])}")
    return m


def test_never_over_the_circuit(month: dict[str, Any]) -> None:
    assert month["over"] == [], month["over"][:5]
    assert month["peak"] > 32, "the cars never charged together: the month shows nothing"


def test_no_command_to_the_wrong_car(month: dict[str, Any]) -> None:
    assert month["wrong"] == [], month["wrong"][:3]
    assert set(month["commands"]) <= {VIN1, VIN2}
    assert month["failed_ticks"] == 0


def test_each_cars_budgets_kept(month: dict[str, Any]) -> None:
    for (vin, day), c in month["per_day"].items():
        assert c["commands"] <= 40 and c["wakes"] <= 4, (vin, day, c)
    for car in month["state"]["vehicles"]:
        assert car["tesla"]["commands_today"] <= car["tesla"]["budget_commands_day"]


def test_both_cars_ready_every_morning_their_calendars_ask_for(month: dict[str, Any]) -> None:
    assert month["mornings"]["car1"] >= 20 and month["mornings"]["car2"] >= 24, month["mornings"]
    assert month["short"] == [], month["short"]
