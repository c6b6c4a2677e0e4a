"""A price or CO₂ series as the signal source wants it: hourly, cached on disk, fetched rarely, never raising.

The same rules as the grid load forecast (service/grid_source.py), for any source whose adapter turns one fetch into
hourly points: fetched at most every SIGNAL_FETCH_HOURS, each request counted per month against the source's own
budget (PRICE_REQUESTS_PER_MONTH / CO2_REQUESTS_PER_MONTH), the pace stretched so the budget lasts the month; after a
failure not asked again before the backoff (service/backoff.py) and the server's Retry-After; a failure keeps the
last good series (marked stale) until FORECAST_STALE_HOURS; a series that does not reach MIN_AHEAD into the future
is not used (the planner would shift charging into hours it cannot see) and the status says so.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clients.private_files import read_json, write_json
from service.backoff import Backoff, retry_after_of
from service.disk import MonthlyBudget
from service.reach import due, too_short
from service.sources import SourceStatus

log = logging.getLogger(__name__)

BEHIND = timedelta(hours=6)
AHEAD = timedelta(hours=72)
MIN_AHEAD = timedelta(hours=12)  # a forecast must cover a night's charging from now to be used
DAY_AHEAD_MIN = timedelta(hours=6)  # a day-ahead price reaches midnight at least; the planner fills the hours after


@dataclass(frozen=True)
class SeriesPoint:
    """One hour of a series: its start (UTC), its value in the signal's unit, and whether it is known (published,
    billed) or a forecast."""

    start: datetime
    value: float
    known: bool


class SeriesError(Exception):
    """A source's failure, one line without secrets. `needs_fix`: a setting or the plan must change first (not retried
    before the next fetch is due); `spent`: the provider's own allowance is used up this month."""

    needs_fix = False
    spent = False
    retry_after_s: float | None = None


class BudgetSpentError(SeriesError):
    spent = True


def hourly(raw: list[tuple[datetime, float, bool]]) -> list[SeriesPoint]:
    """Rows (start, value, known) into hourly points, oldest first: non-finite values dropped, sub-hourly rows
    averaged into their hour (known only when every row of the hour is)."""
    hours: dict[datetime, list[tuple[float, bool]]] = defaultdict(list)
    for start, value, known in raw:
        if math.isfinite(value):
            hours[start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)].append((value, known))
    return [SeriesPoint(h, round(sum(v for v, _ in rows) / len(rows), 6), all(k for _, k in rows))
            for h, rows in sorted(hours.items())]


Fetch = Callable[[datetime], list[SeriesPoint]]


class PolledSeries:
    """One source (`name` as state.json's signal `source` says it). `fetch(now)` is the adapter: it asks the client
    (whose every request goes through `spend`) and returns hourly points."""

    def __init__(self, name: str, label: str | None, fetch: Fetch, state_dir: str | Path, *,
                 errors: tuple[type[Exception], ...], fetch_hours: float = 3.0, stale_hours: float = 24.0,
                 requests_per_month: int | None = 800, requests_per_fetch: int = 1,
                 backoff: Backoff | None = None, min_ahead: timedelta = MIN_AHEAD) -> None:
        self.name, self.label, self.fetch, self.errors = name, label, fetch, errors
        state = Path(state_dir)
        self.cache_path = state / f"{name}_series.json"
        self.fetch_every = timedelta(hours=fetch_hours)
        self.stale_after = timedelta(hours=stale_hours)
        self.requests_per_fetch = requests_per_fetch
        self.min_ahead = min_ahead
        self.budget = MonthlyBudget(state / f"{name}_budget.json", requests_per_month)
        self.status = SourceStatus(name, budget_month=requests_per_month)
        self.backoff = (backoff or Backoff()).keep(state / "backoff.json", name)
        self.status.retry_at = self.backoff.retry_at
        self.fetched_at: datetime | None = None
        self.points: list[SeriesPoint] = []
        self._now = datetime.now(UTC)
        self._fetch_error: str | None = None
        self._load_cache()

    # ------------------------------------------------------------------ cache and budget
    def _load_cache(self) -> None:
        data = read_json(self.cache_path)
        if not isinstance(data, dict) or data.get("label") != self.label:
            return
        try:
            self.fetched_at = datetime.fromisoformat(data["fetched_at"])
            self.points = [SeriesPoint(datetime.fromisoformat(s), float(v), bool(k)) for s, v, k in data["points"]]
        except (KeyError, TypeError, ValueError):
            self.fetched_at, self.points = None, []
            return
        self.status.data_at = self.status.last_success = self.fetched_at

    def _save_cache(self) -> None:
        assert self.fetched_at is not None
        write_json(self.cache_path, {"label": self.label, "fetched_at": self.fetched_at.isoformat(),
                                     "points": [[p.start.isoformat(), p.value, p.known] for p in self.points]})

    def spend(self) -> None:
        """Count one request against this month's budget; refuse it once the budget is spent."""
        if not self.budget.allows(self._now):
            raise BudgetSpentError(f"{self.name} budget of {self.budget.limit} requests this month reached; using the "
                                   "last series")
        self.budget.spend(self._now)
        self.status.calls_month = self.budget.used(self._now)

    # ------------------------------------------------------------------ the protocol
    def get(self, now: datetime) -> list[SeriesPoint]:
        """Hourly points from about now - 6 h to now + 72 h; [] when none is usable (the status says why)."""
        self._now = now
        self.status.calls_month = self.budget.used(now)
        if self._due(now):
            self._fetch(now)
        if self.fetched_at is None:
            return []
        age = now - self.fetched_at
        self.status.stale = self._fetch_error is not None or age > self._interval(now) + timedelta(hours=1)
        if age > self.stale_after:
            self.status.stale = True
            return []
        lo, hi = now - BEHIND - timedelta(hours=1), now + AHEAD
        points = [p for p in self.points if lo < p.start <= hi]
        short = self._short(now, points)
        self.status.reached(short, now, self._fetch_error)
        return [] if short else points

    def _short(self, now: datetime, points: list[SeriesPoint]) -> str | None:
        return too_short(now, (p.start for p in points), self.min_ahead, self.label or self.name)

    def _due(self, now: datetime) -> bool:
        return due(now, self.backoff, self.fetched_at, self._interval)

    def _interval(self, now: datetime) -> timedelta:
        """SIGNAL_FETCH_HOURS, stretched so what is left of the month's budget lasts to the month's end."""
        wait = self.fetch_every
        if self.budget.limit is not None:
            to_end = self.budget.renews_at(now) - now
            left = (self.budget.limit - self.budget.used(now)) / max(1, self.requests_per_fetch)
            wait = max(wait, to_end / max(1.0, left))
        return wait

    def _fetch(self, now: datetime) -> None:
        try:
            points = self.fetch(now)
            if not points:
                raise SeriesError(f"{self.label or self.name} sent no usable hours")
        except self.errors as exc:
            self._failed(now, exc)
            return
        except SeriesError as exc:
            self._failed(now, exc)
            return
        except Exception as bug:  # an unexpected reply shape must not stop the loop
            log.exception("%s: unexpected failure", self.name)
            self._failed(now, SeriesError(f"{self.name} reply could not be used ({type(bug).__name__})"))
            return
        self.points, self.fetched_at, self._fetch_error = points, now, None
        self.backoff.succeeded()
        self.status.retry_at = None
        self._save_cache()
        self.status.succeeded(now, data_at=now, forget_error=True)

    def _failed(self, now: datetime, exc: Exception) -> None:
        log.warning("%s: %s", self.name, exc)
        self._fetch_error = str(exc)
        self.status.failed(exc, now, stale=self.fetched_at is not None)
        at_least = None
        if getattr(exc, "spent", False):
            at_least = self.budget.renews_at(now)
        elif getattr(exc, "needs_fix", False):
            at_least = now + self.fetch_every  # a setting or the plan must change: do not burn requests
        self.status.retry_at = self.backoff.failed(now, retry_after_s=retry_after_of(exc), at_least=at_least)
