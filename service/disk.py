"""The monthly call budgets kept in STATE_DIR (the files themselves: clients/private_files.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from clients.private_files import read_json, write_json


def _month(now: datetime) -> str:
    """The budget's month, in UTC whatever zone `now` is in (an aware `now` in New York at 20:00 on the 31st is
    already next month's first hour in UTC, where the retry times are computed too)."""
    return (now.astimezone(UTC) if now.tzinfo else now).strftime("%Y-%m")


class MonthlyBudget:
    """Calls made this calendar month (UTC), kept on disk, refused once `limit` is reached."""

    def __init__(self, path: str | Path, limit: int | None) -> None:
        self.path = Path(path)
        self.limit = limit
        data = read_json(self.path) or {}
        self.month: str = str(data.get("month", ""))
        self.count: int = int(data.get("count", 0))

    @staticmethod
    def renews_at(now: datetime) -> datetime:
        """When the budget starts afresh: the first instant of the next UTC month."""
        first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first + timedelta(days=32)).replace(day=1)

    def used(self, now: datetime) -> int:
        return self.count if self.month == _month(now) else 0

    def allows(self, now: datetime, n: int = 1) -> bool:
        return self.limit is None or self.used(now) + n <= self.limit

    def spend(self, now: datetime, n: int = 1) -> None:
        month = _month(now)
        if self.month != month:
            self.month, self.count = month, 0
        self.count += n
        write_json(self.path, {"month": self.month, "count": self.count})
