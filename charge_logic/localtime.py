"""Local wall-clock helpers that stay right across midnight and both DST changes.

The car keeps its departure as minutes after local midnight, while every instant here is an aware datetime. Python
subtracts aware datetimes of one zone in wall-clock time, so all arithmetic goes through UTC and is turned back into
local time only to read a clock face.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def require_aware(value: datetime, what: str) -> None:
    """Naive datetimes are ambiguous by hours; refuse them with a message naming the input."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")


def at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant `clock` shows on `day` in `zone`.

    A time skipped by spring-forward lands just after the gap (02:30 → 03:30); a time shown twice in the fall is
    taken at its first, earlier showing — the earlier moment is the safe one for a departure.
    """
    naive = datetime.combine(day, clock.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def next_local(now: datetime, clock: time, zone: ZoneInfo) -> datetime:
    """The first instant after `now` when the local clock shows `clock` (today, else tomorrow)."""
    local_day = now.astimezone(zone).date()
    for offset in range(3):
        candidate = at_local(local_day + timedelta(days=offset), clock, zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a clock time recurs within three days")  # pragma: no cover


def minutes_after_midnight(moment: datetime, zone: ZoneInfo) -> int:
    """What the car's clock shows at `moment`, as whole minutes after local midnight (0..1439)."""
    local = moment.astimezone(zone)
    return local.hour * 60 + local.minute


def floor_minute(moment: datetime) -> datetime:
    """Round down to the minute: a departure is never later than the calendar allows."""
    return moment.replace(second=0, microsecond=0)


def clock_text(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """`07:15`, `tomorrow 07:15` or `Sat 07:15`, as an owner reads it."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow {local:%H:%M}"
    return f"{local:%a %H:%M}"


def hours_text(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h"
