"""A fake GridStatus.io, written from its docs and its official client (gridstatusio):

- `GET /v1/datasets/{id}/query` with x-api-key: columns, cursor paging, and `publish_time` as documented
  (docs.gridstatus.io/developers/concepts/publish-time): `latest` is the newest published value of every interval,
  `latest_report` only the rows of the newest report, a timestamp only that report's rows;
- `GET /v1/datasets/{id}`: the dataset's metadata with `all_columns`, `time_index_column`, `publish_time_column`;
- `GET /v1/api_usage`: the plan's limits (-1 = none) and this period's use, counted from what this fake served;
  past the plan's rows or requests it answers 429 (the docs: "Rate limit or usage limit exceeded");
- errors `{"detail": ...}`.
`now` (when set) hides reports published later, so a day-ahead product can be replayed as it appears by the hour.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from clients.gridstatus import parse_time
from tests.fakes.http import FakeServer, Reply, Request

KEY = "gs-test-key"
FREE_ROWS_PER_MONTH = 1_000_000  # gridstatusio README: "a 1 million rows per month limit on the free plan"


def synthetic_load(start: datetime) -> float:
    """A daily load shape: 80 GW at 4 am UTC-ish, 100 GW in the evening."""
    return round(90000 + 10000 * math.sin((start.hour - 10) / 24 * 2 * math.pi), 1)


def day_ahead_rows(first_day: datetime, days: int, *, publish_hour_utc: int = 17,
                   column: str = "load_forecast") -> list[dict[str, Any]]:
    """A day-ahead product: the report for day D (24 hourly rows, UTC days here) is published on D-1 at
    publish_hour_utc, and no report holds more than its one day."""
    rows = []
    for d in range(days):
        day = first_day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=d)
        published = (day - timedelta(days=1)).replace(hour=publish_hour_utc).isoformat()
        for h in range(24):
            t = day + timedelta(hours=h)
            rows.append({"interval_start_utc": t.isoformat(), "interval_end_utc": (t + timedelta(hours=1)).isoformat(),
                         "publish_time_utc": published, column: synthetic_load(t)})
    return rows



def select_page(rows: list[dict[str, Any]], q: dict[str, str], known: set[str], dataset: str, page_size: int
                ) -> tuple[list[dict[str, Any]], bool, str | None] | Reply:
    """The query's `columns` of the rows and the page at its `cursor`: (page, more to come, the next cursor), or the
    service's 404 naming a column the dataset does not have."""
    if q.get("columns"):
        cols = q["columns"].split(",")
        for c in cols:
            if c not in known:
                return Reply(404, {"detail": f"Column {c} not found in dataset {dataset}"})
        rows = [{c: r.get(c) for c in cols} for r in rows]
    offset = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
    more = offset + page_size < len(rows)
    cursor = base64.b64encode(str(offset + page_size).encode()).decode() if more else None
    return rows[offset:offset + page_size], more, cursor

def metadata_columns(value_columns: list[str]) -> list[dict[str, Any]]:
    times = [{"name": n, "type": "TIMESTAMP", "is_datetime": True}
             for n in ("interval_start_utc", "interval_end_utc", "publish_time_utc")]
    return times + [{"name": n, "type": "DOUBLE PRECISION", "is_datetime": False} for n in value_columns]


class FakeGridStatus(FakeServer):
    def __init__(self, *, page_size: int = 500, datasets: tuple[str, ...] = ("pjm_load_forecast",),
                 value_column: str = "load_forecast") -> None:
        super().__init__()
        self.page_size, self.datasets, self.value_column = page_size, set(datasets), value_column
        self.reset()
        self.route("GET", r"/v1/api_usage", self._usage)
        self.route("GET", r"/v1/datasets/(?P<dataset>[^/]+)", self._metadata)
        self.route("GET", r"/v1/datasets/(?P<dataset>[^/]+)/query", self._query)

    def reset(self) -> None:
        """Back to a healthy server with an empty log (one server can serve a whole test module)."""
        with self.lock:
            self.log.clear()
            self.rows: list[dict[str, Any]] | None = None  # explicit rows (with publish_time_utc); None = synthetic
            self.errors: list[Reply] = []  # replies sent, one per request, before any normal answer
            self.force_schema: str | None = None  # answer in this json_schema whatever was asked
            self.now: datetime | None = None  # reports published after this are not out yet
            self.columns: dict[str, list[dict[str, Any]]] = {}  # a dataset's all_columns, when not the default
            self.no_publish_time: set[str] = set()  # datasets without a publish_time_column
            self.rows_limit, self.requests_limit = FREE_ROWS_PER_MONTH, -1
            self.rows_used = self.requests_used = 0
            self.period = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))

    def start(self) -> FakeGridStatus:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # headers and body go out as two writes
        return self

    def queries(self) -> list[Request]:
        """The data queries only (not the metadata and usage look-ups)."""
        return self.requests("GET", r"/query$")

    def all_columns(self, dataset: str) -> list[dict[str, Any]]:
        return self.columns.get(dataset) or metadata_columns([self.value_column])

    def _refused(self, req: Request) -> Reply | None:
        if self.errors:
            return self.errors.pop(0)
        if req.headers.get("x-api-key") != KEY:
            return Reply(401, {"detail": "Invalid API key."})
        self.requests_used += 1
        if 0 <= self.requests_limit < self.requests_used:
            return Reply(429, {"detail": f"API requests limit of {self.requests_limit} for this month exceeded."})
        return None

    def _usage(self, req: Request) -> Reply:
        if (refused := self._refused(req)) is not None:
            return refused
        return Reply(200, {"plan_name": "Free", "limits": {
            "api_rows_returned_limit": self.rows_limit, "api_requests_limit": self.requests_limit,
            "api_rows_per_response_limit": 50_000, "per_second_api_rate_limit": 6,
            "per_minute_api_rate_limit": 60, "per_hour_api_rate_limit": 600},
            "current_usage_period_start": self.period[0].isoformat(),
            "current_usage_period_end": self.period[1].isoformat(),
            "current_period_usage": {"total_requests": self.requests_used,
                                     "total_api_rows_returned": self.rows_used}})

    def _meta(self, dataset: str) -> dict[str, Any]:
        return {"id": dataset, "name": dataset.replace("_", " ").title(), "time_index_column": "interval_start_utc",
                "publish_time_column": None if dataset in self.no_publish_time else "publish_time_utc",
                "data_timezone": "UTC", "all_columns": self.all_columns(dataset)}

    def _metadata(self, req: Request, dataset: str) -> Reply:
        if (refused := self._refused(req)) is not None:
            return refused
        if dataset not in self.datasets:
            return Reply(404, {"detail": f"Dataset {dataset} not found"})
        return Reply(200, self._meta(dataset))

    def _synthetic(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        out, t = [], start.replace(minute=0, second=0, microsecond=0)
        published = start.replace(minute=0, second=0, microsecond=0).isoformat()
        while t < end:
            out.append({"interval_start_utc": t.isoformat(), "interval_end_utc": (t + timedelta(hours=1)).isoformat(),
                        "publish_time_utc": published, self.value_column: synthetic_load(t)})
            t += timedelta(hours=1)
        return out

    @staticmethod
    def _by_publish_time(rows: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
        if how == "latest_report":
            newest = max(r["publish_time_utc"] for r in rows)
            return [r for r in rows if r["publish_time_utc"] == newest]
        if how == "latest":  # for every interval, the row published last
            best: dict[str, dict[str, Any]] = {}
            for r in rows:
                key = r["interval_start_utc"]
                if key not in best or parse_time(r["publish_time_utc"]) >= parse_time(best[key]["publish_time_utc"]):
                    best[key] = r
            return sorted(best.values(), key=lambda r: parse_time(r["interval_start_utc"]))  # type: ignore[arg-type]
        at = parse_time(how)
        return [r for r in rows if parse_time(r["publish_time_utc"]) == at]

    def _query(self, req: Request, dataset: str) -> Reply:
        if (refused := self._refused(req)) is not None:
            return refused
        if dataset not in self.datasets:
            return Reply(404, {"detail": f"Dataset {dataset} not found"})
        q = {k: v[0] for k, v in req.query.items()}
        if 0 <= self.rows_limit <= self.rows_used:
            return Reply(429, {"detail": f"API rows returned limit of {self.rows_limit:,} for this month exceeded."})
        start = parse_time(q.get("start_time")) or datetime(2000, 1, 1, tzinfo=UTC)
        end = parse_time(q.get("end_time")) or datetime(2100, 1, 1, tzinfo=UTC)
        rows = self._synthetic(start, end) if self.rows is None else [
            r for r in self.rows if (t := parse_time(r["interval_start_utc"])) and start <= t < end]
        if self.now is not None:
            rows = [r for r in rows if (parse_time(r["publish_time_utc"]) or self.now) <= self.now]
        if q.get("publish_time"):
            if dataset in self.no_publish_time:
                return Reply(400, {"detail": f"Dataset {dataset} does not have a publish time column"})
            rows = self._by_publish_time(rows, q["publish_time"]) if rows else rows
        paged = select_page(rows, q, {c["name"] for c in self.all_columns(dataset)}, dataset, self.page_size)
        if isinstance(paged, Reply):
            return paged
        page, more, cursor = paged
        self.rows_used += len(page)
        data: list[Any] = page
        if (self.force_schema or q.get("json_schema", "array-of-objects")) == "array-of-arrays":
            header = list(page[0]) if page else []
            data = [header] + [[r[c] for c in header] for r in page]
        return Reply(200, {"status_code": 200, "data": data,
                           "meta": {"page": 1, "limit": None, "page_size": self.page_size, "hasNextPage": more,
                                    "cursor": cursor},
                           "dataset_metadata": self._meta(dataset)})
