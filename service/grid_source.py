"""The grid load forecast as the coordinator wants it: hourly, cached on disk, fetched rarely, never raising.

A free GridStatus plan allows about 250 requests a month, so the forecast is fetched at most every GRID_FETCH_HOURS
(a forecast is republished a few times a day anyway), each request is counted per month and refused past
GRIDSTATUS_REQUESTS_PER_MONTH, and a failure keeps the last good forecast (marked stale) until FORECAST_STALE_HOURS.
After a failure GridStatus is not asked again before the backoff (service/backoff.py) and the server's Retry-After.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from charge_logic.models import ForecastPoint
from clients import gridstatus
from clients.grid_datasets import GridDataset, dataset_for
from service.backoff import Backoff, retry_after_of
from service.disk import MonthlyBudget, read_json, write_json
from service.settings import Settings
from service.sources import SourceStatus

log = logging.getLogger(__name__)

BEHIND = timedelta(hours=6)
AHEAD = timedelta(hours=72)


class BudgetSpentError(gridstatus.GridStatusError):
    pass


def clean_hourly(rows: list[gridstatus.Row]) -> list[ForecastPoint]:
    """Hourly points, oldest first: NaN/inf/non-positive dropped, repeated timestamps keep the last row,
    sub-hourly rows averaged into their hour."""
    by_start: dict[datetime, float] = {}
    for r in rows:
        if math.isfinite(r.value) and r.value > 0:
            by_start[r.start.astimezone(UTC)] = r.value
    hours: dict[datetime, list[float]] = defaultdict(list)
    for start, value in by_start.items():
        hours[start.replace(minute=0, second=0, microsecond=0)].append(value)
    return [ForecastPoint(h, round(sum(v) / len(v), 3)) for h, v in sorted(hours.items())]


class GridForecastProvider:
    """ForecastProvider over GridStatus. `client.before_request` is wired to the monthly budget."""

    def __init__(self, client: gridstatus.GridStatusClient, dataset: GridDataset, state_dir: str | Path, *,
                 iso: str = "", fetch_hours: float = 3.0, stale_hours: float = 24.0,
                 requests_per_month: int | None = 240, backoff: Backoff | None = None) -> None:
        self.client = client
        self.dataset = dataset
        self.iso = iso
        self.fetch_every = timedelta(hours=fetch_hours)
        self.stale_after = timedelta(hours=stale_hours)
        state = Path(state_dir)
        self.cache_path = state / "grid_forecast.json"
        self.budget = MonthlyBudget(state / "grid_budget.json", requests_per_month)
        self.status = SourceStatus("grid", budget_month=requests_per_month)
        self._now = datetime.now(UTC)
        self.backoff = (backoff or Backoff()).keep(state / "backoff.json", "grid")
        self.status.retry_at = self.backoff.retry_at  # a wait the server asked for before a restart
        client.before_request = self._spend
        self.fetched_at: datetime | None = None
        self.points: list[ForecastPoint] = []
        self._load_cache()

    # ------------------------------------------------------------------ cache
    def _load_cache(self) -> None:
        data = read_json(self.cache_path)
        if not isinstance(data, dict) or data.get("dataset") != self.dataset.dataset or \
                data.get("column") != self.dataset.value_column:
            return
        try:
            self.fetched_at = datetime.fromisoformat(data["fetched_at"])
            self.points = [ForecastPoint(datetime.fromisoformat(s), float(v)) for s, v in data["points"]]
        except (KeyError, TypeError, ValueError):
            self.fetched_at, self.points = None, []
            return
        self.status.data_at = self.fetched_at
        self.status.last_success = self.fetched_at

    def _save_cache(self) -> None:
        assert self.fetched_at is not None
        write_json(self.cache_path, {"dataset": self.dataset.dataset, "column": self.dataset.value_column,
                                     "iso": self.iso, "fetched_at": self.fetched_at.isoformat(),
                                     "points": [[p.start.isoformat(), p.load_mw] for p in self.points]})

    def _spend(self) -> None:
        if not self.budget.allows(self._now):
            raise BudgetSpentError(f"GridStatus budget of {self.budget.limit} requests this month reached "
                                   "(GRIDSTATUS_REQUESTS_PER_MONTH); using the last forecast")
        self.budget.spend(self._now)
        self.status.calls_month = self.budget.used(self._now)

    # ------------------------------------------------------------------ the protocol
    def get(self, now: datetime) -> list[ForecastPoint]:
        self._now = now
        self.status.calls_month = self.budget.used(now)
        if self._due(now):
            self._fetch(now)
        if self.fetched_at is None:
            return []
        age = now - self.fetched_at
        self.status.stale = not self.status.ok or age > self.fetch_every + timedelta(hours=1)
        if age > self.stale_after:
            self.status.stale = True
            return []
        lo, hi = now - BEHIND, now + AHEAD
        return [p for p in self.points if lo - timedelta(hours=1) < p.start <= hi]  # the hour holding now-6h too

    def _due(self, now: datetime) -> bool:
        if not self.backoff.ready(now):
            return False
        return self.fetched_at is None or now - self.fetched_at >= self._interval(now) or now < self.fetched_at

    def _interval(self, now: datetime) -> timedelta:
        """GRID_FETCH_HOURS, stretched when needed so the month's budget lasts to the month's end (a 31-day month
        at 3 h would need 248 requests)."""
        if self.budget.limit is None:
            return self.fetch_every
        month_end = self.budget.renews_at(now)
        left = max(1, self.budget.limit - self.budget.used(now))
        return max(self.fetch_every, (month_end - now) / left)

    def _fetch(self, now: datetime) -> None:
        start = (now - BEHIND).replace(minute=0, second=0, microsecond=0)
        try:
            rows = self.client.latest_forecast(self.dataset.dataset, self.dataset.value_column, start, now + AHEAD,
                                               time_column=self.dataset.time_column)
            points = clean_hourly(rows)
            if not points:
                raise gridstatus.UnavailableError(f"GridStatus {self.dataset.dataset} has no usable forecast rows "
                                                  "for the next 72 h")
        except gridstatus.GridStatusError as exc:
            self._failed(now, exc)
            return
        except Exception as bug:  # an unexpected reply shape must not stop the loop
            log.exception("grid forecast: unexpected failure")
            self._failed(now, gridstatus.UnavailableError(f"GridStatus reply could not be used ({type(bug).__name__})"))
            return
        self.points, self.fetched_at = points, now
        self.backoff.succeeded()
        self.status.retry_at = None
        self._save_cache()
        self.status.ok, self.status.stale = True, False
        self.status.last_success = self.status.data_at = now

    def _failed(self, now: datetime, exc: gridstatus.GridStatusError) -> None:
        log.warning("grid forecast: %s", exc)
        self.status.ok = False
        self.status.stale = self.fetched_at is not None
        self.status.last_error = str(exc).splitlines()[0][:300]
        self.status.last_error_at = now
        at_least = None
        if isinstance(exc, (gridstatus.QuotaSpentError, BudgetSpentError)):
            at_least = self.budget.renews_at(now)
        elif isinstance(exc, (gridstatus.BadKeyError, gridstatus.PlanError, gridstatus.NotFoundError)):
            at_least = now + self.fetch_every  # needs a config fix; do not burn requests
        self.status.retry_at = self.backoff.failed(now, retry_after_s=retry_after_of(exc), at_least=at_least)


def make_forecast_provider(settings: Settings, *, session: requests.Session | None = None,
                           interval_min: float = 14.0) -> GridForecastProvider | None:
    """None when no GridStatus key is set (the coordinator then runs without a forecast, or on the demo one)."""
    if not settings.grid_status_api_key:
        return None
    ds = dataset_for(settings.grid_iso, settings.grid_dataset, settings.grid_value_column)
    client = gridstatus.GridStatusClient(settings.grid_status_api_key, settings.gridstatus_base_url, session=session)
    return GridForecastProvider(client, ds, settings.state_dir, iso=settings.grid_iso,
                                fetch_hours=settings.grid_fetch_hours, stale_hours=settings.forecast_stale_hours,
                                requests_per_month=settings.gridstatus_requests_per_month,
                                backoff=Backoff(timedelta(minutes=interval_min)))
