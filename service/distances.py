"""Drive distance to an event's place, cached per destination for DISTANCE_CACHE_DAYS and capped per month.

A destination costs one Maps call per DISTANCE_CACHE_DAYS at most (a place that cannot be found is remembered too);
a refused key stops all calls for a day; other failures stop all calls for the backoff (service/backoff.py: from an
hour, doubling, a day at most; the server's Retry-After honoured), while cached distances are still used.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from charge_logic.models import Route
from clients import places
from clients.maps_errors import Leg, MapsError, MapsKeyError, PlaceNotFoundError
from clients.private_files import read_json, write_json
from service.backoff import Backoff, retry_after_of
from service.disk import MonthlyBudget
from service.sources import SourceStatus

log = logging.getLogger(__name__)

NO_KEY_NOTE = "distance unknown: no GOOGLE_MAPS_API_KEY set"
NO_HOME_NOTE = "distance unknown: TESLA_HOME_ADDRESS is not set"
NOT_A_PLACE_NOTE = "no drive: the location is not a place (online meeting, phone or link)"
NO_LOCATION_NOTE = "no drive: the event has no location"
MAPS_BACKOFF_BASE = timedelta(hours=1)  # distances are cached for weeks: a failing Maps can wait


class DriveClient(Protocol):
    name: str

    def drive(self, origin: str, destination: str) -> Leg: ...


class DistanceService:
    def __init__(self, client: DriveClient | None, home: str, state_dir: str | Path, *, cache_days: float = 30.0,
                 calls_per_month: int | None = 300, backoff: Backoff | None = None) -> None:
        self.client = client
        self.home = home.strip()
        state = Path(state_dir)
        self.cache_path = state / "distance_cache.json"
        self.cache_for = timedelta(days=cache_days)
        self.budget = MonthlyBudget(state / "maps_budget.json", calls_per_month)
        self.status = SourceStatus("maps", budget_month=calls_per_month)  # no key is a choice, not a failure
        self.backoff = (backoff or Backoff(MAPS_BACKOFF_BASE, cap=timedelta(days=1))).keep(state / "backoff.json",
                                                                                        "maps")
        self.status.retry_at = self.backoff.retry_at
        data = read_json(self.cache_path)
        ok = isinstance(data, dict) and data.get("home") == places.normalize(self.home) and \
            isinstance(data.get("entries"), dict)
        self.entries: dict[str, dict] = data["entries"] if ok else {}

    def _save(self, now: datetime) -> None:
        self.entries = {k: v for k, v in self.entries.items()
                        if now - datetime.fromisoformat(v["at"]) < self.cache_for}
        write_json(self.cache_path, {"home": places.normalize(self.home), "entries": self.entries})

    def route(self, location: str | None, now: datetime) -> tuple[Route | None, str | None]:
        """(route, None), or (None, a note the reasons can show)."""
        self.status.calls_month = self.budget.used(now)
        if not location or not location.strip():
            return None, NO_LOCATION_NOTE
        if not places.is_place(location):
            return None, NOT_A_PLACE_NOTE
        if self.client is None:
            return None, NO_KEY_NOTE
        if not self.home:
            return None, NO_HOME_NOTE
        key = places.normalize(location)
        hit = self.entries.get(key)
        if hit and now - datetime.fromisoformat(hit["at"]) < self.cache_for:
            if hit.get("km") is None:
                return None, f"distance unknown: {hit.get('note') or 'place not found'}"
            return Route(hit["km"], hit["min"]), None
        if not self.backoff.ready(now):
            return None, f"distance unknown: {self.status.last_error}"
        if not self.budget.allows(now):
            self.status.failed(f"Maps budget of {self.budget.limit} calls this month reached (MAPS_CALLS_PER_MONTH)",
                               now)
            self.status.retry_at = self.budget.renews_at(now)
            return None, "distance unknown: Maps monthly budget reached"
        self.budget.spend(now)
        self.status.calls_month = self.budget.used(now)
        try:
            leg = self.client.drive(self.home, location.strip())
        except PlaceNotFoundError as exc:
            self.entries[key] = {"at": now.isoformat(), "km": None, "min": None, "note": str(exc)[:200]}
            self._save(now)
            return None, f"distance unknown: {exc}"
        except Exception as exc:  # MapsError, or a library surprise: never stop the loop over a distance
            if not isinstance(exc, MapsError):
                log.exception("maps: unexpected failure")
                exc = MapsError(f"Maps call failed unexpectedly ({type(exc).__name__})")
            log.warning("maps: %s", exc)
            self.status.failed(exc, now, stale=bool(self.entries))  # cached distances stand in meanwhile
            self.status.retry_at = self.backoff.failed(
                now, retry_after_s=retry_after_of(exc),
                at_least=now + timedelta(days=1) if isinstance(exc, MapsKeyError) else None)
            return None, f"distance unknown: {exc}"
        route = Route(round(leg.distance_m / 1000, 2), round(leg.duration_s / 60, 1))
        self.entries[key] = {"at": now.isoformat(), "km": route.distance_km, "min": route.drive_minutes}
        self._save(now)
        self.status.succeeded(now, data_at=now, forget_error=True)
        self.status.retry_at = None
        self.backoff.succeeded()
        return route, None
