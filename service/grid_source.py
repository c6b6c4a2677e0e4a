"""The grid load forecast as the coordinator wants it: hourly, cached on disk, fetched rarely, never raising.

The forecast is fetched at most every GRID_FETCH_HOURS (a forecast is republished a few times a day anyway), as the
newest value of every hour (`publish_time=latest`). The pace also follows the plan as GridStatus states it
(`/v1/api_usage`, service/grid_usage.py: rows and requests left this usage period), and each request is counted per
month and refused past the owner's own cap GRIDSTATUS_REQUESTS_PER_MONTH. The dataset's columns come from its
metadata (`GET /v1/datasets/{id}`, kept for DATASET_INFO_DAYS), so a wrong column is a clear error before any query.
A failure keeps the last good forecast (marked stale) until FORECAST_STALE_HOURS; a forecast that does not reach
MIN_AHEAD into the future (a day-ahead product before its next report) is not used either, and the reasons say so.
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
from clients.grid_datasets import GridDataset, dataset_for, resolve
from clients.private_files import read_json, write_json
from service.backoff import Backoff, retry_after_of
from service.client_io import ClientIO
from service.disk import MonthlyBudget
from service.grid_usage import USAGE_EVERY, USAGE_FILE, PlanUsage
from service.reach import due, too_short
from service.settings import Settings
from service.sources import SourceStatus

log = logging.getLogger(__name__)

BEHIND = timedelta(hours=6)
AHEAD = timedelta(hours=72)
MIN_AHEAD = timedelta(hours=12)  # a forecast must cover a night's charging from now to be used
DATASET_INFO_DAYS = 30


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
        self.info_path = state / "grid_dataset.json"
        self.usage_path = state / USAGE_FILE
        self.plan = PlanUsage.load(self.usage_path)
        self.budget = MonthlyBudget(state / "grid_budget.json", requests_per_month)
        self.status = SourceStatus("grid", budget_month=requests_per_month)
        self._now = datetime.now(UTC)
        self.backoff = (backoff or Backoff()).keep(state / "backoff.json", "grid")
        self.status.retry_at = self.backoff.retry_at  # a wait the server asked for before a restart
        client.before_request = self._spend
        self.fetched_at: datetime | None = None
        self.points: list[ForecastPoint] = []
        self.rows_per_fetch, self.pages_per_fetch = int((BEHIND + AHEAD) / timedelta(hours=1)) + 1, 1
        self._fetch_error: str | None = None  # the last fetch's failure, None after a success
        self._load_cache()

    # ------------------------------------------------------------------ cache
    def _load_cache(self) -> None:
        data = read_json(self.cache_path)
        if not isinstance(data, dict) or data.get("dataset") != self.dataset.dataset or \
                (self.dataset.column_set and data.get("column") != self.dataset.value_column):
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
        self.plan.spent(requests=1)
        self.status.calls_month = self.budget.used(self._now)

    # ------------------------------------------------------------------ what GridStatus says
    def _dataset(self, now: datetime) -> GridDataset:
        """The dataset resolved against its metadata, read once per DATASET_INFO_DAYS (or after a 404)."""
        data = read_json(self.info_path)
        mine = data.get(self.dataset.dataset) if isinstance(data, dict) else None
        try:
            if isinstance(mine, dict) and now - datetime.fromisoformat(mine["read_at"]) < \
                    timedelta(days=DATASET_INFO_DAYS):
                info = gridstatus.DatasetInfo(mine["id"], mine["time_index_column"], mine["publish_time_column"],
                                              tuple(gridstatus.Column(**c) for c in mine["columns"]))
                return resolve(self.dataset, info)
        except (KeyError, TypeError, ValueError):
            pass  # a cache that cannot be read is read again from GridStatus
        info = self.client.dataset_info(self.dataset.dataset)
        write_json(self.info_path, {self.dataset.dataset: {
            "read_at": now.isoformat(), "id": info.id, "time_index_column": info.time_index_column,
            "publish_time_column": info.publish_time_column,
            "columns": [{"name": c.name, "type": c.type, "is_datetime": c.is_datetime} for c in info.columns]}})
        return resolve(self.dataset, info)

    def _read_usage(self, now: datetime) -> None:
        if not self.plan.due(now):
            return
        try:
            self.plan.usage = self.client.api_usage()
        except (gridstatus.PlanError, gridstatus.NotFoundError) as exc:  # this plan cannot read it: our cap only
            log.info("grid forecast: no plan usage from GridStatus (%s)", exc)
            self.plan.usage = None
        self.plan.read_at = now
        self.plan.save(self.usage_path)

    # ------------------------------------------------------------------ the protocol
    def get(self, now: datetime) -> list[ForecastPoint]:
        self._now = now
        self.plan = PlanUsage.load(self.usage_path)  # the price and CO₂ sources on the same key add their rows there
        self.status.calls_month = self.budget.used(now)
        if self._due(now):
            self._fetch(now)
        if self.fetched_at is None:
            return []
        age = now - self.fetched_at
        paced = self._interval(self.fetched_at) if now >= self.fetched_at else self.fetch_every
        self.status.stale = self._fetch_error is not None or age > paced + timedelta(hours=1)
        if age > self.stale_after:
            self.status.stale = True
            return []
        lo, hi = now - BEHIND, now + AHEAD
        points = [p for p in self.points if lo - timedelta(hours=1) < p.start <= hi]  # the hour holding now-6h too
        short = self._short(now, points)
        self.status.reached(short, now, self._fetch_error)
        return [] if short else points

    def _short(self, now: datetime, points: list[ForecastPoint]) -> str | None:
        """Why a forecast that ends too soon is not used. A day-ahead product (CAISO's) holds tomorrow only once that
        report is out."""
        return too_short(now, (p.start for p in points), MIN_AHEAD, f"GridStatus {self.dataset.dataset}",
                         " (a day-ahead forecast until its next report is out)")

    def _due(self, now: datetime) -> bool:
        return due(now, self.backoff, self.fetched_at, self._interval)  # the pace set when it was fetched

    def _interval(self, now: datetime) -> timedelta:
        """GRID_FETCH_HOURS, stretched when needed so what is left lasts to the period's end: the owner's cap to the
        month's end (a 31-day month at 3 h would need 248 requests), the plan's rows and requests to the end of
        the usage period GridStatus states."""
        wait = self.fetch_every
        if self.budget.limit is not None:
            to_end = self.budget.renews_at(now) - now
            reads = math.ceil(to_end / USAGE_EVERY) + 1  # the plan-usage and metadata look-ups to come count too
            left = (self.budget.limit - self.budget.used(now) - reads) / self.pages_per_fetch
            wait = max(wait, to_end / max(1.0, left))
        plan_left, plan_end = self.plan.fetches_left(self.rows_per_fetch, self.pages_per_fetch), \
            self.plan.period_end(now)
        if plan_left is not None and plan_end is not None:
            wait = max(wait, (plan_end - now) / max(1.0, plan_left))
        return wait

    def _fetch(self, now: datetime) -> None:
        start = (now - BEHIND).replace(minute=0, second=0, microsecond=0)
        queried = False
        try:
            self._read_usage(now)
            if (why := self.plan.refusal(self.rows_per_fetch)) is not None:
                raise gridstatus.QuotaSpentError(f"{why}; using the last forecast until the period ends")
            ds = self._dataset(now)
            asked, queried = self.budget.used(now), True
            rows = self.client.latest_forecast(ds.dataset, ds.value_column, start, now + AHEAD,
                                               time_column=ds.time_column,
                                               publish_time="latest" if ds.publish_time_column else None)
            self.plan.spent(rows=len(rows))
            self.plan.save(self.usage_path)
            self.rows_per_fetch = max(self.rows_per_fetch, len(rows))
            self.pages_per_fetch = max(1, self.budget.used(now) - asked)
            points = clean_hourly(rows)
            if not points:
                raise gridstatus.UnavailableError(f"GridStatus {self.dataset.dataset} has no usable forecast rows "
                                                  "for the next 72 h")
        except gridstatus.GridStatusError as exc:
            if isinstance(exc, gridstatus.NotFoundError) and queried:
                write_json(self.info_path, {})  # a renamed dataset or column: read its metadata again next time
            self._failed(now, exc)
            return
        except Exception as bug:  # an unexpected reply shape must not stop the loop
            log.exception("grid forecast: unexpected failure")
            self._failed(now, gridstatus.UnavailableError(f"GridStatus reply could not be used ({type(bug).__name__})"))
            return
        self.points, self.fetched_at, self._fetch_error = points, now, None
        self.backoff.succeeded()
        self.status.retry_at = None
        self._save_cache()
        self.status.succeeded(now, data_at=now)

    def _failed(self, now: datetime, exc: gridstatus.GridStatusError) -> None:
        log.warning("grid forecast: %s", exc)
        self._fetch_error = str(exc)
        self.status.failed(exc, now, stale=self.fetched_at is not None)
        at_least = None
        if isinstance(exc, BudgetSpentError):
            at_least = self.budget.renews_at(now)
        elif isinstance(exc, gridstatus.QuotaSpentError):
            at_least = self.plan.period_end(now) or self.budget.renews_at(now)
        elif isinstance(exc, (gridstatus.BadKeyError, gridstatus.PlanError, gridstatus.NotFoundError)):
            at_least = now + self.fetch_every  # needs a config fix; do not burn requests
        self.status.retry_at = self.backoff.failed(now, retry_after_s=retry_after_of(exc), at_least=at_least)


def make_forecast_provider(settings: Settings, *, session: requests.Session | None = None,
                           interval_min: float = 14.0, io: ClientIO = ClientIO()) -> GridForecastProvider | None:
    """None when no GridStatus key is set (the coordinator then runs without a forecast, or on the demo one)."""
    if not settings.grid_status_api_key:
        return None
    ds = dataset_for(settings.grid_iso, settings.grid_dataset, settings.grid_value_column)
    client = gridstatus.GridStatusClient(settings.grid_status_api_key, settings.gridstatus_base_url, session=session,
                                         timeout=io.timeout(20.0), sleep=io.sleeper())
    return GridForecastProvider(client, ds, settings.state_dir, iso=settings.grid_iso,
                                fetch_hours=settings.grid_fetch_hours, stale_hours=settings.forecast_stale_hours,
                                requests_per_month=settings.gridstatus_requests_per_month,
                                backoff=Backoff(timedelta(minutes=interval_min)))
