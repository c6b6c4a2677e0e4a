"""A fake GridStatus.io: `/v1/datasets/{id}/query` with x-api-key, latest_report, columns, cursor paging, {"detail"}."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from clients.gridstatus import parse_time
from tests.fakes.http import FakeServer, Reply, Request

KEY = "gs-test-key"


def synthetic_load(start: datetime) -> float:
    """A daily load shape: 80 GW at 4 am UTC-ish, 100 GW in the evening."""
    return round(90000 + 10000 * math.sin((start.hour - 10) / 24 * 2 * math.pi), 1)


class FakeGridStatus(FakeServer):
    def __init__(self, *, page_size: int = 500, datasets: tuple[str, ...] = ("pjm_load_forecast",),
                 value_column: str = "load_forecast") -> None:
        super().__init__()
        self.page_size, self.datasets, self.value_column = page_size, set(datasets), value_column
        self.reset()
        self.route("GET", r"/v1/datasets/(?P<dataset>[^/]+)/query", self._query)

    def reset(self) -> None:
        """Back to a healthy server with an empty log (one server can serve a whole test module)."""
        with self.lock:
            self.log.clear()
            self.rows: list[dict[str, Any]] | None = None  # explicit rows (with publish_time_utc); None = synthetic
            self.errors: list[Reply] = []  # replies sent, one per request, before any normal answer
            self.force_schema: str | None = None  # answer in this json_schema whatever was asked

    def start(self) -> FakeGridStatus:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # headers and body go out as two writes
        return self

    def _synthetic(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        out, t = [], start.replace(minute=0, second=0, microsecond=0)
        published = start.replace(minute=0, second=0, microsecond=0).isoformat()
        while t < end:
            out.append({"interval_start_utc": t.isoformat(), "interval_end_utc": (t + timedelta(hours=1)).isoformat(),
                        "publish_time_utc": published, self.value_column: synthetic_load(t)})
            t += timedelta(hours=1)
        return out

    def _query(self, req: Request, dataset: str) -> Reply:
        if self.errors:
            return self.errors.pop(0)
        if req.headers.get("x-api-key") != KEY:
            return Reply(401, {"detail": "Invalid API key."})
        if dataset not in self.datasets:
            return Reply(404, {"detail": f"Dataset {dataset} not found"})
        q = {k: v[0] for k, v in req.query.items()}
        start = parse_time(q.get("start_time")) or datetime(2000, 1, 1, tzinfo=UTC)
        end = parse_time(q.get("end_time")) or datetime(2100, 1, 1, tzinfo=UTC)
        rows = self._synthetic(start, end) if self.rows is None else [
            r for r in self.rows if (t := parse_time(r["interval_start_utc"])) and start <= t < end]
        if q.get("publish_time") == "latest_report" and rows:
            latest = max(r["publish_time_utc"] for r in rows)
            rows = [r for r in rows if r["publish_time_utc"] == latest]
        if q.get("columns"):
            cols = q["columns"].split(",")
            for c in cols:
                if rows and c not in rows[0]:
                    return Reply(404, {"detail": f"Column {c} not found in dataset {dataset}"})
            rows = [{c: r.get(c) for c in cols} for r in rows]
        offset = int(base64.b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
        page = rows[offset:offset + self.page_size]
        more = offset + self.page_size < len(rows)
        cursor = base64.b64encode(str(offset + self.page_size).encode()).decode() if more else None
        data: list[Any] = page
        if (self.force_schema or q.get("json_schema", "array-of-objects")) == "array-of-arrays":
            header = list(page[0]) if page else []
            data = [header] + [[r[c] for c in header] for r in page]
        return Reply(200, {"status_code": 200, "data": data,
                           "meta": {"page": 1, "limit": None, "page_size": self.page_size, "hasNextPage": more,
                                    "cursor": cursor},
                           "dataset_metadata": {"id": dataset, "time_index_column": "interval_start_utc",
                                                "publish_time_column": "publish_time_utc"}})
