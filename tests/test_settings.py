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
