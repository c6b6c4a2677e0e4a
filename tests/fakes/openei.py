"""A fake OpenEI Utility Rate Database API: `GET /utility_rates` as documented for version 7
(openei.org/services/doc/rest/util_rates): `version`, `format=json`, `api_key`, `getpage=<label>`; `detail=full` for the
rate structures (the default, minimal, leaves them out); `{"items": [rate]}`, `{"items": []}` for an unknown label.
Key errors in the api.data.gov gateway's format (api.data.gov/docs/developer-manual):
`{"error": {"code": "API_KEY_INVALID", "message": ...}}` with 403, OVER_RATE_LIMIT with 429.

SAMPLE_RATE is written for the tests in URDB's shape; it is not any utility's rate.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.http import FakeServer, Reply, Request

KEY = "openei-test-key-0123456789"
LABEL = "5f0c1e0a5457a3a12c4e1d2b"

_OFF, _PEAK, _SUMMER_PEAK = 0, 1, 2
_summer = [_OFF] * 16 + [_SUMMER_PEAK] * 5 + [_OFF] * 3  # 16:00-21:00
_winter = [_OFF] * 16 + [_PEAK] * 5 + [_OFF] * 3
SAMPLE_RATE: dict[str, Any] = {
    "label": LABEL, "utility": "Example Electric Co", "name": "Residential TOU-EV (test)", "sector": "Residential",
    "startdate": 1704067200, "uri": f"https://apps.openei.org/USURDB/rate/view/{LABEL}",
    "energyratestructure": [
        [{"max": 500, "unit": "kWh", "rate": 0.11, "adj": 0.01}, {"unit": "kWh", "rate": 0.14, "adj": 0.01}],
        [{"unit": "kWh", "rate": 0.30, "adj": 0.01}],
        [{"unit": "kWh", "rate": 0.42, "adj": 0.01}],
    ],
    "energyweekdayschedule": [_winter] * 5 + [_summer] * 4 + [_winter] * 3,  # Jun-Sep summer
    "energyweekendschedule": [[_OFF] * 24] * 12,
    "fixedchargefirstmeter": 10.0, "fixedchargeunits": "$/month",
}


class FakeOpenEI(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.reset()
        self.route("GET", r"/utility_rates", self._rates)

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.rates: dict[str, dict[str, Any]] = {LABEL: copy.deepcopy(SAMPLE_RATE)}

    def _rates(self, req: Request) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        if not q.get("api_key"):
            return Reply(403, {"error": {"code": "API_KEY_MISSING",
                                         "message": "No api_key was supplied. Get one at https://api.openei.org"}})
        if q["api_key"] != KEY:
            return Reply(403, {"error": {"code": "API_KEY_INVALID",
                                         "message": "An invalid api_key was supplied. Get one at https://api.openei.org"}})
        if q.get("version") not in {"3", "4", "5", "6", "7", "latest"} or q.get("format") not in {"json", "json_plain"}:
            return Reply(400, {"error": {"code": "BAD_REQUEST", "message": "version and format are required"}})
        rate = self.rates.get(q.get("getpage", ""))
        if rate is None:
            return Reply(200, {"items": []})
        if q.get("detail") != "full":
            rate = {k: v for k, v in rate.items() if not k.endswith(("structure", "schedule"))}
        return Reply(200, {"items": [rate]})
