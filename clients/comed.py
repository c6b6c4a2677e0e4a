"""A thin client for ComEd's Hourly Pricing feeds (public, no key): the 5-minute prices and the day-ahead hourly prices.

Wire format:
- documented (hourlypricing.comed.com/hp-api, "5-Minute Price Data API"): `GET /api?type=5minutefeed` (the last 24 h)
  or with `datestart` / `dateend` as YYYYMMDDhhmm (Central time), `format=json` (the default); the reply is a JSON list
  of `{"millisUTC": "1434686700000", "price": "2.0"}` — strings, the price in cents per kWh, newest first.
  `type=currenthouraverage` answers the same shape with one row. A customer on hourly pricing pays, for supply, the
  hour's average of its twelve 5-minute prices.
- the day-ahead prices (the site's "Tomorrow's Prices" page): `GET /rrtp/ServletFeed?type=daynexttoday&date=YYYYMMDD`
  answers a JavaScript array, `[[Date.UTC(2026,9,4,0,0,0), 3.6], ...]`: 24 wall-clock Chicago hours of that day (the
  month zero-based, as JavaScript's Date.UTC takes it), the price in cents per kWh. It is not in the API page; the
  site's own charts read it, and so do the open-source tools that plan on it. Day-ahead prices are a forecast of what
  the hour will cost: the bill uses the real-time hourly price.
Errors are plain HTTP statuses with an HTML body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from clients.http_text import readable, retry_after_s, with_retry_after

CHICAGO = ZoneInfo("America/Chicago")
_DAY_AHEAD = re.compile(r"Date\.UTC\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*\d+\s*){0,2}\)\s*,\s*"
                        r"(-?\d+(?:\.\d+)?)\s*\]")


class ComEdError(Exception):
    """One line naming what went wrong. `needs_fix` never: the feeds are public."""

    needs_fix = False
    retry_after_s: float | None = None


class ComEdUnavailableError(ComEdError):
    pass


def _cents(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ComEdUnavailableError(f"ComEd sent a price that is not a number ({readable(str(raw), 20)})") from None


class ComEdClient:
    """`before_request` is called before every request (the monthly budget); it may raise."""

    def __init__(self, base_url: str = "https://hourlypricing.comed.com", *, timeout: float = 20.0,
                 session: requests.Session | None = None, before_request: Callable[[], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.before_request = before_request

    def five_minute(self, start: datetime | None = None, end: datetime | None = None) -> list[tuple[datetime, float]]:
        """(interval start UTC, cents/kWh) of the 5-minute prices, oldest first (the last 24 h without a range)."""
        params = {"type": "5minutefeed", "format": "json"}
        if start is not None and end is not None:
            params["datestart"] = f"{start.astimezone(CHICAGO):%Y%m%d%H%M}"
            params["dateend"] = f"{end.astimezone(CHICAGO):%Y%m%d%H%M}"
        body = self._get("/api", params)
        try:
            rows = body.json() if body.text.strip() else []
        except ValueError:
            raise ComEdUnavailableError(f"ComEd sent 5-minute prices that are not JSON "
                                        f"({readable(body.text, 60)})") from None
        if not isinstance(rows, list):
            raise ComEdUnavailableError("ComEd sent 5-minute prices that are not a list")
        out = []
        for r in rows:
            if not isinstance(r, dict) or "millisUTC" not in r:
                continue
            try:
                at = datetime.fromtimestamp(int(r["millisUTC"]) / 1000, UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            out.append((at, _cents(r.get("price"))))
        return sorted(out)

    def day_ahead(self, day: date) -> list[tuple[datetime, float]]:
        """(hour start UTC, cents/kWh) of the day-ahead prices of a Chicago calendar day; [] before they are out."""
        body = self._get("/rrtp/ServletFeed", {"type": "daynexttoday", "date": f"{day:%Y%m%d}"})
        out: list[tuple[datetime, float]] = []
        for m in _DAY_AHEAD.finditer(body.text):
            y, mo, d, h = (int(m[i]) for i in range(1, 5))
            try:
                local = datetime(y, mo + 1, d, h % 24, tzinfo=CHICAGO)
            except ValueError:
                continue
            at = local.astimezone(UTC)
            if out and at <= out[-1][0]:  # the autumn clock change lists 1 a.m. twice: the second is the next hour
                at = out[-1][0] + timedelta(hours=1)
            out.append((at, float(m[5])))
        return out

    def _get(self, path: str, params: dict[str, str]) -> requests.Response:
        if self.before_request:
            self.before_request()
        try:
            resp = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise ComEdUnavailableError(f"ComEd did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise ComEdUnavailableError(f"ComEd unreachable: {type(exc).__name__}") from None
        if resp.status_code != 200:
            what = "rate limit" if resp.status_code == 429 else f"error {resp.status_code}"
            raise with_retry_after(ComEdUnavailableError(f"ComEd {what}: {readable(resp.text, 80) or resp.reason}"),
                                   retry_after_s(resp.headers))
        return resp
