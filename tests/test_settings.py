"""Settings: what an owner sees when .env is right, and the one line they get when it is wrong."""

from __future__ import annotations

import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from service.settings import SPECS, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_match_the_original_rules() -> None:
    s = load_settings({}, env_file=None)
    r = s.rules()
    assert (r.min_soc, r.full_power_limit, r.default_departure, r.latest_departure) == (20, 95, time(8), time(10))
    assert (r.amps_pct_very_high_load, r.amps_pct_high_load, r.amps_pct_low_load, r.amps_pct_very_low_load) == (
        25, 50, 75, 100)


def test_env_file_fills_what_the_environment_leaves_unset(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("GRID_ISO=caiso\nMIN_SOC=25\nDEFAULT_DEPARTURE=07:15\nGRIDSTATUS_API_KEY=k-123\n")
    s = load_settings({"MIN_SOC": "30"}, env_file=env)
    assert s.grid_iso == "CAISO" and s.min_soc == 30 and s.default_departure == time(7, 15)
    assert s.grid_status_api_key == "k-123"  # the alias GRIDSTATUS_API_KEY is accepted


@pytest.mark.parametrize("env, message", [
    ({"GRID_ISO": "XYZ"}, "GRID_ISO='XYZ' is not known: it takes one of PJM, ERCOT"),
    ({"MIN_SOC": "abc"}, "MIN_SOC='abc' is not valid: it takes a whole number"),
    ({"MIN_SOC": "120"}, "MIN_SOC=120 is out of range: it takes 0 to 100"),
    ({"BATTERY_KWH": "nan"}, "BATTERY_KWH=nan is out of range"),
    ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE='Mars/Olympus' is not a time zone"),
    ({"DEFAULT_DEPARTURE": "25:00"}, "DEFAULT_DEPARTURE='25:00' is not valid: it takes a time HH:MM"),
    ({"CALENDAR_INCLUDE_FREE": "maybe"}, "CALENDAR_INCLUDE_FREE='maybe' is not valid: it takes true or false"),
    ({"MIN_AMPS": "40", "MAX_AMPS": "32"}, "MIN_AMPS=40 is above MAX_AMPS=32"),
    ({"BASE_CHARGE_LIMIT": "95"}, "BASE_CHARGE_LIMIT must lie between MIN_CHARGE_LIMIT and TOP_CHARGE_LIMIT"),
])
def test_a_wrong_value_names_the_variable_and_what_it_takes(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env, env_file=None)
    assert message in str(err.value)


def test_a_misspelt_key_in_env_suggests_the_right_one(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("GRID_STATUS_API_KY=abc\n")
    with pytest.raises(SettingsError, match="unknown setting GRID_STATUS_API_KY .* did you mean GRID_STATUS_API_KEY"):
        load_settings({}, env_file=env)


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    keys = [ln.split("=", 1)[0] for ln in lines if ln and not ln.startswith("#")]
    assert keys == list(SPECS)
    for i, ln in enumerate(lines):
        if ln and not ln.startswith("#"):
            assert lines[i - 1].startswith("# ") and len(lines[i - 1]) > 6, f"{ln} has no comment"
    # the example, copied as it is, is a valid .env
    load_settings({}, env_file=ROOT / ".env.example")


def test_scheduler_stops_with_one_line_and_exit_2_on_a_bad_setting(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TIME_ZONE=Europe/Atlantis\n")
    proc = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once", "--env-file", str(env),
                           "--state-dir", str(tmp_path / "s")], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: TIME_ZONE='Europe/Atlantis' is not a time zone: it takes an IANA name such as America/New_York "
        "or Europe/Oslo"]
    assert not (tmp_path / "s").exists()


# ------------------------------------------------------------------ several cars
TWO_CARS = {"CARS": "car1,car2", "TESLA_BACKEND": "fleet", "TESLA_VIN": "5YJ3E1EA7KF000001", "MAX_AMPS": "40",
            "CAR2_VIN": "7SAYGDEE1PA000002", "CAR2_NAME": "Sam's Model Y", "CAR2_MAX_AMPS": "24",
            "CAR2_ICAL_URL": "https://calendar.example/private-abc123/basic.ics", "CAR2_DEFAULT_DEPARTURE": "06:45",
            "CAR2_CONSUMPTION_WH_PER_KM": "190", "CAR2_BATTERY_KWH": "78", "CIRCUIT_MAX_AMPS": "48",
            "ICAL_URL": "https://calendar.example/private-def456/basic.ics"}


def test_a_single_car_env_is_car1_with_every_setting_and_the_state_folder_as_before(tmp_path: Path) -> None:
    s = load_settings({"TESLA_VIN": "5YJ3E1EA7KF000001", "MAX_AMPS": "40", "STATE_DIR": str(tmp_path)},
                      env_file=None)
    (car,) = s.cars()
    assert (car.id, car.name) == ("car1", "")
    assert car.settings.tesla_vin == "5YJ3E1EA7KF000001" and car.settings.max_amps == 40
    assert car.settings.state_dir == str(tmp_path) and car.settings.google_token_path == s.google_token_path
    assert s.circuit_max_amps == 0  # no shared circuit unless said


def test_each_car_has_its_own_keys_falling_back_to_the_global_ones(tmp_path: Path) -> None:
    s = load_settings({**TWO_CARS, "STATE_DIR": str(tmp_path)}, env_file=None)
    one, two = s.cars()
    assert (one.id, two.id, two.name) == ("car1", "car2", "Sam's Model Y")
    assert (one.settings.tesla_vin, one.settings.max_amps, one.settings.default_departure) == (
        "5YJ3E1EA7KF000001", 40, time(8))
    assert (two.settings.tesla_vin, two.settings.max_amps, two.settings.default_departure) == (
        "7SAYGDEE1PA000002", 24, time(6, 45))
    assert (two.settings.consumption_wh_per_km, two.settings.battery_kwh) == (190.0, 78.0)
    assert one.settings.ical_url.endswith("def456/basic.ics") and two.settings.ical_url.endswith("abc123/basic.ics")
    assert two.settings.min_soc == one.settings.min_soc == 20  # what a car does not set is the global
    # car1 keeps STATE_DIR's own files; car2 has a folder of its own, and both read the one Google sign-in
    assert one.settings.state_dir == str(tmp_path) and two.settings.state_dir == str(tmp_path / "cars" / "car2")
    assert two.settings.google_token_path == tmp_path / "token.json"
    assert s.circuit_max_amps == 48
    # every car's VIN and secret calendar address are secrets, never logged
    assert {"7SAYGDEE1PA000002", "https://calendar.example/private-abc123/basic.ics"} <= set(s.secrets())


def test_the_cars_keys_come_from_the_env_file_too(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in TWO_CARS.items()))
    s = load_settings({}, env_file=env)
    assert [c.settings.tesla_vin for c in s.cars()] == ["5YJ3E1EA7KF000001", "7SAYGDEE1PA000002"]


@pytest.mark.parametrize("env, message", [
    ({"CAR2_MAX_AMPS": "200"}, "CAR2_MAX_AMPS=200 is out of range: it takes 1 to 80"),
    ({"CAR2_DEFAULT_DEPARTURE": "7h"}, "CAR2_DEFAULT_DEPARTURE='7h' is not valid: it takes a time HH:MM"),
    ({"CAR2_MIN_AMPS": "30"}, "CAR2_MIN_AMPS / CAR2_MAX_AMPS: the car's minimum (30 A) is above its maximum (24 A)"),
    ({"CAR2_VIN": ""}, "CAR2_VIN is empty: with several cars (CARS=car1,car2) each car needs its VIN"),
    ({"TESLA_VIN": ""}, "CAR1_VIN (or TESLA_VIN) is empty"),
    ({"CAR2_VIN": "5YJ3E1EA7KF000001"}, "two cars in CARS have the same VIN"),
    ({"CARS": "car1,car 2"}, "'car 2' is not a car id"),
    ({"CARS": "car1,car1"}, "lists car1 twice"),
    ({"CIRCUIT_MAX_AMPS": "3"}, "CIRCUIT_MAX_AMPS=3 is below a car's MIN_AMPS"),
    ({"CIRCUIT_MAX_AMPS": "-1"}, "CIRCUIT_MAX_AMPS=-1 is out of range"),
])
def test_a_wrong_car_setting_names_its_own_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({**TWO_CARS, **env}, env_file=None)
    assert message in str(err.value)


@pytest.mark.parametrize("line, message", [
    ("CAR2_VNI=x", "unknown setting CAR2_VNI in .* did you mean CAR2_VIN"),
    ("CAR3_VIN=x", "CAR3_VIN in .* is for a car car3, which CARS does not list \\(CARS=car1,car2\\)"),
])
def test_a_car_key_in_env_that_is_no_setting_is_named(tmp_path: Path, line: str, message: str) -> None:
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}={v}\n" for k, v in TWO_CARS.items()) + line + "\n")
    with pytest.raises(SettingsError, match=message):
        load_settings({}, env_file=env)


def test_env_example_shows_the_several_cars_form_and_it_loads(tmp_path: Path) -> None:
    """The commented block of .env.example, uncommented, is a valid two-car .env."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    block = [ln[2:] for ln in lines if ln.startswith("# CAR") and "=" in ln.split()[1]]
    assert any(ln.startswith("CARS=") for ln in block) and any(ln.startswith("CAR2_VIN=") for ln in block)
    env = tmp_path / ".env"
    env.write_text("\n".join(block) + "\nTESLA_BACKEND=sim\n")
    s = load_settings({}, env_file=env)
    assert [c.id for c in s.cars()] == ["car1", "car2"]
