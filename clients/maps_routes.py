"""Driving distance through the Routes API (`POST /directions/v2:computeRoutes`), the successor of Distance Matrix.

Request/response as in developers.google.com/maps/documentation/routes (compute_route_directions, choose_fields):
addresses as waypoints `{"address": ...}`, `travelMode: DRIVE`, a mandatory `X-Goog-FieldMask` header
(`routes.distanceMeters,routes.duration`), the key in `X-Goog-Api-Key`; the reply is `{"routes": [{"distanceMeters":
12345, "duration": "1234s"}]}` or `{}` when there is no route; errors are `{"error": {"code", "message", "status"}}`.
The reply is proto3 JSON (protobuf.dev/programming-guides/json: fields holding their default value are omitted), so a
route of 0 m (an event at home) comes as a route without `distanceMeters`: that is 0 km, not "no route".
"""

from __future__ import annotations

from typing import Any

import requests

from clients.http_text import readable, retry_after_s, with_retry_after
from clients.maps_errors import Leg, MapsKeyError, MapsUnavailableError, PlaceNotFoundError

FIELD_MASK = "routes.distanceMeters,routes.duration"


class RoutesClient:
    name = "Routes API"

    def __init__(self, key: str, base_url: str = "https://routes.googleapis.com", *, timeout: float = 15.0,
                 session: requests.Session | None = None) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def drive(self, origin: str, destination: str) -> Leg:
        body: dict[str, Any] = {"origin": {"address": origin}, "destination": {"address": destination},
                                "travelMode": "DRIVE", "routingPreference": "TRAFFIC_UNAWARE", "units": "METRIC"}
        try:
            resp = self.session.post(f"{self.base_url}/directions/v2:computeRoutes", json=body, timeout=self.timeout,
                                     headers={"X-Goog-Api-Key": self._key, "X-Goog-FieldMask": FIELD_MASK})
        except requests.Timeout:
            raise MapsUnavailableError(f"Routes API did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise MapsUnavailableError(f"Routes API unreachable: {type(exc).__name__}") from None
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code != 200:
            raise with_retry_after(self._error(resp.status_code, data, resp.text), retry_after_s(resp.headers))
        if not isinstance(data, dict):  # not "no route": an unreadable reply must not be cached as one
            raise MapsUnavailableError(f"Routes API sent a reply that is not its JSON ({readable(resp.text, 60)})")
        routes = data.get("routes") or []
        if not isinstance(routes, list) or not routes or not isinstance(routes[0], dict):
            raise PlaceNotFoundError("Routes API found no driving route to that place")
        r = routes[0]
        try:  # proto3 JSON leaves out zeros: a route without distanceMeters (or duration) is 0 m (or 0 s) long
            return Leg(float(r.get("distanceMeters", 0)), float(str(r.get("duration", "0s")).rstrip("s") or 0))
        except (TypeError, ValueError):
            raise MapsUnavailableError("Routes API sent a route without a readable distance and duration") from None

    def _error(self, code: int, data: object, text: str) -> Exception:
        err = (data.get("error") or {}) if isinstance(data, dict) else {}
        err = err if isinstance(err, dict) else {}
        status = str(err.get("status", ""))
        message = str(err.get("message", "")) if err else readable(text, 120)
        message = " ".join(message.replace(self._key, "***").split())[:200]
        if code in (401, 403) or "API key" in message or "API_KEY" in str(err.get("details", "")):
            return MapsKeyError(f"Routes API refused the key ({status or code}: {message}): enable the Routes API "
                                "and billing for GOOGLE_MAPS_API_KEY's Google Cloud project (MAPS_API=legacy only "
                                "helps a project that enabled the Distance Matrix API before Oct 2026)")
        if code in (400, 404) and not err:  # not Google's error JSON: a proxy or a wrong base URL, not the place
            return MapsUnavailableError(f"Routes API answered {code} with {message or 'no details'}: check "
                                        "ROUTES_BASE_URL")
        if code in (400, 404):
            return PlaceNotFoundError(f"Routes API could not route to that place ({status or code}: {message})")
        if code == 429:
            return MapsUnavailableError(f"Routes API rate limit (429 {status}: {message}); will retry later")
        return MapsUnavailableError(f"Routes API error {code}{' ' + status if status else ''}: "
                                    f"{message or 'no details'}")
