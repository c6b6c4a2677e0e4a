"""Driving distance through the legacy Distance Matrix API with the `googlemaps` package (base_url= points it at any
host). Kept for keys that only have the legacy APIs enabled; new keys should use the Routes API (MAPS_API=routes)."""

from __future__ import annotations

import googlemaps
import googlemaps.exceptions as gx

from clients.maps_errors import Leg, MapsKeyError, MapsUnavailableError, PlaceNotFoundError


class LegacyMapsClient:
    name = "Distance Matrix API"

    def __init__(self, key: str, base_url: str = "https://maps.googleapis.com", *, timeout: float = 15.0,
                 retry_timeout: float = 8.0) -> None:
        self._key = key
        self.client = googlemaps.Client(key=key, base_url=base_url.rstrip("/"), timeout=timeout,
                                        retry_timeout=retry_timeout, retry_over_query_limit=False)

    def drive(self, origin: str, destination: str) -> Leg:
        try:
            reply = self.client.distance_matrix(origins=[origin], destinations=[destination], mode="driving",
                                                units="metric")
        except gx.ApiError as exc:
            message = " ".join(str(exc.message or "").replace(self._key, "***").split())[:200]
            if exc.status == "REQUEST_DENIED":
                raise MapsKeyError(f"Distance Matrix API refused the key (REQUEST_DENIED: {message}): enable the "
                                   "Distance Matrix API for GOOGLE_MAPS_API_KEY, or set MAPS_API=routes to use the "
                                   "Routes API instead") from None
            if exc.status in ("INVALID_REQUEST", "NOT_FOUND", "ZERO_RESULTS", "MAX_ELEMENTS_EXCEEDED"):
                raise PlaceNotFoundError(f"Distance Matrix could not route to that place ({exc.status})") from None
            raise MapsUnavailableError(f"Distance Matrix error {exc.status}: {message}") from None
        except gx.Timeout:
            raise MapsUnavailableError("Distance Matrix API did not answer in time") from None
        except (gx.TransportError, gx.HTTPError) as exc:
            raise MapsUnavailableError(f"Distance Matrix API unreachable: {type(exc).__name__}") from None
        try:
            element = reply["rows"][0]["elements"][0]
        except (KeyError, IndexError, TypeError):
            raise PlaceNotFoundError("Distance Matrix sent no result for that place") from None
        if element.get("status") != "OK":
            raise PlaceNotFoundError(f"Distance Matrix could not route to that place ({element.get('status')})")
        return Leg(float(element["distance"]["value"]), float(element["duration"]["value"]))
