"""`scheduler.py events`: the events the scheduler will consider, with the drive to each where known.

Handy to check a calendar setup (time zones, recurring events, declined/free ones) before trusting the daemon.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from charge_logic.models import Trip
from service.settings import Settings, SettingsError, load_settings
from service.trip_source import CalendarTripProvider, make_trip_provider


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("events", help="list the calendar events the scheduler will consider, with drive distances")
    p.add_argument("--from", dest="start", metavar="ISO_TIME", help="start of the window (default: now), e.g. "
                   "2026-11-28T06:00 (read in TIME_ZONE) or 2026-11-28T06:00-05:00")
    p.add_argument("--hours", type=float, default=None, help="how far ahead to look (default: CALENDAR_HOURS)")
    p.add_argument("--json", action="store_true", help="print a JSON list (ISO 8601 times with UTC offset)")
    p.add_argument("--ics", metavar="FILE_OR_URL", help="read this iCal file or address instead of the configured "
                   "calendar")
    p.set_defaults(func=run)


def parse_start(raw: str | None, settings: Settings) -> datetime:
    if not raw:
        return datetime.now(UTC)
    try:
        dt = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(f"--from {raw!r} is not an ISO time: use e.g. 2026-11-28T06:00 or "
                            "2026-11-28T06:00-05:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=settings.zone)


def trip_json(t: Trip, settings: Settings) -> dict:
    z = settings.zone
    e = t.event
    return {"summary": e.summary, "start": e.start.astimezone(z).isoformat(), "end": e.end.astimezone(z).isoformat(),
            "all_day": e.all_day, "location": e.location,
            "distance_km": t.route.distance_km if t.route else None,
            "drive_minutes": t.route.drive_minutes if t.route else None, "note": t.note, "virtual": t.virtual,
            "uid": e.uid}


def _line(t: Trip, settings: Settings) -> str:
    z = settings.zone
    e = t.event
    if e.all_day:
        when = f"{e.start.astimezone(z):%a %Y-%m-%d}  all day"
    else:
        when = f"{e.start.astimezone(z):%a %Y-%m-%d %H:%M}–{e.end.astimezone(z):%H:%M %Z}"
    drive = (f"{t.route.distance_km:.1f} km, {t.route.drive_minutes:.0f} min drive" if t.route
             else (t.note or "distance unknown"))
    where = f" @ {e.location}" if e.location else ""
    return f"{when}  {e.summary}{where}\n    {drive}"


def _demo_provider(settings: Settings) -> CalendarTripProvider:
    """`--demo events`: the demo's own sample calendar and drives, as the demo daemon plans from them."""
    from pathlib import Path

    from service.demo import demo_trips

    return demo_trips(settings.zone, Path(settings.state_dir), settings.calendar_hours)


def run(args: argparse.Namespace) -> int:
    try:
        settings = getattr(args, "settings", None) or load_settings()
        start = parse_start(args.start, settings)
        if args.hours is not None and args.hours <= 0:
            raise SettingsError("--hours must be above 0")
        provider = _demo_provider(settings) if getattr(args, "demo", False) and not args.ics else \
            make_trip_provider(settings, ics=args.ics)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if provider is None:
        print("error: no calendar configured: set ICAL_URL, or run `python scheduler.py auth google`, "
              "or pass --ics FILE_OR_URL", file=sys.stderr)
        return 2
    trips = provider.get(datetime.now(UTC), args.hours, start=start)  # budgets and caches run on the wall clock
    cal = provider.calendar_status
    if not cal.ok:
        print(f"warning: calendar: {cal.last_error}" + (" (showing the last good events)" if trips else ""),
              file=sys.stderr)
    if args.json:
        print(json.dumps([trip_json(t, settings) for t in trips], indent=1, ensure_ascii=False))
    else:
        if not trips:
            print("no events in the window")
        for t in trips:
            print(_line(t, settings))
    return 0 if cal.ok or trips else 1
