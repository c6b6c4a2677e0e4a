"""A fake Google Maps: legacy Distance Matrix and Directions (`/maps/api/...`, key in the query, status in the body)
and the Routes API (`POST /directions/v2:computeRoutes`, X-Goog-Api-Key, mandatory X-Goog-FieldMask, google.rpc errors).

The Routes reply is proto3 JSON, so fields at their default value are left out (protobuf.dev/programming-guides/json):
a 0 m route has no `distanceMeters`. `over_daily_limit` makes the legacy APIs answer OVER_DAILY_LIMIT, Google's status
for a missing or invalid key, no billing, an exceeded self-imposed cap or an invalid payment method.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.http import FakeServer, Reply, Request

KEY = "AIza-test-maps-key"

# destination (lowercased) -> (metres, seconds)
PLACES = {
    "planet fitness, 100 main st, springfield ma": (12345, 1260),
    "south station, boston ma": (145000, 6600),
    "gym annex, 5 elm st, springfield ma": (13000, 1320),
    "acadia national park, me": (480000, 18000),
    "dentist, 12 oak ave": (8000, 900),
    "1 home rd, springfield ma": (0, 0),  # home itself: a 0 m route
}
OVER_DAILY_LIMIT_MESSAGE = ("You have exceeded your daily request quota for this API. If you did not set a custom "
                            "daily request quota, verify your project has an active billing account: "
                            "http://g.co/dev/maps-no-account")


def proto3_json(message: dict[str, Any]) -> dict[str, Any]:
    """What a proto3 JSON printer sends: scalar fields holding 0, "" or false, and empty lists, are left out."""
    return {k: v for k, v in message.items() if v not in (0, "", False, [], None)}


def _find(dest: str) -> tuple[int, int] | None:
    return PLACES.get(" ".join(dest.lower().split()))


class FakeMaps(FakeServer):
    def reset(self) -> None:
        """Back to a healthy server with an empty log (one server can serve a whole test module)."""
        with self.lock:
            self.log.clear()
            self.legacy_enabled = True
            self.routes_enabled = True
            self.over_daily_limit = False
            self.errors: list[Reply] = []

    def start(self) -> FakeMaps:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # headers and body go out as two writes
        return self

    def __init__(self) -> None:
        super().__init__()
        self.reset()
        self.route("GET", r"/maps/api/distancematrix/json", self._matrix)
        self.route("GET", r"/maps/api/directions/json", self._directions)
        self.route("POST", r"/directions/v2:computeRoutes", self._routes)

    def calls(self) -> list[Request]:
        """Every billable call, legacy or Routes."""
        return [r for r in self.log if r.path.startswith("/maps/api/") or r.path.startswith("/directions/v2")]

    def _legacy_denied(self, req: Request) -> Reply | None:
        if req.query.get("key", [""])[0] != KEY:
            return Reply(200, {"status": "REQUEST_DENIED", "error_message": "The provided API key is invalid."})
        if self.over_daily_limit:
            return Reply(200, {"status": "OVER_DAILY_LIMIT", "error_message": OVER_DAILY_LIMIT_MESSAGE,
                               "rows": []})
        if not self.legacy_enabled:
            return Reply(200, {"status": "REQUEST_DENIED", "error_message": "You're calling a legacy API, which is "
                               "not enabled for your project. To get newer features and more functionality, switch "
                               "to the Places API (New) or Routes API."})
        return self.errors.pop(0) if self.errors else None

    def _matrix(self, req: Request) -> Reply:
        if (denied := self._legacy_denied(req)) is not None:
            return denied
        dests = req.query["destinations"][0].split("|")
        elements: list[dict[str, Any]] = []
        for d in dests:
            hit = _find(d)
            elements.append({"status": "NOT_FOUND"} if hit is None else {
                "status": "OK", "distance": {"text": f"{hit[0] / 1000:.1f} km", "value": hit[0]},
                "duration": {"text": f"{hit[1] // 60} mins", "value": hit[1]}})
        return Reply(200, {"status": "OK", "origin_addresses": req.query["origins"],
                           "destination_addresses": dests, "rows": [{"elements": elements}]})

    def _directions(self, req: Request) -> Reply:
        if (denied := self._legacy_denied(req)) is not None:
            return denied
        hit = _find(req.query["destination"][0])
        if hit is None:
            return Reply(200, {"status": "NOT_FOUND", "routes": [], "geocoded_waypoints": []})
        return Reply(200, {"status": "OK", "routes": [{"legs": [{"distance": {"value": hit[0]},
                                                                  "duration": {"value": hit[1]}}]}]})

    def _routes(self, req: Request) -> Reply:
        if req.headers.get("X-Goog-Api-Key") != KEY:
            return Reply(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                         "status": "INVALID_ARGUMENT",
                                         "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                      "reason": "API_KEY_INVALID"}]}})
        if not self.routes_enabled:
            return Reply(403, {"error": {"code": 403, "message": "Routes API has not been used in project 123 before "
                                         "or it is disabled.", "status": "PERMISSION_DENIED"}})
        if not req.headers.get("X-Goog-FieldMask"):
            return Reply(400, {"error": {"code": 400, "message": "FieldMask is a required parameter.",
                                         "status": "INVALID_ARGUMENT"}})
        if self.errors:
            return self.errors.pop(0)
        body = req.json()
        if body.get("travelMode") != "DRIVE":
            return Reply(400, {"error": {"code": 400, "message": "travelMode", "status": "INVALID_ARGUMENT"}})
        hit = _find(body["destination"]["address"])
        if hit is None:
            return Reply(200, {})
        route = {"distanceMeters": hit[0], "duration": f"{hit[1]}s", "polyline": {"encodedPolyline": "abc"}}
        mask = req.headers["X-Goog-FieldMask"].split(",")
        return Reply(200, {"routes": [proto3_json({k: v for k, v in route.items() if f"routes.{k}" in mask})]})
