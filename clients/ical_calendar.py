"""A calendar read from its secret iCal address (or an .ics file): no OAuth, works for Google, Outlook, iCloud.

icalendar parses, recurring-ical-events expands RRULE/RDATE, drops EXDATEs and applies moved or cancelled instances
(RECURRENCE-ID); VTIMEZONEs and TZIDs come through as aware datetimes, floating times are read in TIME_ZONE.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events
import requests

from charge_logic.models import CalendarEvent
from clients import ical_text
from clients.calendar_events import (
    CalendarError,
    EventRules,
    as_aware,
    clean_location,
    local_midnight,
    sort_and_window,
)
from clients.http_text import looks_like_html, retry_after_s, with_retry_after

EXPAND_AHEAD = timedelta(days=1)
KEEP_BEFORE = timedelta(days=2)  # the parsed part of a feed: from two days before the window...
KEEP_AFTER = timedelta(days=30)  # ...to a month past it; a window leaving that span parses the feed again
MAX_INSTANCES = 1000  # of one series in one read: an every-second event is cut here, and the owner told
MAX_COUNT = 100_000  # steps a dense series counted through BY... parts is walked from its start, at most
_DENSE = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600}  # seconds a step: walked from the window only
_NAMES = 8  # broken events named in the status; the rest counted


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://", "webcal://"))


def _looks_like(raw: bytes) -> str:
    """What was read instead of a calendar, in the words an owner can act on."""
    return ical_text.not_a_calendar(ical_text.decode(raw[:20000])) or "it is cut off or malformed"


def _title(c: Any) -> str:
    return repr(str(c.get("SUMMARY", "")).strip()[:60] or str(c.get("UID", "")).strip()[:60]
                or " ".join(str(c.get("DESCRIPTION", "")).split())[:40] or "(no title)")


def _uid(c: Any) -> str:
    """A component's UID as recurring-ical-events keys its series (an event without one by its Python id)."""
    return str(c.get("UID", str(id(c))))


_KEY_PROPS = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


def _broken(c: Any) -> str | None:
    """Why an event cannot be placed in time (a bad DTSTART/DTEND/DURATION/RRULE/EXDATE), or None."""
    if "DTSTART" not in c:
        return "no DTSTART"
    for name, message in getattr(c, "errors", ()):
        if name in _KEY_PROPS:
            value = message.removeprefix("Expected frequency, got: ")
            return f"unknown FREQ={value}" if "frequency" in message else f"bad {name}"
    # (an end before the start is read swapped, as recurring-ical-events does: its issue 132)
    if "DTEND" in c and type(c.decoded("DTSTART")) is date and c.decoded("DTEND") == c.decoded("DTSTART"):
        del c["DTEND"]  # a holiday written with DTEND = DTSTART: a whole day, as with no DTEND at all
    return None


@dataclass
class _Parsed:
    """A feed's text, parsed once, for the dates it was cut to."""

    calendar: Any
    first: date
    last: date
    problems: list[str]
    broken: list[str]  # events skipped while parsing, named with those the expansion skips in one line
    dense: dict[int, tuple[Any, Any, int | None]]  # id(event) -> its own (DTSTART, DTEND, COUNT), before any shift


def describe(source: str) -> str:
    """How to name the source in messages: a file by its path, a URL only by its host (the path is the secret)."""
    if _is_url(source):
        host = source.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]  # never user:password@
        return f"the iCal address at {host} (ICAL_URL)"
    return f"the iCal file {source} (ICAL_URL)"


_ANY_EVENT = re.compile(r"^BEGIN:VEVENT\s*$", re.I | re.M)


class ICalCalendar:
    name = "ical"

    def __init__(self, source: str, zone: tzinfo, rules: EventRules = EventRules(), *, timeout: float = 20.0,
                 session: requests.Session | None = None) -> None:
        self.source = source.strip()
        self.zone = zone
        self.rules = rules
        self.timeout = timeout
        self.session = session or requests.Session()
        self.problems: tuple[str, ...] = ()  # what the last read skipped or cut, one short phrase each
        self._raw: tuple[bytes, str | None] | None = None  # (digest, charset) of the last feed read
        self._bytes = b""
        self._stamp: tuple[int, int, int] | None = None  # a file's (inode, size, mtime): unchanged means unread
        self._etag: str | None = None  # a URL's ETag / Last-Modified: unchanged means 304, nothing to read
        self._modified: str | None = None
        self._parsed: tuple[bytes, _Parsed] | None = None
        # (digest, from, until, events, problems): expanding recurrences costs more than the download; a tick's
        # window moves 14 minutes, so one expansion a day ahead serves the next ticks until the feed changes
        self._expanded: tuple[bytes, datetime, datetime, list[CalendarEvent], tuple[str, ...]] | None = None

    def _read(self) -> tuple[bytes, str | None]:
        """(digest, charset) of the feed; the bytes stay in self._bytes. An unchanged file or a 304 reads nothing."""
        if not _is_url(self.source):
            path = Path(self.source).expanduser()
            try:
                st = path.stat()
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
                if self._raw is not None and stamp == self._stamp:
                    return self._raw
                raw = path.read_bytes()
            except OSError as exc:
                raise CalendarError(f"cannot read {describe(self.source)}: {exc.strerror or exc}") from None
            self._stamp = stamp
            return self._keep(raw, None)
        url = "https://" + self.source[len("webcal://"):] if self.source.lower().startswith("webcal://") \
            else self.source
        headers = {"Accept": "text/calendar"}
        if self._raw is not None and self._etag:
            headers["If-None-Match"] = self._etag
        if self._raw is not None and self._modified:
            headers["If-Modified-Since"] = self._modified
        try:
            resp = self.session.get(url, timeout=self.timeout, headers=headers)
        except requests.Timeout:
            raise CalendarError(f"{describe(self.source)} did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise CalendarError(f"{describe(self.source)} is unreachable: {type(exc).__name__}") from None
        if resp.status_code == 304 and self._raw is not None:
            return self._raw
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
        if looks_like_html(resp.content[:500].decode("utf-8", "replace")):
            raise CalendarError(f"{describe(self.source)} sent a web page, not a calendar: check ICAL_URL is the "
                                "secret address in iCal format")
        self._etag, self._modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        charset = requests.utils.get_encoding_from_headers(resp.headers) \
            if "charset" in resp.headers.get("Content-Type", "").lower() else None
        return self._keep(resp.content, charset)

    def _keep(self, raw: bytes, charset: str | None) -> tuple[bytes, str | None]:
        self._bytes = raw
        self._raw = (hashlib.sha256(raw).digest(), charset)
        return self._raw

    def events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        digest, charset = self._read()
        hit = self._expanded
        if hit is not None and hit[0] == digest and hit[1] <= start and end <= hit[2]:
            self.problems = hit[4]
            return sort_and_window(hit[3], start, end)  # same feed, a window inside the one expanded before
        until = end + EXPAND_AHEAD
        lo, hi = start.astimezone(self.zone), until.astimezone(self.zone)  # floating and all-day values are local
        try:
            parsed = self._parse(digest, charset, lo, hi)
            out, problems = self._expand(parsed, lo, hi)
        except CalendarError:
            self._parsed = self._expanded = None
            raise
        except Exception as exc:  # icalendar/recurring-ical-events raise many types on bad input
            self._parsed = self._expanded = None
            raise CalendarError(f"{describe(self.source)} is not a valid iCalendar file: {_looks_like(self._bytes)} "
                                f"({type(exc).__name__})") from None
        self.problems = tuple(problems)
        self._expanded = (digest, start, until, out, self.problems)
        return sort_and_window(out, start, end)

    def _parse(self, digest: bytes, charset: str | None, lo: datetime, hi: datetime) -> _Parsed:
        """The feed parsed, cut to the events near [lo, hi]; parsed again only when it changed or the window left."""
        hit = self._parsed
        if hit is not None and hit[0] == digest and hit[1].first <= lo.date() - timedelta(days=1) \
                and hi.date() + timedelta(days=1) <= hit[1].last:
            return hit[1]
        text = ical_text.decode(self._bytes, charset)
        why = ical_text.not_a_calendar(text)
        if why:
            raise CalendarError(f"{describe(self.source)} is not a valid iCalendar file: {why}")
        why = ical_text.no_events(text)
        if why:
            raise CalendarError(f"{describe(self.source)} has no events: {why}")
        first, last = (lo - KEEP_BEFORE).date(), (hi + KEEP_AFTER).date()
        problems: list[str] = []
        if not _ANY_EVENT.search(text):  # a new calendar is empty; the wrong one is too: not an error, but said
            problems.append(f"it holds no events at all: check that {describe(self.source)} is the calendar you "
                            "drive to")
        cut = ical_text.events_near(text, first, last)
        unknown: list[str] = []
        text, stray = ical_text.drop_stray_lines(cut.text)
        if stray:
            problems.append(f"skipped {stray} line{'s' if stray > 1 else ''} that {'are' if stray > 1 else 'is'} "
                            "not iCalendar (no colon)")
        text = ical_text.repair_zone_names(text, unknown.append)
        problems += [f"unknown time zone {z!r} read as {self.zone}" for z in dict.fromkeys(unknown)]
        # icalendar keeps each VTIMEZONE it meets for the life of the process and ignores a later one of the same
        # TZID: an edited feed would keep the old rules until a restart. A fresh cache for each new feed.
        icalendar.use_zoneinfo()
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
        if not calendars:
            raise CalendarError(f"{describe(self.source)} is not a valid iCalendar file: {_looks_like(self._bytes)}")
        cal = calendars[0]
        for other in calendars[1:]:  # two VCALENDARs in one file (concatenated exports): one calendar
            cal.subcomponents.extend(other.subcomponents)
        kept, broken = [], []
        for c in cal.subcomponents:
            why = _broken(c) if c.name == "VEVENT" else None
            (broken.append(f"{_title(c)} ({why})") if why else kept.append(c))
        cal.subcomponents = kept
        dense = {id(c): (c.get("DTSTART"), c.get("DTEND"), _count(c)) for c in kept if c.name == "VEVENT" and _step(c)}
        parsed = _Parsed(cal, first, last, problems, broken, dense)
        self._parsed = (digest, parsed)
        return parsed

    def _expand(self, parsed: _Parsed, lo: datetime, hi: datetime) -> tuple[list[CalendarEvent], list[str]]:
        """Every instance in [lo, hi]; a broken series is skipped and named, a dense one cut at MAX_INSTANCES."""
        problems = list(parsed.problems)
        cut: list[str] = []
        left_out: set[str] = set()  # series not walked at all: too far to walk, or over before the window
        for c in parsed.calendar.subcomponents:
            if id(c) in parsed.dense:
                fits, note = _start_near(c, parsed.dense[id(c)], lo)
                if not fits:
                    left_out.add(_uid(c))
                if note:
                    cut.append(f"{_title(c)} ({note})")
        # every step an instance (no BY... part): asked only as far as MAX_INSTANCES steps; a series filtered by
        # BY... parts is asked for the whole window (at most 176,400 steps of a second), its instances capped
        steps = {_uid(c): step for c in parsed.calendar.subcomponents
                 if id(c) in parsed.dense and (step := _step(c)) is not None and not _filtered(c)}
        query = recurring_ical_events.of(parsed.calendar, skip_bad_series=True)
        titles = {_uid(c): _title(c) for c in parsed.calendar.walk("VEVENT")}
        seen = {s.uid for s in query.series}
        broken = parsed.broken + [f"{t} (its series cannot be computed)" for u, t in titles.items() if u not in seen]
        out: list[CalendarEvent] = []
        for series in query.series:
            title = titles.get(str(series.uid), repr(str(series.uid)))
            if str(series.uid) in left_out:
                continue
            try:
                step = steps.get(str(series.uid))
                top = hi if step is None else min(hi, lo + MAX_INSTANCES * step)
                found = list(itertools.islice(series.between(lo, top), MAX_INSTANCES + 1))
                if found and (len(found) > MAX_INSTANCES or top < hi and _goes_on(series, found[-1].start, top, hi,
                                                                                    step)):
                    found = found[:MAX_INSTANCES]
                    until = (top if step else as_aware(found[-1].start, self.zone)[0]).astimezone(self.zone)
                    how = f"repeats every {_every(step)}" if step else f"more than {MAX_INSTANCES} instances"
                    cut.append(f"{title} ({how}: only its first {len(found)} instances, until {until:%a %H:%M}, "
                               "are read)")
                out += [e for o in found if (e := self._event(o.as_component(False))) is not None]
            except Exception as exc:  # one series the library cannot compute must not hide the others
                broken.append(f"{title} ({type(exc).__name__})")
        problems += _skipped(broken)
        if cut:
            problems.append("cut: " + ", ".join(cut[:_NAMES]) + (f" and {len(cut) - _NAMES} more" if len(cut) >
                                                               _NAMES else ""))
        return out, problems

    def _event(self, c: Any) -> CalendarEvent | None:
        if "DTSTART" not in c:
            return None
        start, all_day = as_aware(c.decoded("DTSTART"), self.zone)
        if "DTEND" in c:
            end, _ = as_aware(c.decoded("DTEND"), self.zone)
        elif "DURATION" in c:
            end = start + c.decoded("DURATION")
        else:
            end = start
        if all_day and end <= start:  # a holiday written with DTEND = DTSTART still lasts its whole local day
            end = local_midnight(start.date() + timedelta(days=1), self.zone)
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


def _skipped(broken: list[str]) -> list[str]:
    if not broken:
        return []
    more = f" and {len(broken) - _NAMES} more" if len(broken) > _NAMES else ""
    return [f"skipped {len(broken)} broken event{'s' if len(broken) > 1 else ''}: {', '.join(broken[:_NAMES])}{more}"]


def _step(c: Any) -> timedelta | None:
    """The step of a series dense enough (every second or minute) to be walked from the window, not its start."""
    rule = c.get("RRULE")
    rule = rule[0] if isinstance(rule, list) else rule
    if rule is None or not hasattr(rule, "get"):
        return None
    freq = (rule.get("FREQ") or [""])[0]
    if freq not in _DENSE:
        return None
    interval = int((rule.get("INTERVAL") or [1])[0] or 1)
    return timedelta(seconds=_DENSE[freq] * max(1, interval))


def _goes_on(series: Any, last: Any, top: datetime, hi: datetime, step: timedelta | None) -> bool:
    """Whether a series asked only up to `top` has an instance after `last` before `hi` (a COUNT or UNTIL may end
    it). Every step is an instance, so a few steps past `top` tell (dateutil lists all it finds: never to `hi`)."""
    near = min(hi, top + 10 * (step or timedelta(0)))
    return any(o.start > last for o in series.between(top, near))


def _filtered(c: Any) -> bool:
    """A rule with a BY... part: not every step is an instance."""
    rule = c.get("RRULE")
    rule = rule[0] if isinstance(rule, list) else rule
    return rule is not None and hasattr(rule, "keys") and any(k.upper().startswith("BY") for k in rule)


def _count(c: Any) -> int | None:
    rule = c.get("RRULE")
    rule = rule[0] if isinstance(rule, list) else rule
    count = rule.get("COUNT") if rule is not None and hasattr(rule, "get") else None
    return int(count[0]) if count else None


def _every(step: timedelta | None) -> str:
    seconds = int(step.total_seconds()) if step else 0
    for size, unit in ((3600, "hour"), (60, "minute")):
        if seconds and seconds % size == 0:
            return unit if seconds == size else f"{seconds // size} {unit}s"
    return "second" if seconds == 1 else f"{seconds} seconds"


def _start_near(c: Any, original: tuple[Any, Any, int | None], lo: datetime) -> tuple[bool, str | None]:
    """Move a dense series' DTSTART (and DTEND) forward by whole steps to just before the window.

    dateutil walks a series from its start: an every-second event begun last year is 30 million steps before
    the first one that matters. The instances in the window are the same; a COUNT is lowered by the steps
    skipped, when every step is an instance (no BY... part). Returns (walk it, a note for the owner): a series
    counted through BY... parts from too far back is left out and named; one whose COUNT ran out before the
    window has nothing to read."""
    c["DTSTART"], c["DTEND"] = original[0], original[1]
    if original[1] is None:
        del c["DTEND"]
    step = _step(c)
    rule = c.get("RRULE")
    rule = rule[0] if isinstance(rule, list) else rule
    count = original[2]
    if count is not None:
        rule["COUNT"] = [count]
    start = c.decoded("DTSTART")
    if step is None or not isinstance(start, datetime):
        return True, None
    length = c.decoded("DTEND") - start if "DTEND" in c else timedelta(0)
    aware = start if start.tzinfo else start.replace(tzinfo=lo.tzinfo)
    steps = (lo - length - 2 * step - timedelta(hours=2) - aware) // step  # hours: a DST change between
    if steps <= 0:
        return True, None
    if count is not None:
        if _filtered(c):  # COUNT counts only what the BY... parts keep
            if steps <= MAX_COUNT:
                return True, None
            return False, f"repeats {count} times from {start:%Y-%m-%d}, too far back to walk: left out"
        if steps >= count:
            return False, None  # its last instance was before the window
        rule["COUNT"] = [count - steps]
    moved = start + steps * step
    c["DTSTART"] = icalendar.vDDDTypes(moved)
    c["DTSTART"].params.update(original[0].params)
    if original[1] is not None:
        c["DTEND"] = icalendar.vDDDTypes(moved + length)
        c["DTEND"].params.update(original[1].params)
    return True, None
