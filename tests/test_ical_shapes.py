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
from service.state_schema import FIRST_CAR, car_section
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
@pytest.mark.parametrize("start", [MORNING, MORNING.astimezone(UTC), MORNING.astimezone(ZoneInfo("Asia/Tokyo"))],
                         ids=["local", "utc", "a third zone"])
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


def _shipped(name: str) -> Path:
    """A calendar from a bug report, as the installed packages ship it for their own tests (test_ical_corpus.py names
    their sources and licences)."""
    import icalendar
    import recurring_ical_events

    for root in (Path(icalendar.__file__).parent / "tests" / "calendars",
                 Path(recurring_ical_events.__file__).parent / "test" / "calendars"):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(name)


SCHOOL_RUN = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:good\r\nSUMMARY:School run\r\n"
              b"DTSTART:20261128T160000Z\r\nDTEND:20261128T163000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


@pytest.mark.parametrize("name, problem", [
    ("issue_1081_invalid_rrule_freq.ics", "'Test Event' (unknown FREQ=INVALID_TYPE_CAUSES_ERROR)"),
    ("issue_1081_invalid_start_and_end.ics", "'Test' (bad DTSTART)"),
    ("invalid_duration.ics", "'Event with an impractical duration' (bad DURATION)"),
    ("parsing_error.ics", "skipped 1 broken event: 'Wrong event' (bad EXDATE)"),  # a Google export, no UIDs
    ("bad_rrule_missing_until_event.ics", "'blabla' (its series cannot be computed)"),
    ("issue_104_broken_calendar.ics", "skipped 1 line that is not iCalendar (no colon)"),  # a stray `X`
    ("issue_836_do_not_quote_tzid.ics", None),  # Exchange 2010, TZID=Eastern Standard Time
    ("bom_calendar.ics", None),  # a UTF-8 BOM
    ("issue_1050_multiple_calendars.ics", "'Event 1' (no DTSTART), 'Event 2' (no DTSTART)"),  # two VCALENDARs
])
def test_real_broken_calendars_from_bug_reports_hide_nothing_else(tmp_path, name, problem):
    """Each file from the libraries' bug reports, followed by a good calendar (three VCALENDARs or two in one
    file): the good event is read, the broken ones are named, in one line, and nothing else is."""
    ics = tmp_path / name
    ics.write_bytes(_shipped(name).read_bytes().rstrip() + b"\r\n" + SCHOOL_RUN)
    cal, events = read(str(ics), start=datetime(2026, 11, 27, tzinfo=UTC))
    assert [e.summary for e in events] == ["School run"]
    assert len(cal.problems) == (problem is not None) and (problem is None or problem in cal.problems[0])


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


def test_what_was_skipped_reaches_state_json_the_decision_and_the_health_table(tmp_path):
    """A daemon's tick on the broken feed: state.json's calendar status carries the warning, the decision's notes
    say it, and the dashboard's health table shows the calendar as partial, naming the skipped events."""
    from dashboard.state import read_snapshot
    from service.coordinator import Coordinator
    from service.settings import load_settings
    from service.trip_source import make_trip_provider
    from tests.clock import Clock
    from tests.test_dashboard_state import page_text
    from tests.test_degrade import sim_link

    clock = Clock(datetime(2026, 11, 27, 6, 0, tzinfo=LA))
    settings = load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/Los_Angeles",
                              "ICAL_URL": str(DATA / "broken_events.ics")}, env_file=None)
    link, _ = sim_link(tmp_path, clock, plugged_in=True, soc=60.0)
    result = Coordinator(settings, link, None, make_trip_provider(settings)).tick(clock())
    state = json.loads((tmp_path / "state.json").read_text())
    calendar = state["health"]["sources"]["calendar"]
    assert calendar["ok"] and "skipped 5 broken events" in calendar["warning"]
    assert {e["summary"] for e in car_section(state, FIRST_CAR)["events"]} >= {"Quarterly review", "School run"}
    (note,) = [r for r in result.decision.reasons if "not all of it" in r]
    assert "'Board call' (bad DTSTART)" in note and "'Payroll' (unknown FREQ=FORTNIGHTLY)" in note
    snap = read_snapshot(tmp_path / "state.json")
    text = page_text(snap, clock())
    assert '"partial"' in text and "'Workshop' (bad DURATION)" in text


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


def test_a_task_list_is_a_clear_error_not_an_empty_calendar():
    with pytest.raises(CalendarError, match=r"has no events: it holds 2 to-dos \(VTODO\) and no event"):
        read("tasks_only.ics")
    import recurring_ical_events  # the RFC 5545 to-do a CalDAV client sent in that library's issue 97

    todo = Path(recurring_ical_events.__file__).parent / "test" / "calendars" / "issue_97_simple_todo.ics"
    with pytest.raises(CalendarError, match=r"1 to-do \(VTODO\)"):
        ICalCalendar(str(todo), LA).events(MORNING, MORNING + DAY)


def test_a_calendar_with_nothing_in_it_is_empty_and_says_so():
    """Nextcloud's export of a new calendar (that library's no_events.ics): no events yet is no fault, but a wrong
    address gives the same file, so the dashboard says the calendar holds none (the read does not fail)."""
    import recurring_ical_events

    empty = Path(recurring_ical_events.__file__).parent / "test" / "calendars" / "no_events.ics"
    cal = ICalCalendar(str(empty), LA)
    assert cal.events(MORNING, MORNING + DAY) == []
    assert len(cal.problems) == 1 and "holds no events at all" in cal.problems[0]


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


def _one_series(tmp_path, rule: str, start: str, extra: str = "") -> ICalCalendar:
    ics = tmp_path / "series.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ping\r\nSUMMARY:Ping\r\n"
                   f"DTSTART{start}\r\nDURATION:PT1S\r\nRRULE:{rule}\r\nEND:VEVENT\r\n{extra}END:VCALENDAR\r\n")
    return ICalCalendar(str(ics), LA)


DENTIST = ("BEGIN:VEVENT\r\nUID:dentist\r\nSUMMARY:Dentist\r\nDTSTART:20261128T170000Z\r\nDTEND:20261128T180000Z\r\n"
           "END:VEVENT\r\n")


def test_an_every_second_event_with_a_huge_count_begun_last_year_is_walked_from_the_window(tmp_path):
    """COUNT=70,000,000 from 1 January 2025: 60 million steps before the window, walked in none of them."""
    start = datetime(2026, 11, 27, 14, tzinfo=UTC)
    cal = _one_series(tmp_path, "FREQ=SECONDLY;COUNT=70000000", ":20250101T000000Z", DENTIST)
    events = cal.events(start, start + DAY)
    pings = [e for e in events if e.summary == "Ping"]
    assert len(pings) == MAX_INSTANCES and pings[0].start == start and "Dentist" in {e.summary for e in events}
    # the COUNT ends it 5 minutes into the window (268,501 instances from 24 Nov 11:30): nothing is cut
    cal = _one_series(tmp_path, "FREQ=SECONDLY;COUNT=268501", ":20261124T113000Z")
    pings = cal.events(start, start + DAY)
    assert len(pings) == 301 and pings[-1].start == datetime(2026, 11, 27, 14, 5, tzinfo=UTC) and cal.problems == ()
    # and one that ran out last year has nothing to read
    cal = _one_series(tmp_path, "FREQ=SECONDLY;COUNT=50000000", ":20250101T000000Z", DENTIST)
    assert [e.summary for e in cal.events(start, start + DAY)] == ["Dentist"] and cal.problems == ()


def test_a_dense_series_counted_through_by_parts_from_long_ago_is_left_out_and_named(tmp_path):
    start = datetime(2026, 11, 27, 14, tzinfo=UTC)
    cal = _one_series(tmp_path, "FREQ=MINUTELY;COUNT=9000000;BYMINUTE=0", ":20000101T000000Z", DENTIST)
    assert [e.summary for e in cal.events(start, start + DAY)] == ["Dentist"]
    assert cal.problems == ("cut: 'Ping' (repeats 9000000 times from 2000-01-01, too far back to walk: left out)",)


def test_an_hourly_series_since_1990_across_dst_agrees_with_the_library(tmp_path):
    """Walked from the window (whole steps of wall-clock time), it gives what the library gives walking 37 years."""
    import icalendar
    import recurring_ical_events

    cal = _one_series(tmp_path, "FREQ=HOURLY;INTERVAL=5;BYHOUR=0,5,10,15,20",
                      ";TZID=America/New_York:19900101T000000")
    start = datetime(2026, 3, 7, 12, tzinfo=UTC)  # the spring-forward night in New York
    got = [e.start for e in cal.events(start, start + DAY)]
    lib = recurring_ical_events.of(icalendar.Calendar.from_ical((tmp_path / "series.ics").read_text()))
    want = sorted(o["DTSTART"].dt for o in lib.between(start, start + DAY))
    assert got == want and len(got) >= 5


def test_a_dense_series_filtered_by_by_parts_is_read_across_the_whole_window(tmp_path):
    """Every hour written as FREQ=SECONDLY;BYMINUTE=0;BYSECOND=0: not every step is an instance, so the
    window is not cut at 1,000 steps (that read the first 16 minutes only, and said nothing)."""
    start = datetime(2026, 11, 27, 14, tzinfo=UTC)
    cal = _one_series(tmp_path, "FREQ=SECONDLY;BYMINUTE=0;BYSECOND=0", ":20250101T000000Z")
    pings = cal.events(start, start + DAY)
    assert len(pings) == 48 and pings[-1].start == start + timedelta(hours=47) and cal.problems == ()
