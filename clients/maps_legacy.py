"""Driving distance through the legacy Distance Matrix API with the `googlemaps` package (base_url= points it at any
host). Kept for Cloud projects that enabled it earlier: as of October 2026 it can no longer be enabled for new
projects (developers.google.com/maps/documentation/distance-matrix/overview), so MAPS_API=routes is the default.

`OVER_DAILY_LIMIT` is not "try later": Google's status list says the key is missing or invalid, billing is not
enabled, a self-imposed cap is exceeded, or the payment method is no longer valid; it is a key error (one line naming
the fix, at most one call a day), unlike OVER_QUERY_LIMIT (too many requests), which a later try can cure.

googlemaps (client.py, `_request`) retries 500/503/504 itself with jittered sleeps until `retry_timeout` has passed,
then raises its Timeout; it parses the body with `response.json()` and `body["status"]` outside its own error types,
so a non-JSON or odd reply would escape as ValueError/KeyError. A requests response hook (on the session we hand it)
remembers the last status and Retry-After, so those cases get an honest message.
"""

from __future__ import annotations

from typing import Any

import googlemaps
import googlemaps.exceptions as gx
import requests

from clients.http_text import retry_after_s, with_retry_after
from clients.maps_errors import Leg, MapsKeyError, MapsUnavailableError, PlaceNotFoundError


class LegacyMapsClient:
    name = "Distance Matrix API"

    def __init__(self, key: str, base_url: str = "https://maps.googleapis.com", *, timeout: float = 15.0,
                 retry_timeout: float = 8.0) -> None:
        self._key = key
        self._last: tuple[int, float | None] | None = None  # (status, Retry-After) of the last HTTP reply
        session = requests.Session()
        session.hooks["response"].append(self._seen)
        self.client = googlemaps.Client(key=key, base_url=base_url.rstrip("/"), timeout=timeout,
                                        retry_timeout=retry_timeout, retry_over_query_limit=False,
                                        requests_session=session)

    def _seen(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last = (resp.status_code, retry_after_s(resp.headers))

    def drive(self, origin: str, destination: str) -> Leg:
        self._last = None
        try:
            reply = self.client.distance_matrix(origins=[origin], destinations=[destination], mode="driving",
                                                units="metric")
        except gx.ApiError as exc:
            message = " ".join(str(exc.message or "").replace(self._key, "***").split())[:200]
            if exc.status == "REQUEST_DENIED":
                raise MapsKeyError(f"Distance Matrix API refused the key (REQUEST_DENIED: {message}): set "
                                   "MAPS_API=routes and enable the Routes API for GOOGLE_MAPS_API_KEY (new Cloud "
                                   "projects cannot enable the legacy Distance Matrix API)") from None
            if exc.status == "OVER_DAILY_LIMIT":
                raise MapsKeyError("Distance Matrix API answered OVER_DAILY_LIMIT: fix GOOGLE_MAPS_API_KEY or its "
                                   "Google Cloud project's billing (no billing, an expired card or a daily cap; "
                                   f"retried once a day): {message[:80]}") from None
            if exc.status in ("INVALID_REQUEST", "NOT_FOUND", "ZERO_RESULTS", "MAX_ELEMENTS_EXCEEDED"):
                raise PlaceNotFoundError(f"Distance Matrix could not route to that place ({exc.status})") from None
            raise MapsUnavailableError(f"Distance Matrix error {exc.status}: {message}") from None
        except gx.Timeout:
            if self._last is not None and self._last[0] >= 500:  # googlemaps retried 5xx until retry_timeout
                raise MapsUnavailableError(f"Distance Matrix API kept answering HTTP {self._last[0]}") from None
            raise MapsUnavailableError("Distance Matrix API did not answer in time") from None
        except gx.HTTPError as exc:
            raise self._http_error(int(exc.status_code)) from None
        except gx.TransportError as exc:
            why = type(exc.base_exception).__name__ if exc.base_exception is not None else type(exc).__name__
            raise MapsUnavailableError(f"Distance Matrix API unreachable: {why}") from None
        except (ValueError, KeyError, TypeError):  # googlemaps' own parsing of a reply that is not its JSON
            raise MapsUnavailableError("Distance Matrix API sent a reply that is not its JSON") from None
        try:
            element = reply["rows"][0]["elements"][0]
        except (KeyError, IndexError, TypeError):
            raise PlaceNotFoundError("Distance Matrix sent no result for that place") from None
        if element.get("status") != "OK":
            raise PlaceNotFoundError(f"Distance Matrix could not route to that place ({element.get('status')})")
        try:
            return Leg(float(element["distance"]["value"]), float(element["duration"]["value"]))
        except (KeyError, TypeError, ValueError):
            raise MapsUnavailableError("Distance Matrix sent a result without distance and duration") from None

    def _http_error(self, code: int) -> Exception:
        retry = self._last[1] if self._last is not None and self._last[0] == code else None
        if code in (401, 403):
            return MapsKeyError(f"Distance Matrix API refused the request (HTTP {code}): check GOOGLE_MAPS_API_KEY "
                                "and that the Distance Matrix API is enabled for it")
        if code == 429:
            return with_retry_after(MapsUnavailableError("Distance Matrix API rate limit (HTTP 429); will retry "
                                                         "later"), retry)
        return with_retry_after(MapsUnavailableError(f"Distance Matrix API answered HTTP {code}"), retry)
