"""Several cars, one circuit: the daemon as scheduler.py builds it (make_coordinator) for CARS=car1,car2 on the Fleet
backend against the fake Fleet API (two cars of one account, each named by its VIN), a night of 14-minute ticks on
an injected clock. What the cars drew is read from the fake cars minute by minute, what was called from the fake's
own request log."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clients.tesla_fleet import save_token
from clients.vehicle_sim import SimVehicle
from scheduler import make_coordinator
from service.client_io import ClientIO
from service.coordinator import Coordinator
from service.demo import DemoForecast
from service.settings import load_settings
from service.site import Site
from service.state_schema import SCHEMA_VERSION, car_section, migrate
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi

NY = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parents[1]
VIN1, VIN2 = "5YJ3E1EA7KF000001", "7SAYGDEE1PA000002"
CIRCUIT = 48


def two_car_site(tmp_path: Path, fake: FakeFleetApi, clock: Clock, **env: str) -> Site:
    save_token(tmp_path / "tesla_fleet_token.json", fake.grant())
    settings = load_settings({"CARS": "car1,car2", "TESLA_BACKEND": "fleet", "TESLA_VIN": VIN1, "CAR1_NAME": "Alex",
                              "CAR2_VIN": VIN2, "CAR2_NAME": "Sam", "CAR2_DEFAULT_DEPARTURE": "06:30",
                              "DEFAULT_DEPARTURE": "07:30", "CIRCUIT_MAX_AMPS": str(CIRCUIT),
                              "CALENDAR_SOURCE": "none", "TIME_ZONE": "America/New_York",
                              "TESLA_FLEET_BASE_URL": fake.url, "TESLA_TOKEN_URL": fake.url,
                              "TESLA_CLIENT_ID": fake.client_id, "STATE_DIR": str(tmp_path), **env}, env_file=None)
    io = ClientIO(clock=clock, sleep=lambda s: None, timeout_s=5.0)
    site, _ = make_coordinator(argparse.Namespace(demo=False, interval=14.0), settings, io)
    site.forecast_source = DemoForecast()  # a real week of PJM load, so the planner shifts the charge
    return site


def night(tmp_path: Path) -> dict[str, Any]:
    clock = Clock(datetime(2026, 11, 27, 17, 2, tzinfo=NY))
    alex = FakeCar(now=clock.now, vin=VIN1, name="Alex's 3", battery_level=30.0, plugged=False, state="asleep")
    sam = FakeCar(now=clock.now, vin=VIN2, name="Sam's Y", battery_level=25.0, plugged=False, state="asleep")
    with FakeFleetApi(alex) as fake:
        fake.others.append(sam)
        site = two_car_site(tmp_path, fake, clock)
        out: dict[str, Any] = {"over": [], "lists_per_tick": [], "ticks": 0, "wrong": [], "peak": 0}
        plug_at, leave_at = datetime(2026, 11, 27, 18, 0, tzinfo=NY), datetime(2026, 11, 28, 6, 30, tzinfo=NY)
        while clock.now < leave_at:
            for car in (alex, sam):
                if not car.plugged and clock.now >= plug_at:
                    car.plug_in()
            lists = len(fake.requests("GET", r"^/api/1/vehicles$"))
            wakes = len(fake.requests("POST", r"/wake_up$"))
            result = site.tick(clock())
            out["ticks"] += 1
            if len(fake.requests("POST", r"/wake_up$")) == wakes:  # a wake polls the list until the car is up
                out["lists_per_tick"].append(len(fake.requests("GET", r"^/api/1/vehicles$")) - lists)
            for r, car in zip(result.cars, (alex, sam), strict=True):  # each car holds the amps decided for it
                assert r is not None
                sent = [s["name"] for s in r.report.sent if s["ok"]]
                if "set_charging_amps" in sent and r.report.decision.amps != car.amps:
                    out["wrong"].append((clock.now, r.car_id, r.report.decision.amps, car.amps))
            for _ in range(14):  # what the cars really draw, minute by minute
                clock.advance(minutes=1)
                for car in (alex, sam):
                    car.advance(clock.now - car.now)
                drawn = sum(c.amps for c in (alex, sam) if c.charging_state == "Charging")
                out["peak"] = max(out["peak"], drawn)
                if drawn > CIRCUIT:
                    out["over"].append((clock.now, drawn))
        out["state"] = json.loads((tmp_path / "state.json").read_text())
        out["soc"] = {"car1": alex.battery, "car2": sam.battery}
        out["paths"] = Counter(r.path.split("/")[4] for r in fake.requests("POST", r"/command/"))
        return out


@pytest.fixture(scope="module")
def two_cars_night(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return night(tmp_path_factory.mktemp("site"))


def test_two_cars_never_draw_more_than_the_circuit_and_are_both_charged(two_cars_night: dict[str, Any]) -> None:
    n = two_cars_night
    print(f"\ntwo cars, one {CIRCUIT} A circuit, {n['ticks']} ticks: peak drawn {n['peak']} A, SoC at 06:30 "
          f"{n['soc']}, commands by VIN {dict(n['paths'])}")
    assert n["over"] == [], f"the cars drew more than the circuit: {n['over'][:5]}"
    assert n["peak"] > 32, "the circuit was never shared: the test shows nothing"
    assert n["soc"]["car1"] >= 79 and n["soc"]["car2"] >= 79, n["soc"]  # both at their 80 % limit by 06:30
    # Sam leaves first and charges at once at 32 A; Alex, who waits, is held to the 16 A left, on his own VIN
    assert VIN1 in n["paths"] and set(n["paths"]) <= {VIN1, VIN2}, n["paths"]
    assert sum(n["paths"].values()) <= 2 * 6, "more commands than two cars' nights take"


def test_the_account_is_listed_once_a_tick_for_both_cars(two_cars_night: dict[str, Any]) -> None:
    lists = two_cars_night["lists_per_tick"]
    assert len(lists) >= two_cars_night["ticks"] - 4 and set(lists) == {1}, Counter(lists)


def test_the_account_s_total_counts_the_vehicle_lists_and_says_when_it_was_last_listed(
        two_cars_night: dict[str, Any]) -> None:
    """The list is billed as data on the Fleet API: the all-cars total shows it (it showed it per car only), and when
    the account was last listed, so a car shown asleep is not taken as seen just now."""
    state = two_cars_night["state"]
    total, cars = state["health"]["tesla"], [v["tesla"] for v in state["vehicles"]]
    assert total["list"] == sum(c["list"] for c in cars) >= two_cars_night["ticks"] - 4
    assert total["listed_at"] == max(c["listed_at"] for c in cars)
    assert datetime.fromisoformat(total["listed_at"]) == datetime.fromisoformat(state["generated_at"])


def test_each_car_holds_what_was_decided_for_it(two_cars_night: dict[str, Any]) -> None:
    assert two_cars_night["wrong"] == []


def test_the_state_file_lists_both_cars_and_the_circuit(two_cars_night: dict[str, Any]) -> None:
    state = two_cars_night["state"]
    assert state["schema_version"] == SCHEMA_VERSION == 2 and migrate(state) is state
    assert [c["id"] for c in state["vehicles"]] == ["car1", "car2"]
    assert [c["name"] for c in state["vehicles"]] == ["Alex", "Sam"]
    assert [c["vin"] for c in state["vehicles"]] == ["…0001", "…0002"]
    for car in state["vehicles"]:
        assert car["tesla"]["commands_today"] <= car["tesla"]["budget_commands_day"]
        assert car["tesla"]["wakes_today"] <= car["tesla"]["budget_wakes_day"]
    assert state["health"]["tesla"]["commands"] == sum(c["tesla"]["commands"] for c in state["vehicles"])
    assert state["circuit"]["max_amps"] == CIRCUIT and state["circuit"]["peak_amps"] <= CIRCUIT
    assert {"vehicle", "vehicle:car2"} <= set(state["health"]["sources"])


def test_the_car_that_waits_says_for_which(tmp_path: Path) -> None:
    """Both plugged in at 22:00 needing most of a night at 32 A: Sam leaves first, Alex charges with the amps left
    and says so, naming Sam."""
    clock = Clock(datetime(2026, 11, 27, 22, 0, tzinfo=NY))
    alex = FakeCar(now=clock.now, vin=VIN1, battery_level=20.0, plugged=True, state="online")
    sam = FakeCar(now=clock.now, vin=VIN2, battery_level=20.0, plugged=True, state="online")
    with FakeFleetApi(alex) as fake:
        fake.others.append(sam)
        site = two_car_site(tmp_path, fake, clock)
        result = site.tick(clock())
    alex_entry, sam_entry = result.state["vehicles"]
    assert alex_entry["waits_for"] == "car2" and sam_entry["waits_for"] is None
    assert any("Alex shares the 48 A circuit with Sam" in r for r in alex_entry["decision"]["reasons"])
    windows = [w for car in result.state["vehicles"] for w in car["plan"]["windows"]]
    assert max_overlap(windows) <= CIRCUIT
    assert result.state["circuit"]["peak_amps"] == CIRCUIT


def max_overlap(windows: list[dict[str, Any]]) -> int:
    """The most amps the windows add up to at any moment."""
    edges = {datetime.fromisoformat(w["start"]) for w in windows}
    return max((sum(w["amps"] for w in windows if datetime.fromisoformat(w["start"]) <= t
                    < datetime.fromisoformat(w["end"])) for t in edges), default=0)


# ---------------------------------------------------------------------- one car never holds up another
def sim_site(tmp_path: Path, clock: Clock, planner: Any = None) -> tuple[Site, list[SimVehicle]]:
    settings = load_settings({"CARS": "car1,car2", "TESLA_BACKEND": "sim", "CIRCUIT_MAX_AMPS": "48",
                              "TIME_ZONE": "America/New_York", "STATE_DIR": str(tmp_path)}, env_file=None)
    cars, sims = [], []
    for i, car in enumerate(settings.cars()):
        Path(car.settings.state_dir).mkdir(parents=True, exist_ok=True)
        sim = SimVehicle(clock, NY, vin=f"5YJ3SIMULATED0000{i}")
        sim.s.soc = 30.0
        link = VehicleLink.from_settings(sim, car.settings)
        kw = {"planner": planner} if planner is not None and i == 1 else {}
        cars.append(Coordinator(car.settings, link, None, None, car_id=car.id, state_path=tmp_path / "state.json",
                                first=i == 0, **kw))
        sims.append(sim)
    return Site(settings, cars, DemoForecast()), sims


def test_a_failing_car_never_holds_up_the_other_and_says_so(tmp_path: Path) -> None:
    def broken_planner(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("a bug in one car's plan")

    clock = Clock(datetime(2026, 11, 27, 20, 0, tzinfo=NY))
    site, (one, two) = sim_site(tmp_path, clock, planner=broken_planner)
    result = site.tick(clock())
    assert result.cars[0] is not None and result.cars[1] is None
    assert result.cars[0].report.sent, "the healthy car got no commands"
    assert two.calls.commands == 0 and one.calls.commands > 0
    entry = car_section(result.state, "car2")
    assert entry is not None and "This tick failed for car2" in entry["decision"]["reasons"][0]
    assert entry["decision"]["commands"] == [] and entry["decision"]["sent"] == []


def test_an_asleep_unplugged_car_does_not_hold_up_the_plugged_one(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 27, 20, 0, tzinfo=NY))
    site, (one, two) = sim_site(tmp_path, clock)
    two.plug(False)
    site.tick(clock())
    clock.advance(hours=1)  # car2 falls asleep, unplugged
    one.plug(True)  # car1 is still plugged in, and awake
    wakes, commands = two.calls.wakes, two.calls.commands
    result = site.tick(clock())
    r1, r2 = result.cars
    assert r1 is not None and r2 is not None
    assert r1.decision.mode.startswith("plan_") and r1.decision.windows, "the plugged-in car was not planned"
    assert (two.calls.wakes, two.calls.commands) == (wakes, commands) == (0, 0)
    assert not two._awake()
    assert r2.decision.mode == "not_plugged_in" and result.state["vehicles"][1]["plan"]["windows"] == []


def test_the_second_car_keeps_its_files_in_a_folder_of_its_own(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 27, 20, 0, tzinfo=NY))
    site, _ = sim_site(tmp_path, clock)
    site.tick(clock())
    assert (tmp_path / "vehicle.json").is_file() and (tmp_path / "cars" / "car2" / "vehicle.json").is_file()
    assert (tmp_path / "cars" / "car2" / "sessions.json").is_file()
    again, _ = sim_site(tmp_path, clock)  # a restart: each car's history comes back to it
    clock.advance(minutes=14)
    state = again.tick(clock()).state
    assert [len(c["history"]) for c in state["vehicles"]] == [2, 2]


def test_a_single_car_install_keeps_its_v1_history(tmp_path: Path) -> None:
    """A state.json of schema 1 (one car) is read through migrate: the car's history goes on in the v2 file."""
    clock = Clock(datetime(2026, 11, 27, 20, 0, tzinfo=NY))
    old = {"schema_version": 1, "generated_at": (clock.now - timedelta(minutes=14)).isoformat(),
           "history": [{"at": (clock.now - timedelta(minutes=14)).isoformat(), "soc": 29}]}
    (tmp_path / "state.json").write_text(json.dumps(old))
    settings = load_settings({"TESLA_BACKEND": "sim", "TIME_ZONE": "America/New_York", "STATE_DIR": str(tmp_path),
                              "DEFAULT_DEPARTURE": "07:00"}, env_file=None)
    sim = SimVehicle(clock, NY)
    coord = Coordinator(settings, VehicleLink.from_settings(sim, settings), DemoForecast(), None)
    state = coord.tick(clock()).state
    assert state["schema_version"] == 2 and state["circuit"] == {
        "max_amps": None, "load": state["circuit"]["load"], "peak_amps": state["circuit"]["peak_amps"]}
    (car,) = state["vehicles"]
    assert car["id"] == "car1" and [h["soc"] for h in car["history"]] == [29, 45]
    assert car["departure"] is not None and car["ready"] is True


# ---------------------------------------------------------------------- the demo
def test_the_demo_runs_two_cars_of_two_drivers_on_one_48_a_circuit(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--demo", "--once", "--state-dir",
                           str(tmp_path / "d")], capture_output=True, text=True, timeout=90, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    state = json.loads((tmp_path / "d" / "state.json").read_text())
    assert state["schema_version"] == 2 and [c["id"] for c in state["vehicles"]] == ["car1", "car2"]
    one, two = state["vehicles"]
    assert one["name"] != two["name"] and one["events"] and two["events"]
    assert {e["summary"] for e in one["events"]}.isdisjoint({e["summary"] for e in two["events"]})  # two drivers
    assert state["circuit"]["max_amps"] == 48
    windows = [w for car in state["vehicles"] for w in car["plan"]["windows"]]
    assert windows and max_overlap(windows) <= state["circuit"]["max_amps"]
    assert state["circuit"]["peak_amps"] <= 48
    steps = [s["amps"] for s in state["circuit"]["load"]]
    assert steps and max(steps) <= 48 and steps[-1] == 0


def test_the_demo_with_one_car_is_a_single_car_file(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--demo", "--demo-cars", "1", "--once",
                           "--state-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=90,
                          cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    state = json.loads((tmp_path / "d" / "state.json").read_text())
    assert [c["id"] for c in state["vehicles"]] == ["car1"] and state["circuit"]["max_amps"] is None


def test_health_names_the_second_cars_source(tmp_path: Path) -> None:
    from cli.health import check

    now = datetime(2026, 11, 27, 20, 0, tzinfo=NY)
    state = {"generated_at": now.isoformat(), "interval_min": 14, "health": {"sources": {
        "vehicle": {"data_age_min": 5.0, "last_error": None},
        "vehicle:car2": {"data_age_min": 60 * 30.0, "last_error": "HTTP 503"}}}}
    assert check(state, now, {"vehicle": 24.0}) == "vehicle:car2: data is 30.0 h old, over its 24 h limit; last " \
                                                  "error: HTTP 503"
