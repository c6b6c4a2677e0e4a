"""A fake WattTime API v3, from its documentation (docs.watttime.org, the Data API V3 OpenAPI) and the official SDK
(watttime-python-client):

- `GET /login` with HTTP Basic auth answers `{"token": ...}` (401 for a wrong user or password);
- `GET /v3/region-from-loc?latitude&longitude&signal_type` answers `{"region", "region_full_name", "signal_type"}`;
- `GET /v3/forecast?region&signal_type=co2_moer&horizon_hours` answers `{"data": [{"point_time", "value"}...],
  "meta": {"region", "signal_type", "units": "lbs_co2_per_mwh", "generated_at", "data_point_period_seconds": 300,
  "warnings": []}}`, 5-minute points from the current 5 minutes to the horizon;
- data calls need `Authorization: Bearer <token>` (401 without a valid one); a region outside the account's plan is
  refused with 403 (without a plan only CAISO_NORTH answers). Error bodies are not documented; this fake sends
  `{"error": ...}` and the client reads only the status.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta

from tests.fakes.http import FakeServer, Reply, Request

USER, PASSWORD = "wt-user", "wt-password-123"


def moer_at(t: datetime) -> float:
    """lbs CO₂/MWh: cleaner around midday UTC-5 (solar), dirtiest late evening."""
    return round(900 + 250 * math.sin(((t.hour - 5) % 24 - 18) / 24 * 2 * math.pi), 1)


class FakeWattTime(FakeServer):
    def __init__(self, regions: tuple[str, ...] = ("PJM_DC", "CAISO_NORTH")) -> None:
        super().__init__()
        self.regions = set(regions)
        self.now = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
        self.tokens: set[str] = set()
        self.route("GET", r"/login", self._login)
        self.route("GET", r"/v3/region-from-loc", self._region)
        self.route("GET", r"/v3/forecast", self._forecast)

    def _login(self, req: Request) -> Reply:
        auth = req.headers.get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if not ok:
            return Reply(401, {"error": "Unauthorized"})
        token = f"tok{len(self.tokens) + 1}"
        self.tokens.add(token)
        return Reply(200, {"token": token})

    def _authorized(self, req: Request) -> bool:
        return req.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens

    def _region(self, req: Request) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "Unauthorized"})
        return Reply(200, {"region": "PJM_DC", "region_full_name": "PJM DC", "signal_type": "co2_moer"})

    def _forecast(self, req: Request) -> Reply:
        if not self._authorized(req):
            return Reply(401, {"error": "Unauthorized"})
        q = {k: v[0] for k, v in req.query.items()}
        if q.get("region") not in self.regions:
            return Reply(403, {"error": "You do not have access to this region"})
        horizon = int(q.get("horizon_hours", "24"))
        t0 = self.now.astimezone(UTC).replace(second=0, microsecond=0)
        t0 -= timedelta(minutes=t0.minute % 5)
        data, t = [], t0
        while t < t0 + timedelta(hours=horizon):
            data.append({"point_time": t.isoformat(), "value": moer_at(t)})
            t += timedelta(minutes=5)
        return Reply(200, {"data": data, "meta": {
            "region": q["region"], "signal_type": q.get("signal_type"), "model": {"date": "2026-03-01"},
            "units": "lbs_co2_per_mwh", "generated_at": t0.isoformat(), "generated_at_period_seconds": 300,
            "data_point_period_seconds": 300, "warnings": []}})
