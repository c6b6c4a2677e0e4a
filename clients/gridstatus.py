"""A thin client for GridStatus.io's hosted API: one dataset query, the latest published forecast, typed errors.

Wire format (docs.gridstatus.io, "Query Parameters", "Pagination", "Publish Time", "Error Handling"; the official
client gridstatusio, gs_client.py):
- `GET /v1/datasets/{id}/query` with header `x-api-key`; `cursor=""` asks for cursor pagination and each reply's
  `meta.cursor` / `meta.hasNextPage` say how to go on. `publish_time=latest` gives, for every hour, the most recently
  published value; `latest_report` would give only the newest report, which for a day-ahead product (CAISO) holds
  tomorrow and not tonight. Publish-time filters exist only for datasets with a `publish_time_column`.
- `GET /v1/datasets/{id}`: the dataset's metadata: `time_index_column`, `publish_time_column`, `all_columns`.
- `GET /v1/api_usage`: the plan's limits (`api_rows_returned_limit`, `api_requests_limit`; -1 is no limit) and this
  usage period's use and bounds; the free plan's limit is rows a month.
- errors are `{"detail": "..."}` with 401 bad key, 403 plan, 404 unknown dataset/column, 429 rate or usage limit.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from clients.http_text import readable, retry_after_s


class GridStatusError(Exception):
    """Any GridStatus failure; the message is one line, names what to fix, and never holds the key.
    `retry_after_s` is the server's Retry-After, when it gave one."""

    retry_after_s: float | None = None


class BadKeyError(GridStatusError):
    pass


class PlanError(GridStatusError):
    pass


class NotFoundError(GridStatusError):
    pass


class QuotaSpentError(GridStatusError):
    """The plan's monthly allowance is used up: asking again before the month turns is pointless."""


class RateLimitedError(GridStatusError):
    """Too many requests per second/minute: a later try will work."""


class UnavailableError(GridStatusError):
    """Timeouts, connection failures, 5xx, unreadable replies."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str = ""
    is_datetime: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    """What `GET /v1/datasets/{id}` says about a dataset."""

    id: str
    time_index_column: str
    publish_time_column: str | None
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class ApiUsage:
    """What `GET /v1/api_usage` says: None for a limit of -1 (no limit)."""

    plan: str
    rows_limit: int | None
    requests_limit: int | None
    rows_used: int
    requests_used: int
    period_start: datetime | None
    period_end: datetime | None


@dataclass(frozen=True)
class Row:
    start: datetime  # interval start, aware UTC
    value: float  # NaN when the cell was empty or not a number


# 429 means either (docs.gridstatus.io, Error Handling): "Too Many Requests. Limit: 6 per 1 second" (the gridstatusio
# client's tests) is a burst limit; a usage limit (requests or rows this month) is not worth retrying until it resets.
_BURST = re.compile(r"(?i)\bper\s*\d*\s*(second|minute|hour)s?\b")
_MONTHLY_WORDS = ("month", "usage limit", "quota", "rows returned", "api_rows")
WAIT_IN_TICK_S = 5.0  # a burst limit asking for at most this long is waited out once, inside the tick


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _limit(raw: Any) -> int | None:
    """A plan limit: -1 (or anything not a non-negative number) means none."""
    try:
        n = int(raw)
    except (TypeError, ValueError):
        return None
    return n if n >= 0 else None


def _count(raw: Any) -> int:
    try:
        return max(0, int(raw))
    except (TypeError, ValueError):
        return 0


def _number(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


class GridStatusClient:
    """`before_request` is called before every HTTP request (each page counts against the plan); it may raise."""

    def __init__(self, api_key: str, base_url: str = "https://api.gridstatus.io", *, timeout: float = 20.0,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 before_request: Callable[[], None] | None = None, max_pages: int = 10) -> None:
        if not api_key:
            raise BadKeyError("GRID_STATUS_API_KEY is empty: get a key at gridstatus.io (Settings) and set it")
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = sleep
        self.before_request = before_request
        self.max_pages = max_pages

    def latest_forecast(self, dataset: str, value_column: str, start: datetime, end: datetime,
                        time_column: str = "interval_start_utc", publish_time: str | None = "latest", *,
                        where: tuple[str, str] | None = None, resample: str | None = None) -> list[Row]:
        """The newest published value of every interval between start and end, as the server sent them
        (`publish_time=None` for a dataset without a publish time column). `where`: (column, value), only the rows
        whose column equals it (a price's location); `resample`: averaged server-side into buckets of e.g. "1 hour"
        (gridstatusio's filter_column / filter_value / filter_operator and resample_frequency / resample_function)."""
        params: dict[str, Any] = {
            "start_time": _iso(start), "end_time": _iso(end),
            "columns": f"{time_column},{value_column}", "return_format": "json", "json_schema": "array-of-objects",
            "cursor": "",
        }
        if publish_time:
            params["publish_time"] = publish_time
        if where is not None:
            params.update(filter_column=where[0], filter_value=where[1], filter_operator="=")
        if resample:
            params.update(resample_frequency=resample, resample_function="mean")
        rows: list[Row] = []
        for _page in range(self.max_pages):
            body = self._get(f"/v1/datasets/{dataset}/query", params)
            rows += self._rows(body, dataset, time_column, value_column)
            meta = body.get("meta") or {}
            if not meta.get("hasNextPage") or not meta.get("cursor"):
                return rows
            params["cursor"] = meta["cursor"]
        raise UnavailableError(f"GridStatus dataset {dataset} needed more than {self.max_pages} pages; "
                               "check GRID_DATASET is an hourly load forecast")

    def dataset_info(self, dataset: str) -> DatasetInfo:
        """The dataset's columns and time columns, from `GET /v1/datasets/{id}`."""
        body = self._get(f"/v1/datasets/{dataset}", {})
        cols = body.get("all_columns")
        if not isinstance(cols, list) or not all(isinstance(c, dict) and c.get("name") for c in cols):
            raise UnavailableError(f"GridStatus sent no column list for dataset {dataset}")
        return DatasetInfo(
            id=str(body.get("id") or dataset),
            time_index_column=str(body.get("time_index_column") or "interval_start_utc"),
            publish_time_column=str(body["publish_time_column"]) if body.get("publish_time_column") else None,
            columns=tuple(Column(str(c["name"]), str(c.get("type") or ""), bool(c.get("is_datetime")))
                          for c in cols))

    def api_usage(self) -> ApiUsage:
        """The plan's limits and this usage period's use, from `GET /v1/api_usage`."""
        body = self._get("/v1/api_usage", {})
        limits, used = body.get("limits"), body.get("current_period_usage")
        if not isinstance(limits, dict) or not isinstance(used, dict):
            raise UnavailableError("GridStatus sent an api_usage reply without limits")
        return ApiUsage(plan=str(body.get("plan_name") or body.get("plan") or ""),
                        rows_limit=_limit(limits.get("api_rows_returned_limit")),
                        requests_limit=_limit(limits.get("api_requests_limit")),
                        rows_used=_count(used.get("total_api_rows_returned")),
                        requests_used=_count(used.get("total_requests")),
                        period_start=parse_time(body.get("current_usage_period_start")),
                        period_end=parse_time(body.get("current_usage_period_end")))

    def _rows(self, body: dict[str, Any], dataset: str, tcol: str, vcol: str) -> list[Row]:
        data = body.get("data")
        if not isinstance(data, list):
            raise UnavailableError(f"GridStatus sent no data list for {dataset}")
        if data and isinstance(data[0], list):  # array-of-arrays: a header row first
            header, data = data[0], [dict(zip(data[0], r, strict=False)) for r in data[1:]]
        else:
            header = list(data[0]) if data else [tcol, vcol]
        if data and vcol not in header:
            raise NotFoundError(f"GridStatus dataset {dataset} has no column {vcol!r}: set GRID_VALUE_COLUMN "
                                f"(columns seen: {', '.join(map(str, header))})")
        out = []
        for rec in data:
            start = parse_time(rec.get(tcol)) if isinstance(rec, dict) else None
            if start is not None:
                out.append(Row(start, _number(rec.get(vcol))))
        return out

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(2):
            if self.before_request:
                self.before_request()
            try:
                resp = self.session.get(self.base_url + path, params=params, timeout=self.timeout,
                                        headers={"x-api-key": self._key, "Accept": "application/json"})
            except requests.Timeout:
                raise UnavailableError(f"GridStatus did not answer within {self.timeout:g} s") from None
            except requests.RequestException as exc:
                raise UnavailableError(f"GridStatus unreachable: {type(exc).__name__}") from None
            if resp.status_code == 200:
                try:
                    body = resp.json()
                except ValueError:
                    raise UnavailableError("GridStatus sent a reply that is not JSON") from None
                if not isinstance(body, dict):
                    raise UnavailableError("GridStatus sent an unexpected reply")
                return body
            err = self._error(resp)
            wait = 1.0 if err.retry_after_s is None else err.retry_after_s
            if isinstance(err, RateLimitedError) and attempt == 0 and wait <= WAIT_IN_TICK_S:
                self.sleep(wait)
                continue
            raise err  # a longer Retry-After is the provider's backoff to honour, not a sleep here
        raise AssertionError("unreachable")

    def _error(self, resp: requests.Response) -> GridStatusError:
        try:
            detail = str(resp.json().get("detail", ""))
        except (ValueError, AttributeError):
            detail = readable(resp.text, 200)
        detail = " ".join(detail.replace(self._key, "***").split())[:200]
        err = self._typed(resp.status_code, detail, resp)
        err.retry_after_s = retry_after_s(resp.headers)
        return err

    @staticmethod
    def _typed(code: int, detail: str, resp: requests.Response) -> GridStatusError:
        if code == 401:
            return BadKeyError(f"GridStatus refused the API key (401: {detail}): check GRID_STATUS_API_KEY")
        if code == 403:
            return PlanError(f"GridStatus plan does not allow this query (403: {detail}): choose another "
                             "GRID_DATASET or upgrade the plan")
        if code == 404:
            return NotFoundError(f"GridStatus does not know it (404: {detail}): check GRID_DATASET / "
                                 "GRID_VALUE_COLUMN")
        if code == 429:
            if not _BURST.search(detail) and any(w in detail.lower() for w in _MONTHLY_WORDS):
                return QuotaSpentError(f"GridStatus monthly allowance used up (429: {detail}): wait for next "
                                       "month or lower GRIDSTATUS_REQUESTS_PER_MONTH / raise GRID_FETCH_HOURS")
            return RateLimitedError(f"GridStatus rate limit (429: {detail}); will retry later")
        return UnavailableError(f"GridStatus error {code}: {detail or resp.reason}")
