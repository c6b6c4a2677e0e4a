"""The teslapy backend: teslapy itself (its session, token refresh and error handling) against the fake Owner API."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import teslapy

from charge_logic.models import Command
from clients.tesla_owner import OwnerVehicle
from clients.vehicle import CommandProtocolRequired, VehicleAsleep, VehicleAuthError, VehicleError
from tests.fakes.tesla_owner import VIN, FakeCar, FakeOwnerApi

EMAIL = "owner@example.com"
ROOT = Path(__file__).resolve().parent.parent


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def server():
    with FakeOwnerApi() as f:
        yield f


@pytest.fixture
def fake(server):
    return server.reset(FakeCar(state="asleep"))


def write_cache(fake: FakeOwnerApi, path: Path, *, expires_in: int = 28800) -> dict:
    """What a teslapy sign-in leaves behind: {email: {"url": sso base, "sso": token}}."""
    token = fake.grant()
    token.update(expires_in=expires_in, expires_at=time.time() + expires_in)
    path.write_text(json.dumps({EMAIL: {"url": fake.url + "/", "sso": token}}))
    return token


def make(fake: FakeOwnerApi, tmp_path: Path, *, cache: bool = True, vin: str = VIN, **kw) -> OwnerVehicle:
    path = tmp_path / "tesla_owner_token.json"
    if cache and not path.exists():
        write_cache(fake, path)
    kw.setdefault("sleep", Sleeps())
    return OwnerVehicle(EMAIL, cache_file=path, vin=vin, base_url=fake.url, sso_base_url=fake.url,
                        clock=lambda: fake.car.now, **kw)


def assert_clean(message: str, fake: FakeOwnerApi) -> None:
    for secret in [VIN, EMAIL, *fake.tokens.access, *fake.tokens.refresh]:
        assert secret not in message, f"secret leaked into {message!r}"
    assert "\n" not in message


def test_no_token_is_an_auth_error_not_a_prompt(fake, tmp_path):
    with pytest.raises(VehicleAuthError) as err:
        make(fake, tmp_path, cache=False)
    assert "run `python scheduler.py auth tesla`" in str(err.value)
    assert_clean(str(err.value), fake)
    assert fake.log == []


def test_daemon_without_token_exits_with_one_line_and_never_waits_for_stdin(fake, tmp_path):
    """What `scheduler.py --once` meets at start-up: make_vehicle() with no token, stdin closed."""
    env = {**os.environ, "TESLA_BACKEND": "teslapy", "TESLA_ACCOUNT_EMAIL": EMAIL, "STATE_DIR": str(tmp_path),
           "TESLA_OWNER_BASE_URL": fake.url, "TESLA_AUTH_URL": fake.url, "PYTHONPATH": str(ROOT)}
    code = ("import sys\nfrom service.settings import load_settings\nfrom clients.vehicle_factory import "
            "make_vehicle\nfrom clients.vehicle import VehicleAuthError\ntry:\n"
            "    make_vehicle(load_settings(env_file=None))\nexcept VehicleAuthError as e:\n"
            "    print(e, file=sys.stderr); sys.exit(2)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "python scheduler.py auth tesla" in lines[0] and EMAIL not in lines[0]
    assert fake.log == []


def test_base_url_goes_to_teslapys_module_global(fake, tmp_path):
    make(fake, tmp_path)
    assert fake.url + "/" == teslapy.BASE_URL


def test_summary_reads_the_list_only(fake, tmp_path):
    car = make(fake, tmp_path)
    s = car.summary()
    assert (s.state, s.vin_short) == ("asleep", "…3456")
    assert [r.path for r in fake.log] == ["/api/1/products"]
    assert fake.log[0].headers["User-Agent"].startswith("teslapy/")  # really teslapy's session
    assert car.calls.summaries == 1 and car.calls.cost_usd() == 0


def test_snapshot_of_a_sleeping_car_reads_nothing(fake, tmp_path):
    car = make(fake, tmp_path)
    with pytest.raises(VehicleAsleep):
        car.snapshot()
    assert fake.requests(path_re="vehicle_data") == []


def test_snapshot_of_an_online_car(fake, tmp_path):
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    snap = car.snapshot()
    assert (snap.battery_level, snap.charge_limit_soc, snap.charging_state) == (45, 80, "Charging")
    assert snap.plugged_in and snap.odometer_km == pytest.approx(12345.6 * 1.609344, abs=0.2)
    req = fake.requests(path_re="vehicle_data")[0]
    assert req.path == f"/api/1/vehicles/{fake.car.id}/vehicle_data"  # the Owner API names the car by id
    assert req.query["endpoints"] == ["charge_state;charge_schedule_data;location_data;vehicle_state"]
    assert car.calls.data == 1


def test_wake_is_one_wake_up_then_free_polls(fake, tmp_path):
    sleeps = Sleeps()
    car = make(fake, tmp_path, sleep=sleeps)
    assert car.wake() is True
    assert len(fake.requests("POST", "wake_up")) == 1 and car.calls.wakes == 1 and sum(sleeps) < 30
    assert car.snapshot().state == "online"


def test_wake_is_bounded(fake, tmp_path):
    fake.car.state = "offline"
    sleeps = Sleeps()
    car = make(fake, tmp_path, sleep=sleeps)
    assert car.wake(timeout_s=300) is False
    assert 55 <= sum(sleeps) <= 60


@pytest.mark.parametrize("command, check", [
    (Command("set_charging_amps", {"charging_amps": 10}), lambda c: c.amps == 10),
    (Command("set_charge_limit", {"percent": 70}), lambda c: c.limit == 70),
    (Command("charge_stop"), lambda c: c.charging_state == "Stopped"),
    (Command("set_scheduled_charging", {"enable": True, "time": 60}), lambda c: c.scheduled_mode == "StartAt"),
    (Command("set_scheduled_departure", {"enable": True, "departure_time": 480, "off_peak_charging_enabled": True,
                                         "end_off_peak_time": 420}),
     lambda c: (c.scheduled_mode, c.departure_min) == ("DepartBy", 480)),
])
def test_fleet_named_commands_reach_the_owner_api(fake, tmp_path, command, check):
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    assert car.execute(command).ok
    assert check(fake.car)
    sent = fake.requests("POST", "/command/")[0]
    assert sent.path == f"/api/1/vehicles/{fake.car.id}/command/{command.name}" and sent.json() == command.args
    assert car.calls.commands == 1


def test_charge_start_after_stop(fake, tmp_path):
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    car.execute(Command("charge_stop"))
    assert car.execute(Command("charge_start")).ok and fake.car.charging_state == "Charging"


@pytest.mark.parametrize("command, reason", [
    (Command("set_charge_limit", {"percent": 80}), "already_set"),
    (Command("charge_start"), "is_charging"),
])
def test_benign_replies_are_success(fake, tmp_path, command, reason):
    fake.car.state = "online"
    fake.car.plug_in()
    result = make(fake, tmp_path).execute(command)
    assert result.ok and result.reason == reason


def test_a_car_that_needs_signed_commands_says_switch_to_fleet(fake, tmp_path):
    fake.car.state = "online"
    fake.commands_need_signing = True
    car = make(fake, tmp_path)
    with pytest.raises(CommandProtocolRequired) as err:
        car.execute(Command("set_charging_amps", {"charging_amps": 16}))
    msg = str(err.value)
    assert "TESLA_BACKEND=fleet" in msg and "tesla-http-proxy" in msg and "auth tesla" in msg
    assert car.snapshot().battery_level == 45  # reads still work


def test_the_owner_api_s_closed_door_points_to_the_fleet_backend(fake, tmp_path):
    """Since mid-2026 the Owner API answers many tokens 403 "... see developer.tesla.com/docs/fleet-api": not a
    sign-in problem (signing in again gets the same), so the error says to switch backends, and waits a day."""
    fake.car.state = "online"
    car = make(fake, tmp_path)
    fake.fail("403_owner_closed", times=5, path="vehicle_data")
    with pytest.raises(VehicleError) as err:
        car.snapshot()
    msg = str(err.value)
    assert "TESLA_BACKEND=fleet" in msg and "does not help" in msg and "run `python scheduler.py auth tesla`" not in msg
    assert err.value.retry_after_s == 86400


def test_a_403_switch_on_a_command(fake, tmp_path):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    fake.fail("403")
    with pytest.raises(CommandProtocolRequired):
        car.execute(Command("charge_stop"))


def test_a_408_is_asleep(fake, tmp_path):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    fake.fail("408", path="vehicle_data")
    with pytest.raises(VehicleAsleep):
        car.snapshot()


def test_a_401_refreshes_through_teslapy_and_saves_privately(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.fail("401")
    assert car.summary().state == "asleep"
    token_req = fake.requests("POST", "/oauth2/v3/token")
    assert len(token_req) == 1 and "client_id=ownerapi" in token_req[0].body.decode()
    path = tmp_path / "tesla_owner_token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())[EMAIL]["sso"]["access_token"] in fake.tokens.access


def test_an_expired_token_is_refreshed_by_teslapy_before_the_call(fake, tmp_path):
    path = tmp_path / "tesla_owner_token.json"
    old = write_cache(fake, path, expires_in=-10)
    car = make(fake, tmp_path)
    car.summary()
    assert [r.path for r in fake.log] == ["/oauth2/v3/token", "/api/1/products"]
    saved = json.loads(path.read_text())[EMAIL]["sso"]
    assert saved["refresh_token"] != old["refresh_token"] and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_revoked_token_asks_for_sign_in(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(VehicleAuthError, match="auth tesla") as err:
        car.summary()
    assert_clean(str(err.value), fake)


@pytest.mark.parametrize("kind", ["503", "non_json"])
def test_a_sign_in_outage_during_a_refresh_is_retried_not_a_new_sign_in(fake, tmp_path, kind):
    """Tesla's sign-in server answering a refresh with an error page or a 5xx is an outage: the owner must not be
    sent to sign in again, and the next tick refreshes with the same saved token."""
    write_cache(fake, tmp_path / "tesla_owner_token.json", expires_in=-10)
    car = make(fake, tmp_path)
    fake.fail(kind, path="/oauth2/v3/token")
    with pytest.raises(VehicleError, match="will retry") as err:
        car.summary()
    assert not isinstance(err.value, VehicleAuthError)
    assert_clean(str(err.value), fake)
    assert car.summary().state == "asleep"  # the outage is over: refreshed and read


@pytest.mark.parametrize("kind, match", [
    ("429", "rate limit"),
    ("500", "Owner API error 500 on vehicle data: internal server error"),
    ("503", "Owner API error 503"),
    ("non_json", "non-JSON"),
])
def test_failures_are_one_clean_line(fake, tmp_path, kind, match):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    car.summary()
    fake.fail(kind, path="vehicle_data")
    with pytest.raises(VehicleError, match=match) as err:
        car.snapshot()
    assert not isinstance(err.value, (VehicleAsleep, VehicleAuthError))
    assert_clean(str(err.value), fake)


def test_a_slow_reply_times_out(fake, tmp_path):
    car = make(fake, tmp_path, timeout=0.3)
    fake.fail("slow", delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(VehicleError, match="did not answer"):
        car.summary()
    assert time.monotonic() - started < 1.4


def test_unknown_command_is_refused(fake, tmp_path):
    with pytest.raises(VehicleError, match="unknown car command"):
        make(fake, tmp_path).execute(Command("door_unlock"))
    assert fake.requests("POST") == []


def test_scheduler_once_without_a_token_exits_2_with_its_one_line(fake, tmp_path):
    env = {**os.environ, "TESLA_BACKEND": "teslapy", "TESLA_ACCOUNT_EMAIL": EMAIL, "STATE_DIR": str(tmp_path / "s"),
           "TESLA_OWNER_BASE_URL": fake.url, "TESLA_AUTH_URL": fake.url, "CALENDAR_SOURCE": "none"}
    proc = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once"], env=env, cwd=tmp_path,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "run `python scheduler.py auth tesla`" in lines[0]
    assert EMAIL not in proc.stderr + proc.stdout and fake.log == []
