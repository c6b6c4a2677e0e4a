"""GridStatus's price and emission datasets for the fake (tests/fakes/gridstatus.py), with the query parameters the
hosted API documents for them (docs.gridstatus.io "Query Parameters"; gridstatusio's get_dataset):
`filter_column` / `filter_value` / `filter_operator` (=) keep the rows of one location; `resample_frequency` ("1 hour")
with `resample_function` (mean) averages the rows server-side into buckets of the time index (resample_by defaults to
it, so locations are averaged together).

- `pjm_lmp_day_ahead_hourly`: hourly rows per location (`location`, `location_type`, `market`, `lmp`, `energy`,
  `congestion`, `loss` in $/MWh; the gridstatusio examples' columns). A day's prices are out from 13:30 New York on the
  day before (PJM posts its day-ahead results in the early afternoon); no publish time column.
- `pjm_marginal_emission_rates_5_min`: five-minute rows per location (`marginal_co2_rate` lbs/MWh), measured, so only
  up to `now`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clients.gridstatus import parse_time
from tests.fakes.gridstatus import FakeGridStatus, metadata_columns, select_page
from tests.fakes.http import Reply, Request

NY = ZoneInfo("America/New_York")
LMP, MER = "pjm_lmp_day_ahead_hourly", "pjm_marginal_emission_rates_5_min"
LOCATIONS = {"PECO": 0.0, "WESTERN HUB": 3.0, "PPL": -2.0}  # each location's offset


def lmp_at(t: datetime, location: str) -> float:
    """$/MWh: about 25 at night, 60 in the evening (New York hours)."""
    h = t.astimezone(NY).hour
    return round(42 + 18 * math.sin((h - 12) / 24 * 2 * math.pi) + LOCATIONS[location], 2)


def mer_at(t: datetime, location: str) -> float:
    """lbs CO₂/MWh by New York hour: coal at night (1500), gas in the day (1000)."""
    h = t.astimezone(NY).hour
    return round(1250 + 250 * math.cos(h / 24 * 2 * math.pi) + 10 * LOCATIONS[location], 1)


class FakeGridStatusMarket(FakeGridStatus):
    def __init__(self) -> None:
        super().__init__(datasets=(LMP, MER))
        self.columns = {
            LMP: [{"name": n, "type": "TIMESTAMP", "is_datetime": True} for n in ("interval_start_utc",
                                                                                   "interval_end_utc")]
            + [{"name": n, "type": "VARCHAR", "is_datetime": False} for n in ("market", "location", "location_type")]
            + [{"name": n, "type": "DOUBLE PRECISION", "is_datetime": False}
               for n in ("lmp", "energy", "congestion", "loss")],
            MER: metadata_columns(["marginal_co2_rate"])[:2]
            + [{"name": "location", "type": "VARCHAR", "is_datetime": False},
               {"name": "marginal_co2_rate", "type": "DOUBLE PRECISION", "is_datetime": False}],
        }
        self.no_publish_time = {LMP, MER}
        self.now = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)

    def _market_rows(self, dataset: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        assert self.now is not None
        rows: list[dict[str, Any]] = []
        if dataset == LMP:
            local = self.now.astimezone(NY)
            out_until = (local.replace(hour=0, minute=0) + timedelta(days=2 if (local.hour, local.minute) >= (13, 30)
                                                                        else 1)).astimezone(UTC)
            t, step = start.replace(minute=0, second=0, microsecond=0), timedelta(hours=1)
            while t < min(end, out_until):
                for loc in LOCATIONS:
                    rows.append({"interval_start_utc": t.isoformat(), "interval_end_utc": (t + step).isoformat(),
                                 "market": "DAY_AHEAD_HOURLY", "location": loc, "location_type": "ZONE",
                                 "lmp": lmp_at(t, loc), "energy": 40.0, "congestion": 0.0, "loss": 0.0})
                t += step
        else:
            t, step = start.replace(second=0, microsecond=0), timedelta(minutes=5)
            t -= timedelta(minutes=t.minute % 5)
            while t < min(end, self.now):
                for loc in LOCATIONS:
                    rows.append({"interval_start_utc": t.isoformat(), "interval_end_utc": (t + step).isoformat(),
                                 "location": loc, "marginal_co2_rate": mer_at(t, loc)})
                t += step
        return rows

    def _query(self, req: Request, dataset: str) -> Reply:
        if (refused := self._refused(req)) is not None:
            return refused
        if dataset not in self.datasets:
            return Reply(404, {"detail": f"Dataset {dataset} not found"})
        q = {k: v[0] for k, v in req.query.items()}
        start = parse_time(q.get("start_time")) or datetime(2000, 1, 1, tzinfo=UTC)
        end = parse_time(q.get("end_time")) or datetime(2100, 1, 1, tzinfo=UTC)
        if q.get("publish_time"):
            return Reply(400, {"detail": f"Dataset {dataset} does not have a publish time column"})
        rows = self._market_rows(dataset, start, end)
        known = {c["name"] for c in self.all_columns(dataset)}
        if q.get("filter_column"):
            if q["filter_column"] not in known:
                return Reply(404, {"detail": f"Column {q['filter_column']} not found in dataset {dataset}"})
            rows = [r for r in rows if str(r[q["filter_column"]]) == q.get("filter_value", "")]
        if q.get("resample_frequency"):
            if q["resample_frequency"] != "1 hour":
                return Reply(400, {"detail": "this fake resamples to '1 hour' only"})
            buckets: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                hour = parse_time(r["interval_start_utc"]).replace(minute=0)  # type: ignore[union-attr]
                buckets[hour.isoformat()].append(r)
            rows = []
            for hour, group in sorted(buckets.items()):
                t = datetime.fromisoformat(hour)
                row = {"interval_start_utc": hour, "interval_end_utc": (t + timedelta(hours=1)).isoformat()}
                for col in ("lmp", "marginal_co2_rate"):
                    if col in group[0]:
                        row[col] = sum(g[col] for g in group) / len(group)
                rows.append(row)
        paged = select_page(rows, q, known, dataset, self.page_size)
        if isinstance(paged, Reply):
            return paged
        page, more, cursor = paged
        self.rows_used += len(page)
        return Reply(200, {"status_code": 200, "data": page,
                           "meta": {"page": 1, "limit": None, "page_size": self.page_size, "hasNextPage": more,
                                    "cursor": cursor}, "dataset_metadata": self._meta(dataset)})
