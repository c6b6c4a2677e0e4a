"""Calendars as people really have them (issue 16), each in the shape a real producer writes it
(tests/data/calendars/README.md says which): floating times and all-day days read in TIME_ZONE whatever zone `now`
comes in, broken events skipped and named, Windows zone names, a changed VTIMEZONE, odd encodings, a vCard, a
feed with years of history and an every-second event."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from clients.calendar_events import CalendarError
from clients.ical_calendar import MAX_INSTANCES, ICalCalendar
from service.distances import NO_LOCATION_NOTE, DistanceService
from service.trip_source import CalendarTripProvider
from tests.fakes.ical import FakeICal
from tests.test_events_cli import run_events

DATA = Path(__file__).parent / "data" / "calendars"
LA = ZoneInfo("America/Los_Angeles")
MORNING = datetime(2026, 11, 27, 6, 0, tzinfo=LA)  # 14:00Z, as the daemon's `now` arrives
DAY = timedelta(hours=48)


def read(name: str, zone=LA, start=MORNING, hours=DAY) -> tuple[ICalCalendar, list]:
    cal = ICalCalendar(str(DATA / name), zone)
    return cal, cal.events(start, start + hours)


def by_summary(events) -> dict:
    return {e.summary: e for e in events}


# ---------------------------------------------------------------------- 1. floating times, all-day days
@pytest.mark.parametrize("start", [MORNING, MORNING.astimezone(UTC)], ids=["local", "utc"])
def test_a_floating_morning_meeting_is_still_ahead_at_six_in_los_angeles(start):
    _, events = read("floating_and_all_day.ics", start=start)
    dentist = by_summary(events)["Dentist"]
    assert dentist.start == datetime(2026, 11, 27, 9, 0, tzinfo=LA) and not dentist.all_day


def test_an_all_day_holiday_with_dtend_equal_to_dtstart_lasts_its_whole_local_day():
    _, events = read("floating_and_all_day.ics", start=MORNING.astimezone(UTC))
    holiday, trip = by_summary(events)["Day after Thanksgiving"], by_summary(events)["Joshua Tree"]
    assert holiday.all_day and (holiday.start, holiday.end) == (datetime(2026, 11, 27, tzinfo=LA),
                                                              datetime(2026, 11, 28, tzinfo=LA))
    assert trip.all_day and (trip.start, trip.end) == (datetime(2026, 11, 28, tzinfo=LA),
                                                       datetime(2026, 11, 29, tzinfo=LA))


def test_events_from_local_and_from_utc_agree_for_the_same_instant(capsys, tmp_path):
    env = {"TIME_ZONE": "America/Los_Angeles"}
    ics = str(DATA / "floating_and_all_day.ics")
    outs = []
    for start in ("2026-11-27T06:00", "2026-11-27T14:00Z"):
        code, out, _ = run_events(capsys, tmp_path, "--ics", ics, "--json", "--from", start, "--hours", "24", **env)
        assert code == 0
        outs.append(json.loads(out))
    assert outs[0] == outs[1]
    assert [e["summary"] for e in outs[0]] == ["Day after Thanksgiving", "Dentist", "Joshua Tree"]


# ---------------------------------------------------------------------- 2. broken events
def test_broken_events_are_skipped_and_named_and_the_rest_is_read():
    cal, events = read("broken_events.ics", start=datetime(2026, 11, 27, tzinfo=UTC))
    got = by_summary(events)
    # tzone://Microsoft/Utc (unquoted, as Exchange writes it) is UTC; an empty TZID= is a local time
    assert got["Quarterly review"].start == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert got["Lunch with Sam"].start == datetime(2026, 11, 27, 12, 0, tzinfo=LA)
    # an end before the start is read swapped, as recurring-ical-events does (its issue 132)
    assert (got["Time travel"].start, got["Time travel"].end) == (datetime(2026, 11, 28, 14, tzinfo=UTC),
                                                                  datetime(2026, 11, 28, 15, tzinfo=UTC))
    assert set(got) == {"Quarterly review", "Lunch with Sam", "Time travel", "School run"}
    (skipped,) = [p for p in cal.problems if p.startswith("skipped")]
    assert skipped.startswith("skipped 5 broken events")
    for name in ("'Board call' (bad DTSTART)", "'Offsite' (bad DTEND)", "'Workshop' (bad DURATION)",
                 "'Daily sync' (bad EXDATE)", "'Payroll' (unknown FREQ=FORTNIGHTLY)"):
        assert name in skipped


def test_the_dashboard_names_what_was_skipped(tmp_path):
    """Through the trip provider: the calendar is ok, its status carries the warning the health table and the
    decision's notes show; the good events become trips."""
    cal = ICalCalendar(str(DATA / "broken_events.ics"), LA)
    provider = CalendarTripProvider(cal, DistanceService(None, "", tmp_path), tmp_path)
    trips = provider.get(datetime(2026, 11, 27, tzinfo=UTC))
    status = provider.calendar_status
    assert status.ok and len(trips) == 4
    assert "'Board call' (bad DTSTART)" in status.warning and "'Payroll'" in status.warning
    assert status.to_json(datetime(2026, 11, 27, tzinfo=UTC))["warning"] == status.warning
    shutil.copy(DATA / "floating_and_all_day.ics", tmp_path / "fixed.ics")
    cal.source = str(tmp_path / "fixed.ics")  # the owner fixes the feed: the warning goes
    provider.get(datetime(2026, 11, 27, 1, tzinfo=UTC))
    assert status.ok and status.warning is None


# ---------------------------------------------------------------------- 3. zone names, a changed VTIMEZONE
def test_windows_and_outlook_zone_names_without_a_vtimezone_are_placed_right():
    cal, events = read("windows_zones.ics", start=datetime(2026, 11, 27, tzinfo=UTC))
    got = by_summary(events)
    berlin = ZoneInfo("Europe/Berlin")
    assert got["Berlin office call"].start == datetime(2026, 11, 27, 9, 0, tzinfo=berlin)
    assert got["Munich supplier"].start == datetime(2026, 11, 27, 15, 0, tzinfo=berlin)
    assert got["Site visit"].start == datetime(2026, 11, 27, 11, 0, tzinfo=LA)
    assert got["Tokyo standup"].start == datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert cal.problems == ()


def test_a_feed_whose_vtimezone_changes_is_read_with_the_new_rules_without_a_restart(tmp_path):
    ics = tmp_path / "office.ics"
    shutil.copy(DATA / "vtimezone_office_plus1.ics", ics)
    start = datetime(2026, 11, 27, tzinfo=UTC)
    cal = ICalCalendar(str(ics), LA)
    (first,) = cal.events(start, start + DAY)
    assert first.start == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    shutil.copy(DATA / "vtimezone_office_plus3.ics", ics)
    (again,) = cal.events(start, start + DAY)
    assert again.start == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    (fresh,) = ICalCalendar(str(ics), LA).events(start, start + DAY)  # another reader in the same process too
    assert fresh.start == again.start


# ---------------------------------------------------------------------- 4. text as it comes
@pytest.mark.parametrize("name, summary, location", [
    ("outlook_utf16.ics", "Zürich trip – Müller GmbH", "Bahnhofstrasse 1, Zürich"),
    ("latin1_no_charset.ics", "Réunion à Montréal", "Café Olimpico, Montréal QC"),
], ids=["utf-16 with BOM", "latin-1 without charset"])
def test_encodings_as_they_come(name, summary, location):
    _, (event,) = read(name, start=datetime(2026, 11, 27, tzinfo=UTC))
    assert (event.summary, event.location) == (summary, location)


def test_latin1_served_over_http_without_a_charset(tmp_path):
    with FakeICal(DATA / "latin1_no_charset.ics") as fake:
        fake.content_type = "text/calendar"
        (event,) = ICalCalendar(fake.secret_url, LA).events(datetime(2026, 11, 27, tzinfo=UTC),
                                                            datetime(2026, 11, 29, tzinfo=UTC))
    assert event.summary == "Réunion à Montréal"


def test_two_vcalendars_in_one_file_are_one_calendar():
    _, events = read("two_calendars.ics", start=datetime(2026, 11, 27, tzinfo=UTC))
    assert [e.summary for e in events] == ["Client visit", "Soccer practice"]


def test_a_vcard_is_a_clear_error_not_an_empty_calendar():
    with pytest.raises(CalendarError, match="it is a vCard \\(contacts\\), not a calendar"):
        read("contacts.vcf")


# ---------------------------------------------------------------------- 5. big feeds
def test_a_feed_with_years_of_history_gives_what_the_whole_feed_gives(tmp_path):
    """Only events near the window are parsed: history, far-future events, and a series with moved instances
    around the window give the same events as when every event is parsed (a window far in the past)."""
    from bench.ical_bench import big_feed

    ics = tmp_path / "big.ics"
    ics.write_text(big_feed(3000, years=0.5), encoding="utf-8", newline="")
    start = datetime(2026, 11, 27, 14, tzinfo=UTC)
    cal = ICalCalendar(str(ics), LA)
    events = cal.events(start, start + DAY)
    whole = ICalCalendar(str(ics), LA)
    import clients.ical_calendar as mod

    keep_before, keep_after = mod.KEEP_BEFORE, mod.KEEP_AFTER
    mod.KEEP_BEFORE = mod.KEEP_AFTER = timedelta(days=20 * 365)  # every event parsed
    try:
        want = whole.events(start, start + DAY)
    finally:
        mod.KEEP_BEFORE, mod.KEEP_AFTER = keep_before, keep_after
    assert events == want and len([e for e in events if e.summary != "Ping"]) > 0


def test_an_unchanged_feed_over_http_is_not_downloaded_again(tmp_path):
    """The fake answers If-None-Match with 304, as calendar servers do with their ETag: a tick reads nothing."""
    with FakeICal(DATA / "two_calendars.ics") as fake:
        cal = ICalCalendar(fake.secret_url, LA)
        start = datetime(2026, 11, 27, tzinfo=UTC)
        first = cal.events(start, start + DAY)
        again = cal.events(start + timedelta(minutes=14), start + timedelta(minutes=14) + DAY)
        assert first == again and len(first) == 2
        assert [r.headers.get("If-None-Match") for r in fake.requests("GET", "/calendar")] == [None, fake.etag]
        assert fake.not_modified == 1


def test_an_every_second_event_is_cut_and_says_so(tmp_path):
    ics = tmp_path / "ping.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ping\r\nSUMMARY:Ping\r\n"
                   "DTSTART:20250101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n"
                   "BEGIN:VEVENT\r\nUID:dentist\r\nSUMMARY:Dentist\r\nDTSTART:20261128T170000Z\r\n"
                   "DTEND:20261128T180000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    cal = ICalCalendar(str(ics), LA)
    start = datetime(2026, 11, 27, 14, tzinfo=UTC)
    events = cal.events(start, start + DAY)
    pings = [e for e in events if e.summary == "Ping"]
    assert len(pings) == MAX_INSTANCES and pings[0].start == start  # begun last year, walked from the window
    assert "Dentist" in {e.summary for e in events}
    assert any("'Ping' (repeats every second: only its first 1000 instances" in p for p in cal.problems)


# ---------------------------------------------------------------------- 6. no location
def test_an_event_with_no_location_is_not_a_drive_and_says_so(tmp_path):
    cal = ICalCalendar(str(DATA / "broken_events.ics"), LA)
    provider = CalendarTripProvider(cal, DistanceService(None, "1 Home Rd", tmp_path), tmp_path)
    ics = tmp_path / "blank.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:Think\r\n"
                   "DTSTART:20261127T170000Z\r\nDTEND:20261127T180000Z\r\nLOCATION: \r\nEND:VEVENT\r\n"
                   "END:VCALENDAR\r\n")
    cal.source = str(ics)
    (trip,) = provider.get(datetime(2026, 11, 27, tzinfo=UTC))
    assert trip.virtual and trip.route is None and trip.note == NO_LOCATION_NOTE
