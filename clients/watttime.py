"""A thin client for WattTime's API v3: the marginal CO₂ forecast (co2_moer) of the owner's grid region.

Wire format (docs.watttime.org, the OpenAPI of the Data API V3; the official SDK watttime-python-client, api.py):
- `GET /login` with HTTP Basic auth (user name, password) answers `{"token": "..."}`, a bearer token valid 30 minutes;
  a data call answering 401 wants a new one.
- `GET /v3/region-from-loc?latitude=..&longitude=..&signal_type=co2_moer` answers `{"region": "PJM_DC",
  "region_full_name": ..., "signal_type": "co2_moer"}`.
- `GET /v3/forecast?region=..&signal_type=co2_moer&horizon_hours=0..72` answers `{"data": [{"point_time":
  "2026-04-01T00:00:00+00:00", "value": 870.2}, ...], "meta": {"region", "signal_type", "units": "lbs_co2_per_mwh",
  "generated_at", "data_point_period_seconds": 300, "warnings": [...]}}`.
- /v3/forecast is for subscribers; without a plan only region CAISO_NORTH answers (the docs' introduction). A region
  the account may not read is refused (403). Limits: 3,000 requests in 5 minutes, /login 100 in 5 minutes; past them
  429. Error bodies are not documented: the status code decides here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from clients.http_text import readable, retry_after_s, with_retry_after

TOKEN_S = 30 * 60 - 60  # a token is used up to a minute before its 30 minutes run out


class WattTimeError(Exception):
    """One line naming what to fix; never the password or the token. `needs_fix`: a setting or the plan must change."""

    needs_fix = False
    retry_after_s: float | None = None


class WattTimeAuthError(WattTimeError):
    needs_fix = True


class WattTimeAccessError(WattTimeError):
    needs_fix = True


class WattTimeUnavailableError(WattTimeError):
    pass


@dataclass(frozen=True)
class Forecast:
    region: str
    units: str
    generated_at: datetime | None
    points: tuple[tuple[datetime, float], ...]  # (point time UTC, value in `units`)


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


class WattTimeClient:
    """`before_request` is called before every request (the monthly budget); it may raise. `clock` is monotonic
    seconds, for the token's age."""

    def __init__(self, username: str, password: str, base_url: str = "https://api.watttime.org", *,
                 timeout: float = 20.0, session: requests.Session | None = None,
                 before_request: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not username or not password:
            raise WattTimeAuthError("WATTTIME_USERNAME and WATTTIME_PASSWORD are needed for CO2_SOURCE=watttime")
        self._auth = (username, password)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.before_request = before_request
        self.clock = clock
        self._token: str | None = None
        self._token_at = 0.0

    def region_from_loc(self, latitude: float, longitude: float) -> str:
        body = self._data("/v3/region-from-loc", {"latitude": str(latitude), "longitude": str(longitude),
                                                  "signal_type": "co2_moer"})
        region = body.get("region")
        if not isinstance(region, str) or not region:
            raise WattTimeUnavailableError("WattTime sent no region for HOME_LATITUDE / HOME_LONGITUDE")
        return region

    def forecast(self, region: str, horizon_hours: int = 72) -> Forecast:
        body = self._data("/v3/forecast", {"region": region, "signal_type": "co2_moer",
                                           "horizon_hours": str(horizon_hours)})
        data = body.get("data")
        meta: dict[str, Any] = body["meta"] if isinstance(body.get("meta"), dict) else {}
        if not isinstance(data, list):
            raise WattTimeUnavailableError("WattTime sent a forecast without data")
        points = []
        for row in data:
            at = _time(row.get("point_time")) if isinstance(row, dict) else None
            value = row.get("value") if isinstance(row, dict) else None
            if at is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                points.append((at, float(value)))
        return Forecast(str(meta.get("region") or region), str(meta.get("units") or "lbs_co2_per_mwh"),
                        _time(meta.get("generated_at")), tuple(sorted(points)))

    # ------------------------------------------------------------------ plumbing
    def _login(self) -> str:
        resp = self._send("/login", {}, auth=self._auth)
        if resp.status_code in (401, 403):
            raise WattTimeAuthError(f"WattTime refused the sign-in ({resp.status_code}): check WATTTIME_USERNAME and "
                                    "WATTTIME_PASSWORD")
        body = self._json(resp, "sign-in")
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise WattTimeAuthError("WattTime's sign-in gave no token: check WATTTIME_USERNAME and WATTTIME_PASSWORD")
        self._token, self._token_at = token, self.clock()
        return token

    def _data(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        for attempt in range(2):
            if self._token is None or self.clock() - self._token_at > TOKEN_S:
                self._login()
            resp = self._send(path, params, headers={"Authorization": f"Bearer {self._token}"})
            if resp.status_code == 401 and attempt == 0:  # the token ran out early: sign in once more
                self._token = None
                continue
            if resp.status_code == 403:
                raise WattTimeAccessError(f"WattTime does not let this account read {params.get('region') or path} "
                                          "(403): the forecast needs a plan for that region (without one only "
                                          "CAISO_NORTH answers); check WATTTIME_REGION")
            if resp.status_code == 401:
                raise WattTimeAuthError("WattTime refused the token twice (401): check WATTTIME_USERNAME and "
                                        "WATTTIME_PASSWORD")
            return self._json(resp, path)
        raise AssertionError("unreachable")

    def _send(self, path: str, params: dict[str, str], **kw: Any) -> requests.Response:
        if self.before_request:
            self.before_request()
        try:
            return self.session.get(self.base_url + path, params=params, timeout=self.timeout, **kw)
        except requests.Timeout:
            raise WattTimeUnavailableError(f"WattTime did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise WattTimeUnavailableError(f"WattTime unreachable: {type(exc).__name__}") from None

    def _json(self, resp: requests.Response, what: str) -> dict[str, Any]:
        if resp.status_code == 429:
            raise with_retry_after(WattTimeUnavailableError("WattTime rate limit (429); will retry later"),
                                   retry_after_s(resp.headers))
        if resp.status_code == 400:
            raise WattTimeAccessError(f"WattTime refused the request for {what} (400: {self._text(resp)}): check "
                                      "WATTTIME_REGION")
        if resp.status_code != 200:
            raise with_retry_after(WattTimeUnavailableError(f"WattTime error {resp.status_code}: {self._text(resp)}"),
                                   retry_after_s(resp.headers))
        try:
            body = resp.json()
        except ValueError:
            raise WattTimeUnavailableError(f"WattTime sent a reply that is not JSON ({self._text(resp)})") from None
        if not isinstance(body, dict):
            raise WattTimeUnavailableError("WattTime sent an unexpected reply")
        return body

    def _text(self, resp: requests.Response) -> str:
        text = readable(resp.text, 120)
        for secret in (*self._auth, self._token or ""):
            if secret:
                text = text.replace(secret, "***")
        return text or resp.reason or "no details"
