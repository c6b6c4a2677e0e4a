"""Bad input an owner (or a server) hands the scheduler: each gets one clear message, and nothing saved is lost.

Fills what tests/test_settings.py, test_google_auth.py, test_calendar.py and test_grid_source.py leave open: more
.env mistakes, a failing start that must not touch the state dir, a credentials.json the daemon meets, files that are
not iCal, awkward events, a forecast that is unusable or full of holes, and car replies with null or wrong-typed data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from charge_logic.rules import decide
from clients.calendar_events import CalendarError
from clients.ical_calendar import ICalCalendar
from clients.maps_routes import RoutesClient
from clients.tesla_common import snapshot_from_vehicle_data
from service.distances import NO_LOCATION_NOTE, NOT_A_PLACE_NOTE, DistanceService
from service.grid_source import make_forecast_provider
from service.settings import SettingsError, load_settings
from service.state_schema import FIRST_CAR, car_section
from service.trip_source import CalendarTripProvider
from tests.fakes.gridstatus import KEY as GS_KEY
from tests.fakes.gridstatus import FakeGridStatus
from tests.fakes.maps import KEY as MAPS_KEY
from tests.fakes.maps import FakeMaps
from tests.rules_support import CFG, car, forecast

ROOT = Path(__file__).resolve().parents[1]
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 27, 18, 7, tzinfo=UTC)


# ---------------------------------------------------------------------- .env
@pytest.mark.parametrize("line, message", [
    ("tesla_vin=5YJ3", "unknown setting tesla_vin in {env} — did you mean TESLA_VIN?"),
    ("MAX_AMP=32", "unknown setting MAX_AMP in {env} — did you mean MAX_AMPS?"),
    ("GOOGLE_MAP_API_KEY=k", "unknown setting GOOGLE_MAP_API_KEY in {env} — did you mean GOOGLE_MAPS_API_KEY?"),
    ("WAKE_BUDGET=2", "unknown setting WAKE_BUDGET in {env} (see .env.example for the list)"),
    ("MAX_AMPS=0", "MAX_AMPS=0 is out of range: it takes 1 to 80"),
    ("HOME_LATITUDE=91", "HOME_LATITUDE=91 is out of range: it takes -90 to 90"),
    ("BATTERY_KWH=inf", "BATTERY_KWH=inf is out of range: it takes 10 to 250"),
    ("TESLA_WAKES_PER_DAY=-1", "TESLA_WAKES_PER_DAY=-1 is out of range: it takes 0 to 100"),
    ("MIN_SOC=20.5", "MIN_SOC='20.5' is not valid: it takes a whole number"),
    ("PORT=70000", "PORT=70000 is out of range: it takes 1 to 65535"),
    ("GRID_FETCH_HOURS=0", "GRID_FETCH_HOURS=0 is out of range: it takes 0.25 to 48"),
    ("LATEST_DEPARTURE=7.30", "LATEST_DEPARTURE='7.30' is not valid: it takes a time HH:MM, e.g. 07:30"),
])
def test_env_mistakes_name_the_key_and_what_it_takes(tmp_path: Path, line: str, message: str) -> None:
    env = tmp_path / ".env"
    env.write_text(f"# my settings\n{line}\n")
    with pytest.raises(SettingsError) as err:
        load_settings({}, env_file=env)
    assert str(err.value) == message.format(env=env)


HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()


def _state_dir_with_history(path: Path) -> dict[str, bytes]:
    """A state dir as months of running leave it: what a failing start must leave byte for byte."""
    path.mkdir(mode=0o700)
    # an hour ago: the state file keeps a week of history, so a fixed date would age out of it
    files = {
        "state.json": json.dumps({"schema_version": 1, "history": [{"at": HOUR_AGO, "soc": 50}]}),
        "tesla_fleet_token.json": json.dumps({"access_token": "at-1", "refresh_token": "rt-1", "expires_at": 1e10}),
        "sessions.json": json.dumps({"sessions": [{"arrival": "2026-11-26T18:00:00+00:00"}]}),
        "usage.json": json.dumps({"month": "2026-11"}),
    }
    for name, text in files.items():
        (path / name).write_text(text)
        (path / name).chmod(0o600)
    return {name: (path / name).read_bytes() for name in files}


def _run(tmp_path: Path, env_text: str, state: Path) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "scheduler.env"
    env_file.write_text(env_text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESLA_", "GRID", "GOOGLE_", "ICAL_"))}
    return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once", "--state-dir", str(state),
                           "--env-file", str(env_file)], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=tmp_path, env=env)


@pytest.mark.parametrize("env_text, words", [
    ("TESLA_BACKEND=fleet\nMAX_AMP=16\n", "did you mean MAX_AMPS?"),
    ("TESLA_BACKEND=fleet\nMIN_SOC=200\n", "MIN_SOC=200 is out of range"),
    ("TESLA_BACKEND=teslapy\nTESLA_ACCOUNT_EMAIL=me@example.com\n", "auth tesla"),  # no Owner API token saved
    ("TESLA_BACKEND=fleet\nTESLA_FLEET_CA_CERT=/nowhere/tls-cert.pem\n", "TESLA_FLEET_CA_CERT"),
], ids=["misspelt key", "out of range", "no token", "missing CA file"])
def test_a_failing_start_is_one_line_and_loses_nothing_saved(tmp_path: Path, env_text: str, words: str) -> None:
    state = tmp_path / "state"
    before = _state_dir_with_history(state)
    proc = _run(tmp_path, env_text, state)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], proc.stderr
    assert "me@example.com" not in proc.stderr
    assert {name: (state / name).read_bytes() for name in before} == before
    assert not list(state.glob("*.corrupt-*"))


def test_a_broken_credentials_json_leaves_the_daemon_running_and_says_what_to_do(tmp_path: Path) -> None:
    """CALENDAR_SOURCE=google with a credentials.json that is not one and no token yet: the tick runs, the history
    grows, and the calendar's health says to run `auth google`."""
    state = tmp_path / "state"
    _state_dir_with_history(state)
    (tmp_path / "credentials.json").write_text("{not json")
    proc = _run(tmp_path, "TESLA_BACKEND=sim\nCALENDAR_SOURCE=google\n"
                          f"GOOGLE_CREDENTIALS_FILE={tmp_path / 'credentials.json'}\n", state)
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((state / "state.json").read_text())
    history = car_section(saved, FIRST_CAR)["history"]  # the v1 file's, migrated
    assert len(history) == 2 and history[0]["at"] == HOUR_AGO
    calendar = saved["health"]["sources"]["calendar"]
    assert not calendar["ok"] and "auth google" in calendar["last_error"]


# ---------------------------------------------------------------------- calendars
@pytest.mark.parametrize("body, words", [
    (b"", "it is empty"),
    (b"<!DOCTYPE html><html><body>Sign in</body></html>", "it is a web page"),
    (b'{"items": []}', "it is JSON, not iCalendar"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "it does not start with BEGIN:VCALENDAR"),
    (b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:cut\n", "it is cut off or malformed"),
], ids=["empty", "html", "json", "binary", "cut off"])
def test_a_file_that_is_not_ical_says_what_it_is(tmp_path: Path, body: bytes, words: str) -> None:
    ics = tmp_path / "cal.ics"
    ics.write_bytes(body)
    with pytest.raises(CalendarError) as err:
        ICalCalendar(str(ics), NY).events(NOW, NOW + timedelta(days=2))
    assert "is not a valid iCalendar file" in str(err.value) and words in str(err.value)
    assert "\n" not in str(err.value)


def _vevent(uid: str, start: str, end: str, location: str | None = None, extra: str = "") -> str:
    loc = f"LOCATION:{location}\n" if location else ""
    return f"BEGIN:VEVENT\nUID:{uid}\nSUMMARY:{uid}\n{start}\n{end}\n{loc}{extra}END:VEVENT\n"


AWKWARD = ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n"
           + _vevent("no location", "DTSTART:20261128T150000Z", "DTEND:20261128T160000Z")
           + _vevent("video call", "DTSTART:20261128T170000Z", "DTEND:20261128T180000Z",
                     "https://zoom.us/j/123456789?pwd=abc")
           + _vevent("phone", "DTSTART:20261128T180000Z", "DTEND:20261128T183000Z", "+1 555 0100")
           + _vevent("all day", "DTSTART;VALUE=DATE:20261128", "DTEND;VALUE=DATE:20261129",
                     "Dentist\\, 12 Oak Ave")
           + _vevent("long weekend", "DTSTART:20261128T130000Z", "DTEND:20261130T220000Z",
                     "Acadia National Park\\, ME")
           + "BEGIN:VEVENT\nUID:no start\nSUMMARY:no start\nLOCATION:South Station\\, Boston MA\nEND:VEVENT\n"
           + "END:VCALENDAR\n")


def test_awkward_events_become_trips_with_clear_notes_and_only_places_cost_a_maps_call(tmp_path: Path) -> None:
    ics = tmp_path / "cal.ics"
    ics.write_text(AWKWARD)
    with FakeMaps() as maps:
        distances = DistanceService(RoutesClient(MAPS_KEY, maps.url), "1 Home Rd, Springfield MA", tmp_path)
        trips = {t.event.summary: t for t in CalendarTripProvider(ICalCalendar(str(ics), NY), distances,
                                                                   tmp_path).get(NOW)}
        assert len(maps.calls()) == 2  # the dentist and the park; a link, a phone number, nothing: no call
    assert set(trips) == {"no location", "video call", "phone", "all day", "long weekend"}  # "no start" skipped
    assert (trips["no location"].route, trips["no location"].note) == (None, NO_LOCATION_NOTE)
    for name in ("video call", "phone"):
        assert (trips[name].route, trips[name].note, trips[name].virtual) == (None, NOT_A_PLACE_NOTE, True)
    day = trips["all day"].event
    assert day.all_day and day.start == datetime(2026, 11, 28, tzinfo=NY) and day.end - day.start == timedelta(days=1)
    assert trips["all day"].route is not None
    weekend = trips["long weekend"]
    assert not weekend.event.all_day and weekend.event.end - weekend.event.start > timedelta(days=2)
    assert weekend.route is not None and weekend.route.distance_km == 480.0
    now = NOW.astimezone(NY)
    d = decide(now, car(), forecast(now, 90_000), list(trips.values()), CFG, zone=NY)
    assert d.reasons and d.charge_limit is not None  # a 480 km weekend shapes the night; nothing else breaks it


# ---------------------------------------------------------------------- the forecast
def _rows(start: datetime, values: list[Any]) -> list[dict[str, Any]]:
    return [{"interval_start_utc": (start + timedelta(hours=i)).isoformat(),
             "publish_time_utc": "2026-11-27T06:00:00+00:00", "load_forecast": v} for i, v in enumerate(values)]


@pytest.mark.parametrize("values", [
    [None] * 80, ["NaN"] * 80, [-5.0] * 80, ["n/a"] * 80, [0] * 80,
], ids=["empty cells", "NaN", "negative", "text", "zeros"])
def test_an_unusable_forecast_keeps_the_last_good_one_on_disk(tmp_path: Path, values: list[Any]) -> None:
    with FakeGridStatus() as fake:
        p = make_forecast_provider(load_settings({"GRID_STATUS_API_KEY": GS_KEY, "GRIDSTATUS_BASE_URL": fake.url,
                                                  "STATE_DIR": str(tmp_path)}, env_file=None))
        assert p is not None
        good = p.get(NOW)
        cache = (tmp_path / "grid_forecast.json").read_bytes()
        fake.rows = _rows(NOW.replace(minute=0) - timedelta(hours=6), values)
        later = NOW + timedelta(hours=4)
        kept = p.get(later)
    assert good and kept and p.status.stale and not p.status.ok
    assert "no usable forecast rows" in p.status.last_error
    assert (tmp_path / "grid_forecast.json").read_bytes() == cache


def test_a_forecast_with_holes_duplicates_and_disorder_is_used_as_it_is(tmp_path: Path) -> None:
    start = NOW.replace(minute=0) - timedelta(hours=6)
    rows = _rows(start, [90_000.0 + 100 * i for i in range(80)])
    rows[40]["load_forecast"] = "NaN"
    del rows[20:30]  # ten hours missing
    rows += [dict(rows[5], load_forecast=1.0), dict(rows[5])]  # a duplicate: the last row wins
    rows.reverse()
    with FakeGridStatus() as fake:
        fake.rows = rows
        p = make_forecast_provider(load_settings({"GRID_STATUS_API_KEY": GS_KEY, "GRIDSTATUS_BASE_URL": fake.url,
                                                  "STATE_DIR": str(tmp_path)}, env_file=None))
        assert p is not None
        points = p.get(NOW)
    starts = [pt.start for pt in points]
    assert starts == sorted(set(starts))
    hours = {round((t - start).total_seconds() / 3600) for t in starts}
    assert not hours & set(range(20, 30)) and 40 not in hours  # holes stay holes: nothing is made up
    assert {0, 19, 30, 39, 41} <= hours
    assert points[5].load_mw == 90_500.0
    now = NOW.astimezone(NY)
    d = decide(now, car(), points, [], CFG, zone=NY)
    assert d.amps is not None and d.reasons


# ---------------------------------------------------------------------- the car
@pytest.mark.parametrize("data", [
    {"charge_state": None},
    {"charge_state": "unavailable"},
    {"charge_state": []},
    {"charge_state": {"battery_level": None, "charging_state": None, "charge_limit_soc": None}},
    {"charge_state": {"battery_level": "abc", "charging_state": 5, "charge_limit_soc": True, "timestamp": "x"}},
    {"charge_state": {}, "drive_state": "n/a", "vehicle_state": 7},
], ids=["null", "text", "list", "null fields", "wrong types", "other sections wrong"])
def test_a_car_reply_without_usable_charge_data_changes_nothing(data: dict[str, Any]) -> None:
    snap = snapshot_from_vehicle_data({"vin": "5YJ3E7EB1NF123456", "state": "online", **data},
                                      lambda: NOW)
    assert snap.read_at == NOW and snap.vin_short == "…3456"
    assert snap.battery_level is None and snap.charging_state is None and snap.plugged_in is None
    now = NOW.astimezone(NY)
    d = decide(now, snap, forecast(now, 90_000), [], CFG, zone=NY)
    assert d.commands == () and d.mode == "no_charge_data"
    assert "sent no charge data" in d.reasons[0]


def test_numbers_sent_as_text_are_read() -> None:
    snap = snapshot_from_vehicle_data({"charge_state": {"battery_level": "55", "charge_limit_soc": "80",
                                                        "charging_state": "Stopped", "timestamp": time.time() * 1000}},
                                      lambda: NOW)
    assert (snap.battery_level, snap.charge_limit_soc, snap.plugged_in) == (55, 80, True)
