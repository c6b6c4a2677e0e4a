"""`scheduler.py leave HH:MM [--kwh N]`: tell the planner when you expect to leave (and how much you want) this time.

It is a hint for the plug-in under way (or the next one within 12 h): with no trip in the calendar the planner looks
for past plug-ins whose estimates were alike and learns how such estimates turned out; it never takes it as a
promise. Written to STATE_DIR/estimate.json; `leave --clear` forgets it.
"""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta
from pathlib import Path

from charge_logic.models import DriverEstimate
from service import driver_estimate
from service.state_file import ensure_private_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leave", help="say when you expect to leave this time (a hint for the planner)",
                       description=__doc__)
    p.add_argument("at", nargs="?", help="local time HH:MM (the next one), or an ISO date and time")
    p.add_argument("--kwh", type=float, help="the energy you want, kWh (optional)")
    p.add_argument("--clear", action="store_true", help="forget the estimate")
    p.set_defaults(func=run)


def _departure(text: str, now: datetime) -> datetime:
    try:
        clock = time.fromisoformat(text)
    except ValueError:
        at = datetime.fromisoformat(text)
        return at if at.tzinfo else at.replace(tzinfo=now.tzinfo)
    at = datetime.combine(now.date(), clock, tzinfo=now.tzinfo)
    return at if at > now else at + timedelta(days=1)


def run(args: argparse.Namespace) -> int:
    s = args.settings
    state_dir = ensure_private_dir(Path(s.state_dir))
    if args.clear:
        print("estimate forgotten" if driver_estimate.clear(state_dir) else "there was no estimate")
        return 0
    if args.at is None and args.kwh is None:
        print("error: give a time (HH:MM), --kwh N, or --clear")
        return 2
    now = datetime.now(s.zone)
    try:
        departure = _departure(args.at, now) if args.at else None
    except ValueError:
        print(f"error: {args.at!r} is not a time: write HH:MM (24 h) or 2026-12-07T17:30")
        return 2
    if departure is not None and departure <= now:
        print(f"error: {departure:%a %H:%M} has passed: give a time ahead")
        return 2
    if args.kwh is not None and not 0 < args.kwh <= 200:
        print(f"error: --kwh {args.kwh:g} is not an energy a car takes: give kWh between 0 and 200")
        return 2
    driver_estimate.save(state_dir, DriverEstimate(departure, args.kwh), now)
    what = [f"leaving {departure:%a %H:%M}" if departure else "", f"wanting {args.kwh:g} kWh" if args.kwh else ""]
    print(f"noted: {' and '.join(w for w in what if w)} (a hint for this plug-in, or the next within 12 h)")
    return 0
