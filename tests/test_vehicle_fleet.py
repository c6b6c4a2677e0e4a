"""The Fleet backend against the fake Fleet API over real HTTP: every path, every failure switch."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from charge_logic.models import Command
from clients.tesla_fleet import FleetVehicle, save_token
from clients.vehicle import CommandProtocolRequired, VehicleAsleep, VehicleAuthError, VehicleError
from tests.fakes.tesla_fleet import VIN, FakeCar, FakeFleetApi


class Sleeps(list):
    """The backend's sleep, recorded instead of slept (injected, not patched)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def server():
    with FakeFleetApi() as f:
        yield f


@pytest.fixture
def fake(server):
    return server.reset(FakeCar(state="asleep"))


def make(fake: FakeFleetApi, tmp_path: Path, *, token: dict | None = None, vin: str = VIN, **kw) -> FleetVehicle:
    path = tmp_path / "tesla_fleet_token.json"
    if token is not False:
        save_token(path, token or fake.grant())
    kw.setdefault("sleep", Sleeps())
    return FleetVehicle(fake.url, token_file=path, client_id=fake.client_id, token_url=fake.url, vin=vin,
                        clock=lambda: fake.car.now, **kw)


def secrets_of(fake: FakeFleetApi, car: FleetVehicle) -> list[str]:
    return [VIN, fake.client_id, *fake.tokens.access, *fake.tokens.refresh, *(car._token or {}).values().__iter__()]


def assert_clean(message: str, fake: FakeFleetApi, car: FleetVehicle) -> None:
    for secret in secrets_of(fake, car):
        if isinstance(secret, str) and len(secret) > 4:
            assert secret not in message, f"secret leaked into {message!r}"


def test_summary_does_not_wake_and_is_billed_as_a_data_request(fake, tmp_path):
    """Tesla bills every reply below 500 and shows no free pricing category for the list: counted as data."""
    car = make(fake, tmp_path)
    s = car.summary()
    assert (s.state, s.vin_short, s.display_name) == ("asleep", "…3456", "Fakey")
    assert [r.path for r in fake.log] == ["/api/1/vehicles"]
    assert fake.billed() == {"data": 0, "commands": 0, "wakes": 0, "summaries": 1}
    assert fake.car.state == "asleep"
    assert car.calls.summaries == 1 and car.calls.listed == 1 and car.calls.cost_usd() == pytest.approx(0.002)


def test_snapshot_of_a_sleeping_car_reads_nothing_billed(fake, tmp_path):
    car = make(fake, tmp_path)
    with pytest.raises(VehicleAsleep):
        car.snapshot()
    assert fake.requests(path_re="vehicle_data") == [] and fake.car.asleep_reads == 0
    assert car.calls.data == 0


def test_snapshot_of_an_online_car(fake, tmp_path):
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    snap = car.snapshot()
    assert snap.state == "online" and snap.vin_short == "…3456"
    assert snap.battery_level == 45 and snap.charge_limit_soc == 80 and snap.charging_state == "Charging"
    assert snap.plugged_in is True and snap.charging is True
    assert snap.read_at == fake.car.now.replace(microsecond=0)
    assert snap.battery_range_km == pytest.approx(45 / 100 * 310 * 1.609344, abs=0.2)
    assert snap.latitude == 40.0 and snap.charge_current_request_max == 32
    req = fake.requests(path_re="vehicle_data")[0]
    assert req.path == f"/api/1/vehicles/{VIN}/vehicle_data"  # the proxy wants the VIN in the path
    assert req.query["endpoints"] == ["charge_state;charge_schedule_data;location_data;vehicle_state"]
    assert req.headers["Authorization"].startswith("Bearer at-")
    assert car.calls.data == 1 and car.calls.listed == 1 and car.calls.cost_usd() == pytest.approx(0.004)


def test_a_408_between_summary_and_read_is_asleep_and_billed(fake, tmp_path):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    fake.fail("408", path="vehicle_data")
    with pytest.raises(VehicleAsleep):
        car.snapshot()
    assert car.calls.data == 1  # Tesla bills a 408 on a sleeping car


def test_wake_polls_the_free_list_after_one_billed_wake(fake, tmp_path):
    sleeps = Sleeps()
    car = make(fake, tmp_path, sleep=sleeps)
    assert car.wake() is True
    assert fake.car.state == "online"
    assert len(fake.requests("POST", "wake_up")) == 1 and car.calls.wakes == 1
    assert sum(sleeps) < 30
    car.snapshot()  # the car is online now: a read works without another wake
    assert len(fake.requests("POST", "wake_up")) == 1


def test_wake_gives_up_within_its_bound(fake, tmp_path):
    fake.car.state = "offline"
    sleeps = Sleeps()
    car = make(fake, tmp_path, sleep=sleeps)
    started = time.monotonic()
    assert car.wake(timeout_s=120) is False  # asked for 120 s, bounded to 60 (a car may take a minute to wake)
    assert 55 <= sum(sleeps) <= 60 and time.monotonic() - started < 10
    assert len(fake.requests("POST", "wake_up")) == 1


def test_wake_of_an_online_car_costs_only_the_list(fake, tmp_path):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    assert car.wake() is True
    assert fake.requests("POST") == [] and car.calls.wakes == 0 and car.calls.cost_usd() == pytest.approx(0.002)


@pytest.mark.parametrize("command, check", [
    (Command("set_charging_amps", {"charging_amps": 16}), lambda c: c.amps == 16),
    (Command("set_charge_limit", {"percent": 90}), lambda c: c.limit == 90),
    (Command("charge_stop"), lambda c: c.charging_state == "Stopped"),
    (Command("set_scheduled_charging", {"enable": True, "time": 120}),
     lambda c: (c.scheduled_mode, c.start_time_min) == ("StartAt", 120)),
    (Command("set_scheduled_departure", {"enable": True, "departure_time": 450, "off_peak_charging_enabled": True,
                                         "end_off_peak_time": 420, "preconditioning_enabled": False}),
     lambda c: (c.scheduled_mode, c.departure_min, c.off_peak, c.off_peak_end_min) == ("DepartBy", 450, True, 420)),
])
def test_commands_change_the_car(fake, tmp_path, command, check):
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    result = car.execute(command)
    assert result.ok, result.reason
    assert check(fake.car)
    sent = fake.requests("POST", "/command/")[0]
    assert sent.path == f"/api/1/vehicles/{VIN}/command/{command.name}" and sent.json() == command.args
    assert car.calls.commands == 1


@pytest.mark.parametrize("setup, command, ok, reason", [
    (lambda c: None, Command("set_charge_limit", {"percent": 80}), True, "already_set"),
    (lambda c: c.command("charge_stop", {}), Command("charge_stop"), True, "not_charging"),
    (lambda c: None, Command("charge_start"), True, "is_charging"),
    (lambda c: setattr(c, "limit", 45), Command("charge_start"), True, "complete"),
    (lambda c: c.unplug(), Command("charge_start"), False, "disconnected"),
])
def test_benign_replies_count_as_done(fake, tmp_path, setup, command, ok, reason):
    fake.car.state = "online"
    fake.car.plug_in()
    setup(fake.car)
    result = make(fake, tmp_path).execute(command)
    assert (result.ok, result.reason) == (ok, reason)


def test_the_proxy_s_refusals_are_read_as_the_car_s_reasons(fake, tmp_path):
    """tesla-http-proxy answers a car's refusal with HTTP 200 and "car could not execute command: <reason>"
    (pkg/proxy/proxy.go, writeJSONError; pkg/vehicle/infotainment.go): the harmless ones are done, not failures."""
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    result = car.execute(Command("charge_start"))
    assert (result.ok, result.reason) == (True, "is_charging")
    assert car.calls.commands == 1


def test_the_car_charges_as_its_clock_advances(fake, tmp_path):
    fake.car.state = "online"
    fake.car.plug_in()
    car = make(fake, tmp_path)
    car.execute(Command("set_charging_amps", {"charging_amps": 16}))
    before = car.snapshot().battery_level
    fake.car.advance(timedelta(hours=2))
    after = car.snapshot()
    assert after.battery_level - before == pytest.approx(2 * 16 * 240 / 1000 / 75 * 100, abs=1.5)
    assert after.charge_energy_added == pytest.approx(2 * 16 * 240 / 1000, abs=0.1)  # the car's own kWh count
    fake.car.advance(timedelta(hours=10))  # full, then idle: the car goes to sleep
    assert fake.car.charging_state == "Complete" and car.summary().state == "asleep"


def test_unknown_command_is_refused_before_any_call(fake, tmp_path):
    car = make(fake, tmp_path)
    with pytest.raises(VehicleError, match="unknown car command 'honk_horn'"):
        car.execute(Command("honk_horn"))
    assert fake.requests("POST") == []


def test_command_to_a_sleeping_car_is_asleep(fake, tmp_path):
    car = make(fake, tmp_path)
    with pytest.raises(VehicleAsleep):
        car.execute(Command("charge_stop"))


# ---------------------------------------------------------------------- tokens
def test_no_token_says_to_sign_in(fake, tmp_path):
    with pytest.raises(VehicleAuthError, match=r"python scheduler.py auth tesla"):
        make(fake, tmp_path, token=False)
    assert fake.log == []


def test_expired_token_is_refreshed_and_saved_privately(fake, tmp_path):
    grant = fake.grant()
    path = tmp_path / "tesla_fleet_token.json"
    save_token(path, {**grant, "expires_in": 30})  # inside the 60 s margin: refresh first
    car = FleetVehicle(fake.url, token_file=path, client_id=fake.client_id, token_url=fake.url, vin=VIN)
    car.summary()
    token_req = fake.requests("POST", "/oauth2/v3/token")
    assert len(token_req) == 1
    form = token_req[0].body.decode()
    assert "grant_type=refresh_token" in form and f"client_id={fake.client_id}" in form
    saved = json.loads(path.read_text())
    assert saved["access_token"] != grant["access_token"] and saved["refresh_token"] != grant["refresh_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_401_refreshes_once_and_retries(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.expire_access_tokens()
    assert car.summary().state == "asleep"
    assert [r.path for r in fake.log] == ["/api/1/vehicles", "/oauth2/v3/token", "/api/1/vehicles"]


def test_a_401_switch_is_survived(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.fail("401")
    assert car.summary().state == "asleep"
    assert len(fake.requests("POST", "/oauth2/v3/token")) == 1


def test_revoked_refresh_token_asks_for_sign_in_without_leaking(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()
    with pytest.raises(VehicleAuthError, match=r"auth tesla") as err:
        car.summary()
    assert_clean(str(err.value), fake, car)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------- failure switches
def test_command_protocol_required_says_how_to_switch(fake, tmp_path):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    fake.fail("403")
    with pytest.raises(CommandProtocolRequired) as err:
        car.execute(Command("charge_stop"))
    msg = str(err.value)
    assert "tesla-http-proxy" in msg and "TESLA_FLEET_BASE_URL" in msg and "TESLA_FLEET_CA_CERT" in msg


def test_429_with_a_short_retry_after_is_waited_out_once(fake, tmp_path):
    sleeps = Sleeps()
    car = make(fake, tmp_path, sleep=sleeps)
    fake.fail("429", retry_after=3)
    assert car.summary().state == "asleep"
    assert sleeps == [3.0] and len(fake.requests(path_re="^/api/1/vehicles$")) == 2


def test_429_with_a_long_retry_after_is_an_error_not_a_long_sleep(fake, tmp_path):
    sleeps = Sleeps()
    car = make(fake, tmp_path, sleep=sleeps)
    fake.fail("429", retry_after=900)
    with pytest.raises(VehicleError, match="rate limit.*retry after 900"):
        car.summary()
    assert sleeps == []


def test_429_twice_is_an_error(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.fail("429", times=2, retry_after=1)
    with pytest.raises(VehicleError, match="rate limit"):
        car.summary()
    assert len(fake.requests(path_re="^/api/1/vehicles$")) == 2


@pytest.mark.parametrize("kind, match", [
    ("500", "Fleet API error 500 on vehicle data: internal server error"),
    ("503", "Fleet API error 503 on vehicle data: upstream internal error"),
    ("non_json", "non-JSON reply to vehicle data"),
])
def test_server_failures_are_one_clean_line(fake, tmp_path, kind, match):
    fake.car.state = "online"
    car = make(fake, tmp_path)
    car.summary()
    fake.fail(kind, path="vehicle_data")
    with pytest.raises(VehicleError, match=match) as err:
        car.snapshot()
    assert not isinstance(err.value, (VehicleAsleep, VehicleAuthError))
    assert_clean(str(err.value), fake, car)


def test_a_wrong_region_names_the_right_host(fake, tmp_path):
    car = make(fake, tmp_path)
    fake.fail("421")
    with pytest.raises(VehicleError, match="TESLA_FLEET_BASE_URL and TESLA_FLEET_AUDIENCE to "
                                           "https://fleet-api.prd.eu.vn.cloud.tesla.com"):
        car.summary()


def test_proxy_reporting_a_sleeping_car_as_500_is_asleep(fake, tmp_path):
    """tesla-http-proxy can answer 500 with the 'offline or asleep' error when Tesla said 408."""
    from tests.fakes.http import Reply

    fake.car.state = "online"
    car = make(fake, tmp_path)
    car.summary()
    fake.route("GET", r"/api/1/vehicles/(?P<cid>[^/]+)/vehicle_data",
               lambda req, cid: Reply(500, {"response": None, "error": "vehicle unavailable: vehicle is offline "
                                                                       "or asleep", "error_description": ""}))
    fake.routes.insert(0, fake.routes.pop())
    with pytest.raises(VehicleAsleep):
        car.snapshot()


def test_a_slow_reply_times_out_instead_of_hanging(fake, tmp_path):
    car = make(fake, tmp_path, timeout=(1.0, 0.3))
    fake.fail("slow", delay_s=1.5)
    started = time.monotonic()
    with pytest.raises(VehicleError, match="did not answer the vehicle list within 0.3 s"):
        car.summary()
    assert time.monotonic() - started < 1.4


def test_unreachable_api_names_the_setting(tmp_path):
    with FakeFleetApi() as f:
        car = make(f, tmp_path)
    with pytest.raises(VehicleError, match="TESLA_FLEET_BASE_URL"):
        car.summary()


def test_missing_ca_cert_file_is_named(fake, tmp_path):
    with pytest.raises(VehicleError, match="TESLA_FLEET_CA_CERT"):
        make(fake, tmp_path, ca_cert=str(tmp_path / "nope.pem"))


def test_unknown_vin_is_named_shortened(fake, tmp_path):
    car = make(fake, tmp_path, vin="5YJ3E7EB1NF999999")
    with pytest.raises(VehicleError, match="…9999") as err:
        car.summary()
    assert "5YJ3E7EB1NF999999" not in str(err.value)


def test_no_vin_set_takes_the_accounts_first_car(fake, tmp_path):
    fake.car.state = "online"
    car = make(fake, tmp_path, vin="")
    assert car.snapshot().vin_short == "…3456"
    assert fake.requests(path_re="vehicle_data")[0].path == f"/api/1/vehicles/{VIN}/vehicle_data"


# ---------------------------------------------------------------------- the proxy's TLS
def _cert(tmp_path: Path, san: bool) -> tuple[str, str]:
    """The certificate command from docs/tesla.md (san=True) or from tesla-http-proxy's README (san=False)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "tls-key.pem", tmp_path / "tls-cert.pem"
    cmd = ["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1",
           "-pkeyopt", "ec_param_enc:named_curve", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
           "-sha256", "-days", "3650", "-addext", "extendedKeyUsage = serverAuth",
           "-addext", "keyUsage = digitalSignature, keyCertSign, keyAgreement"]
    if san:
        cmd += ["-addext", "subjectAltName = DNS:localhost"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def test_through_a_tls_proxy_trusting_its_certificate(tmp_path):
    cert, key = _cert(tmp_path, san=True)
    with FakeFleetApi(FakeCar(state="online")) as proxy:
        url = proxy.serve_tls(cert, key)
        path = tmp_path / "token.json"
        save_token(path, proxy.grant())
        car = FleetVehicle(url, token_file=path, client_id="id", token_url=proxy.url, vin=VIN, ca_cert=cert)
        assert car.snapshot().battery_level == 45
        untrusting = FleetVehicle(url, token_file=path, client_id="id", token_url=proxy.url, vin=VIN)
        with pytest.raises(VehicleError, match="TESLA_FLEET_CA_CERT"):
            untrusting.summary()


def test_a_proxy_certificate_without_the_host_name_is_explained(tmp_path):
    """The README's command makes a CN-only certificate, which Python's TLS refuses for the host name."""
    cert, key = _cert(tmp_path, san=False)
    with FakeFleetApi(FakeCar(state="online")) as proxy:
        url = proxy.serve_tls(cert, key)
        path = tmp_path / "token.json"
        save_token(path, proxy.grant())
        car = FleetVehicle(url, token_file=path, client_id="id", token_url=proxy.url, vin=VIN, ca_cert=cert)
        with pytest.raises(VehicleError, match="subjectAltName"):
            car.summary()
