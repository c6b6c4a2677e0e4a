"""What Google Calendar and iCal events have in common once normalized, and the rules for keeping one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Protocol

from charge_logic.models import CalendarEvent


class CalendarError(Exception):
    """The calendar could not be read; one line naming what to fix, no secrets (never the iCal URL)."""


class CalendarAuthError(CalendarError):
    """Sign-in missing, expired or revoked: only `scheduler.py auth google` fixes it."""


class CalendarSource(Protocol):
    name: str  # "google" | "ical"

    def events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        """Events overlapping [start, end), soonest first; raises CalendarError."""


@dataclass(frozen=True)
class EventRules:
    include_declined: bool = False
    include_free: bool = True

    def keep(self, *, cancelled: bool, declined: bool, free: bool) -> bool:
        if cancelled:
            return False
        if declined and not self.include_declined:
            return False
        return not (free and not self.include_free)


def local_midnight(d: date, zone: tzinfo) -> datetime:
    """An all-day date as an aware instant: midnight where the calendar lives (DST-safe through zoneinfo)."""
    return datetime.combine(d, time(0), tzinfo=zone)


def as_aware(value: date | datetime, zone: tzinfo) -> tuple[datetime, bool]:
    """(aware datetime, all_day) from a DATE, a floating DATE-TIME (read in `zone`) or an aware one."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)), False
    return local_midnight(value, zone), True


def clean_location(raw: str | None) -> str | None:
    text = " ".join((raw or "").split())
    return text or None


def sort_and_window(events: list[CalendarEvent], start: datetime, end: datetime) -> list[CalendarEvent]:
    out = [e for e in events if e.end > start and e.start < end]
    return sorted(out, key=lambda e: (e.start, e.end, e.summary))
