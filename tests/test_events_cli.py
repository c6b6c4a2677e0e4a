"""`scheduler.py events --ics FILE --json` on a calendar with recurrence, a moved and a cancelled instance, an all-day
event and an event across the end of daylight saving time: each at the right instant."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

import cli.events
from service.settings import load_settings
from tests.fakes.ical import FakeICal
from tests.fakes.maps import KEY, FakeMaps

ICS = os.path.join(os.path.dirname(__file__), "data", "calendar.ics")


def run_events(capsys, tmp_path, *argv: str, **env: str) -> tuple[int, str, str]:
    base = {"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
            "GOOGLE_CREDENTIALS_FILE": str(tmp_path / "none.json")}
    base.update(env)
    parser = argparse.ArgumentParser(prog="scheduler.py")
    cli.events.register(parser.add_subparsers())
    args = parser.parse_args(["events", *argv])
    args.settings = load_settings(environ=base, env_file=None)
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def instants(events: list[dict]) -> list[tuple[str, str, str, bool]]:
    return [(e["summary"], e["start"], e["end"], e["all_day"]) for e in events]


def test_ics_file_as_json_at_the_right_instants(capsys, tmp_path):
    code, out, _ = run_events(capsys, tmp_path, "--ics", ICS, "--json", "--from", "2026-10-19T00:00", "--hours",
                              str(24 * 41))
    assert code == 0
    events = json.loads(out)
    assert instants(events) == [
        ("Gym", "2026-10-20T18:00:00-04:00", "2026-10-20T19:00:00-04:00", False),
        ("Gym", "2026-10-27T18:00:00-04:00", "2026-10-27T19:00:00-04:00", False),
        ("Standup", "2026-10-28T09:00:00-04:00", "2026-10-28T09:15:00-04:00", False),
        ("Focus time", "2026-10-28T10:00:00-04:00", "2026-10-28T12:00:00-04:00", False),  # free, kept by default
        ("Call with Oslo", "2026-10-30T10:00:00-04:00", "2026-10-30T11:00:00-04:00", False),  # TZID Europe/Oslo
        # across the end of DST: 22:00 EDT to 06:00 EST is nine hours
        ("Night drive to Boston", "2026-10-31T22:00:00-04:00", "2026-11-01T06:00:00-05:00", False),
        # the 3 Nov instance moved to Wednesday evening; 10 Nov (EXDATE) and 17 Nov (cancelled) are gone
        ("Gym (moved)", "2026-11-04T19:00:00-05:00", "2026-11-04T20:00:00-05:00", False),
        ("Road trip", "2026-11-06T00:00:00-05:00", "2026-11-07T00:00:00-05:00", True),
        # after DST the weekly 18:00 stays 18:00 local, an hour later in UTC
        ("Gym", "2026-11-24T18:00:00-05:00", "2026-11-24T19:00:00-05:00", False),
    ]
    night = events[5]
    assert datetime.fromisoformat(night["end"]) - datetime.fromisoformat(night["start"]) == timedelta(hours=9)
    assert events[6]["location"] == "Gym annex, 5 Elm St, Springfield MA"
    assert all(e["distance_km"] is None for e in events)
    assert "no GOOGLE_MAPS_API_KEY" in events[0]["note"] and "not a place" in events[2]["note"]
    # a link, no location at all, a phone: nobody drives to them
    assert [e["summary"] for e in events if e["virtual"]] == ["Standup", "Focus time", "Call with Oslo"]
    assert events[3]["note"] == "no drive: the event has no location"


def test_through_scheduler_py_in_a_subprocess(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE", "ICAL", "CALENDAR", "TESLA", "GRID"))}
    env.update({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York"})
    (tmp_path / "none.env").write_text("")  # no settings from a .env in the checkout (a missing --env-file is an error)
    proc = subprocess.run([sys.executable, "scheduler.py", "--env-file", str(tmp_path / "none.env"), "events",
                           "--ics", ICS, "--json", "--from", "2026-10-31T12:00", "--hours", "24"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (trip,) = json.loads(proc.stdout)
    assert (trip["start"], trip["end"]) == ("2026-10-31T22:00:00-04:00", "2026-11-01T06:00:00-05:00")


def test_declined_events_only_when_asked(capsys, tmp_path):
    window = ("--ics", ICS, "--json", "--from", "2026-10-29T00:00", "--hours", "24")
    code, out, _ = run_events(capsys, tmp_path, *window)
    assert code == 0 and json.loads(out) == []
    code, out, _ = run_events(capsys, tmp_path, *window, CALENDAR_INCLUDE_DECLINED="true")
    assert [e["summary"] for e in json.loads(out)] == ["Declined party"]


def test_moved_instance_keeps_the_uid_of_the_one_it_replaces(capsys, tmp_path):
    _, out, _ = run_events(capsys, tmp_path, "--ics", ICS, "--json", "--from", "2026-11-04T00:00", "--hours", "24")
    (moved,) = json.loads(out)
    assert moved["uid"] == "gym-weekly@test/2026-11-03T18:00:00-05:00"


def test_window_free_events_and_text_output(capsys, tmp_path):
    code, out, _ = run_events(capsys, tmp_path, "--ics", ICS, "--json", "--from", "2026-10-28T00:00-04:00",
                              "--hours", "24", CALENDAR_INCLUDE_FREE="false")
    assert code == 0 and [e["summary"] for e in json.loads(out)] == ["Standup"]
    code, out, _ = run_events(capsys, tmp_path, "--ics", ICS, "--from", "2026-11-06T00:00", "--hours", "24")
    assert code == 0 and "Fri 2026-11-06  all day  Road trip @ Acadia National Park, ME" in out


def test_distances_and_drive_times_when_a_key_is_set(capsys, tmp_path):
    with FakeMaps() as maps, FakeICal(ICS) as ical:
        code, out, _ = run_events(capsys, tmp_path, "--ics", ical.secret_url, "--json", "--from",
                                  "2026-10-31T12:00", "--hours", "24", GOOGLE_MAPS_API_KEY=KEY,
                                  ROUTES_BASE_URL=maps.url, TESLA_HOME_ADDRESS="1 Home Rd, Springfield MA")
        (trip,) = json.loads(out)
        assert (trip["summary"], trip["distance_km"], trip["drive_minutes"]) == ("Night drive to Boston", 145.0, 110.0)
        code, out, _ = run_events(capsys, tmp_path, "--ics", ical.secret_url, "--from", "2026-10-31T12:00",
                                  "--hours", "24", GOOGLE_MAPS_API_KEY=KEY, ROUTES_BASE_URL=maps.url,
                                  TESLA_HOME_ADDRESS="1 Home Rd, Springfield MA")
        assert "145.0 km, 110 min drive" in out and len(maps.calls()) == 1  # second run: from the disk cache


@pytest.mark.parametrize("argv, message", [
    (["--from", "tomorrow"], "--from 'tomorrow' is not an ISO time"),
    (["--hours", "0"], "--hours"),
    ([], "no calendar configured"),
])
def test_bad_input_is_one_line(capsys, tmp_path, argv, message):
    code, _, err = run_events(capsys, tmp_path, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_unreadable_calendar_fails_with_the_reason(capsys, tmp_path):
    code, out, err = run_events(capsys, tmp_path, "--ics", str(tmp_path / "missing.ics"), "--json")
    assert code == 1 and json.loads(out) == [] and "cannot read" in err


def test_a_window_in_the_past_counts_calls_this_month_and_writes_no_calendar_cache(capsys, tmp_path):
    with FakeMaps() as maps:
        code, out, _ = run_events(capsys, tmp_path, "--ics", ICS, "--json", "--from", "2026-10-31T12:00",
                                  "--hours", "24", GOOGLE_MAPS_API_KEY=KEY, ROUTES_BASE_URL=maps.url,
                                  TESLA_HOME_ADDRESS="1 Home Rd, Springfield MA")
    assert code == 0 and json.loads(out)[0]["distance_km"] == 145.0
    budget = json.loads((tmp_path / "maps_budget.json").read_text())
    assert budget == {"month": datetime.now(UTC).strftime("%Y-%m"), "count": 1}
    assert not (tmp_path / "calendar_cache.json").exists()
