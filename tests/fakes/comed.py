"""A fake ComEd Hourly Pricing site, answering as its documented API does (hourlypricing.comed.com/hp-api):

- `GET /api?type=5minutefeed[&datestart=YYYYMMDDhhmm&dateend=...][&format=json]`: a JSON list of
  `{"millisUTC": "<ms>", "price": "<cents>"}`, strings, newest first (the last 24 h without a range, Central time
  bounds with one); `type=currenthouraverage`: the same shape, one row;
- `GET /rrtp/ServletFeed?type=daynexttoday&date=YYYYMMDD`: the day-ahead prices the site's charts read, a JavaScript
  array `[[Date.UTC(2026,10,24,0,0,0), 2.4], ...]` of 24 wall-clock Chicago hours (month zero-based), cents per kWh;
  a day whose prices are not out yet (tomorrow before 16:30 Chicago here) answers `[]`.
Unknown types answer 400 with an HTML page, as a plain web server does. `now` sets the fake's clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.fakes.http import FakeServer, Reply, Request

CHICAGO = ZoneInfo("America/Chicago")


def cents_at(t: datetime) -> float:
    """A price shape in ¢/kWh: about 2 ¢ at night, 6 ¢ in the early evening (Chicago)."""
    h = t.astimezone(CHICAGO).hour
    return round(4.0 + 2.0 * math.sin((h - 11) / 24 * 2 * math.pi), 1)


class FakeComEd(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
        self.route("GET", r"/api", self._api)
        self.route("GET", r"/rrtp/ServletFeed", self._servlet)

    def _api(self, req: Request) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        now = self.now.astimezone(UTC).replace(second=0, microsecond=0)
        now -= timedelta(minutes=now.minute % 5)
        if q.get("type") == "currenthouraverage":
            hour = now.replace(minute=0)
            return Reply(200, [{"millisUTC": str(int(now.timestamp() * 1000)), "price": str(cents_at(hour))}])
        if q.get("type") != "5minutefeed":
            return Reply(400, "<html><body><h1>Bad Request</h1></body></html>", {"Content-Type": "text/html"})
        start, end = now - timedelta(hours=24), now
        if q.get("datestart") and q.get("dateend"):
            start = datetime.strptime(q["datestart"], "%Y%m%d%H%M").replace(tzinfo=CHICAGO).astimezone(UTC)
            end = min(end, datetime.strptime(q["dateend"], "%Y%m%d%H%M").replace(tzinfo=CHICAGO).astimezone(UTC))
        rows, t = [], end
        while t >= start:
            rows.append({"millisUTC": str(int(t.timestamp() * 1000)), "price": str(cents_at(t))})
            t -= timedelta(minutes=5)
        return Reply(200, rows)

    def _servlet(self, req: Request) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        if q.get("type") != "daynexttoday" or not q.get("date"):
            return Reply(400, "<html><body><h1>Bad Request</h1></body></html>", {"Content-Type": "text/html"})
        day = datetime.strptime(q["date"], "%Y%m%d").replace(tzinfo=CHICAGO)
        local_now = self.now.astimezone(CHICAGO)
        tomorrow = day.date() == local_now.date() + timedelta(days=1)
        published = day.date() <= local_now.date() or (tomorrow and (local_now.hour, local_now.minute) >= (16, 30))
        if not published:
            return Reply(200, "[]", {"Content-Type": "text/html"})
        rows = []
        for h in range(24):
            local = day.replace(hour=h)
            rows.append(f"[Date.UTC({local.year},{local.month - 1},{local.day},{h},0,0), {cents_at(local)}]")
        return Reply(200, "[" + ", ".join(rows) + "]", {"Content-Type": "text/html"})
