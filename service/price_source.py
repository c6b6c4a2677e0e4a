"""The price and CO₂ sources as hourly series in the objective's units (charge_logic.objective.KINDS): each a thin
client in clients/ behind service/series_source.PolledSeries (cache, budget, backoff, stale rules).

- PRICE_SOURCE=gridstatus_lmp: the day-ahead hourly LMP of PRICE_LOCATION ($/MWh -> $/kWh), published, so known;
- PRICE_SOURCE=comed: ComEd's hourly pricing (¢/kWh -> $/kWh): the hours gone by are the real-time averages (known),
  the hours ahead the day-ahead prices (a forecast of the real-time price billed);
- CO2_SOURCE=pjm_mer: PJM's marginal emission rates (lbs/MWh -> kg/kWh) are measured, not forecast: the hours ahead
  are each local hour's mean over the last week (a forecast), the hours gone by the measured rates;
- CO2_SOURCE=watttime: WattTime's marginal CO₂ forecast (lbs/MWh -> kg/kWh), hourly means of its 5-minute points.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from statistics import fmean
from zoneinfo import ZoneInfo

import requests

from clients import comed, gridstatus, watttime
from clients.grid_datasets import CO2_DATASET, GridDataset, price_dataset_for
from service.backoff import Backoff
from service.client_io import ClientIO
from service.grid_usage import USAGE_FILE, PlanUsage
from service.series_source import AHEAD, BEHIND, DAY_AHEAD_MIN, Fetch, PolledSeries, SeriesError, SeriesPoint, hourly
from service.settings import Settings

KG_PER_LB = 0.45359237
MER_DAYS = 7  # the week of measured rates behind the CO₂ forecast


class SourceSettingError(SeriesError):
    needs_fix = True


def _gs_error(exc: gridstatus.GridStatusError, fix: str) -> SeriesError:
    """GridStatus's typed error as the series' (a key, plan or name to fix is not retried before the next fetch)."""
    err: SeriesError = SourceSettingError(f"{exc}; {fix}") if isinstance(
        exc, (gridstatus.BadKeyError, gridstatus.PlanError, gridstatus.NotFoundError)) else SeriesError(str(exc))
    err.spent = isinstance(exc, gridstatus.QuotaSpentError)
    err.retry_after_s = exc.retry_after_s
    return err


def _plan_refuses(usage_path: Path | None) -> None:
    """The key's plan has used up its rows or requests this period (as grid_usage.json last read it): not asked."""
    why = PlanUsage.load(usage_path).refusal(1) if usage_path is not None else None
    if why is not None:
        err = SeriesError(f"{why}; using the last series until the period ends")
        err.spent = True
        raise err


def lmp_fetch(client: gridstatus.GridStatusClient, ds: GridDataset, location: str,
              usage_path: Path | None = None) -> Fetch:
    """The adapter of PRICE_SOURCE=gridstatus_lmp. `usage_path`: the GridStatus plan's rows file (grid_usage.json),
    where the rows this spends are added: the free plan counts rows a month over every dataset of the key."""
    def fetch(now: datetime) -> list[SeriesPoint]:
        start = (now - BEHIND).replace(minute=0, second=0, microsecond=0)
        _plan_refuses(usage_path)
        try:
            rows = client.latest_forecast(ds.dataset, ds.value_column, start, now + AHEAD, time_column=ds.time_column,
                                          publish_time=None, where=("location", location))
        except gridstatus.GridStatusError as exc:
            raise _gs_error(exc, "check PRICE_DATASET, PRICE_LOCATION and PRICE_VALUE_COLUMN") from None
        if usage_path is not None:
            PlanUsage.add(usage_path, rows=len(rows))
        if not rows:
            raise SourceSettingError(f"GridStatus {ds.dataset} has no prices for PRICE_LOCATION={location!r}: check "
                                     "the name as the dataset spells it (e.g. PECO, COMED, WESTERN HUB)")
        return hourly([(r.start, r.value / 1000.0, True) for r in rows])  # $/MWh -> $/kWh
    return fetch


def comed_fetch(client: comed.ComEdClient) -> Fetch:
    """The adapter of PRICE_SOURCE=comed: three requests (the last 24 h of 5-minute prices, today's and tomorrow's
    day-ahead prices; tomorrow's are out in the afternoon, before that the list is empty)."""
    def fetch(now: datetime) -> list[SeriesPoint]:
        today = now.astimezone(comed.CHICAGO).date()
        ahead = {t: c for day in (today, today + timedelta(days=1)) for t, c in client.day_ahead(day)}
        rows = [(t, c / 100.0, False) for t, c in ahead.items()]
        done = now.replace(minute=0, second=0, microsecond=0)  # hours before this one are over: billed, known
        real = [(t, c / 100.0, True) for t, c in client.five_minute() if t < done]
        real_hours = {p.start for p in hourly(real)}
        rows = [r for r in rows if r[0] not in real_hours] + real
        return hourly(rows)
    return fetch


def mer_fetch(client: gridstatus.GridStatusClient, ds: GridDataset, location: str, zone: ZoneInfo,
              usage_path: Path | None = None) -> Fetch:
    """The adapter of CO2_SOURCE=pjm_mer: a week of hourly means (GridStatus averages server-side), one request; its
    rows are added to `usage_path` as `lmp_fetch`'s are."""
    def fetch(now: datetime) -> list[SeriesPoint]:
        hour = now.replace(minute=0, second=0, microsecond=0)
        _plan_refuses(usage_path)
        try:
            rows = client.latest_forecast(ds.dataset, ds.value_column, hour - timedelta(days=MER_DAYS), hour,
                                          time_column=ds.time_column, publish_time=None,
                                          where=("location", location) if location else None, resample="1 hour")
        except gridstatus.GridStatusError as exc:
            raise _gs_error(exc, "check CO2_DATASET and CO2_LOCATION") from None
        if usage_path is not None:
            PlanUsage.add(usage_path, rows=len(rows))
        measured = hourly([(r.start, r.value * KG_PER_LB / 1000.0, True) for r in rows])  # lbs/MWh -> kg/kWh
        if not measured:
            raise SourceSettingError(f"GridStatus {ds.dataset} has no rates for the last week"
                                     f"{f' at CO2_LOCATION={location!r}' if location else ''}")
        return week_profile(measured, now, zone)
    return fetch


def week_profile(measured: list[SeriesPoint], now: datetime, zone: ZoneInfo) -> list[SeriesPoint]:
    """The measured hours of the last BEHIND, then every hour to now + AHEAD as the mean of the same local hour over
    the measured days (known: False)."""
    by_hour: dict[int, list[float]] = defaultdict(list)
    for p in measured:
        by_hour[p.start.astimezone(zone).hour].append(p.value)
    everyday = fmean(p.value for p in measured)
    hour = now.replace(minute=0, second=0, microsecond=0)
    out = [p for p in measured if p.start >= hour - BEHIND]
    t = hour if not out or out[-1].start < hour else out[-1].start + timedelta(hours=1)
    while t <= now + AHEAD:
        same = by_hour.get(t.astimezone(zone).hour)
        out.append(SeriesPoint(t, round(fmean(same) if same else everyday, 6), False))
        t += timedelta(hours=1)
    return out


def watttime_fetch(client: watttime.WattTimeClient, region: str, latitude: float, longitude: float) -> Fetch:
    """The adapter of CO2_SOURCE=watttime: the region (WATTTIME_REGION, or looked up once from home), then the
    72-hour forecast."""
    found: list[str] = [region] if region else []

    def fetch(now: datetime) -> list[SeriesPoint]:
        if not found:
            found.append(client.region_from_loc(latitude, longitude))
        fc = client.forecast(found[0], horizon_hours=72)
        if fc.units != "lbs_co2_per_mwh":
            raise SourceSettingError(f"WattTime sent the forecast in {fc.units!r}, not lbs_co2_per_mwh")
        return hourly([(t, v * KG_PER_LB / 1000.0, False) for t, v in fc.points])
    return fetch


def _usage(settings: Settings) -> Path:
    return Path(settings.state_dir) / USAGE_FILE


def make_price_source(settings: Settings, *, session: requests.Session | None = None, io: ClientIO = ClientIO(),
                      interval_min: float = 14.0) -> PolledSeries | None:
    """PRICE_SOURCE as a series ($/kWh); None for none."""
    kw = dict(fetch_hours=settings.signal_fetch_hours, stale_hours=settings.forecast_stale_hours,
              requests_per_month=settings.price_requests_per_month, backoff=Backoff(timedelta(minutes=interval_min)))
    if settings.price_source == "comed":
        cc = comed.ComEdClient(settings.comed_base_url, session=session, timeout=io.timeout(20.0))
        series = PolledSeries("comed", "ComEd hourly pricing", comed_fetch(cc), settings.state_dir,
                              errors=(comed.ComEdError,), requests_per_fetch=3,
                              min_ahead=DAY_AHEAD_MIN, **kw)  # type: ignore[arg-type]
        cc.before_request = series.spend
        return series
    if settings.price_source == "gridstatus_lmp":
        ds = price_dataset_for(settings.grid_iso, settings.price_dataset, settings.price_value_column)
        gc = gridstatus.GridStatusClient(settings.grid_status_api_key, settings.gridstatus_base_url, session=session,
                                         timeout=io.timeout(20.0), sleep=io.sleeper())
        location = settings.price_location.strip()
        series = PolledSeries("gridstatus_lmp", f"{ds.dataset} {location}",
                              lmp_fetch(gc, ds, location, _usage(settings)), settings.state_dir,
                              errors=(gridstatus.GridStatusError,), min_ahead=DAY_AHEAD_MIN, **kw)  # type: ignore[arg-type]
        gc.before_request = series.spend
        return series
    return None


def make_co2_source(settings: Settings, *, session: requests.Session | None = None, io: ClientIO = ClientIO(),
                    interval_min: float = 14.0) -> PolledSeries | None:
    """CO2_SOURCE as a series (kg/kWh); None for none."""
    kw = dict(fetch_hours=settings.signal_fetch_hours, stale_hours=settings.forecast_stale_hours,
              requests_per_month=settings.co2_requests_per_month, backoff=Backoff(timedelta(minutes=interval_min)))
    if settings.co2_source == "pjm_mer":
        ds = GridDataset(settings.co2_dataset.strip() or CO2_DATASET.dataset, CO2_DATASET.value_column,
                         publish_time_column=None)
        gc = gridstatus.GridStatusClient(settings.grid_status_api_key, settings.gridstatus_base_url, session=session,
                                         timeout=io.timeout(20.0), sleep=io.sleeper())
        location = settings.co2_location.strip()
        label = f"PJM marginal emission rates{f' at {location}' if location else ''} (a week's hourly profile)"
        series = PolledSeries("pjm_mer", label, mer_fetch(gc, ds, location, settings.zone, _usage(settings)),
                              settings.state_dir, errors=(gridstatus.GridStatusError,), **kw)  # type: ignore[arg-type]
        gc.before_request = series.spend
        return series
    if settings.co2_source == "watttime":
        wc = watttime.WattTimeClient(settings.watttime_username, settings.watttime_password,
                                     settings.watttime_base_url, session=session, timeout=io.timeout(20.0))
        region = settings.watttime_region.strip()
        series = PolledSeries("watttime", f"WattTime {region or 'marginal CO₂'}",
                              watttime_fetch(wc, region, settings.home_latitude, settings.home_longitude),
                              settings.state_dir, errors=(watttime.WattTimeError,), requests_per_fetch=2,
                              **kw)  # type: ignore[arg-type]
        wc.before_request = series.spend
        return series
    return None
