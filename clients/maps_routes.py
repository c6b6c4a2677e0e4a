"""Driving distance through the Routes API (`POST /directions/v2:computeRoutes`), the successor of Distance Matrix.

Request/response as in developers.google.com/maps/documentation/routes (compute_route_directions, choose_fields):
addresses as waypoints `{"address": ...}`, `travelMode: DRIVE`, a mandatory `X-Goog-FieldMask` header
(`routes.distanceMeters,routes.duration`), the key in `X-Goog-Api-Key`; the reply is `{"routes": [{"distanceMeters":
12345, "duration": "1234s"}]}` or `{}` when there is no route; errors are `{"error": {"code", "message", "status"}}`.
"""

from __future__ import annotations

import requests

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
        body = {"origin": {"address": origin}, "destination": {"address": destination}, "travelMode": "DRIVE",
                "routingPreference": "TRAFFIC_UNAWARE", "units": "METRIC"}
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
        if resp.status_code == 200 and not isinstance(data, dict):
            # a proxy's or portal's page, or a cut-off body: not Google saying "no route", which would be cached
            raise MapsUnavailableError("Routes API sent a reply that is not JSON")
        if resp.status_code != 200:
            raise self._error(resp.status_code, data if isinstance(data, dict) else {})
        routes = data.get("routes") or []
        if not routes or "distanceMeters" not in routes[0]:
            raise PlaceNotFoundError("Routes API found no driving route to that place")
        r = routes[0]
        return Leg(float(r["distanceMeters"]), float(str(r.get("duration", "0s")).rstrip("s") or 0))

    def _error(self, code: int, data: dict) -> Exception:
        err = data.get("error") or {} if isinstance(data, dict) else {}
        status = str(err.get("status", ""))
        message = " ".join(str(err.get("message", "")).replace(self._key, "***").split())[:200]
        if code in (401, 403) or "API key" in message or "API_KEY" in str(err.get("details", "")):
            return MapsKeyError(f"Routes API refused the key ({status or code}: {message}): enable the Routes API "
                                "for GOOGLE_MAPS_API_KEY in Google Cloud, or set MAPS_API=legacy to use the Distance "
                                "Matrix API instead")
        if code == 400 or code == 404:
            return PlaceNotFoundError(f"Routes API could not route to that place ({status or code}: {message})")
        return MapsUnavailableError(f"Routes API error {code} {status}: {message}".strip())
