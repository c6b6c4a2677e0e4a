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

    def succeeded(self, now: datetime | None = None, *, data_at: datetime | None = None, stale: bool = False,
                  forget_error: bool = False) -> None:
        """The source answered (at `now`, if given): ok, not stale unless told; `data_at` is when the data in use was
        fetched. The last error stays on record (the health table shows it) unless `forget_error`."""
        self.ok, self.stale = True, stale
        if now is not None:
            self.last_success = now
        if data_at is not None:
            self.data_at = data_at
        if forget_error:
            self.last_error = None

    def failed(self, error: object, now: datetime | None = None, *, stale: bool | None = None) -> None:
        """The source failed: not ok, the error on record (its first line, 300 characters: exceptions here carry no
        secrets); `stale` when the last good data stands in (unchanged when not given)."""
        self.ok = False
        self.noted(error, now)
        if stale is not None:
            self.stale = stale

    def reached(self, short: str | None, now: datetime, fetch_error: object | None) -> None:
        """After a read that did not fail: the series in hand ends too soon (`short` says why: failing, stale), or it
        reaches far enough again (no longer failing, as stale as it is). A failed fetch already said so."""
        if fetch_error is not None:
            return
        if short:
            self.failed(short, now, stale=True)
        else:
            self.succeeded(stale=self.stale, forget_error=True)

    def noted(self, error: object, now: datetime | None = None) -> None:
        """An error on record that does not make the source fail (the car reads, but refuses commands)."""
        self.last_error = (str(error).splitlines() or [""])[0][:300]
        if now is not None:
            self.last_error_at = now

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
    @property
    def calendar_status(self) -> SourceStatus:
        """The calendar's."""

    @property
    def maps_statuses(self) -> list[SourceStatus]:
        """The distance sources' (Google Maps)."""

    @property
    def statuses(self) -> list[SourceStatus]:
        """Every one, for the health list: the calendar's first."""

    def get(self, now: datetime) -> list[Trip]:
        """Upcoming events with the drive to each, soonest first."""
