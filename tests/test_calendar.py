"""Calendars against fakes over real HTTP: Google (paging, refresh, 401, errors) and iCal (URL, file), and the trip
provider's stale fallback."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clients.calendar_events import CalendarAuthError, CalendarError, EventRules
from clients.google_calendar import GoogleCalendar
from clients.ical_calendar import ICalCalendar
from service.settings import load_settings
from service.trip_source import choose_calendar, make_trip_provider
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeGoogle, google_error
from tests.fakes.http import Reply
from tests.fakes.ical import FakeICal

NY = ZoneInfo("America/New_York")
ICS = os.path.join(os.path.dirname(__file__), "data", "calendar.ics")
START = datetime(2026, 11, 27, 6, 0, tzinfo=NY)
END = START + timedelta(hours=48)


def token_json(fake: FakeGoogle, path, *, token: str = "ya29.expired", expired: bool = True) -> None:
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
    path.write_text(json.dumps({"token": token, "refresh_token": REFRESH_TOKEN, "token_uri": fake.url + "/token",
                                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                "scopes": ["https://www.googleapis.com/auth/calendar.readonly"],
                                "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))


def gevent(i: str, start: str, end: str, **extra) -> dict:
    key = "date" if len(start) == 10 else "dateTime"
    return {"kind": "calendar#event", "id": i, "status": "confirmed", "summary": f"event {i}",
            "start": {key: start}, "end": {key: end}, **extra}


GOOGLE_EVENTS = [
    gevent("a", "2026-11-27T09:00:00-05:00", "2026-11-27T10:00:00-05:00", location="Dentist, 12 Oak Ave"),
    gevent("b", "2026-11-28", "2026-11-29", location="Acadia National Park, ME"),
    gevent("c", "2026-11-27T12:00:00-05:00", "2026-11-27T13:00:00-05:00", status="cancelled"),
    gevent("d", "2026-11-27T14:00:00-05:00", "2026-11-27T15:00:00-05:00",
           attendees=[{"email": "me@example.com", "self": True, "responseStatus": "declined"},
                      {"email": "boss@example.com", "responseStatus": "accepted"}]),
    gevent("e", "2026-11-27T16:00:00-05:00", "2026-11-27T17:00:00-05:00", transparency="transparent"),
    gevent("f", "2026-11-27T18:00:00Z", "2026-11-27T19:00:00Z", location="https://meet.google.com/abc-defg-hij"),
    gevent("g", "2026-11-28T07:30:00-05:00", "2026-11-28T08:00:00-05:00", location="South Station, Boston MA"),
    gevent("late", "2026-12-05T07:30:00-05:00", "2026-12-05T08:00:00-05:00"),
]


@pytest.fixture(scope="module")
def server():
    with FakeGoogle(page_size=3) as fake:
        yield fake


@pytest.fixture
def google(server, tmp_path):
    server.reset()
    server.events = list(GOOGLE_EVENTS)
    token_json(server, tmp_path / "token.json")
    return server


def gcal(fake, tmp_path, **rules) -> GoogleCalendar:
    return GoogleCalendar(tmp_path / "token.json", NY, EventRules(**rules), base_url=fake.url,
                          token_uri=fake.url + "/token")


def test_google_refreshes_an_expired_token_saves_it_private_and_reads_every_page(google, tmp_path):
    events = gcal(google, tmp_path).events(START, END)
    assert [e.uid for e in events] == ["a", "f", "e", "b", "g"]  # c cancelled, d declined, late outside
    saved = json.loads((tmp_path / "token.json").read_text())
    assert saved["token"] in google.valid_tokens and saved["refresh_token"] == REFRESH_TOKEN
    assert stat.S_IMODE(os.stat(tmp_path / "token.json").st_mode) == 0o600
    lists = google.requests("GET", "/events")
    assert [r.query.get("pageToken") for r in lists] == [None, ["3"], ["6"]]
    assert lists[0].query["singleEvents"] == ["true"] and lists[0].query["orderBy"] == ["startTime"]
    assert len(google.requests("POST", "/token")) == 1
    gcal(google, tmp_path).events(START, END)  # the saved token is reused: no second refresh
    assert len(google.requests("POST", "/token")) == 1


def test_google_is_asked_only_for_the_event_types_that_can_be_trips(google, tmp_path):
    """Birthdays, focus time, out-of-office and working locations are not drives: events.list is asked for the
    default type and Gmail's (a flight or a table booked by mail), and the fake, as Google, returns every type when
    eventTypes is not given."""
    import requests
    typed = {t: gevent(t, "2026-11-27T11:00:00-05:00", "2026-11-27T12:00:00-05:00", eventType=t,
                       location="South Station, Boston MA")
             for t in ("birthday", "focusTime", "outOfOffice", "workingLocation", "fromGmail", "default")}
    typed["birthday"].update(start={"date": "2026-11-27"}, end={"date": "2026-11-28"})
    google.events = list(typed.values()) + [gevent("untyped", "2026-11-27T13:00:00-05:00", "2026-11-27T14:00:00-05:00")]
    ids = {e.uid for e in gcal(google, tmp_path).events(START, END)}
    assert ids == {"fromGmail", "default", "untyped"}
    assert google.requests("GET", "/events")[0].query["eventTypes"] == ["default", "fromGmail"]
    token, page, seen = next(iter(google.valid_tokens)), None, set()
    while True:  # without eventTypes, every type comes back
        raw = requests.get(google.url + "/calendar/v3/calendars/primary/events", timeout=5,
                           headers={"Authorization": f"Bearer {token}"},
                           params={"singleEvents": "true", "orderBy": "startTime", "pageToken": page,
                                   "timeMin": START.isoformat(), "timeMax": END.isoformat()}).json()
        seen |= {e["id"] for e in raw["items"]}
        if not (page := raw.get("nextPageToken")):
            break
    assert seen == set(typed) | {"untyped"}


def test_google_events_are_normalized(google, tmp_path):
    by_id = {e.uid: e for e in gcal(google, tmp_path).events(START, END)}
    assert by_id["a"].start == datetime(2026, 11, 27, 14, 0, tzinfo=UTC) and not by_id["a"].all_day
    assert by_id["a"].location == "Dentist, 12 Oak Ave" and by_id["a"].summary == "event a"
    b = by_id["b"]
    assert b.all_day and b.start == datetime(2026, 11, 28, tzinfo=NY) and b.end - b.start == timedelta(days=1)
    assert b.start.utcoffset() == timedelta(hours=-5)


def test_google_declined_and_free_follow_the_settings(google, tmp_path):
    ids = {e.uid for e in gcal(google, tmp_path, include_declined=True, include_free=False).events(START, END)}
    assert "d" in ids and "e" not in ids and "c" not in ids


def test_google_401_with_an_unexpired_token_refreshes_and_retries(google, tmp_path):
    token_json(google, tmp_path / "token.json", token="ya29.revoked-by-server", expired=False)
    assert len(gcal(google, tmp_path).events(START, END)) == 5
    assert json.loads((tmp_path / "token.json").read_text())["token"] in google.valid_tokens


def test_google_revoked_refresh_token_says_run_auth_google(google, tmp_path):
    google.refresh_ok = False
    with pytest.raises(CalendarAuthError, match="auth google"):
        gcal(google, tmp_path).events(START, END)


@pytest.mark.parametrize("reply", [
    Reply(503, {"error": "temporarily_unavailable", "error_description": "The service is currently unavailable."}),
    Reply(500, "<html><title>500 Internal Server Error</title></html>", {"Content-Type": "text/html"}),
])
def test_google_sign_in_server_down_is_an_outage_not_a_revoked_sign_in(google, tmp_path, reply):
    """Google's token endpoint failing for a while (google-auth tries it 3 times) is retried later, and the owner is
    not told to sign in again; once it answers, the calendar is read."""
    google.token_errors = [reply] * 3
    with pytest.raises(CalendarError) as failed:
        gcal(google, tmp_path).events(START, END)
    assert not isinstance(failed.value, CalendarAuthError) and "auth google" not in str(failed.value)
    assert "will retry" in str(failed.value)
    assert len(gcal(google, tmp_path).events(START, END)) == 5


def test_google_missing_token_and_unknown_calendar(google, tmp_path):
    with pytest.raises(CalendarAuthError, match="auth google"):
        GoogleCalendar(tmp_path / "nope.json", NY, base_url=google.url).events(START, END)
    cal = GoogleCalendar(tmp_path / "token.json", NY, calendar_id="work@example.com", base_url=google.url,
                         token_uri=google.url + "/token")
    with pytest.raises(CalendarError, match="GOOGLE_CALENDAR_ID"):
        cal.events(START, END)


def test_google_server_error_is_a_calendar_error(google, tmp_path):
    google.errors = [google_error(503, "Backend Error", "UNAVAILABLE")]
    with pytest.raises(CalendarError, match="503"):
        gcal(google, tmp_path).events(START, END)


def test_google_403_rate_limit_is_a_rate_limit_not_a_disabled_api(google, tmp_path):
    """The Calendar API answers too many requests with 403 rateLimitExceeded (or userRateLimitExceeded) as often as
    with 429: that is a wait, not a project to fix (found by the soak, tests/soak_harness.py GOOGLE_FAULTS)."""
    for reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        google.errors = [Reply(403, {"error": {"code": 403, "message": "Rate Limit Exceeded", "errors": [
            {"domain": "usageLimits", "reason": reason, "message": "Rate Limit Exceeded"}]}}, {"Retry-After": "60"})]
        with pytest.raises(CalendarError) as err:
            gcal(google, tmp_path).events(START, END)
        assert f"rate limit (403 {reason}" in str(err.value) and "enable" not in str(err.value)
        assert err.value.retry_after_s == 60  # type: ignore[attr-defined]
    google.errors = [google_error(403, "Google Calendar API has not been used in project 123 before or it is "
                                       "disabled.", "PERMISSION_DENIED")]
    with pytest.raises(CalendarError, match=r"denied access \(403: .*enable the Calendar API"):
        gcal(google, tmp_path).events(START, END)


def test_ical_url_recurring_events_and_errors_never_show_the_secret(tmp_path):
    with FakeICal(ICS) as fake:
        cal = ICalCalendar(fake.secret_url, NY)
        events = cal.events(datetime(2026, 11, 2, tzinfo=NY), datetime(2026, 11, 30, tzinfo=NY))
        assert [e.summary for e in events] == ["Gym (moved)", "Road trip", "Gym"]
        fake.status = 404
        with pytest.raises(CalendarError) as err:
            cal.events(START, END)
    assert "private-0123456789abcdef" not in str(err.value) and "ICAL_URL" in str(err.value)


def test_ical_address_with_credentials_is_named_by_host_only():
    cal = ICalCalendar("https://me:hunter2@127.0.0.1:9/private-abc/basic.ics", NY, timeout=2)
    with pytest.raises(CalendarError) as err:
        cal.events(START, END)
    assert "127.0.0.1:9" in str(err.value) and "hunter2" not in str(err.value) and "private-abc" not in str(err.value)


def test_ical_file_errors(tmp_path):
    with pytest.raises(CalendarError, match="cannot read"):
        ICalCalendar(str(tmp_path / "missing.ics"), NY).events(START, END)
    bad = tmp_path / "bad.ics"
    bad.write_text("this is not a calendar")
    with pytest.raises(CalendarError, match="not a valid iCalendar"):
        ICalCalendar(str(bad), NY).events(START, END)


def settings(tmp_path, **env):
    base = {"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York",
            "GOOGLE_CREDENTIALS_FILE": str(tmp_path / "credentials.json")}
    base.update({k: str(v) for k, v in env.items()})
    return load_settings(environ=base, env_file=None)


def test_calendar_source_choice(tmp_path):
    assert choose_calendar(settings(tmp_path)) is None
    assert make_trip_provider(settings(tmp_path)) is None
    assert choose_calendar(settings(tmp_path, ICAL_URL=ICS)).name == "ical"
    (tmp_path / "token.json").write_text("{}")
    assert choose_calendar(settings(tmp_path)).name == "google"
    assert choose_calendar(settings(tmp_path, ICAL_URL=ICS)).name == "ical"
    assert choose_calendar(settings(tmp_path, CALENDAR_SOURCE="none", ICAL_URL=ICS)) is None
    with pytest.raises(ValueError, match="ICAL_URL"):
        choose_calendar(settings(tmp_path, CALENDAR_SOURCE="ical"))


def test_trip_provider_keeps_last_good_events_until_calendar_stale_hours(google, tmp_path):
    token_json(google, tmp_path / "token.json", token=google.issue(), expired=False)  # Google's refresh URL is fixed
    s = settings(tmp_path, CALENDAR_SOURCE="google", GOOGLE_CALENDAR_BASE_URL=google.url, CALENDAR_STALE_HOURS=6)
    p = make_trip_provider(s)
    now = START
    good = p.get(now)
    assert len(good) == 5 and p.calendar_status.ok and [s.name for s in p.statuses] == ["calendar", "maps"]
    assert p.statuses == [p.calendar_status, *p.maps_statuses] and p.maps_statuses[0] is p.distances.status
    google.errors = [google_error(500, "Backend Error", "INTERNAL")] * 100
    later = p.get(now + timedelta(hours=5))
    assert [t.event.uid for t in later] == [t.event.uid for t in good if t.event.end > now + timedelta(hours=5)]
    assert later and len(later) < len(good)
    assert p.calendar_status.stale and not p.calendar_status.ok and "500" in p.calendar_status.last_error
    restarted = make_trip_provider(s)  # the last good events survive a restart too
    assert [t.event.uid for t in restarted.get(now + timedelta(hours=5))] == [
        t.event.uid for t in later]
    assert p.get(now + timedelta(hours=7)) == [] and p.calendar_status.stale
    assert stat.S_IMODE(os.stat(tmp_path / "calendar_cache.json").st_mode) == 0o600
    google.errors = []
    assert p.get(now + timedelta(hours=8)) and p.calendar_status.ok and not p.calendar_status.stale



DAILY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//EN
BEGIN:VEVENT
UID:gym
SUMMARY:{summary}
DTSTART;TZID=America/New_York:20261101T180000
DTEND;TZID=America/New_York:20261101T190000
RRULE:FREQ=DAILY
LOCATION:Gym
END:VEVENT
END:VCALENDAR
"""


def test_ical_ticks_reuse_one_expansion_and_still_see_every_change(tmp_path):
    """Recurrences are expanded a day ahead once per feed; each 14-minute window is cut from it, and an edited feed
    or a window past the expansion is expanded again."""
    ics = tmp_path / "cal.ics"
    ics.write_text(DAILY.format(summary="Gym"))
    cal = ICalCalendar(str(ics), NY)
    start = datetime(2026, 11, 2, 12, 0, tzinfo=NY)
    for minutes in range(0, 24 * 60, 14):
        t = start + timedelta(minutes=minutes)
        got = cal.events(t, t + timedelta(hours=48))
        fresh = ICalCalendar(str(ics), NY).events(t, t + timedelta(hours=48))
        assert got == fresh and len(got) in (2, 3)
    ics.write_text(DAILY.format(summary="Yoga"))
    assert {e.summary for e in cal.events(start, start + timedelta(hours=48))} == {"Yoga"}
    later = start + timedelta(days=5)
    assert [e.start.day for e in cal.events(later, later + timedelta(hours=48))] == [7, 8]
