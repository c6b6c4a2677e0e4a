"""GridStatus's own view of the plan: its limits and this period's use, from `GET /v1/api_usage`, kept on disk.

Why: the free plan's documented limit is rows a month (gridstatusio README: "1 million rows per month"), and the
service knows the limit, the period and what was used (by this daemon and anything else sharing the key) better
than a guess of ours. It is read at the first start, once the period it described has ended, and every
USAGE_EVERY to catch other users of the key; between reads the rows and requests this daemon spends are added
locally. GRIDSTATUS_REQUESTS_PER_MONTH stays as the owner's own cap on top.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from clients.gridstatus import ApiUsage
from clients.private_files import read_json, write_json

USAGE_EVERY = timedelta(days=2)
USAGE_FILE = "grid_usage.json"  # in STATE_DIR: one file for every dataset read with the key


@dataclass
class PlanUsage:
    usage: ApiUsage | None = None  # None: not read yet, or the plan cannot read it (then only our own cap applies)
    read_at: datetime | None = None

    @classmethod
    def load(cls, path: str | Path) -> PlanUsage:
        data = read_json(path)
        if not isinstance(data, dict):
            return cls()
        try:
            if not isinstance(data.get("usage"), dict):  # the plan could not tell: asked again at USAGE_EVERY
                return cls(read_at=_time(data.get("read_at")))
            u = dict(data["usage"])
            for k in ("period_start", "period_end"):
                u[k] = _time(u.get(k))
            return cls(ApiUsage(**u), _time(data.get("read_at")))
        except (TypeError, ValueError):
            return cls()  # a file that cannot be read is read again from the service

    def save(self, path: str | Path) -> None:
        u = asdict(self.usage) if self.usage else None
        if u:
            for k in ("period_start", "period_end"):
                u[k] = u[k].isoformat() if u[k] else None
        write_json(path, {"usage": u, "read_at": self.read_at.isoformat() if self.read_at else None})

    def due(self, now: datetime) -> bool:
        if self.read_at is None or now - self.read_at >= USAGE_EVERY or now < self.read_at:
            return True
        end = self.usage.period_end if self.usage else None
        return end is not None and self.read_at < end <= now  # the period it described is over

    def spent(self, rows: int = 0, requests: int = 0) -> None:
        if self.usage is not None:
            self.usage = ApiUsage(**{**asdict(self.usage), "rows_used": self.usage.rows_used + rows,
                                     "requests_used": self.usage.requests_used + requests})

    @classmethod
    def add(cls, path: str | Path, rows: int = 0, requests: int = 0) -> None:
        """Rows and requests another source spent on the same key (the price or CO₂ datasets), into the file the
        grid forecast reads its allowance from at each tick."""
        plan = cls.load(path)
        if plan.usage is not None:
            plan.spent(rows=rows, requests=requests)
            plan.save(path)

    def period_end(self, now: datetime) -> datetime | None:
        end = self.usage.period_end if self.usage else None
        return end if end is not None and end > now else None

    def fetches_left(self, rows_per_fetch: int, pages_per_fetch: int) -> float | None:
        """How many more forecasts the plan allows this period; None when it sets no limit we know of."""
        if self.usage is None:
            return None
        left: list[float] = []
        if self.usage.rows_limit is not None:
            left.append(max(0, self.usage.rows_limit - self.usage.rows_used) / max(1, rows_per_fetch))
        if self.usage.requests_limit is not None:
            left.append(max(0, self.usage.requests_limit - self.usage.requests_used) / max(1, pages_per_fetch))
        return min(left) if left else None

    def refusal(self, rows_next: int) -> str | None:
        """Why the plan would refuse the next request (its rows or requests this period are used up), or None."""
        u = self.usage
        if u is None:
            return None
        if u.rows_limit is not None and u.rows_used + rows_next > u.rows_limit:
            return (f"the GridStatus {u.plan or 'plan'}'s {u.rows_limit:,} rows this period are used up "
                    f"({u.rows_used:,} used, per /v1/api_usage)")
        if u.requests_limit is not None and u.requests_used >= u.requests_limit:
            return (f"the GridStatus {u.plan or 'plan'}'s {u.requests_limit:,} requests this period are used up "
                    "(per /v1/api_usage)")
        return None


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    dt = datetime.fromisoformat(raw)
    if dt.tzinfo is None:
        raise ValueError("a time without a zone")
    return dt
