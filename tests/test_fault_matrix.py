"""The fault matrix: every outside source × every way it fails, as one table.

One test, `test_fault_matrix`, parametrized over the product. Each cell drives the real client library against its
fake over a real socket (or at a host name that cannot resolve) and checks two things:

1. the client raises that source's own typed error (never a raw requests/googleapiclient/googlemaps/json one), whose
   message is one readable line without secrets, carrying the server's Retry-After when it sent one;
2. through the service (provider + coordinator tick), the loop goes on with the last good data, marked stale in the
   source's SourceStatus with the next retry time, the decision's reasons say so, and the source is not asked again
   before that retry time.

Cells that legitimately map differently are written into the table (`EXPECT`): an empty calendar is no error, a
route that Google cannot find is remembered rather than failed, a refused Maps key waits a day, and so on.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from charge_logic.objective import Objective
from clients import comed
from clients import gridstatus as gsc
from clients import watttime as wt
from clients.calendar_events import CalendarAuthError, CalendarError, EventRules
from clients.google_calendar import GoogleCalendar, api_endpoint
from clients.grid_datasets import dataset_for
from clients.ical_calendar import ICalCalendar
from clients.maps_errors import MapsKeyError, MapsUnavailableError, PlaceNotFoundError
from clients.maps_legacy import LegacyMapsClient
from clients.maps_routes import RoutesClient
from clients.tesla_fleet import FleetVehicle, save_token
from clients.tesla_owner import OwnerVehicle, set_base_url
from clients.vehicle import VehicleAuthError, VehicleError
from clients.vehicle_sim import SimCarState, SimVehicle
from service.backoff import Backoff, retry_text
from service.coordinator import Coordinator
from service.distances import DistanceService
from service.grid_source import GridForecastProvider
from service.price_source import comed_fetch, watttime_fetch
from service.series_source import DAY_AHEAD_MIN, PolledSeries
from service.settings import load_settings
from service.signal_source import SignalSource
from service.state_schema import FIRST_CAR, car_section
from service.trip_source import CalendarTripProvider
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes import gridstatus as fgs
from tests.fakes import maps as fmaps
from tests.fakes import watttime as fwt
from tests.fakes.comed import FakeComEd
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeGoogle, google_error
from tests.fakes.gridstatus import FakeGridStatus
from tests.fakes.http import FakeServer, Reply
from tests.fakes.ical import SECRET_PATH, FakeICal
from tests.fakes.maps import FakeMaps
from tests.fakes.tesla_car import VIN, FakeCar
from tests.fakes.tesla_fleet import FakeFleetApi
from tests.fakes.tesla_owner import FakeOwnerApi
from tests.fakes.watttime import FakeWattTime

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 10, 31, 12, 0, tzinfo=NY)
ICS = Path(__file__).parent / "data" / "calendar.ics"
NO_DNS = "http://nonexistent.invalid"
TIMEOUT_S = 0.3  # every client's timeout in the timeout cells; the fake answers later than this
SLOW_S = 2.0
EASY_S = 10.0  # every client's timeout elsewhere: a loaded test machine must not turn a cell into a timeout
RETRY_AFTER_S = 3600  # longer than the first backoff step, so honouring it shows
EMAIL = "owner@example.com"
HOME = "1 Home Rd, Springfield MA"
HTML = ("<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1>"
        "</center><hr><center>nginx</center></body></html>")

SOURCES = ("gridstatus", "google_calendar", "ical", "maps_legacy", "maps_routes", "tesla_owner", "tesla_fleet",
           "comed", "watttime")
FAULTS = ("timeout", "no_dns", "5xx", "401", "403", "429", "malformed", "html_page", "html_200", "empty")


@dataclass(frozen=True)
class Expect:
    """What a cell must do. error None: the client returns nothing, without an error (a valid empty reply).
    service: "stale" (last good data kept, marked stale, retried after the backoff) or "ok" (no failure: the reply
    was a valid answer). wait: a source's own longer pause (a refused key or plan needs the owner, not a retry)."""

    error: type[Exception] | None
    words: str  # a regex the client's message must match
    retry_after: bool = False
    service: str = "stale"
    wait: timedelta | None = None


U, K = gsc.UnavailableError, MapsKeyError
CU, WU = comed.ComEdUnavailableError, wt.WattTimeUnavailableError
DAY, FETCH = timedelta(days=1), timedelta(hours=3)  # Maps' pause for a refused key; GRID_FETCH_HOURS here
EXPECT: dict[tuple[str, str], Expect] = {
    # GridStatus: typed by status; an empty forecast is no error for the client, but a failure for the provider
    ("gridstatus", "timeout"): Expect(U, r"did not answer within 0\.3 s"),
    ("gridstatus", "no_dns"): Expect(U, r"unreachable: ConnectionError"),
    ("gridstatus", "5xx"): Expect(U, r"error 503: Service Unavailable"),
    ("gridstatus", "401"): Expect(gsc.BadKeyError, r"refused the API key .*GRID_STATUS_API_KEY", wait=FETCH),
    ("gridstatus", "403"): Expect(gsc.PlanError, r"plan does not allow", wait=FETCH),
    ("gridstatus", "429"): Expect(gsc.RateLimitedError, r"rate limit", retry_after=True),
    ("gridstatus", "malformed"): Expect(U, r"not JSON"),
    ("gridstatus", "html_page"): Expect(U, r"error 502: an HTML page \(502 Bad Gateway\)"),
    ("gridstatus", "html_200"): Expect(U, r"not JSON"),
    ("gridstatus", "empty"): Expect(None, ""),
    # Google Calendar: a 401 is only fixed by signing in again; an empty list is an empty calendar
    ("google_calendar", "timeout"): Expect(CalendarError, r"did not answer within 0\.3 s"),
    ("google_calendar", "no_dns"): Expect(CalendarError, r"unreachable: ServerNotFoundError"),
    ("google_calendar", "5xx"): Expect(CalendarError, r"error 503: The service is currently unavailable"),
    ("google_calendar", "401"): Expect(CalendarAuthError, r"refused the sign-in .*auth google"),
    ("google_calendar", "403"): Expect(CalendarError, r"denied access \(403"),
    ("google_calendar", "429"): Expect(CalendarError, r"rate limit \(429", retry_after=True),
    ("google_calendar", "malformed"): Expect(CalendarError, r"not JSON"),
    ("google_calendar", "html_page"): Expect(CalendarError, r"error 502: an HTML page \(502 Bad Gateway\)"),
    ("google_calendar", "html_200"): Expect(CalendarError, r"not JSON \(an HTML page \(502 Bad Gateway\)\)"),
    ("google_calendar", "empty"): Expect(None, "", service="ok"),
    # iCal: the URL's path is the secret, so messages name the host only
    ("ical", "timeout"): Expect(CalendarError, r"did not answer within 0\.3 s"),
    ("ical", "no_dns"): Expect(CalendarError, r"nonexistent\.invalid .*unreachable: ConnectionError"),
    ("ical", "5xx"): Expect(CalendarError, r"answered 503"),
    ("ical", "401"): Expect(CalendarError, r"answered 401: the secret address was probably reset"),
    ("ical", "403"): Expect(CalendarError, r"answered 403: the secret address was probably reset"),
    ("ical", "429"): Expect(CalendarError, r"rate limiting \(429\)", retry_after=True),
    ("ical", "malformed"): Expect(CalendarError, r"not a valid iCalendar file"),
    ("ical", "html_page"): Expect(CalendarError, r"answered 502"),
    ("ical", "html_200"): Expect(CalendarError, r"sent a web page, not a calendar: check ICAL_URL"),
    ("ical", "empty"): Expect(None, "", service="ok"),
    # Maps legacy (googlemaps retries 5xx itself until retry_timeout); a refused key waits a day
    ("maps_legacy", "timeout"): Expect(MapsUnavailableError, r"did not answer in time"),
    ("maps_legacy", "no_dns"): Expect(MapsUnavailableError, r"unreachable: ConnectionError"),
    ("maps_legacy", "5xx"): Expect(MapsUnavailableError, r"kept answering HTTP 503"),
    ("maps_legacy", "401"): Expect(K, r"refused the request \(HTTP 401\)", wait=DAY),
    ("maps_legacy", "403"): Expect(K, r"refused the request \(HTTP 403\)", wait=DAY),
    ("maps_legacy", "429"): Expect(MapsUnavailableError, r"rate limit \(HTTP 429\)", retry_after=True),
    ("maps_legacy", "malformed"): Expect(MapsUnavailableError, r"not its JSON"),
    ("maps_legacy", "html_page"): Expect(MapsUnavailableError, r"answered HTTP 502"),
    ("maps_legacy", "html_200"): Expect(MapsUnavailableError, r"not its JSON"),
    ("maps_legacy", "empty"): Expect(PlaceNotFoundError, r"no result for that place", service="ok"),
    # Maps Routes
    ("maps_routes", "timeout"): Expect(MapsUnavailableError, r"did not answer within 0\.3 s"),
    ("maps_routes", "no_dns"): Expect(MapsUnavailableError, r"unreachable: ConnectionError"),
    ("maps_routes", "5xx"): Expect(MapsUnavailableError, r"error 503 UNAVAILABLE"),
    ("maps_routes", "401"): Expect(K, r"refused the key \(UNAUTHENTICATED", wait=DAY),
    ("maps_routes", "403"): Expect(K, r"refused the key \(PERMISSION_DENIED", wait=DAY),
    ("maps_routes", "429"): Expect(MapsUnavailableError, r"rate limit \(429 RESOURCE_EXHAUSTED", retry_after=True),
    ("maps_routes", "malformed"): Expect(MapsUnavailableError, r"not its JSON"),
    ("maps_routes", "html_page"): Expect(MapsUnavailableError, r"error 502: an HTML page \(502 Bad Gateway\)"),
    ("maps_routes", "html_200"): Expect(MapsUnavailableError, r"not its JSON \(an HTML page"),
    ("maps_routes", "empty"): Expect(PlaceNotFoundError, r"no driving route", service="ok"),
    # Tesla Owner API (teslapy, retry=0): a 401 is refreshed once through teslapy, then needs a sign-in; a 403 that
    # is not the command-protocol one is a plain error (the Owner API has no scopes)
    ("tesla_owner", "timeout"): Expect(VehicleError, r"did not answer the product list in time"),
    ("tesla_owner", "no_dns"): Expect(VehicleError, r"cannot reach the Owner API .*ConnectionError"),
    ("tesla_owner", "5xx"): Expect(VehicleError, r"Owner API error 503 on the product list: upstream internal error"),
    ("tesla_owner", "401"): Expect(VehicleAuthError, r"auth tesla"),
    ("tesla_owner", "403"): Expect(VehicleError, r"Owner API error 403 on the product list: forbidden"),
    ("tesla_owner", "429"): Expect(VehicleError, r"rate limit on the product list", retry_after=True),
    ("tesla_owner", "malformed"): Expect(VehicleError, r"non-JSON reply to the product list"),
    ("tesla_owner", "html_page"): Expect(VehicleError, r"error 502 on the product list: an HTML page \(502 Bad"),
    ("tesla_owner", "html_200"): Expect(VehicleError, r"non-JSON reply to the product list"),
    ("tesla_owner", "empty"): Expect(VehicleError, r"account has no car with VIN …3456"),
    # Tesla Fleet API: a long Retry-After is not slept through in the tick; a 403 is a scope/key problem
    ("tesla_fleet", "timeout"): Expect(VehicleError, r"did not answer the vehicle list within 0\.3 s"),
    ("tesla_fleet", "no_dns"): Expect(VehicleError, r"cannot reach the Fleet API at nonexistent\.invalid"),
    ("tesla_fleet", "5xx"): Expect(VehicleError, r"Fleet API error 503 on the vehicle list: upstream internal"),
    ("tesla_fleet", "401"): Expect(VehicleAuthError, r"refused the Fleet API token .*auth tesla"),
    ("tesla_fleet", "403"): Expect(VehicleAuthError, r"refused the vehicle list \(403 forbidden\)"),
    ("tesla_fleet", "429"): Expect(VehicleError, r"rate limit on the vehicle list: retry after 3600 s",
                                   retry_after=True),
    ("tesla_fleet", "malformed"): Expect(VehicleError, r"non-JSON reply to the vehicle list"),
    ("tesla_fleet", "html_page"): Expect(VehicleError, r"error 502 on the vehicle list: an HTML page \(502 Bad"),
    ("tesla_fleet", "html_200"): Expect(VehicleError, r"non-JSON reply to the vehicle list"),
    ("tesla_fleet", "empty"): Expect(VehicleError, r"no access to the car with VIN …3456"),
    # ComEd's public price feeds: no key, so nothing to fix on a 401/403; an empty feed is no error for the client,
    # but no series for the service (the last prices stay, stale)
    ("comed", "timeout"): Expect(CU, r"did not answer within 0\.3 s"),
    ("comed", "no_dns"): Expect(CU, r"unreachable: ConnectionError"),
    ("comed", "5xx"): Expect(CU, r"ComEd error 503: Service Unavailable"),
    ("comed", "401"): Expect(CU, r"ComEd error 401"),
    ("comed", "403"): Expect(CU, r"ComEd error 403"),
    ("comed", "429"): Expect(CU, r"ComEd rate limit", retry_after=True),
    ("comed", "malformed"): Expect(CU, r"not JSON"),
    ("comed", "html_page"): Expect(CU, r"error 502: an HTML page \(502 Bad Gateway\)"),
    ("comed", "html_200"): Expect(CU, r"not JSON \(an HTML page"),
    ("comed", "empty"): Expect(None, ""),
    # WattTime: a 401 on a data call signs in once more, then needs the owner; a region outside the plan is a 403
    ("watttime", "timeout"): Expect(WU, r"did not answer within 0\.3 s"),
    ("watttime", "no_dns"): Expect(WU, r"unreachable: ConnectionError"),
    ("watttime", "5xx"): Expect(WU, r"WattTime error 503"),
    ("watttime", "401"): Expect(wt.WattTimeAuthError, r"refused the token twice .*WATTTIME_PASSWORD", wait=FETCH),
    ("watttime", "403"): Expect(wt.WattTimeAccessError, r"does not let this account read PJM_DC", wait=FETCH),
    ("watttime", "429"): Expect(WU, r"rate limit", retry_after=True),
    ("watttime", "malformed"): Expect(WU, r"not JSON"),
    ("watttime", "html_page"): Expect(WU, r"error 502: an HTML page \(502 Bad Gateway\)"),
    ("watttime", "html_200"): Expect(WU, r"not JSON \(an HTML page"),
    ("watttime", "empty"): Expect(None, ""),
}


def test_the_table_covers_every_cell():
    assert set(EXPECT) == {(s, f) for s in SOURCES for f in FAULTS}


# ---------------------------------------------------------------------- the sources, each over its fake
def _json(text: str) -> Reply:
    return Reply(200, text, {"Content-Type": "application/json; charset=UTF-8"})


def _tesla_error(status: int, error: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"response": None, "error": error, "error_description": ""}, headers or {})


def _routes_error(code: int, message: str, status: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status}}, headers or {})


RA = {"Retry-After": str(RETRY_AFTER_S)}
HTML_REPLY = Reply(502, HTML, {"Content-Type": "text/html"})
PORTAL = Reply(200, HTML, {"Content-Type": "text/html"})  # a captive portal or login wall answers 200


class Source:
    """One outside source: its fake, its client (short timeouts), the call, and the service around it."""

    name: str
    status: str  # its SourceStatus name
    path: str  # the paths a fault is injected on (sign-in endpoints stay healthy)
    replies: dict[str, Reply]

    def __init__(self, fake: FakeServer, tmp: Path) -> None:
        self.fake, self.tmp = fake, tmp

    def fault(self, fault: str) -> None:
        if fault == "html_200":
            self.fake.inject(PORTAL, path=self.path)
        elif fault == "timeout":
            self.fake.inject(Reply(200, self.replies["slow"].body, self.replies["slow"].headers, SLOW_S),
                             path=self.path)
        elif fault != "no_dns":
            self.fake.inject(self.replies[fault], path=self.path)

    def client(self, base_url: str) -> Any: ...
    def shorten(self, client: Any) -> None:
        """The timeout cells' short client timeout, set on the client the way its constructor set it."""
        client.timeout = TIMEOUT_S
    def call(self, client: Any) -> Any: ...
    def break_dns(self, client: Any) -> None: ...
    def secrets(self) -> list[str]: ...
    def service(self, client: Any, backoff: Backoff) -> tuple[Coordinator, datetime, datetime]: ...
    def kept(self, state: dict[str, Any]) -> bool: ...

    def settings(self, **env: str) -> Any:
        return load_settings({"STATE_DIR": str(self.tmp / "state"), "TIME_ZONE": "America/New_York", **env},
                             env_file=None)

    def sim_link(self, clock: Clock) -> VehicleLink:
        car = SimVehicle(clock, NY, SimCarState(clock=clock.now.isoformat(), plugged_in=True, soc=50.0,
                                                awake_until=(clock.now + timedelta(hours=1)).isoformat()))
        return VehicleLink(car, self.tmp / "state", data_min_interval_min=10, wakes_per_day=4, commands_per_day=40,
                           zone=NY)


class GridStatus(Source):
    name, status, path = "gridstatus", "grid", r"^/v1/"
    replies = {
        "slow": Reply(200, {"data": [], "meta": {}}),
        "5xx": Reply(503, {"detail": "Service Unavailable"}),
        "401": Reply(401, {"detail": "Invalid API key."}),
        "403": Reply(403, {"detail": "Your plan does not include access to this dataset."}),
        "429": Reply(429, {"detail": "Too Many Requests. Limit: 6 per 1 second"}, RA),
        "malformed": _json('{"status_code": 200, "data": [{"interval_start_utc": "2026-'),
        "html_page": HTML_REPLY,
        "empty": Reply(200, {"status_code": 200, "data": [], "meta": {"hasNextPage": False, "cursor": None}}),
        "usage_spent": Reply(429, {"detail": "API rows returned limit of 1,000,000 for this month exceeded."}),
    }

    def __init__(self, fake: FakeGridStatus, tmp: Path) -> None:
        super().__init__(fake, tmp)
        # the plan's usage period runs from the sign-up day, not the calendar month (what /v1/api_usage states)
        fake.period = (datetime(2026, 10, 15, tzinfo=UTC), datetime(2026, 11, 15, tzinfo=UTC))

    def client(self, base_url: str) -> gsc.GridStatusClient:
        return gsc.GridStatusClient(fgs.KEY, base_url, timeout=EASY_S, sleep=lambda s: None)

    def call(self, client: gsc.GridStatusClient) -> Any:
        return client.latest_forecast("pjm_load_forecast", "load_forecast", NOW, NOW + timedelta(hours=72))

    def break_dns(self, client: gsc.GridStatusClient) -> None:
        client.base_url = NO_DNS

    def secrets(self) -> list[str]:
        return [fgs.KEY]

    def service(self, client: gsc.GridStatusClient, backoff: Backoff) -> tuple[Coordinator, datetime, datetime]:
        clock = Clock(NOW)
        grid = GridForecastProvider(client, dataset_for("PJM"), self.tmp / "state", fetch_hours=3,
                                    requests_per_month=None, backoff=backoff)
        coord = Coordinator(self.settings(), self.sim_link(clock), grid, None)
        return coord, NOW, NOW + timedelta(hours=3, minutes=5)  # the next fetch is due

    def kept(self, state: dict[str, Any]) -> bool:
        return bool(state["forecast"]["points"])


class _Calendar(Source):
    status = "calendar"

    def service(self, client: Any, backoff: Backoff) -> tuple[Coordinator, datetime, datetime]:
        clock = Clock(NOW)
        trips = CalendarTripProvider(client, DistanceService(None, "", self.tmp / "state"), self.tmp / "state",
                                     hours=48, stale_hours=6, backoff=backoff)
        coord = Coordinator(self.settings(), self.sim_link(clock), None, trips)
        return coord, NOW, NOW + timedelta(minutes=14)

    def kept(self, state: dict[str, Any]) -> bool:
        return any(e["summary"] == "Night drive to Boston" for e in car_section(state, FIRST_CAR)["events"])


class GoogleCal(_Calendar):
    name, path = "google_calendar", r"^/calendar/"
    replies = {
        "slow": Reply(200, {"kind": "calendar#events", "items": []}),
        "5xx": google_error(503, "The service is currently unavailable.", "UNAVAILABLE"),
        "401": google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"),
        "403": google_error(403, "Google Calendar API has not been used in project 123 before or it is disabled.",
                            "PERMISSION_DENIED"),
        "429": Reply(429, {"error": {"code": 429, "message": "Rate Limit Exceeded", "status": "RESOURCE_EXHAUSTED"}},
                     RA),
        "malformed": _json('{"kind": "calendar#events", "items": [{"id": '),
        "html_page": HTML_REPLY,
        "empty": Reply(200, {"kind": "calendar#events", "timeZone": "America/New_York", "items": []}),
    }

    def __init__(self, fake: FakeGoogle, tmp: Path) -> None:
        super().__init__(fake, tmp)
        fake.events = [{"kind": "calendar#event", "id": "night", "status": "confirmed",
                        "summary": "Night drive to Boston", "location": "South Station, Boston MA",
                        "start": {"dateTime": "2026-10-31T22:00:00-04:00"},
                        "end": {"dateTime": "2026-11-01T06:00:00-05:00"}}]
        self.token = fake.issue()
        expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
        (tmp / "token.json").write_text(json.dumps({
            "token": self.token, "refresh_token": REFRESH_TOKEN, "token_uri": fake.url + "/token",
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "scopes": ["https://www.googleapis.com/auth/calendar.readonly"],
            "expiry": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))

    def client(self, base_url: str) -> GoogleCalendar:
        return GoogleCalendar(self.tmp / "token.json", NY, EventRules(), base_url=base_url, timeout=EASY_S,
                              token_uri=self.fake.url + "/token")

    def call(self, client: GoogleCalendar) -> Any:
        return client.events(NOW, NOW + timedelta(hours=48))

    def break_dns(self, client: GoogleCalendar) -> None:
        client.endpoint = api_endpoint(NO_DNS)

    def secrets(self) -> list[str]:
        return [REFRESH_TOKEN, CLIENT_SECRET, *self.fake.valid_tokens]  # type: ignore[attr-defined]


class ICal(_Calendar):
    name, path = "ical", r"^/calendar/ical/"
    replies = {
        "slow": Reply(200, ICS.read_bytes(), {"Content-Type": "text/calendar"}),
        "5xx": Reply(503, "Service Unavailable"),
        "401": Reply(401, "Unauthorized"),
        "403": Reply(403, "Forbidden"),
        "429": Reply(429, "Too Many Requests", RA),
        "malformed": Reply(200, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:yesterday-ish\r\nSUMMARY:x\r\n",
                           {"Content-Type": "text/calendar"}),
        "html_page": HTML_REPLY,
        "empty": Reply(200, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nEND:VCALENDAR\r\n",
                       {"Content-Type": "text/calendar"}),
    }

    def client(self, base_url: str) -> ICalCalendar:
        return ICalCalendar(base_url + SECRET_PATH, NY, timeout=EASY_S)

    def call(self, client: ICalCalendar) -> Any:
        return client.events(NOW, NOW + timedelta(hours=48))

    def break_dns(self, client: ICalCalendar) -> None:
        client.source = NO_DNS + SECRET_PATH

    def secrets(self) -> list[str]:
        return ["private-0123456789abcdef", "me%40example.com", "me@example.com"]


NEAR, FAR = "South Station, Boston MA", "Dentist, 12 Oak Ave"


class _Maps(Source):
    status = "maps"

    def call(self, client: Any) -> Any:
        return client.drive(HOME, NEAR)

    def secrets(self) -> list[str]:
        return [fmaps.KEY]

    def service(self, client: Any, backoff: Backoff) -> tuple[Coordinator, datetime, datetime]:
        """A calendar file with a near trip (known at the first tick) and a far one that enters the 48 h window
        later: the far one needs Maps while it fails, the near one keeps its cached distance."""
        def ev(uid: str, start: datetime, place: str) -> str:
            fmt = "%Y%m%dT%H%M%SZ"
            return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:{uid}\r\nDTSTART:{start.astimezone(UTC):{fmt}}\r\n"
                    f"DTEND:{(start + timedelta(hours=1)).astimezone(UTC):{fmt}}\r\nLOCATION:{place}\r\nEND:VEVENT\r\n")
        ics = self.tmp / "trips.ics"
        ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
                       + ev("near", NOW + timedelta(hours=6), NEAR.replace(",", "\\,"))
                       + ev("far", NOW + timedelta(hours=50), FAR.replace(",", "\\,")) + "END:VCALENDAR\r\n")
        clock = Clock(NOW)
        distances = DistanceService(client, HOME, self.tmp / "state", calls_per_month=None, backoff=backoff)
        trips = CalendarTripProvider(ICalCalendar(str(ics), NY), distances, self.tmp / "state", hours=48,
                                     stale_hours=6)
        coord = Coordinator(self.settings(), self.sim_link(clock), None, trips)
        return coord, NOW, NOW + timedelta(hours=3)

    def kept(self, state: dict[str, Any]) -> bool:
        events = car_section(state, FIRST_CAR)["events"]
        return any(e["summary"] == "near" and e["distance_km"] == 145.0 for e in events)


class MapsLegacy(_Maps):
    name, path = "maps_legacy", r"^/maps/api/"
    replies = {
        "slow": Reply(200, {"status": "OK", "rows": []}),
        "5xx": Reply(503, {"status": "UNKNOWN_ERROR"}),
        "401": Reply(401, {"error_message": "unauthorized", "status": "REQUEST_DENIED"}),
        "403": Reply(403, {"error_message": "forbidden", "status": "REQUEST_DENIED"}),
        "429": Reply(429, {"error_message": "Too many requests", "status": "OVER_QUERY_LIMIT"}, RA),
        "malformed": _json('{"status": "OK", "rows": [{"elements": ['),
        "html_page": HTML_REPLY,
        "empty": Reply(200, {"status": "OK", "origin_addresses": [], "destination_addresses": [], "rows": []}),
        "over_daily_limit": Reply(200, {"status": "OVER_DAILY_LIMIT", "rows": [],
                                        "error_message": fmaps.OVER_DAILY_LIMIT_MESSAGE}),
    }

    def client(self, base_url: str) -> LegacyMapsClient:
        return LegacyMapsClient(fmaps.KEY, base_url, timeout=EASY_S, retry_timeout=TIMEOUT_S)  # 5xx: retried 0.3 s

    def shorten(self, client: LegacyMapsClient) -> None:
        client.client.requests_kwargs["timeout"] = TIMEOUT_S  # where googlemaps keeps its timeout

    def break_dns(self, client: LegacyMapsClient) -> None:
        client.client.base_url = NO_DNS


class MapsRoutes(_Maps):
    name, path = "maps_routes", r"^/directions/v2"
    replies = {
        "slow": Reply(200, {}),
        "5xx": _routes_error(503, "The service is currently unavailable.", "UNAVAILABLE"),
        "401": _routes_error(401, "Request is missing required authentication credential.", "UNAUTHENTICATED"),
        "403": _routes_error(403, "Routes API has not been used in project 123 before or it is disabled.",
                             "PERMISSION_DENIED"),
        "429": _routes_error(429, "Quota exceeded for quota metric 'Compute Routes requests'.", "RESOURCE_EXHAUSTED",
                             RA),
        "malformed": _json('{"routes": [{"distanceMeters": 14'),
        "html_page": HTML_REPLY,
        "empty": Reply(200, {}),
        "zero_route": Reply(200, {"routes": [{"duration": "0s"}]}),  # proto3 JSON: 0 m is left out
    }

    def client(self, base_url: str) -> RoutesClient:
        return RoutesClient(fmaps.KEY, base_url, timeout=EASY_S)

    def break_dns(self, client: RoutesClient) -> None:
        client.base_url = NO_DNS


class _Tesla(Source):
    status, path = "vehicle", r"^/api/"
    replies = {
        "slow": Reply(200, {"response": [], "count": 0}),
        "5xx": _tesla_error(503, "upstream internal error"),
        "401": _tesla_error(401, "invalid bearer token"),
        "403": _tesla_error(403, "forbidden"),
        "429": _tesla_error(429, "Too Many Requests", RA),
        "malformed": _json('{"response": [{"id": 1492931337, "vin": "5YJ'),
        "html_page": HTML_REPLY,
        "empty": Reply(200, {"response": [], "count": 0}),
    }

    def call(self, client: Any) -> Any:
        return client.summary()

    def secrets(self) -> list[str]:
        fake = self.fake
        return [VIN, EMAIL, fake.client_id, *fake.tokens.access, *fake.tokens.refresh]  # type: ignore[attr-defined]

    def service(self, client: Any, backoff: Backoff) -> tuple[Coordinator, datetime, datetime]:
        self.fake.car = FakeCar(now=NOW.astimezone(UTC), state="online", plugged=True)  # type: ignore[attr-defined]
        link = VehicleLink(client, self.tmp / "state", data_min_interval_min=10, wakes_per_day=4,
                           commands_per_day=40, zone=NY, backoff=backoff)
        return Coordinator(self.settings(), link, None, None), NOW, NOW + timedelta(minutes=14)

    def kept(self, state: dict[str, Any]) -> bool:
        vehicle = car_section(state, FIRST_CAR)["vehicle"]
        return vehicle is not None and vehicle["battery_level"] == 45


class TeslaOwner(_Tesla):
    name = "tesla_owner"

    def client(self, base_url: str) -> OwnerVehicle:
        path = self.tmp / "owner_token.json"
        if not path.exists():
            token = self.fake.grant()  # type: ignore[attr-defined]
            token.update(expires_at=time.time() + 28800)
            path.write_text(json.dumps({EMAIL: {"url": self.fake.url + "/", "sso": token}}))
        return OwnerVehicle(EMAIL, cache_file=path, vin=VIN, base_url=base_url, sso_base_url=self.fake.url,
                            clock=lambda: self.fake.car.now, sleep=lambda s: None,  # type: ignore[attr-defined]
                            timeout=EASY_S)

    def shorten(self, client: OwnerVehicle) -> None:
        client.tesla.timeout = TIMEOUT_S  # teslapy's per-request default

    def break_dns(self, client: OwnerVehicle) -> None:
        set_base_url(NO_DNS)  # teslapy's own way: the module global every API path is joined onto


class TeslaFleet(_Tesla):
    name = "tesla_fleet"

    def client(self, base_url: str) -> FleetVehicle:
        path = self.tmp / "fleet_token.json"
        if not path.exists():
            save_token(path, self.fake.grant())  # type: ignore[attr-defined]
        return FleetVehicle(base_url, token_file=path, client_id=self.fake.client_id,  # type: ignore[attr-defined]
                            token_url=self.fake.url, vin=VIN, clock=lambda: self.fake.car.now,  # type: ignore
                            sleep=lambda s: None, timeout=(EASY_S, EASY_S))

    def shorten(self, client: FleetVehicle) -> None:
        client.timeout = (TIMEOUT_S, TIMEOUT_S)

    def break_dns(self, client: FleetVehicle) -> None:
        client.base_url = NO_DNS


class _Series(Source):
    """A price or CO₂ source: its client behind the polled series and the signal source, as the daemon wires them."""

    objective = Objective.COST

    def series(self, client: Any, backoff: Backoff) -> PolledSeries: ...

    def service(self, client: Any, backoff: Backoff) -> tuple[Coordinator, datetime, datetime]:
        clock = Clock(NOW)
        self.fake.now = NOW  # type: ignore[attr-defined]
        series = self.series(client, backoff)
        client.before_request = series.spend
        signal = SignalSource(self.objective, NY, **{"price" if self.objective is Objective.COST else "co2": series})
        coord = Coordinator(self.settings(), self.sim_link(clock), None, None, signal=signal)
        return coord, NOW, NOW + timedelta(hours=3, minutes=5)  # the next fetch is due

    def kept(self, state: dict[str, Any]) -> bool:
        return state["signal"]["source"] == self.name and bool(state["signal"]["points"])


class ComEd(_Series):
    name, status, path = "comed", "comed", r"^/(api|rrtp/)"
    replies = {
        "slow": Reply(200, []),
        "5xx": Reply(503, "Service Unavailable", {"Content-Type": "text/html"}),
        "401": Reply(401, "Unauthorized", {"Content-Type": "text/html"}),
        "403": Reply(403, "Forbidden", {"Content-Type": "text/html"}),
        "429": Reply(429, "Too Many Requests", {"Content-Type": "text/html", **RA}),
        "malformed": _json('[{"millisUTC": "17'),
        "html_page": HTML_REPLY,
        "empty": Reply(200, []),
    }

    def client(self, base_url: str) -> comed.ComEdClient:
        return comed.ComEdClient(base_url, timeout=EASY_S)

    def call(self, client: comed.ComEdClient) -> Any:
        return client.five_minute()

    def break_dns(self, client: comed.ComEdClient) -> None:
        client.base_url = NO_DNS

    def secrets(self) -> list[str]:
        return []

    def series(self, client: comed.ComEdClient, backoff: Backoff) -> PolledSeries:
        return PolledSeries("comed", "ComEd hourly pricing", comed_fetch(client), self.tmp / "state",
                            errors=(comed.ComEdError,), fetch_hours=3, requests_per_month=None, backoff=backoff,
                            min_ahead=DAY_AHEAD_MIN)


class WattTime(_Series):
    name, status, path = "watttime", "watttime", r"^/v3/"
    objective = Objective.CO2
    replies = {
        "slow": Reply(200, {"data": [], "meta": {}}),
        "5xx": Reply(503, {"error": "Service Unavailable"}),
        "401": Reply(401, {"error": "Unauthorized"}),
        "403": Reply(403, {"error": "You do not have access to this region"}),
        "429": Reply(429, {"error": "Too Many Requests"}, RA),
        "malformed": _json('{"data": [{"point_time": "2026-'),
        "html_page": HTML_REPLY,
        "empty": Reply(200, {"data": [], "meta": {"region": "PJM_DC", "units": "lbs_co2_per_mwh"}}),
    }

    def client(self, base_url: str) -> wt.WattTimeClient:
        return wt.WattTimeClient(fwt.USER, fwt.PASSWORD, base_url, timeout=EASY_S)

    def call(self, client: wt.WattTimeClient) -> Any:
        return client.forecast("PJM_DC").points

    def break_dns(self, client: wt.WattTimeClient) -> None:
        client.base_url = NO_DNS

    def secrets(self) -> list[str]:
        return [fwt.PASSWORD, *self.fake.tokens]  # type: ignore[attr-defined]

    def series(self, client: wt.WattTimeClient, backoff: Backoff) -> PolledSeries:
        return PolledSeries("watttime", "WattTime PJM_DC", watttime_fetch(client, "PJM_DC", 0.0, 0.0),
                            self.tmp / "state", errors=(wt.WattTimeError,), fetch_hours=3, requests_per_month=None,
                            backoff=backoff)


KINDS: dict[str, tuple[type[Source], Callable[[], FakeServer]]] = {
    "gridstatus": (GridStatus, FakeGridStatus),
    "google_calendar": (GoogleCal, FakeGoogle),
    "ical": (ICal, lambda: FakeICal(ICS)),
    "maps_legacy": (MapsLegacy, FakeMaps),
    "maps_routes": (MapsRoutes, FakeMaps),
    "tesla_owner": (TeslaOwner, FakeOwnerApi),
    "tesla_fleet": (TeslaFleet, FakeFleetApi),
    "comed": (ComEd, FakeComEd),
    "watttime": (WattTime, FakeWattTime),
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeServer]]:
    servers = {name: make().start() for name, (_, make) in KINDS.items()}
    try:
        yield servers
    finally:
        for s in servers.values():
            s.stop()


def source_for(name: str, fakes: dict[str, FakeServer], tmp: Path) -> Source:
    tmp.mkdir(parents=True, exist_ok=True)
    fake = fakes[name]
    with fake.lock:
        fake.injected.clear()
        if hasattr(fake, "reset"):
            fake.reset()
        else:
            fake.log.clear()
    if name.startswith("tesla"):
        fake.reset(FakeCar(state="asleep"))  # type: ignore[attr-defined]
    return KINDS[name][0](fake, tmp)


def assert_one_clean_line(message: str, secrets: list[str]) -> None:
    assert message and "\n" not in message and len(message) <= 300, message
    assert "<" not in message and "Traceback" not in message, message  # no markup, no dumps
    for secret in secrets:
        assert secret not in message, f"secret {secret[:6]}… leaked into {message!r}"


# ---------------------------------------------------------------------- the matrix
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("name", SOURCES)
def test_fault_matrix(name, fault, fakes, tmp_path):
    """One cell: the client alone, then the same fault through the provider and the coordinator."""
    expect = EXPECT[(name, fault)]
    client_raises_its_own_error(source_for(name, fakes, tmp_path / "client"), fault, expect)
    loop_goes_on_and_says_so(source_for(name, fakes, tmp_path / "service"), fault, expect)


def client_raises_its_own_error(src: Source, fault: str, expect: Expect) -> None:
    """A typed error in one clean line, with the server's Retry-After; or nothing, for a valid empty reply."""
    client = src.client(src.fake.url)
    if fault == "no_dns":
        src.break_dns(client)
    if fault == "timeout":
        src.shorten(client)
    src.fault(fault)
    started = time.monotonic()
    if expect.error is None:
        assert not src.call(client)  # a valid empty reply: nothing, and no error
        return
    with pytest.raises(Exception) as caught:
        src.call(client)
    err = caught.value
    assert isinstance(err, expect.error), f"{type(err).__module__}.{type(err).__name__}: {err}"
    assert type(err).__module__.startswith("clients."), "a raw library exception escaped"
    assert re.search(expect.words, str(err)), str(err)
    assert_one_clean_line(str(err), src.secrets())
    assert (getattr(err, "retry_after_s", None) == RETRY_AFTER_S) == expect.retry_after
    if fault == "timeout":
        assert time.monotonic() - started < SLOW_S  # the client gave up before the server answered


def loop_goes_on_and_says_so(src: Source, fault: str, expect: Expect) -> None:
    """The last good data, marked stale with retry_at; reasons naming the failure and the next try; no request
    before retry_at. For a valid empty reply: no failure at all."""
    client = src.client(src.fake.url)
    backoff = Backoff(timedelta(minutes=14), rng=random.Random(7))
    coord, t0, t1 = src.service(client, backoff)
    good = coord.tick(t0)
    assert src.kept(good.state) and good.state["health"]["sources"][src.status]["ok"]
    if fault == "no_dns":
        src.break_dns(client)
    if fault == "timeout":
        src.shorten(client)
    src.fault(fault)
    result = coord.tick(t1)
    state = json.loads((src.tmp / "state" / "state.json").read_text())
    st = state["health"]["sources"][src.status]
    reasons = " ".join(result.decision.reasons)
    text = json.dumps(state)
    for secret in src.secrets():
        assert secret not in text, f"secret {secret[:6]}… leaked into state.json"
    if expect.service == "ok":
        assert st["ok"] and not st["stale"] and st["retry_at"] is None
        return
    assert not st["ok"] and st["stale"] and src.kept(state), st
    assert_one_clean_line(st["last_error"], src.secrets())
    retry_at = datetime.fromisoformat(st["retry_at"])
    if expect.wait:
        assert retry_at >= t1 + expect.wait
    elif expect.retry_after:
        assert retry_at == t1 + timedelta(seconds=RETRY_AFTER_S)  # the server's Retry-After beats one tick
    else:
        assert t1 + timedelta(minutes=14) * 0.8 <= retry_at <= t1 + timedelta(minutes=14) * 1.2
    said = {"grid": "grid forecast is stale", "calendar": "calendar could not be read",
            "maps": "Google Maps is failing", "vehicle": "car could not be read",
            "comed": "ComEd hourly pricing is stale", "watttime": "WattTime PJM_DC is stale"}[src.status]
    assert said in reasons and f"next try {retry_text(retry_at, t1, NY)}" in reasons, reasons
    # not asked again before the retry time, asked again after it
    asked = len(src.fake.log)
    coord.tick(min(retry_at, t1 + timedelta(hours=1)) - timedelta(minutes=1))
    assert len(src.fake.log) == asked


# ---------------------------------------------------------------------- real answers that are not outages (issue 15)
QUIRKS: dict[tuple[str, str], Expect] = {
    # the plan's monthly rows are spent: wait for the end of the usage period GridStatus states (Nov 15 here), not
    # a tick and not the calendar month's end
    ("gridstatus", "usage_spent"): Expect(gsc.QuotaSpentError, r"monthly allowance used up",
                                          wait=timedelta(days=14)),
    # OVER_DAILY_LIMIT is the key or billing: one line naming the fix, a day's wait
    ("maps_legacy", "over_daily_limit"): Expect(K, r"OVER_DAILY_LIMIT: fix GOOGLE_MAPS_API_KEY or its Google "
                                                   r"Cloud project's billing", wait=DAY),
}


@pytest.mark.parametrize("name, quirk", list(QUIRKS))
def test_real_quirks(name, quirk, fakes, tmp_path):
    expect = QUIRKS[(name, quirk)]
    client_raises_its_own_error(source_for(name, fakes, tmp_path / "client"), quirk, expect)
    loop_goes_on_and_says_so(source_for(name, fakes, tmp_path / "service"), quirk, expect)


def test_a_zero_metre_route_is_a_drive_of_0_km_through_the_loop(fakes, tmp_path):
    src = source_for("maps_routes", fakes, tmp_path)
    leg = src.client(src.fake.url)
    src.fault("zero_route")
    assert leg.drive(HOME, FAR).distance_m == 0.0
    src.fake.injected.clear()
    coord, t0, t1 = src.service(src.client(src.fake.url), Backoff(timedelta(minutes=14)))
    coord.tick(t0)
    src.fault("zero_route")
    state = coord.tick(t1).state  # the far event has entered the 48 h window: its drive is asked now
    far = [e for e in car_section(state, FIRST_CAR)["events"] if e["summary"] == "far"]
    assert far and far[0]["distance_km"] == 0.0 and state["health"]["sources"]["maps"]["ok"], far
