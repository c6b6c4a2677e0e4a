"""An iCal feed's bytes made into text icalendar can read: the encoding, zone names, and only the events that matter.

Why: real feeds come as UTF-16 with a BOM (Outlook exports), Latin-1 without a charset (old servers), two
VCALENDARs in one file (concatenated exports), Windows zone names without a VTIMEZONE (`W. Europe Standard Time`,
Outlook's `(UTC+01:00) Amsterdam, Berlin, …`), `TZID=tzone://Microsoft/Utc` unquoted (Exchange), an empty
`TZID=`, and years of history: parsing a 12 MB feed whole takes seconds, cutting it to the events near the window
first takes a fraction of that.
"""

from __future__ import annotations

import codecs
import functools
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON


def decode(raw: bytes, charset: str | None = None) -> str:
    """Text from a feed's bytes: a BOM first, then the server's charset, UTF-8, and Windows-1252/Latin-1 last."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8", "replace")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", "replace")
    if raw[:2] == b"B\x00":  # UTF-16 without a BOM, as "BEGIN" starts
        return raw.decode("utf-16-le", "replace")
    if raw[:2] == b"\x00B":
        return raw.decode("utf-16-be", "replace")
    if charset:
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")  # Latin-1 as Windows writes it (curly quotes, the euro sign)
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def not_a_calendar(text: str) -> str | None:
    """Why the text is no calendar at all (a vCard, a web page, JSON), or None when it has a VCALENDAR."""
    head = text[:4000].lstrip("\ufeff \t\r\n").lower()
    if "begin:vcalendar" in text[:1_000_000].lower():
        return None
    if not head:
        return "it is empty"
    if head.startswith("begin:vcard"):
        return "it is a vCard (contacts), not a calendar"
    if head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head[:200]:
        return "it is a web page (a sign-in or error page?), not the calendar's iCal address"
    if head.startswith(("{", "[")):
        return "it is JSON, not iCalendar"
    return "it does not start with BEGIN:VCALENDAR"


_EVENT = re.compile(r"^BEGIN:VEVENT\s*$", re.I | re.M)
_OTHER = re.compile(r"^BEGIN:(VTODO|VJOURNAL|VFREEBUSY|VAVAILABILITY)\s*$", re.I | re.M)
_KINDS = {"VTODO": "to-do", "VJOURNAL": "journal entry", "VFREEBUSY": "free/busy block",
          "VAVAILABILITY": "availability block"}


def no_events(text: str) -> str | None:
    """Why a calendar holding other things but no event at all (a task list, a free/busy file) is the wrong file.

    A calendar with nothing in it is simply empty (a new calendar); one with only to-dos is a task list given as
    ICAL_URL by mistake, and reading it as an empty calendar would hide that."""
    if _EVENT.search(text):
        return None
    found: dict[str, int] = {}
    for m in _OTHER.finditer(text):
        found[m.group(1).upper()] = found.get(m.group(1).upper(), 0) + 1
    if not found:
        return None
    held = ", ".join(f"{n} {_KINDS[k]}{'s' if n > 1 else ''} ({k})" for k, n in found.items())
    return f"it holds {held} and no event: is it a task list rather than the calendar?"


_NO_COLON = re.compile(r"^(?![ \t])[^:\r\n]+\r?\n(?![ \t])", re.M)  # its colon may come in a folded part


def drop_stray_lines(text: str) -> tuple[str, int]:
    """The text without lines that cannot be content lines (no colon, none in a folded continuation), and how many.

    icalendar gives up on the whole file at one such line (icalendar's issue 104: a stray `X` between events)."""
    return _NO_COLON.subn("", text)


# --------------------------------------------------------------------------- zone names
_DISPLAY = re.compile(r"^\(\s*(?:UTC|GMT)\s*(?:([+-])(\d{1,2}):?(\d\d))?\s*\)\s*(.*)$", re.I)


@functools.cache
def _zones_by_city() -> dict[str, str]:
    out: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        if "/" in key and not key.startswith(("Etc/", "SystemV/", "US/")):
            out.setdefault(key.rsplit("/", 1)[1].lower(), key)
    return out


@functools.cache
def olson_name(name: str) -> str | None:
    """The IANA zone for a Windows or Outlook zone name icalendar does not know, or None.

    `W. Europe Standard Time` through CLDR's table (as icalendar ships it); Outlook's display names
    `(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna` by their first city IANA knows, or
    `(UTC-08:00) Pacific Time (US & Canada)` through the Windows id it abbreviates; a bare offset as a fixed one.
    """
    text = name.strip().strip('"').strip("/")
    if text in WINDOWS_TO_OLSON:
        return WINDOWS_TO_OLSON[text]
    m = _DISPLAY.match(text)
    if not m:
        return None
    sign, hours, minutes, rest = m.groups()
    base = re.sub(r"\s*\(.*?\)\s*$", "", rest).strip()
    for candidate in (base, base.removesuffix(" Time") + " Standard Time"):
        if candidate in WINDOWS_TO_OLSON:
            return WINDOWS_TO_OLSON[candidate]
    cities = _zones_by_city()
    for city in re.split(r"\s*,\s*|\s+-\s+", rest):
        key = city.strip().replace(" ", "_").lower()
        if key in cities:
            return cities[key]
    if not hours or int(hours) == int(minutes or 0) == 0:
        return "UTC"
    if int(minutes or 0) == 0:  # Etc/GMT signs are inverted: UTC+01:00 is Etc/GMT-1
        return f"Etc/GMT{'-' if sign == '+' else '+'}{int(hours)}"
    return None


_TZID_PARAM = re.compile(r';TZID=(tzone://[^;:\r\n]*|"[^"\r\n]*"|[^;:\r\n]*)', re.I)
_VTIMEZONE_ID = re.compile(r"^TZID[;:](?:[^:\r\n]*:)?([^\r\n]*)$", re.I | re.M)


def repair_zone_names(text: str, unknown: Callable[[str], None]) -> str:
    """TZIDs icalendar cannot place, rewritten to IANA names; an empty one dropped (the time is then local).

    A TZID the file defines with a VTIMEZONE, or icalendar resolves itself, is left alone; `unknown` hears each
    name nothing can place (its times are then read in TIME_ZONE)."""
    defined = {m.group(1).strip().strip('"') for m in _VTIMEZONE_ID.finditer(text)}
    seen: dict[str, str] = {}

    def fix(m: re.Match[str]) -> str:
        raw = m.group(1)
        if raw in seen:
            return seen[raw]
        value = raw.strip('"').strip()
        if raw.lower().startswith("tzone://"):
            value = raw.split("/")[-1]  # tzone://Microsoft/Utc: the last part names the zone
            out = f";TZID={olson_name(value) or ('UTC' if value.lower() == 'utc' else value)}"
        elif not value:
            out = ""
        elif value in defined or tzp.timezone(value) is not None:
            out = m.group(0)
        else:
            olson = olson_name(value)
            if olson is None:
                unknown(value)
            out = f";TZID={olson}" if olson else m.group(0)
        seen[raw] = out
        return out

    return _TZID_PARAM.sub(fix, text)


# --------------------------------------------------------------------------- the events that matter
_WHEN = re.compile(r"^(DTSTART|DTEND|RECURRENCE-ID)[;:][^\r\n]*?:?(\d{8})(?:T\d{6}Z?)?[ \t]*\r?$", re.I | re.M)
_REPEATS = re.compile(r"^(?:RRULE|RDATE|DURATION|EXRULE)[;:]", re.I | re.M)


@dataclass
class Cut:
    """The text with only the events that can touch [first, last] (dates), and how many were left out."""

    text: str
    first: date
    last: date
    dropped: int = 0
    kept: int = 0
    notes: list[str] = field(default_factory=list)


def events_near(text: str, first: date, last: date) -> Cut:
    """Leave out single events wholly before `first` or after `last` (dates, a day wider than any zone offset).

    Kept whatever they say: series (RRULE/RDATE), events with a DURATION, any event whose dates this cheap scan
    cannot read; a moved instance is kept when its RECURRENCE-ID or its own dates come near."""
    lo, hi = first.strftime("%Y%m%d"), last.strftime("%Y%m%d")
    parts: list[str] = []
    pos = dropped = kept = 0
    begin = text.find("BEGIN:VEVENT")  # exporters write these in capitals; other spellings are simply kept
    while begin >= 0:
        stop = text.find("END:VEVENT", begin)
        if stop < 0:
            break
        stop = text.find("\n", stop)
        stop = len(text) if stop < 0 else stop + 1
        block = text[begin:stop]
        days = dict(_WHEN.findall(block))
        if "DTSTART" in days and not _REPEATS.search(block):
            values = days.values()
            if max(values) < lo or min(values) > hi:
                parts.append(text[pos:begin])
                pos = stop
                dropped += 1
                begin = text.find("BEGIN:VEVENT", stop)
                continue
        kept += 1
        begin = text.find("BEGIN:VEVENT", stop)
    if not dropped:
        return Cut(text, first, last, 0, kept)
    parts.append(text[pos:])
    return Cut("".join(parts), first, last, dropped, kept)
