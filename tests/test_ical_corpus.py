"""The iCal reader against recurring-ical-events itself on real calendars, in zones east and west of UTC.

The corpus is read at run time from the test calendars the installed packages ship (nothing is copied here):
- icalendar 7.3.2 (BSD-2-Clause, https://github.com/collective/icalendar): icalendar/tests/**.ics
- recurring-ical-events 3.8.2 (LGPL-3.0-or-later, https://github.com/niccokunzmann/python-recurring-ical-events):
  recurring_ical_events/test/calendars/*.ics
They are exports of Google, Outlook/Exchange, Apple, Thunderbird, Nextcloud and others, gathered from those projects'
bug reports. For each file and zone, windows of 48 h starting at 06:00 local on the days its events start are asked
once as a UTC instant (as the daemon asks, `now` in UTC) and once as a local time; both must give the instances the
library gives for the same window in TIME_ZONE.

One difference is deliberate: an all-day event written with DTEND = DTSTART (calendarlabs.com's holiday feeds,
icalendar's example.ics) is, for the library, a zero-length instant at midnight, gone once the window starts at
06:00; for the reader it lasts its whole local day, as RFC 5545 3.6.1 says of a DATE without an end. The reference
is computed with that DTEND removed. A file of to-dos or journal entries and no event at all (a task list given as
the calendar) is an error naming what it holds, where the library finds nothing.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from clients.calendar_events import CalendarError, EventRules, sort_and_window
from clients.ical_calendar import ICalCalendar

ZONES = ("America/Los_Angeles", "America/New_York", "UTC", "Europe/Berlin", "Asia/Tokyo", "Pacific/Auckland")
ALL = EventRules(include_declined=True, include_free=True)
HOURS = timedelta(hours=48)


def corpus() -> list[Path]:
    roots = [Path(icalendar.__file__).parent / "tests", Path(recurring_ical_events.__file__).parent / "test"]
    return sorted(p for root in roots for p in root.rglob("*.ics") if b"BEGIN:VCALENDAR" in p.read_bytes().upper())


def days(raw: bytes, most: int = 3) -> list[date]:
    found = sorted({m.group(1) for m in re.finditer(rb"(?m)^DTSTART[^\r\n]*?(\d{8})", raw)})
    picked = found[:1] + found[len(found) // 2:len(found) // 2 + 1] + found[-1:]
    out = []
    for d in dict.fromkeys(picked[:most]):
        try:
            out.append(datetime.strptime(d.decode(), "%Y%m%d").date())
        except ValueError:
            continue
    return [d for d in out if 1900 < d.year < 2100]


def key(events) -> list[tuple]:
    return [(e.uid, e.summary, e.start.astimezone(UTC), e.end.astimezone(UTC), e.all_day) for e in events]


def reference(raw: bytes, zone: ZoneInfo, start: datetime) -> list[tuple] | None:
    """What recurring-ical-events gives for the window in TIME_ZONE, through the reader's own event conversion."""
    try:
        cal = icalendar.Calendar.from_ical(raw)
        for ev in cal.walk("VEVENT"):  # the one place the reader departs from the library, on purpose (below)
            if "DTEND" in ev and "DTSTART" in ev and type(ev.decoded("DTSTART")) is date \
                    and ev.decoded("DTEND") == ev.decoded("DTSTART"):
                del ev["DTEND"]
        comps = recurring_ical_events.of(cal, skip_bad_series=True).between(start, start + HOURS + timedelta(days=1))
    except Exception:
        return None
    conv = ICalCalendar("unused.ics", zone, ALL)
    events = [e for c in comps if c.name == "VEVENT" and "DTSTART" in c and (e := conv._event(c)) is not None]
    return key(sort_and_window(events, start, start + HOURS))


def compare(path: Path, zone_name: str) -> tuple[int, list[str]]:
    zone = ZoneInfo(zone_name)
    raw = path.read_bytes()
    cases, wrong = 0, []
    for d in days(raw):
        local = datetime.combine(d, time(6), tzinfo=zone)
        want = reference(raw, zone, local)
        if want is None:
            continue
        for start in (local.astimezone(UTC), local):
            reader = ICalCalendar(str(path), zone, ALL)
            try:
                got = key(reader.events(start, start + HOURS))
            except CalendarError as exc:
                if " has no events: " in str(exc) and want == []:  # a to-do list is named, not read as empty
                    cases += 1
                    continue
                wrong.append(f"{path.name} {zone_name} {start.isoformat()}: {exc}")
                continue
            cases += 1
            if got != want:
                skipped = " ".join(getattr(reader, "problems", ()))
                wrong.append(f"{path.name} {zone_name} {start.isoformat()}: {len(got)} vs {len(want)} {skipped}"
                             f"\n  ours {sorted(set(got) - set(want))[:3]}\n  lib {sorted(set(want) - set(got))[:3]}")
    return cases, wrong


@pytest.mark.parametrize("zone", ZONES)
def test_the_reader_agrees_with_the_library_on_every_calendar_in_utc_and_local_windows(zone):
    files = corpus()
    assert len(files) >= 200  # the packages' own test calendars are there
    total, wrong = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            cases, bad = compare(path, zone)
            total += cases
            wrong += bad
    assert total >= 500
    assert not wrong, f"{len(wrong)} of {total} cases disagree:\n" + "\n".join(wrong[:40])
