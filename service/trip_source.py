"""Upcoming trips: calendar events (Google or iCal) with the drive to each, for the coordinator and `events`.

The calendar is read every tick (cheap, and edits show up at once); when it fails, the last good events are used,
marked stale, for CALENDAR_STALE_HOURS, then dropped; after a failure the calendar is not asked again before the
backoff (service/backoff.py) and the server's Retry-After. Distances come from the cached, budgeted DistanceService.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from charge_logic.models import CalendarEvent, Trip
from clients import places
from clients.calendar_events import CalendarError, CalendarSource, EventRules
from clients.google_calendar import GoogleCalendar
from clients.ical_calendar import ICalCalendar
from clients.maps_legacy import LegacyMapsClient
from clients.maps_routes import RoutesClient
from clients.private_files import read_json, write_json
from service.backoff import Backoff, retry_after_of
from service.client_io import ClientIO
from service.distances import MAPS_BACKOFF_BASE, DistanceService, DriveClient
from service.settings import Settings, SettingsError, is_address
from service.sources import SourceStatus

log = logging.getLogger(__name__)


def _event_json(e: CalendarEvent) -> dict:
    return {"uid": e.uid, "summary": e.summary, "start": e.start.isoformat(), "end": e.end.isoformat(),
            "all_day": e.all_day, "location": e.location}


def _event_from(d: dict) -> CalendarEvent:
    return CalendarEvent(d["uid"], d["summary"], datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"]),
                         bool(d["all_day"]), d.get("location"))


class CalendarTripProvider:
    def __init__(self, calendar: CalendarSource, distances: DistanceService, state_dir: str | Path | None, *,
                 hours: float = 48.0, stale_hours: float = 6.0, backoff: Backoff | None = None) -> None:
        self.calendar = calendar
        self.distances = distances
        self.horizon = timedelta(hours=hours)
        self.stale_after = timedelta(hours=stale_hours)
        self.cache_path = Path(state_dir) / "calendar_cache.json" if state_dir is not None else None
        self.status = SourceStatus("calendar")
        self.backoff = backoff or Backoff()
        if state_dir is not None:
            self.status.retry_at = self.backoff.keep(Path(state_dir) / "backoff.json", "calendar").retry_at
        self._events: list[CalendarEvent] = []
        self._events_at: datetime | None = None
        self._saved_at: datetime | None = None
        self._load()

    @property
    def calendar_status(self) -> SourceStatus:
        return self.status

    @property
    def maps_statuses(self) -> list[SourceStatus]:
        return [self.distances.status]

    @property
    def statuses(self) -> list[SourceStatus]:
        """The calendar's, then the distance source's: the health list."""
        return [self.calendar_status, *self.maps_statuses]

    def _load(self) -> None:
        data = read_json(self.cache_path) if self.cache_path else None
        if not isinstance(data, dict) or data.get("source") != self.calendar.name:
            return
        try:
            self._events = [_event_from(d) for d in data["events"]]
            self._events_at = datetime.fromisoformat(data["fetched_at"])
        except (KeyError, TypeError, ValueError):
            self._events, self._events_at = [], None
            return
        self.status.data_at = self.status.last_success = self._events_at

    def events(self, now: datetime, hours: float | None = None, *, start: datetime | None = None
               ) -> list[CalendarEvent]:
        """Events ending after `start` (default now) and starting within `hours` of it (default CALENDAR_HOURS);
        the last good ones when the calendar fails. Another window than the tick's (`events --from`) is not cached."""
        usual = start is None
        start = now if start is None else start
        until = start + (timedelta(hours=hours) if hours is not None else self.horizon)
        if usual and not self.backoff.ready(now):
            return self._last_good(now, start, until)
        try:
            try:
                events = self.calendar.events(start, until)
            except CalendarError:
                raise
            except Exception as bug:  # a library surprise must not stop the loop: report it like any failure
                log.exception("calendar: unexpected failure")
                raise CalendarError(f"calendar read failed unexpectedly ({type(bug).__name__})") from bug
        except CalendarError as exc:
            log.warning("calendar: %s", exc)
            self.status.failed(exc, now)
            if usual:
                self.status.retry_at = self.backoff.failed(now, retry_after_s=retry_after_of(exc))
            return self._last_good(now, start, until)
        if usual:
            self.backoff.succeeded()
            self.status.retry_at = None
        self.status.succeeded(now)
        problems = getattr(self.calendar, "problems", ())  # what an iCal feed skipped or cut (broken events)
        self.status.warning = "; ".join(problems)[:500] or None
        if not usual:
            return events
        if self.cache_path and (events != self._events or self._saved_at is None
                                or now - self._saved_at >= timedelta(hours=1)):
            write_json(self.cache_path, {"source": self.calendar.name, "fetched_at": now.isoformat(),
                                         "until": until.isoformat(), "events": [_event_json(e) for e in events]})
            self._saved_at = now  # unchanged events are saved hourly only: no disk write every tick
        self._events, self._events_at = events, now
        self.status.data_at = now
        return events

    def _last_good(self, now: datetime, start: datetime, until: datetime) -> list[CalendarEvent]:
        """The last good events while they are younger than CALENDAR_STALE_HOURS, marked stale; then none."""
        self.status.stale = self._events_at is not None
        if self._events_at is None or now - self._events_at > self.stale_after:
            return []
        return [e for e in self._events if e.end > start and e.start < until]

    def get(self, now: datetime, hours: float | None = None, *, start: datetime | None = None) -> list[Trip]:
        """Trips from the calendar window; `now` (the wall clock) stamps caches and budgets whatever the window."""
        trips = []
        for e in self.events(now, hours, start=start):
            route, note = self.distances.route(e.location, now)
            virtual = not places.is_place(e.location)  # no location, a link, "Zoom", a phone number: no drive
            trips.append(Trip(e, route, note, virtual))
        return trips


def choose_calendar(settings: Settings, ics: str | None = None, io: ClientIO = ClientIO()) -> CalendarSource | None:
    """CALENDAR_SOURCE: auto = iCal when ICAL_URL is set, else Google when a token or credentials file exists."""
    rules = EventRules(settings.calendar_include_declined, settings.calendar_include_free)
    timeout = io.timeout(20.0)
    if ics:
        return ICalCalendar(ics, settings.zone, rules, timeout=timeout)
    source = settings.calendar_source
    if source == "none":
        return None
    if source == "ical" or (source == "auto" and settings.ical_url):
        if not settings.ical_url:
            raise SettingsError("CALENDAR_SOURCE=ical needs ICAL_URL (the calendar's secret iCal address or an "
                                ".ics file)")
        local = Path(settings.ical_url.strip()).expanduser()
        if not is_address(settings.ical_url) and not local.is_file():  # a typo no later tick can mend
            raise SettingsError(f"ICAL_URL={settings.ical_url.strip()}: no such file (give an .ics file's path or "
                                "the calendar's secret iCal address)")
        return ICalCalendar(settings.ical_url, settings.zone, rules, timeout=timeout)
    token = settings.google_token_path
    if source == "google" or token.is_file() or Path(settings.google_credentials_file).is_file():
        return GoogleCalendar(token, settings.zone, rules, calendar_id=settings.google_calendar_id,
                              base_url=settings.google_calendar_base_url, timeout=timeout,
                              token_uri=settings.google_token_url or None)
    return None


def make_drive_client(settings: Settings, io: ClientIO = ClientIO()) -> DriveClient | None:
    key = settings.google_maps_api_key
    if not key:
        return None
    if settings.maps_api == "legacy":
        # googlemaps retries a 500/503/504 itself, sleeping about half a second, until retry_timeout has passed
        return LegacyMapsClient(key, settings.maps_base_url, timeout=io.timeout(15.0),
                                retry_timeout=io.timeout(8.0))
    return RoutesClient(key, settings.routes_base_url, timeout=io.timeout(15.0))


def make_trip_provider(settings: Settings, *, ics: str | None = None, interval_min: float = 14.0,
                       io: ClientIO = ClientIO()) -> CalendarTripProvider | None:
    """None when no calendar is configured; `ics` (a file or URL) overrides the configured calendar (its events are
    then not cached, so they never stand in for the real calendar's)."""
    calendar = choose_calendar(settings, ics, io)
    if calendar is None:
        return None
    distances = DistanceService(make_drive_client(settings, io), settings.home_address, settings.state_dir,
                                cache_days=settings.distance_cache_days, calls_per_month=settings.maps_calls_per_month,
                                backoff=Backoff(max(timedelta(minutes=interval_min), MAPS_BACKOFF_BASE),
                                                cap=timedelta(days=1)))
    return CalendarTripProvider(calendar, distances, None if ics else settings.state_dir,
                                hours=settings.calendar_hours, stale_hours=settings.calendar_stale_hours,
                                backoff=Backoff(timedelta(minutes=interval_min)))
