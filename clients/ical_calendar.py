"""A calendar read from its secret iCal address (or an .ics file): no OAuth, works for Google, Outlook, iCloud.

icalendar parses, recurring-ical-events expands RRULE/RDATE, drops EXDATEs and applies moved or cancelled instances
(RECURRENCE-ID); VTIMEZONEs and TZIDs come through as aware datetimes, floating times are read in TIME_ZONE.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events
import requests

from charge_logic.models import CalendarEvent
from clients.calendar_events import CalendarError, EventRules, as_aware, clean_location, sort_and_window
from clients.http_text import looks_like_html, retry_after_s, with_retry_after

EXPAND_AHEAD = timedelta(days=1)


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://", "webcal://"))


def _looks_like(raw: bytes) -> str:
    """What was read instead of a calendar, in the words an owner can act on."""
    head = raw[:2000].lstrip().lower()
    if not head:
        return "it is empty"
    if looks_like_html(head.decode("utf-8", "replace")) or b"<body" in head:
        return "it is a web page (a sign-in or error page?), not the calendar's iCal address"
    if head.startswith((b"{", b"[")):
        return "it is JSON, not iCalendar"
    if not head.startswith(b"begin:vcalendar"):
        return "it does not start with BEGIN:VCALENDAR"
    return "it is cut off or malformed"


def _without_broken_events(cal: Any) -> Any:
    """One event without a start (some exporters write them) must not hide all the others."""
    cal.subcomponents = [c for c in cal.subcomponents if not (c.name == "VEVENT" and "DTSTART" not in c)]
    return cal


def describe(source: str) -> str:
    """How to name the source in messages: a file by its path, a URL only by its host (the path is the secret)."""
    if _is_url(source):
        host = source.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]  # never user:password@
        return f"the iCal address at {host} (ICAL_URL)"
    return f"the iCal file {source} (ICAL_URL)"


class ICalCalendar:
    name = "ical"

    def __init__(self, source: str, zone: tzinfo, rules: EventRules = EventRules(), *, timeout: float = 20.0,
                 session: requests.Session | None = None) -> None:
        self.source = source.strip()
        self.zone = zone
        self.rules = rules
        self.timeout = timeout
        self.session = session or requests.Session()
        self._parsed: tuple[bytes, Any] | None = None
        # (digest, from, until, events): expanding recurrences costs more than the download; a tick's window moves
        # 14 minutes, so one expansion a day ahead serves the next ticks until the feed changes
        self._expanded: tuple[bytes, datetime, datetime, list[CalendarEvent]] | None = None

    def _read(self) -> bytes:
        if not _is_url(self.source):
            try:
                return Path(self.source).expanduser().read_bytes()
            except OSError as exc:
                raise CalendarError(f"cannot read {describe(self.source)}: {exc.strerror or exc}") from None
        url = "https://" + self.source[len("webcal://"):] if self.source.lower().startswith("webcal://") \
            else self.source
        try:
            resp = self.session.get(url, timeout=self.timeout, headers={"Accept": "text/calendar"})
        except requests.Timeout:
            raise CalendarError(f"{describe(self.source)} did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise CalendarError(f"{describe(self.source)} is unreachable: {type(exc).__name__}") from None
        if resp.status_code in (401, 403, 404):
            raise CalendarError(f"{describe(self.source)} answered {resp.status_code}: the secret address was "
                                "probably reset; copy the current one into ICAL_URL")
        if resp.status_code == 429:
            raise with_retry_after(CalendarError(f"{describe(self.source)} is rate limiting (429); will retry later"),
                                   retry_after_s(resp.headers))
        if resp.status_code != 200:
            raise with_retry_after(CalendarError(f"{describe(self.source)} answered {resp.status_code}"),
                                   retry_after_s(resp.headers))
        if not resp.content.strip():
            raise CalendarError(f"{describe(self.source)} sent an empty reply, not a calendar")
        if looks_like_html(resp.text[:500]):
            raise CalendarError(f"{describe(self.source)} sent a web page, not a calendar: check ICAL_URL is the "
                                "secret address in iCal format")
        return resp.content

    def events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        raw = self._read()
        digest = hashlib.sha256(raw).digest()
        hit = self._expanded
        if hit is not None and hit[0] == digest and hit[1] <= start and end <= hit[2]:
            return sort_and_window(hit[3], start, end)  # same feed, a window inside the one expanded before
        until = end + EXPAND_AHEAD
        try:
            if self._parsed is None or self._parsed[0] != digest:  # parsing is the costly part; feeds rarely change
                self._parsed = (digest, _without_broken_events(icalendar.Calendar.from_ical(raw)))
            components = recurring_ical_events.of(self._parsed[1]).between(start, until)
            out = [e for c in components if c.name == "VEVENT" and (e := self._event(c)) is not None]
        except Exception as exc:  # icalendar/recurring-ical-events raise many types on bad input
            self._parsed = self._expanded = None
            raise CalendarError(f"{describe(self.source)} is not a valid iCalendar file: {_looks_like(raw)} "
                                f"({type(exc).__name__})") from None
        self._expanded = (digest, start, until, out)
        return sort_and_window(out, start, end)

    def _event(self, c: Any) -> CalendarEvent | None:
        if "DTSTART" not in c:
            return None
        start, all_day = as_aware(c.decoded("DTSTART"), self.zone)
        if "DTEND" in c:
            end, _ = as_aware(c.decoded("DTEND"), self.zone)
        elif "DURATION" in c:
            end = start + c.decoded("DURATION")
        else:
            end = start + (timedelta(days=1) if all_day else timedelta(0))
        status = str(c.get("STATUS", "")).upper()
        free = str(c.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT"
        # An iCal feed does not say which attendee is you; PARTSTAT=DECLINED on every attendee is the best hint.
        attendees = c.get("ATTENDEE", [])
        attendees = attendees if isinstance(attendees, list) else [attendees]
        declined = bool(attendees) and all(str(a.params.get("PARTSTAT", "")).upper() == "DECLINED"
                                           for a in attendees)
        if not self.rules.keep(cancelled=status == "CANCELLED", declined=declined, free=free):
            return None
        uid = str(c.get("UID", "")) or f"ical-{start.isoformat()}"
        if "RECURRENCE-ID" in c:  # one instance of a series: the instance it replaces names it, even when moved
            instance, _ = as_aware(c.decoded("RECURRENCE-ID"), self.zone)
            uid = f"{uid}/{instance.astimezone(self.zone).isoformat()}"
        elif "RRULE" in c or "RDATE" in c:
            uid = f"{uid}/{start.astimezone(self.zone).isoformat()}"
        return CalendarEvent(uid=uid, summary=str(c.get("SUMMARY", "")).strip() or "(no title)",
                             start=start, end=max(end, start), all_day=all_day,
                             location=clean_location(str(c.get("LOCATION", "")) or None))
