"""A month of the real daemon against the fakes, with faults: the engine behind tests/test_soak.py and scripts/soak.py.

The real Coordinator, VehicleLink, GridForecastProvider and DistanceService, with the backends a user can pick
(`Backends`: TESLA_BACKEND fleet or teslapy, the calendar from ICAL_URL or the Google Calendar API, MAPS_API routes or
legacy), run 14-minute ticks on an injected clock against the fakes of those services (tests/fakes/): FleetVehicle or
OwnerVehicle (teslapy) against the Fleet or Owner API fake, ICalCalendar or GoogleCalendar (google-api-python-client)
against the iCal host or the Calendar API fake, RoutesClient or LegacyMapsClient (googlemaps) against the Maps fake.
Every fake answers a seeded share of its requests with a fault in that service's own wire format (5xx, an HTML error
page, a cut-off JSON body, 429 with Retry-After, a reply slower than the client's short timeout; 401 and 408 on the
Tesla APIs; an expired access token (401) and 403 rateLimitExceeded on Calendar; UNKNOWN_ERROR and OVER_QUERY_LIMIT
in a 200 body on the legacy Maps API); sign-in endpoints of Google stay healthy (google-auth retries them with real
sleeps). The car goes offline for hours and now and then reports null fields. What the car was asked (wakes,
commands) is recorded by the fake at the moment it arrives, with the car's state then, so "woken while unplugged" and
"a command it already had" are judged from the car's side, not from the client's counters. Nothing sleeps but
googlemaps' own retry of a 500/503 (about half a second, real): the clients' Retry-After waits are injected and only
added up.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import threading
import time
import traceback
from bisect import bisect_right
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from charge_logic.charge_schedules import SCHEDULER_ID
from clients import tesla_owner
from clients.google_calendar import SCOPES
from clients.tesla_fleet import save_token, token_path
from clients.vehicle import Vehicle
from scheduler import make_coordinator
from service.client_io import ClientIO
from service.settings import Settings, load_settings
from service.site import Site
from service.state_file import HISTORY_DAYS
from service.state_schema import FIRST_CAR, car_section
from tests.clock import Clock
from tests.fakes import google_calendar as fg
from tests.fakes import gridstatus as gs
from tests.fakes import maps as fm
from tests.fakes.google_calendar import FakeGoogle, google_error
from tests.fakes.gridstatus import FakeGridStatus
from tests.fakes.http import Reply, Request
from tests.fakes.ical import FakeICal
from tests.fakes.maps import FakeMaps
from tests.fakes.tesla_car import LEGACY_FIRMWARE, PROXY_REFUSAL, FakeCar, FakeTesla, new_firmware
from tests.fakes.tesla_fleet import FakeFleetApi
from tests.fakes.tesla_owner import FakeOwnerApi

NY = ZoneInfo("America/New_York")
START = datetime(2026, 10, 20, 0, 3, tzinfo=NY)  # across the end of DST (Nov 1) and a month's turn
TICK = timedelta(minutes=14)
CLIENT_TIMEOUT_S = 0.1  # every client's read timeout in the soak; a "timeout" fault answers after SLOW_S
SLOW_S = 0.25
HOME = "1 Home Rd, Springfield MA"
WORK_LAT_LON = (40.3, -74.6)  # where the owner's own weekday schedule applies (a 2026 car)
COMMANDS_PER_SESSION_MAX = 2  # billed commands a plug-in session may cost (issue 15)
FLEET_USD_PER_CAR_MONTH_MAX = 0.50  # ...and Fleet API billing a car a month, every reply below 500 counted

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//soak//EN
BEGIN:VEVENT
UID:gym
SUMMARY:Gym
DTSTART;TZID=America/New_York:20261019T183000
DTEND;TZID=America/New_York:20261019T193000
RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR
LOCATION:Planet Fitness\\, 100 Main St\\, Springfield MA
END:VEVENT
BEGIN:VEVENT
UID:call
SUMMARY:Team call
DTSTART;TZID=America/New_York:20261020T090000
DTEND;TZID=America/New_York:20261020T100000
RRULE:FREQ=WEEKLY;BYDAY=TU
LOCATION:https://meet.google.com/abc-defg-hij
END:VEVENT
BEGIN:VEVENT
UID:boston
SUMMARY:Day in Boston
DTSTART;TZID=America/New_York:20261024T070000
DTEND;TZID=America/New_York:20261024T180000
RRULE:FREQ=WEEKLY;BYDAY=SA
LOCATION:South Station\\, Boston MA
END:VEVENT
BEGIN:VEVENT
UID:dentist
SUMMARY:Dentist
DTSTART;TZID=America/New_York:20261022T140000
DTEND;TZID=America/New_York:20261022T150000
RRULE:FREQ=WEEKLY;BYDAY=TH
END:VEVENT
BEGIN:VEVENT
UID:nowhere
SUMMARY:Somewhere unknown
DTSTART;TZID=America/New_York:20261023T110000
DTEND;TZID=America/New_York:20261023T120000
RRULE:FREQ=WEEKLY;BYDAY=FR
LOCATION:1 Nowhere Lane\\, Atlantis
END:VEVENT
BEGIN:VEVENT
UID:holiday
SUMMARY:Family day
DTSTART;VALUE=DATE:20261025
DTEND;VALUE=DATE:20261026
RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU
END:VEVENT
BEGIN:VEVENT
UID:acadia
SUMMARY:Acadia weekend
DTSTART;TZID=America/New_York:20261106T160000
DTEND;TZID=America/New_York:20261108T200000
LOCATION:Acadia National Park\\, ME
END:VEVENT
END:VCALENDAR
"""

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
HTML_200 = "<!DOCTYPE html><html><body><h1>Sign in to the hotel Wi-Fi</h1></body></html>"
GOOGLE_502 = ("<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 (Server Error)!!1</title>\n"
              "  <p><b>502.</b> <ins>That\u2019s an error.</ins>\n  <p>The server encountered a temporary error and "
              "could not complete your request.<p>Please try again in 30 seconds.  <ins>That\u2019s all we know.</ins>")
EMAIL = "owner@example.com"


@dataclass(frozen=True)
class Backends:
    """Which backends the daemon runs with: the choices a user makes in .env."""

    tesla: str = "fleet"  # TESLA_BACKEND: fleet (Fleet API) or teslapy (Owner API)
    calendar: str = "ical"  # ical (ICAL_URL) or google (Calendar API, CALENDAR_SOURCE=google)
    maps: str = "routes"  # MAPS_API: routes (Routes API) or legacy (Distance Matrix via googlemaps)

    CHOICES = {"tesla": ("fleet", "teslapy"), "calendar": ("ical", "google"), "maps": ("routes", "legacy")}

    def __post_init__(self) -> None:
        for part, choices in self.CHOICES.items():
            if getattr(self, part) not in choices:
                raise ValueError(f"{part} backend {getattr(self, part)!r} is not known: it takes "
                                 f"{' or '.join(choices)}")

    @classmethod
    def parse(cls, text: str) -> Backends:
        """'fleet,ical,routes' (TESLA_BACKEND, calendar, MAPS_API); 'owner' is read as teslapy."""
        parts = [p.strip().lower() for p in text.split(",")]
        if len(parts) != 3:
            raise ValueError(f"{text!r}: give three backends, TESLA_BACKEND,calendar,MAPS_API, e.g. fleet,ical,routes")
        tesla, calendar, maps = parts
        return cls("teslapy" if tesla == "owner" else tesla, calendar, maps)

    def __str__(self) -> str:
        return f"{self.tesla},{self.calendar},{self.maps}"


FLEET_ICAL_ROUTES = Backends()
OWNER_GOOGLE_LEGACY = Backends("teslapy", "google", "legacy")


# ---------------------------------------------------------------------- faults, as each API would send them
Fault = Callable[[random.Random], Reply]


def _tesla_error(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"response": None, "error": text, "error_description": ""}, headers or {})


def _common(error: Callable[[int, str, dict[str, str] | None], Reply], *, html_502: str = HTML_502,
            cut: str = '{"response": {"state": "onl') -> dict[str, Fault]:
    return {
        "500": lambda r: error(500, "internal server error", None),
        "503": lambda r: error(503, "upstream unavailable", None),
        "html_502": lambda r: Reply(502, html_502, {"Content-Type": "text/html"}),
        "html_200": lambda r: Reply(200, HTML_200, {"Content-Type": "text/html"}),
        "bad_json": lambda r: Reply(200, cut, {"Content-Type": "application/json"}),
        "429": lambda r: error(429, "Too Many Requests. Limit: 6 per 1 second",
                               {"Retry-After": str(r.choice([1, 5, 30, 120]))}),
        "timeout": lambda r: Reply(200, {}, delay_s=SLOW_S),
    }


# The Owner API and the Fleet API answer errors in one shape (the Fleet API kept the Owner API's).
TESLA_FAULTS = {**_common(_tesla_error),
                "401": lambda r: _tesla_error(401, "invalid bearer token"),
                "408": lambda r: _tesla_error(408, "vehicle unavailable: vehicle is offline or asleep")}
GRID_FAULTS = _common(lambda s, t, h=None: Reply(s, {"detail": t}, h or {}))
MAPS_FAULTS = _common(lambda s, t, h=None: Reply(s, {"error": {"code": s, "message": t, "status": "UNAVAILABLE"}},
                                                 h or {}))
ICAL_FAULTS = {**_common(lambda s, t, h=None: Reply(s, t, h or {})),
               "truncated": lambda r: Reply(200, ICS[: len(ICS) // 2], {"Content-Type": "text/calendar"})}


def _google(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    reply = google_error(status, {500: "Backend Error", 503: "The service is currently unavailable.",
                                  429: "Rate Limit Exceeded"}.get(status, text),
                         {500: "INTERNAL", 503: "UNAVAILABLE", 429: "RESOURCE_EXHAUSTED"}.get(status, "UNKNOWN"))
    reply.headers.update(headers or {})
    return reply


# Calendar API v3 (developers.google.com/calendar/api/guides/errors): a 401 is an access token that expired (the
# fake forgets the token, so google-auth must really refresh it), rate limits come as 403 rateLimitExceeded or 429.
GOOGLE_FAULTS = {**_common(_google, html_502=GOOGLE_502, cut='{"kind": "calendar#events", "items": [{"id": "gy'),
                 "401": lambda r: Reply(401, {"error": {"code": 401, "message": "Invalid Credentials", "errors": [
                     {"domain": "global", "reason": "authError", "message": "Invalid Credentials",
                      "locationType": "header", "location": "Authorization"}]}}),
                 "403_rate": lambda r: Reply(403, {"error": {"code": 403, "message": "Rate Limit Exceeded", "errors": [
                     {"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}]}})}


def _legacy(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"status": "OVER_QUERY_LIMIT" if status == 429 else "UNKNOWN_ERROR", "error_message": text, "rows": []}
    return Reply(status, body, headers or {})


# The legacy web services answer most errors with HTTP 200 and a status in the body
# (developers.google.com/maps/documentation/distance-matrix/distance-matrix#DistanceMatrixStatus).
LEGACY_MAPS_FAULTS = {**_common(_legacy, html_502=GOOGLE_502, cut='{"destination_addresses": ["South Sta'),
                      "unknown_error": lambda r: Reply(200, {"destination_addresses": [], "origin_addresses": [],
                                                             "rows": [], "status": "UNKNOWN_ERROR"}),
                      "over_query_limit": lambda r: Reply(200, {
                          "destination_addresses": [], "origin_addresses": [], "rows": [],
                          "error_message": "You have exceeded your rate-limit for this API.",
                          "status": "OVER_QUERY_LIMIT"})}


class Faulty:
    """Mixed into a fake: a seeded share of the requests whose path matches `fault_path` get a fault instead."""

    fault_rate = 0.0
    fault_path = r".*"
    fault_kinds: dict[str, Callable[[random.Random], Reply]] = {}

    def inject_faults(self, rng: random.Random, rate: float, kinds: dict[str, Callable[[random.Random], Reply]],
               clock: Callable[[], datetime], path: str = r".*") -> None:
        self.fault_rng, self.fault_rate, self.fault_kinds, self.fault_path = rng, rate, kinds, path
        self.clock = clock
        self.faults_served: Counter[str] = Counter()
        self.times: list[datetime] = []  # simulated time of each request

    def dispatch(self, req: Request) -> Reply:
        if self.fault_rate and re.search(self.fault_path, req.path):
            self.times.append(self.clock())
            self.before(req)
            if self.fault_rng.random() < self.fault_rate:
                kind = self.fault_rng.choice(sorted(self.fault_kinds))
                self.faults_served[kind] += 1
                self.faulted(kind, req)
                return self.fault_kinds[kind](self.fault_rng)
        return super().dispatch(req)  # type: ignore[misc]

    def before(self, req: Request) -> None:
        pass

    def faulted(self, kind: str, req: Request) -> None:
        pass


class SoakGrid(Faulty, FakeGridStatus):
    pass


class SoakMaps(Faulty, FakeMaps):
    pass


class SoakICal(Faulty, FakeICal):
    pass


# Google's OAuth token endpoint (RFC 6749 5.2 error JSON; a proxy's page when it is down): google-auth tries a
# refresh 3 times with real sleeps of 1 and 2 s, so these come rarely.
TOKEN_FAULTS = {"token_503": lambda r: Reply(503, {"error": "temporarily_unavailable",
                                                   "error_description": "The service is currently unavailable."}),
                "token_html_502": lambda r: Reply(502, GOOGLE_502, {"Content-Type": "text/html"})}


class SoakGoogle(Faulty, FakeGoogle):
    """An expired access token is one Google no longer takes: google-auth has to refresh it for real. Now and then
    the token endpoint itself is down."""

    token_fault_rate = 0.0

    def dispatch(self, req: Request) -> Reply:
        if self.token_fault_rate and req.path == "/token" and self.fault_rng.random() < self.token_fault_rate:
            kind = self.fault_rng.choice(sorted(TOKEN_FAULTS))
            self.faults_served[kind] += 1
            return TOKEN_FAULTS[kind](self.fault_rng)
        return super().dispatch(req)

    def faulted(self, kind: str, req: Request) -> None:
        if kind == "401":
            auth = req.headers.get("authorization") or req.headers.get("Authorization") or ""
            self.valid_tokens.discard(auth.removeprefix("Bearer "))


class SoakCar(FakeCar):
    """A FakeCar that now and then answers vehicle_data with some fields null (as Tesla does after an update), and
    adds up what charging put into the battery (driving happens outside advance())."""

    null_rate = 0.0
    charged_pct = 0.0

    def advance(self, delta: timedelta | float) -> None:
        before = self.battery
        super().advance(delta)
        self.charged_pct += max(0.0, self.battery - before)
    NULLABLE = ("battery_level", "charging_state", "charge_limit_soc", "charge_current_request",
                "charge_current_request_max", "scheduled_charging_mode", "conn_charge_cable", "charger_voltage")

    def vehicle_data(self, endpoints: str | None) -> dict[str, Any]:
        data = super().vehicle_data(endpoints)
        if self.null_rate and self.null_rng.random() < self.null_rate:
            cs = data.get("charge_state") or {}
            keys = self.null_rng.sample(self.NULLABLE, self.null_rng.randint(1, 4))
            for key in keys:
                cs[key] = None
            self.null_replies += 1
            self.null_log.append((self.now, keys))
        return data


@dataclass
class CarCall:
    at: datetime
    kind: str  # "wake" or a command name
    plugged: bool
    duplicate: bool
    args: dict[str, Any]
    status: int = 0  # the HTTP status it was answered with (a fault's, or the car's); below 500 Tesla bills it
    refusal: str = ""  # the car's reason when it answered result false (behind the proxy: after PROXY_REFUSAL)


class CarCalls(Faulty):
    """Mixed into a Tesla fake: records every wake and command as it arrives, with what the car held then."""

    car: FakeCar
    car_calls: list[CarCall]
    data_reads: list[datetime]  # when each vehicle_data request came, on the car's clock
    list_times: list[datetime]  # ...and each vehicle-list request

    def start(self) -> CarCalls:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # headers and body go out as two writes
        return self

    def dispatch(self, req: Request) -> Reply:
        seen = len(self.car_calls)
        reply = super().dispatch(req)
        if len(self.car_calls) > seen:
            call = self.car_calls[-1]
            call.status = reply.status
            response = reply.body.get("response") if isinstance(reply.body, dict) else None
            if isinstance(response, dict) and response.get("result") is False:
                call.refusal = str(response.get("reason") or "").removeprefix(PROXY_REFUSAL)
        return reply

    def before(self, req: Request) -> None:
        car = self.car
        if req.path.endswith("/vehicle_data"):
            self.data_reads.append(car.now)
        elif req.path in ("/api/1/vehicles", "/api/1/products"):
            self.list_times.append(car.now)
        if req.path.endswith("/wake_up"):
            self.car_calls.append(CarCall(car.now, "wake", car.plugged, False, {}))
        elif "/command/" in req.path:
            name = req.path.rsplit("/", 1)[1]
            try:
                args = req.json() or {}
            except ValueError:
                args = {}
            dup = _already(car, name, args)
            prev = self.car_calls[-1] if self.car_calls else None
            if dup and name == "charge_start" and prev and prev.kind == "set_charge_limit" and prev.at == car.now:
                # A car that was Complete resumes by itself when its limit is raised; the daemon cannot know that
                # it will (a schedule may hold it), so the start that follows a raise is deliberate, not a repeat.
                name = "charge_start after a limit raise"
                dup = False
            self.car_calls.append(CarCall(car.now, name, car.plugged, dup, args))


class SoakFleet(CarCalls, FakeFleetApi):
    pass


class SoakOwner(CarCalls, FakeOwnerApi):
    pass


def _already(car: FakeCar, name: str, args: dict[str, Any]) -> bool:
    """True when the command asks for what the car already has."""
    if name == "set_charging_amps":
        return int(args.get("charging_amps", -1)) == car.amps
    if name == "set_charge_limit":
        return int(args.get("percent", -1)) == car.limit
    if name == "charge_start":
        return car.charging_state in ("Charging", "Complete")
    if name == "charge_stop":
        return car.charging_state != "Charging"
    if name == "set_scheduled_departure":
        return (car.scheduled_mode == "DepartBy" and car.departure_min == args.get("departure_time")
                and car.off_peak == bool(args.get("off_peak_charging_enabled"))
                and car.off_peak_end_min == args.get("end_off_peak_time"))
    if name == "set_scheduled_charging":
        return car.scheduled_mode == ("StartAt" if args.get("enable") else "Off") and (
            not args.get("enable") or car.start_time_min == args.get("time"))
    if name == "add_charge_schedule":  # the same schedule again (its id, times, kind and place)
        have = next((x for x in car.schedules if x["id"] == int(args.get("id") or 0)), None)
        return have is not None and all(have[k] == args.get(k) for k in (
            "start_enabled", "start_time", "end_enabled", "end_time", "one_time", "enabled")) and (
            abs(have["latitude"] - float(args.get("lat") or 0)) < 1e-4
            and abs(have["longitude"] - float(args.get("lon") or 0)) < 1e-4)
    if name == "remove_charge_schedule":  # a schedule the car no longer has
        return all(x["id"] != int(args.get("id") or 0) for x in car.schedules)
    return False


# ---------------------------------------------------------------------- the report
@dataclass
class SoakReport:
    days: int
    seed: int
    backends: Backends = FLEET_ICAL_ROUTES
    ticks: int = 0
    crashes: list[str] = field(default_factory=list)
    restarts: int = 0
    state_reads_after_tick: int = 0
    unreadable_after_tick: int = 0
    concurrent_reads: int = 0
    unreadable_concurrent: int = 0
    history_gaps: int = 0  # ticks after which history was not exactly one entry per tick of the last 7 days
    history_len: int = 0
    history_expected: int = 0
    wakes_unplugged: int = 0
    commands_unplugged: int = 0
    duplicate_commands: list[str] = field(default_factory=list)
    starts_after_raise: int = 0
    tesla: dict[str, int] = field(default_factory=dict)
    tesla_cost_usd: float = 0.0  # every billed reply: vehicle lists and data ($0.002), commands, wakes
    tesla_list_cost_usd: float = 0.0  # ...of which the vehicle lists (Fleet API)
    wakes_max_day: int = 0
    commands_max_day: int = 0
    wakes_budget_day: int = 0
    commands_budget_day: int = 0
    grid_by_month: dict[str, int] = field(default_factory=dict)
    grid_budget_month: int = 0
    maps_by_month: dict[str, int] = field(default_factory=dict)
    maps_budget_month: int = 0
    calendar_requests: int = 0
    calendar_token_refreshes: int = 0  # Google: after an expired access token (401)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    null_replies: int = 0
    offline_spells: int = 0
    retry_after_slept_s: float = 0.0
    retry_after_max_s: float = 0.0
    plug_ins: int = 0
    charged_by_departure: int = 0  # mornings the car left with at least 50 % (of those it was plugged in overnight)
    mornings_plugged: int = 0
    trips_without_distance: int = 0  # ticks where a known place had no distance
    known_place_not_found: int = 0  # ticks where a place Maps knows was shown as not found (a fault cached)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    # a car on firmware 2024.26+ (charge schedules), behind tesla-http-proxy's reply shapes
    firmware: str = LEGACY_FIRMWARE
    owner_schedules: int = 0  # the owner's own schedules in the car at the start
    owner_schedules_touched: int = 0  # commands that changed or removed one, and ticks after which one differed
    schedule_duplicate_ticks: int = 0  # ticks after which the car held more than one schedule not the owner's
    scheduler_schedules_max: int = 0  # the most schedules not the owner's the car held after any tick
    schedule_writes: int = 0  # add_charge_schedule commands billed
    schedule_removes: int = 0  # remove_charge_schedule commands billed
    schedule_starts: int = 0  # times the car started charging by the scheduler's schedule, by itself
    refusals: dict[str, int] = field(default_factory=dict)  # the car's "result": false reasons, by reason
    sessions: int = 0  # plug-ins, and the one under way at the start
    commands_per_session: list[int] = field(default_factory=list)  # billed commands (status < 500) per session
    car_calls: list[CarCall] = field(default_factory=list, repr=False)  # every wake and command, as the car saw it
    tesla_cost_month_usd: float = 0.0  # the month's Fleet API bill for this car, scaled to 30 days

    @property
    def tesla_cost_month_besides_list_usd(self) -> float:
        """The month's bill without the vehicle lists: what the daemon's reads, wakes and commands cost."""
        return round((self.tesla_cost_usd - self.tesla_list_cost_usd) * 30 / self.days, 2)
    # the daemon down for outage_hours from an evening the car is plugged in; only the car's clock runs
    outage_hours: float = 0.0
    outage_from: str = ""
    outage_requests: int = 0  # requests any fake got meanwhile (none: the daemon is down)
    outage_schedule_starts: int = 0  # the car's own starts by the scheduler's schedule meanwhile
    outage_charged_pct: float = 0.0  # what charging put into the battery meanwhile
    outage_departures: list[int] = field(default_factory=list)  # battery % at each morning's unplug meanwhile
    plug_times: list[datetime] = field(default_factory=list, repr=False)  # each session's start
    # minutes from each plug-in (after the start) to the daemon's first vehicle_data request: how late it noticed
    plug_seen_min: list[float] = field(default_factory=list)
    plug_unseen: int = 0  # plug-ins whose session ended (or the month did) before any read
    lists_month_learned: int = 0  # vehicle lists a month, counted from day 10 on (the household's hours learned)
    trace: list[TraceRow] = field(default_factory=list, repr=False)  # every tick of a 2026 car, for over_budget()

    @property
    def lists_month(self) -> int:
        """Vehicle-list requests (billed or not) scaled to 30 days."""
        return round(self.tesla.get("summaries", 0) * 30 / self.days)

    @property
    def plug_seen_median_max_min(self) -> tuple[float, float]:
        """Minutes from a plug-in to the first read of the car: median and max."""
        seen = sorted(self.plug_seen_min)
        if not seen:
            return 0.0, 0.0
        mid = len(seen) // 2
        median = seen[mid] if len(seen) % 2 else (seen[mid - 1] + seen[mid]) / 2
        return round(median, 1), round(seen[-1], 1)

    @property
    def takes_schedules(self) -> bool:
        return new_firmware(self.firmware)

    @property
    def commands_per_session_max(self) -> int:
        return max(self.commands_per_session, default=0)

    def problems(self) -> list[str]:
        out = []
        if self.crashes:
            out.append(f"{len(self.crashes)} ticks raised: {self.crashes[0]}")
        if self.unreadable_after_tick or self.unreadable_concurrent:
            out.append(f"state.json unreadable {self.unreadable_after_tick} times after a tick, "
                       f"{self.unreadable_concurrent} times to the concurrent reader")
        if self.history_gaps:
            out.append(f"history incomplete after {self.history_gaps} ticks")
        if self.wakes_unplugged or self.commands_unplugged:
            out.append(f"{self.wakes_unplugged} wakes and {self.commands_unplugged} commands while unplugged")
        if self.duplicate_commands:
            out.append(f"{len(self.duplicate_commands)} duplicate commands, e.g. {self.duplicate_commands[:3]}")
        if self.wakes_max_day > self.wakes_budget_day or self.commands_max_day > self.commands_budget_day:
            out.append("a day's Tesla budget was exceeded")
        if any(n > self.grid_budget_month for n in self.grid_by_month.values()):
            out.append(f"GridStatus monthly budget exceeded: {self.grid_by_month}")
        if self.known_place_not_found:
            out.append(f"a known place was reported not found at {self.known_place_not_found} ticks")
        if any(n > self.maps_budget_month for n in self.maps_by_month.values()):
            out.append(f"Maps monthly budget exceeded: {self.maps_by_month}")
        if self.takes_schedules:
            if self.schedule_duplicate_ticks:
                out.append(f"the car held {self.scheduler_schedules_max} schedules of the scheduler's after "
                           f"{self.schedule_duplicate_ticks} ticks")
            if self.owner_schedules_touched:
                out.append(f"the owner's schedules were touched {self.owner_schedules_touched} times")
            if not self.schedule_starts:
                out.append("the car never started charging by the scheduler's schedule")
        if self.outage_hours and (self.outage_requests or not self.outage_schedule_starts
                                  or not self.outage_departures or min(self.outage_departures) < 50):
            out.append(f"through the {self.outage_hours:g} h outage from {self.outage_from}: "
                       f"{self.outage_schedule_starts} starts by the car's schedule, departures at "
                       f"{self.outage_departures} %, {self.outage_requests} requests")
        return out

    def over_budget(self) -> list[str]:
        """Issue 15's budgets for a car on 2026 firmware: billed commands a plug-in session, Fleet API dollars a
        car-month (every reply below 500 counted)."""
        out = []
        if self.commands_per_session_max > COMMANDS_PER_SESSION_MAX:
            out.append(f"{sum(n > COMMANDS_PER_SESSION_MAX for n in self.commands_per_session)} of {self.sessions} "
                       f"sessions had more than {COMMANDS_PER_SESSION_MAX} billed commands (most "
                       f"{self.commands_per_session_max})")
            out += [self.session_trace(i) for i, n in enumerate(self.commands_per_session)
                    if n > COMMANDS_PER_SESSION_MAX]
        if self.tesla_cost_month_usd > FLEET_USD_PER_CAR_MONTH_MAX:
            t = self.tesla
            out.append(f"Fleet API billing ${self.tesla_cost_month_usd:.2f} a car-month, more than "
                       f"${FLEET_USD_PER_CAR_MONTH_MAX:.2f} ({t.get('summaries', 0)} vehicle lists and "
                       f"{t.get('data', 0)} vehicle data, billed as data; {t.get('wakes', 0)} wakes, "
                       f"{t.get('commands', 0)} commands)")
        return out

    def session_trace(self, i: int) -> str:
        """One plug-in session, tick by tick (the car as it was, the decision, what went) and its billed commands as
        the car got them: what to look at when it cost more than COMMANDS_PER_SESSION_MAX."""
        start = self.plug_times[i] if i < len(self.plug_times) else None
        end = self.plug_times[i + 1] if i + 1 < len(self.plug_times) else None
        if start is None:
            return f"session {i}: no such session"
        inside = [r for r in self.trace if r.at >= start and (end is None or r.at < end)]
        calls = [c for c in self.car_calls if c.at >= start and (end is None or c.at < end) and c.plugged]
        lines = [f"session {i} plugged in {start.astimezone(NY):%m-%d %H:%M} (ticks that decided or sent something "
                 "new):"]
        before = None
        for r in inside:  # a quiet tick like the one before it says nothing new
            if r.sent != "-" or r.decision != before:
                lines.append(f"  tick {r}")
            before = r.decision
        lines += [f"  car got {c.at.astimezone(NY):%m-%d %H:%M} {c.kind} {c.status}"
                  + (f" {_brief(c.args)}" if c.args else "") for c in calls]
        return "\n".join(lines)

    def table(self) -> str:
        t = self.tesla
        rows = [
            ("simulated", f"{self.days} days, {self.ticks} ticks of 14 min, seed {self.seed}, "
                          f"{self.restarts} restarts, {self.wall_s:.1f} s wall"),
            ("backends (Tesla, calendar, Maps)", f"{self.backends}"),
            ("crashes (a tick raised)", f"{len(self.crashes)}"),
            ("state.json unreadable", f"{self.unreadable_after_tick} of {self.state_reads_after_tick} reads after "
                                      f"ticks, {self.unreadable_concurrent} of {self.concurrent_reads} concurrent"),
            ("history", f"{self.history_len} entries kept, {self.history_expected} ticks in the last "
                        f"{HISTORY_DAYS} days; incomplete after {self.history_gaps} ticks"),
            ("wakes / commands while unplugged", f"{self.wakes_unplugged} / {self.commands_unplugged}"),
            ("duplicate commands", f"{len(self.duplicate_commands)} (and {self.starts_after_raise} charge_start "
                                   "sent with a limit raise the car acted on by itself: deliberate)"),
            ("Tesla calls", f"{t.get('summaries', 0)} vehicle lists, {t.get('data', 0)} data, "
                            f"{t.get('wakes', 0)} wakes, {t.get('commands', 0)} commands, "
                            f"{t.get('token', 0)} token refreshes; est. ${self.tesla_cost_usd:.2f}"),
            ("Tesla wakes / day", f"max {self.wakes_max_day} (budget {self.wakes_budget_day})"),
            ("Tesla commands / day", f"max {self.commands_max_day} (budget {self.commands_budget_day})"),
            ("GridStatus requests / month", f"{_months(self.grid_by_month)} (budget {self.grid_budget_month})"),
            ("Maps calls / month", f"{_months(self.maps_by_month)} (budget {self.maps_budget_month})"),
            ("calendar requests", f"{self.calendar_requests} ({self.backends.calendar})"
                                  + (f", {self.calendar_token_refreshes} token refreshes"
                                     if self.backends.calendar == "google" else "")),
            ("faults served", "; ".join(f"{k}: {sum(v.values())} ({_kinds(v)})" for k, v in self.faults.items())),
            ("car faults", f"{self.null_replies} replies with null fields, {self.offline_spells} offline spells"),
            ("injected sleeps (Retry-After, wake)", f"{self.retry_after_slept_s:.0f} s in all, longest "
                                                    f"{self.retry_after_max_s:g} s, none slept"),
            ("plug-ins / mornings charged", f"{self.plug_ins} plug-ins; {self.charged_by_departure} of "
                                            f"{self.mornings_plugged} mornings left with >= 50 %"),
            ("plug-in to first read", f"median {self.plug_seen_median_max_min[0]:g} min, max "
                                      f"{self.plug_seen_median_max_min[1]:g} min; {self.plug_unseen} never read "
                                      f"while plugged in; {self.lists_month} vehicle lists a month "
                                      f"({self.lists_month_learned} from day 10 on)"),
            ("ticks with a known place unmeasured", f"{self.trips_without_distance} (Maps failing, retried hourly); "
                                                    f"shown as not found: {self.known_place_not_found}"),
            ("CPU", f"{self.cpu_s:.1f} s (this process: daemon, fakes and checks)"),
        ]
        n = len(self.commands_per_session)
        rows.insert(2, ("car firmware", f"{self.firmware}" + (" (charge schedules)" if self.takes_schedules else "")))
        rows.insert(9, ("billed commands / plug-in session",
                        f"max {self.commands_per_session_max}, mean {sum(self.commands_per_session) / max(n, 1):.2f} "
                        f"over {self.sessions} sessions; Fleet API ${self.tesla_cost_month_usd:.2f} a car-month "
                        f"(${self.tesla_cost_month_besides_list_usd:.2f} besides the vehicle lists)"))
        if self.refusals:
            rows.insert(10, ("the car's refusals (harmless)", _kinds(self.refusals)))
        if self.takes_schedules:
            rows.insert(10, ("car charge schedules", (
                f"{self.schedule_writes} written, {self.schedule_removes} removed, {self.schedule_starts} starts by "
                f"the car itself; most held at once {self.scheduler_schedules_max} (duplicates after "
                f"{self.schedule_duplicate_ticks} ticks); the owner's {self.owner_schedules} touched "
                f"{self.owner_schedules_touched} times")))
        if self.outage_hours:
            rows.insert(10, (f"daemon down {self.outage_hours:g} h", (
                f"from {self.outage_from}: {self.outage_requests} requests, the car started itself "
                f"{self.outage_schedule_starts} times, charged {self.outage_charged_pct:.0f} %, left at "
                f"{', '.join(f'{b} %' for b in self.outage_departures) or 'no departure'}")))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def _months(by_month: dict[str, int]) -> str:
    return ", ".join(f"{m}: {n}" for m, n in sorted(by_month.items())) or "0"


@dataclass(frozen=True)
class TraceRow:
    """One tick of a 2026 car: the car (from its own side) and what the daemon decided and sent."""

    at: datetime
    car: str  # battery, limit, charging state, plugged, its scheduler schedule
    decision: str  # mode, charge_now, the decision's commands
    sent: str  # the commands that went, ok or not; a wake

    def __str__(self) -> str:
        return f"{self.at.astimezone(NY):%m-%d %H:%M} car[{self.car}] decided[{self.decision}] sent[{self.sent}]"


def _hm(minutes: Any) -> str:
    return "--:--" if minutes is None else f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}"


def _brief(args: dict[str, Any]) -> str:
    if "start_time" in args:
        return f"{_hm(args.get('start_time'))}-{_hm(args.get('end_time'))}"
    return ",".join(f"{k}={v}" for k, v in args.items())


def _trace_row(now: datetime, car: FakeCar, result: Any) -> TraceRow:
    ours = [x for x in car.schedules if x["id"] not in car.owner_ids]
    sched = ",".join(f"{_hm(x['start_time'])}-{_hm(x['end_time'])}" for x in ours) or "none"
    state = (f"{car.battery:.0f}%/{car.limit} {car.charging_state} {car.state}"
             f"{'' if car.plugged else ' unplugged'} sched {sched}")
    if result is None:
        return TraceRow(now, state, "tick failed", "")
    d = result.decision
    windows = " ".join(f"{w.start.astimezone(NY):%d %H:%M}-{w.end.astimezone(NY):%H:%M}" for w in d.windows[:3])
    decided = (f"{d.mode} now={d.charge_now} dep={d.departure.astimezone(NY):%d %H:%M}" if d.departure else
               f"{d.mode} now={d.charge_now}") + f" win {windows or '-'}" + \
        f" cmds {','.join(c.name + (' ' + _brief(c.args) if c.args else '') for c in d.commands) or '-'}"
    sent = ",".join(f"{s['name']}{'' if s['ok'] else ' FAILED ' + str(s.get('reason'))[:40]}"
                    for s in result.report.sent)
    if result.report.woke:
        sent = "WAKE " + sent
    if result.report.skipped:
        sent += f" (skipped: {result.report.skipped[:60]})"
    return TraceRow(now, state, decided, sent or "-")


# ---------------------------------------------------------------------- the daemon, as scheduler.py wires it
@dataclass
class Stack:
    coordinator: Site  # the daemon's tick: a site of the one car
    vehicle: Vehicle


def build_stack(settings: Settings, clock: Clock, sleeps: list[float]) -> Stack:
    """The daemon as scheduler.py builds it (make_coordinator: the same factories, backoffs and budgets), with the
    soak's clock, its sleeps recorded instead of waited and short client timeouts."""
    io = ClientIO(clock=clock, sleep=sleeps.append, timeout_s=CLIENT_TIMEOUT_S)
    site, _ = make_coordinator(argparse.Namespace(demo=False, interval=14.0), settings, io)
    return Stack(site, site.cars[0].link.vehicle)


class StateReader(threading.Thread):
    """Reads state.json as fast as the dashboard ever would, while the ticks write it."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop = path, threading.Event()
        self.reads = self.bad = 0
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                time.sleep(0.002)
                continue
            try:
                data = json.loads(raw)
                car = car_section(data, FIRST_CAR) if isinstance(data, dict) else None
                if car is None or not isinstance(car.get("history"), list):
                    raise ValueError("not a whole state")
            except ValueError as exc:
                self.bad += 1
                self.errors.append(str(exc)[:100])
            self.reads += 1
            time.sleep(0.03)


# ---------------------------------------------------------------------- the month
def _life(rng: random.Random, day: datetime) -> list[tuple[datetime, str, float]]:
    """One local day of the household: (when, what, how much)."""
    out: list[tuple[datetime, str, float]] = []
    if rng.random() < 0.9:
        out.append((datetime.combine(day, dtime(6, 30), NY) + timedelta(minutes=rng.randint(0, 120)), "unplug",
                    rng.uniform(20, 90)))
    if rng.random() < 0.85:
        out.append((datetime.combine(day, dtime(17, 0), NY) + timedelta(minutes=rng.randint(0, 270)), "plug", 0))
    if rng.random() < 0.12:
        start = datetime.combine(day, dtime(0, 0), NY) + timedelta(minutes=rng.randint(0, 1439))
        out.append((start, "offline", 0))
        out.append((start + timedelta(minutes=rng.randint(30, 300)), "online_again", 0))
    return sorted(out)


def google_events(ics: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The household's calendar as the Calendar API lists it with singleEvents=true: every occurrence of a series is
    an item of its own (id `{series}_{start in UTC}`, recurringEventId), times with their zone, all-day events as
    dates; and Google's own working-location entries on weekdays, which are no trips."""
    items: list[dict[str, Any]] = []
    for c in recurring_ical_events.of(icalendar.Calendar.from_ical(ics)).between(start, end):
        first, last = c.decoded("DTSTART"), c.decoded("DTEND")
        uid = str(c["UID"])
        item: dict[str, Any] = {"kind": "calendar#event", "status": "confirmed", "summary": str(c["SUMMARY"]),
                                "eventType": "default", "creator": {"email": EMAIL, "self": True},
                                "organizer": {"email": EMAIL, "self": True}}
        if isinstance(first, datetime):
            item["id"] = f"{uid}_{first.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%M%SZ}"
            item["start"] = {"dateTime": first.isoformat(), "timeZone": "America/New_York"}
            item["end"] = {"dateTime": last.isoformat(), "timeZone": "America/New_York"}
        else:
            item["id"] = f"{uid}_{first:%Y%m%d}"
            item["start"], item["end"] = {"date": first.isoformat()}, {"date": last.isoformat()}
            item["transparency"] = "transparent"
        if "RRULE" in c:
            item["recurringEventId"] = uid
            item["originalStartTime"] = item["start"]
        if "LOCATION" in c:
            item["location"] = str(c["LOCATION"])
        items.append(item)
    day = start.astimezone(NY).date()
    while datetime.combine(day, dtime(0), NY) < end:
        if day.weekday() < 5:
            items.append({"kind": "calendar#event", "id": f"wl_{day:%Y%m%d}", "status": "confirmed",
                          "summary": "Home", "eventType": "workingLocation", "transparency": "transparent",
                          "start": {"date": day.isoformat()}, "end": {"date": (day + timedelta(days=1)).isoformat()},
                          "workingLocationProperties": {"type": "homeOffice", "homeOffice": {}}})
        day += timedelta(days=1)
    return items


def _write_google_token(path: Path, google: FakeGoogle) -> None:
    """What `auth google` leaves: a live access token, the refresh token and the OAuth client."""
    expiry = datetime.now(ZoneInfo("UTC")).replace(tzinfo=None) + timedelta(hours=1)  # google-auth's wall clock
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"token": google.issue(), "refresh_token": fg.REFRESH_TOKEN,
                                "token_uri": google.url + "/token", "client_id": fg.CLIENT_ID,
                                "client_secret": fg.CLIENT_SECRET, "scopes": SCOPES,
                                "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))


def _write_owner_token(path: Path, tesla: FakeOwnerApi) -> None:
    """What `auth tesla` leaves for teslapy: its cache, {email: {"url": SSO base, "sso": token}}."""
    token = tesla.grant()
    token["expires_at"] = time.time() + token["expires_in"]  # teslapy's wall clock
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({EMAIL: {"url": tesla.url + "/", "sso": token}}))


def _wire_fakes(state_dir: Path, backends: Backends, car: SoakCar, tesla: CarCalls, grid: SoakGrid,
                calendar: SoakICal | SoakGoogle, maps: SoakMaps, rng: random.Random, fault_rate: float,
                clock: Clock, days: int) -> dict[str, str]:
    """Faults into every fake, the daemon's token where it looks, and the environment that points it at them."""
    tesla.inject_faults(random.Random(rng.random()), fault_rate, TESLA_FAULTS, clock, r"^/(api|oauth2)/")
    # a grid fetch or a Maps call is rare: fail more of them
    grid.inject_faults(random.Random(rng.random()), fault_rate * 4, GRID_FAULTS, clock)
    env = {"STATE_DIR": str(state_dir), "TIME_ZONE": "America/New_York", "TESLA_BACKEND": backends.tesla,
           "TESLA_AUTH_URL": tesla.url, "TESLA_TOKEN_URL": tesla.url, "TESLA_VIN": car.vin,
           "GRID_STATUS_API_KEY": gs.KEY,
           "GRIDSTATUS_BASE_URL": grid.url, "GOOGLE_MAPS_API_KEY": fm.KEY, "MAPS_API": backends.maps,
           "TESLA_HOME_ADDRESS": HOME, "DEFAULT_DEPARTURE": "07:30",
           "DISTANCE_CACHE_DAYS": "2"}  # Maps asked every other day per place, not once a month
    if isinstance(calendar, SoakICal):
        calendar.inject_faults(random.Random(rng.random()), fault_rate, ICAL_FAULTS, clock)
        env.update(CALENDAR_SOURCE="ical", ICAL_URL=calendar.secret_url)
    else:
        calendar.inject_faults(random.Random(rng.random()), fault_rate, GOOGLE_FAULTS, clock, r"^/calendar/v3/")
        calendar.token_fault_rate = 0.3  # of the few refreshes (after a 401): google-auth sleeps on each retry
        calendar.events = google_events(ICS, START - timedelta(days=1), START + timedelta(days=days + 3))
        # google-auth refreshes at Google's own token endpoint whatever token.json says: GOOGLE_TOKEN_URL points it
        # at the fake (which serves the Calendar API and its token endpoint on one host)
        env.update(CALENDAR_SOURCE="google", GOOGLE_CALENDAR_BASE_URL=calendar.url,
                   GOOGLE_TOKEN_URL=calendar.url + "/token")
    if backends.maps == "routes":
        maps.inject_faults(random.Random(rng.random()), fault_rate * 4, MAPS_FAULTS, clock, r"^/directions/v2")
        env.update(ROUTES_BASE_URL=maps.url)
    else:
        maps.inject_faults(random.Random(rng.random()), fault_rate * 4, LEGACY_MAPS_FAULTS, clock, r"^/maps/api/")
        env.update(MAPS_BASE_URL=maps.url)
    if car.takes_schedules:  # the schedule is made out to home, and "at home" is told by the car's position
        env.update(HOME_LATITUDE=str(car.lat), HOME_LONGITUDE=str(car.lon))
    if isinstance(tesla, SoakFleet):
        save_token(token_path(state_dir), tesla.grant())
        env.update(TESLA_FLEET_BASE_URL=tesla.url, TESLA_CLIENT_ID=tesla.client_id)
    else:
        assert isinstance(tesla, SoakOwner)
        _write_owner_token(tesla_owner.token_path(state_dir), tesla)
        env.update(TESLA_OWNER_BASE_URL=tesla.url, TESLA_ACCOUNT_EMAIL=EMAIL)
    return env


def run_soak(  # noqa: C901 - the month's loop, its faults, restarts and outage in one place
        state_dir: Path | None = None, *, days: int = 30, seed: int = 7, fault_rate: float = 0.05,
             restart_every_days: int = 10, reader_on: bool = True, backends: Backends = FLEET_ICAL_ROUTES,
             firmware: str = LEGACY_FIRMWARE, outage_hours: float = 0.0,
             outage_after_days: float = 12, env_extra: dict[str, str] | None = None) -> SoakReport:
    """`firmware` FIRMWARE_2026 (2024.26+): the car keeps charge schedules, two of them the owner's (a weekday one
    at work, a disabled one at home), and home's lat/lon are set; `outage_hours`: the daemon is down that long from
    the first evening (21:00 or later) after `outage_after_days` on which the car is plugged in and waits to charge
    (below its limit, not charging: a car already charging would show nothing about its schedule), then starts
    again."""
    if state_dir is None:
        shm = Path("/dev/shm")  # tmpfs where there is one: the soak tests the daemon, not the disk's fsync
        with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
            return run_soak(Path(tmp), days=days, seed=seed, fault_rate=fault_rate,
                            restart_every_days=restart_every_days, reader_on=reader_on, backends=backends,
                            firmware=firmware, outage_hours=outage_hours, outage_after_days=outage_after_days,
                            env_extra=env_extra)
    started, cpu = time.monotonic(), time.process_time()
    rng = random.Random(seed)
    report = SoakReport(days, seed, backends, firmware=firmware, outage_hours=outage_hours)
    clock = Clock(START)
    car = SoakCar(now=clock.now, zone="America/New_York", battery_level=55.0, plugged=True, state="asleep",
                  firmware=firmware)
    car.null_rng, car.null_rate, car.null_replies, car.null_log = random.Random(rng.random()), 0.04, 0, []
    if car.takes_schedules:
        car.owner_schedule(days_of_week=62, start_enabled=True, start_time=9 * 60, end_enabled=True,
                           end_time=17 * 60, latitude=WORK_LAT_LON[0], longitude=WORK_LAT_LON[1])
        car.owner_schedule(enabled=False, start_enabled=True, start_time=23 * 60, end_enabled=True, end_time=6 * 60)
    owner_before = [dict(x) for x in car.schedules]
    report.owner_schedules = len(owner_before)
    plug_times = [car.now]  # the start of each plug-in session (the car is plugged in at the start)
    state_dir.mkdir(parents=True, exist_ok=True)
    ics = state_dir.parent / f"{state_dir.name}-calendar.ics"
    ics.write_text(ICS)
    sleeps: list[float] = []
    tesla_fake: CarCalls = SoakFleet(car) if backends.tesla == "fleet" else SoakOwner(car)
    calendar_fake: SoakICal | SoakGoogle = SoakICal(ics) if backends.calendar == "ical" else SoakGoogle(page_size=4)
    with tesla_fake as tesla, SoakGrid() as grid, calendar_fake as calendar, SoakMaps() as maps:
        tesla.car_calls, tesla.data_reads, tesla.list_times = [], [], []
        env = _wire_fakes(state_dir, backends, car, tesla, grid, calendar, maps, rng, fault_rate, clock, days)
        env.update(env_extra or {})  # settings a run compares (e.g. VEHICLE_LIST_IDLE_MIN=0: a list every tick)
        settings = load_settings(env, env_file=None)
        if isinstance(calendar, SoakGoogle):
            _write_google_token(settings.google_token_path, calendar)
        report.wakes_budget_day, report.commands_budget_day = (settings.tesla_wakes_per_day,
                                                              settings.tesla_commands_per_day)
        report.grid_budget_month, report.maps_budget_month = (settings.gridstatus_requests_per_month,
                                                              settings.maps_calls_per_month)
        stack = build_stack(settings, clock, sleeps)
        reader = StateReader(state_dir / "state.json")
        if reader_on:
            reader.start()
        life: list[tuple[datetime, str, float]] = []
        tick_times: deque[tuple[float, str]] = deque()
        end = START + timedelta(days=days)
        day_seen = None
        plugged_overnight = False
        next_restart = START + timedelta(days=restart_every_days)
        outage_start = START + timedelta(days=outage_after_days)
        outage_end: datetime | None = None
        try:
            while clock.now < end:
                now = clock.now
                local_day = now.astimezone(NY).date()
                if local_day != day_seen:
                    day_seen = local_day
                    life += _life(rng, datetime.combine(local_day, dtime(0), NY))
                    life.sort()
                while life and life[0][0] <= now:
                    at, what, amount = life.pop(0)
                    car.advance(max(at - car.now, timedelta(0)))
                    if what == "unplug" and car.plugged:
                        report.mornings_plugged += plugged_overnight
                        report.charged_by_departure += plugged_overnight and car.battery >= 50
                        if outage_end is not None and at < outage_end and plugged_overnight:
                            report.outage_departures.append(int(car.battery))
                        car.unplug()  # unlatching the cable wakes the car, and it stays awake while driven
                        car.drive(amount)
                        car.state = "online"
                        car.last_activity = car.now + timedelta(hours=amount / 50)
                    elif what == "plug" and not car.plugged:
                        car.plug_in()
                        report.plug_ins += 1
                        plug_times.append(car.now)
                    elif what == "offline":
                        car.state = "offline"
                        report.offline_spells += 1
                    elif what == "online_again" and car.state == "offline":
                        car.state = "asleep"
                    plugged_overnight = car.plugged
                car.advance(max(now - car.now, timedelta(0)))
                if now.astimezone(NY).hour == 3:
                    plugged_overnight = car.plugged
                # the daemon stops while the car waits for its schedule (plugged in, below its limit, not yet
                # charging): the car has to start the night's charge by itself
                if outage_hours and outage_end is None and now >= outage_start and car.charging_state == "Stopped" \
                        and now.astimezone(NY).hour >= 21:
                    outage_end = now + timedelta(hours=outage_hours)  # the daemon stops: only the car runs
                    report.outage_from = f"{now.astimezone(NY):%m-%d %H:%M}"
                    outage_log, outage_charged = len(tesla.log), car.charged_pct
                if outage_end is not None and now < outage_end:
                    clock.advance(minutes=14)
                    if clock.now >= outage_end:  # back: a new process reads its state from disk
                        report.outage_requests = len(tesla.log) - outage_log
                        report.outage_charged_pct = car.charged_pct - outage_charged
                        down_from = outage_end - timedelta(hours=outage_hours)
                        report.outage_schedule_starts = sum(down_from <= at < outage_end and sid == SCHEDULER_ID
                                                            for at, sid in car.schedule_starts)
                        stack = build_stack(settings, clock, sleeps)
                    continue
                try:
                    result = stack.coordinator.tick(now)
                    if car.takes_schedules:
                        report.trace.append(_trace_row(now, car, result.cars[0]))
                except Exception:
                    report.crashes.append(traceback.format_exc(limit=3).strip().splitlines()[-1])
                tick_times.append((now.timestamp(), now.isoformat()))
                report.ticks += 1
                _check_state(report, state_dir / "state.json", now, tick_times)
                if car.takes_schedules:
                    _check_schedules(report, car, owner_before)
                clock.advance(minutes=14)
                if clock.now >= next_restart:
                    next_restart += timedelta(days=restart_every_days)
                    report.restarts += 1
                    stack = build_stack(settings, clock, sleeps)
        finally:
            reader.stop.set()
            if reader_on:
                reader.join()
        report.concurrent_reads, report.unreadable_concurrent = reader.reads, reader.bad
        _count_calls(report, tesla, grid, calendar, maps, settings)
        _count_sessions(report, tesla, plug_times)
        report.schedule_starts = sum(sid == SCHEDULER_ID for _, sid in car.schedule_starts)
        report.owner_schedules_touched += car.owner_touched
        report.null_replies = car.null_replies
        report.retry_after_slept_s = sum(sleeps)
        report.retry_after_max_s = max(sleeps, default=0.0)
        report.faults = {"tesla": dict(tesla.faults_served), "grid": dict(grid.faults_served),
                         backends.calendar: dict(calendar.faults_served), "maps": dict(maps.faults_served)}
    report.wall_s, report.cpu_s = time.monotonic() - started, time.process_time() - cpu
    return report


# What a PlaceNotFoundError says (Routes API; Distance Matrix): a place Maps knows must never be cached as one.
NOT_FOUND_NOTES = ("no driving route", "could not route", "no result for that place")


def _check_state(report: SoakReport, path: Path, now: datetime, tick_times: deque[tuple[float, str]]) -> None:
    report.state_reads_after_tick += 1
    try:
        state = json.loads(path.read_text())
        history = car_section(state, FIRST_CAR)["history"]
    except (OSError, ValueError, KeyError, TypeError):
        report.unreadable_after_tick += 1
        return
    cutoff = now.timestamp() - HISTORY_DAYS * 86400  # as trim_history counts: 7 x 24 h, whatever DST does
    while tick_times and tick_times[0][0] < cutoff:
        tick_times.popleft()
    kept = [row.get("at") for row in history]
    expected = [iso for _, iso in tick_times]
    report.history_len, report.history_expected = len(kept), len(expected)
    if kept != expected:
        report.history_gaps += 1
    for e in (car_section(state, FIRST_CAR) or {}).get("events", []):
        if " ".join((e.get("location") or "").lower().split()) in fm.PLACES and e.get("distance_km") is None:
            report.trips_without_distance += 1
            note = e.get("note") or ""
            report.known_place_not_found += any(why in note for why in NOT_FOUND_NOTES)


def _check_schedules(report: SoakReport, car: FakeCar, owner_before: list[dict[str, Any]]) -> None:
    """After a tick: the car holds at most one schedule that is not the owner's, and the owner's as they were."""
    theirs = [x for x in car.schedules if x["id"] not in car.owner_ids]
    report.scheduler_schedules_max = max(report.scheduler_schedules_max, len(theirs))
    report.schedule_duplicate_ticks += len(theirs) > 1
    report.owner_schedules_touched += [x for x in car.schedules if x["id"] in car.owner_ids] != owner_before


def _count_sessions(report: SoakReport, tesla: CarCalls, plug_times: list[datetime]) -> None:
    """Billed commands (a reply below 500) per plug-in session, from the car's side; the schedule commands."""
    per_session = [0] * len(plug_times)
    refusals: Counter[str] = Counter()
    for c in tesla.car_calls:
        if c.kind == "wake" or c.status >= 500:
            continue
        if c.refusal:
            refusals[c.refusal] += 1
        report.schedule_writes += c.kind == "add_charge_schedule"
        report.schedule_removes += c.kind == "remove_charge_schedule"
        if c.plugged:
            per_session[bisect_right(plug_times, c.at) - 1] += 1
    report.sessions, report.commands_per_session, report.refusals = len(plug_times), per_session, dict(refusals)
    report.plug_times = list(plug_times)
    # the month after the first ten days (what the daemon learns from the session log is learned by then)
    later = [t for t in tesla.list_times if t >= plug_times[0] + timedelta(days=10)]
    report.lists_month_learned = round(len(later) * 30 / max(report.days - 10, 1))
    for i, start in enumerate(plug_times[1:], 1):  # the first session was under way at the start
        end = plug_times[i + 1] if i + 1 < len(plug_times) else None
        first = next((t for t in tesla.data_reads if t >= start and (end is None or t < end)), None)
        if first is None:
            report.plug_unseen += 1
            report.notes.append(f"plug-in {start.astimezone(NY):%m-%d %H:%M} never read")
        else:
            report.plug_seen_min.append((first - start).total_seconds() / 60)
            if (first - start).total_seconds() > 1800:
                report.notes.append(f"plug-in {start.astimezone(NY):%m-%d %H:%M} first read "
                                    f"{first.astimezone(NY):%m-%d %H:%M}")
    report.car_calls = list(tesla.car_calls)
    report.tesla_cost_month_usd = round(report.tesla_cost_usd * 30 / report.days, 2)


def _count_calls(report: SoakReport, tesla: CarCalls, grid: SoakGrid, calendar: Faulty, maps: SoakMaps,
                 settings: Settings) -> None:
    zone = settings.zone
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    for c in tesla.car_calls:
        day = c.at.astimezone(zone).strftime("%Y-%m-%d")
        per_day[day]["wake" if c.kind == "wake" else "command"] += 1
        if not c.plugged:
            if c.kind == "wake":
                report.wakes_unplugged += 1
            else:
                report.commands_unplugged += 1
        if c.duplicate:
            report.duplicate_commands.append(f"{c.at.astimezone(zone):%m-%d %H:%M} {c.kind} {c.args}")
        report.starts_after_raise += c.kind == "charge_start after a limit raise"
    report.wakes_max_day = max((d["wake"] for d in per_day.values()), default=0)
    report.commands_max_day = max((d["command"] for d in per_day.values()), default=0)
    assert isinstance(tesla, FakeTesla)
    billed = tesla.billed()
    billed["token"] = len(tesla.requests("POST", r"/oauth2/v3/token$"))
    report.tesla = billed
    # the vehicle list is billed as a data request: Tesla bills every reply below 500 and its docs do not show the
    # list's pricing category as free (docs/tesla.md); the Owner API (teslapy) is not billed at all
    listed = billed["summaries"] if isinstance(tesla, FakeFleetApi) else 0
    report.tesla_cost_usd = round((billed["data"] + listed) * 0.002 + billed["commands"] * 0.001
                                  + billed["wakes"] * 0.02, 2)
    report.tesla_list_cost_usd = round(listed * 0.002, 2)
    report.grid_by_month = _by_month(grid.times)
    report.maps_by_month = _by_month(maps.times)
    report.calendar_requests = len(calendar.times)
    if isinstance(calendar, SoakGoogle):
        report.calendar_token_refreshes = len(calendar.requests("POST", r"^/token$"))


def _by_month(times: list[datetime]) -> dict[str, int]:
    return dict(Counter(t.strftime("%Y-%m") for t in times))
