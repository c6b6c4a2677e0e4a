"""What the coordinator asks of each outside source, and the health record each keeps.

A provider owns its caching, staleness and budget: `get(now)` never raises for a source failure; it returns the last
good data (marked stale) or nothing, and says what happened in its `status`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from charge_logic.models import ForecastPoint, Trip


@dataclass
class SourceStatus:
    name: str  # "grid" | "calendar" | "maps" | "vehicle"
    ok: bool = True
    last_success: datetime | None = None
    last_error: str | None = None  # one line, no secrets
    last_error_at: datetime | None = None
    data_at: datetime | None = None  # when the data in use was fetched
    stale: bool = False
    calls_month: int = 0
    budget_month: int | None = None
    retry_at: datetime | None = None  # a failing source is not asked again before this (service/backoff.py)
    warning: str | None = None  # read, but not all of it: what was skipped or cut (an iCal feed's broken events)

    def to_json(self, now: datetime) -> dict[str, Any]:
        d = asdict(self)
        for k in ("last_success", "last_error_at", "data_at", "retry_at"):
            d[k] = d[k].isoformat() if d[k] else None
        d["data_age_min"] = round((now - self.data_at).total_seconds() / 60, 1) if self.data_at else None
        return d


class ForecastProvider(Protocol):
    status: SourceStatus

    def get(self, now: datetime) -> list[ForecastPoint]:
        """Hourly forecast points from about now - 6 h to now + 72 h; [] when none is usable."""


class TripProvider(Protocol):
    statuses: list[SourceStatus]  # the calendar's, then the distance source's

    def get(self, now: datetime) -> list[Trip]:
        """Upcoming events with the drive to each, soonest first."""
