"""When the car must be ready: from the first timed event ahead, its drive and a buffer, or the default.

The car keeps one departure a day as local clock time, so the answer here is an instant that the caller turns into
minutes after local midnight; the morning's `latest_departure` caps it so a late event never pushes the charge late.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from charge_logic.config import RuleConfig
from charge_logic.localtime import at_local, clock_text, floor_minute, next_local, require_aware
from charge_logic.models import CalendarEvent, Trip, trip_order


@dataclass(frozen=True)
class DeparturePlan:
    at: datetime  # local aware
    event: CalendarEvent | None  # the event that set it; None = the default departure
    trips_until: datetime  # trips starting before this come before the next chance to charge
    reasons: tuple[str, ...]


def drive_minutes(trip: Trip) -> float | None:
    """The one-way drive, or None when unknown or nonsense (negative, NaN)."""
    if trip.route is None:
        return None
    minutes = trip.route.drive_minutes
    return minutes if math.isfinite(minutes) and minutes >= 0 else None


def plan_departure(now: datetime, trips: Sequence[Trip], config: RuleConfig, zone: ZoneInfo) -> DeparturePlan:
    """The earliest departure any timed event in the horizon asks for, never past that day's latest departure."""
    horizon_end = now + timedelta(hours=config.events_horizon_hours)
    best: tuple[datetime, Trip, datetime, float | None] | None = None  # (departure, trip, uncapped, drive)
    skipped: list[str] = []
    for trip in sorted(trips, key=trip_order):
        event = trip.event
        require_aware(event.start, f"start of calendar event {event.summary!r}")
        require_aware(event.end, f"end of calendar event {event.summary!r}")
        if event.all_day or trip.virtual or not now < event.start <= horizon_end:
            continue
        drive = drive_minutes(trip)
        uncapped = leave_at(trip, config, zone)
        cap = at_local(event.start.astimezone(zone).date(), config.latest_departure, zone)
        departure = min(uncapped, cap)
        if departure <= now:
            if uncapped > now:
                skipped.append(f"{event.summary} (starts {clock_text(event.start, now, zone)}) is after today's latest "
                               f"departure {config.latest_departure:%H:%M}, so it does not set the departure")
            continue
        if best is None or departure < best[0]:
            best = (departure, trip, uncapped, drive)
    if best is None:
        clock = min(config.default_departure, config.latest_departure)
        at = next_local(now, clock, zone)
        what = f"No timed event in the next {config.events_horizon_hours:g} h"
        if skipped:
            what = "No timed event sets an earlier departure"
        reasons = (*skipped[:1], f"{what}: departure at the default {clock_text(at, now, zone)}")
        return DeparturePlan(at, None, day_end(at, zone), reasons)
    departure, trip, uncapped, drive = best
    event = trip.event
    when, leave = clock_text(event.start, now, zone), clock_text(departure, now, zone)
    if drive is None:
        why = trip.note or "no route"
        text = (f"Drive time to {event.summary} is unknown ({why}): departure {config.departure_buffer_min} min "
                f"before it starts ({when}), at {leave}")
    else:
        text = (f"Departure {leave} for {event.summary} (starts {when}): {drive:.0f} min drive "
                f"+ {config.departure_buffer_min} min buffer")
    if departure < uncapped:
        text = (f"{event.summary} (starts {when}) would mean leaving at {clock_text(uncapped, now, zone)}; the "
                f"departure stays at the latest {config.latest_departure:%H:%M} ({leave})")
    return DeparturePlan(departure, event, day_end(event.start, zone), (text,))


def leave_at(trip: Trip, config: RuleConfig, zone: ZoneInfo) -> datetime:
    """When to leave home for `trip`: its start less the drive (when known) and the buffer, to the minute."""
    drive = drive_minutes(trip) or 0.0
    before = timedelta(minutes=config.departure_buffer_min + drive)
    return floor_minute(trip.event.start.astimezone(UTC) - before).astimezone(zone)


def trip_before_departure(now: datetime, trips: Sequence[Trip], departure: datetime, config: RuleConfig,
                          zone: ZoneInfo) -> tuple[Trip, datetime] | None:
    """The first timed trip to leave for before the scheduled departure, with its leave time still ahead.

    Such a trip starts after its day's latest departure (say a 14:00 meeting seen at 10:30), so the car's own
    schedule, which aims at the next morning's departure, would not charge for it.
    """
    found: tuple[Trip, datetime] | None = None
    for trip in sorted(trips, key=trip_order):
        event = trip.event
        if event.all_day or trip.virtual or not now < event.start < departure:
            continue
        leave = leave_at(trip, config, zone)
        if leave > now and (found is None or leave < found[1]):
            found = (trip, leave)
    return found


def day_end(moment: datetime, zone: ZoneInfo) -> datetime:
    """Local midnight after `moment`: the car is home to charge again that night."""
    return at_local(moment.astimezone(zone).date() + timedelta(days=1), time(0), zone)
