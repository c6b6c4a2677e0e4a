"""Distances through the real googlemaps package and the Routes client against a fake Maps server."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from charge_logic.models import Route
from clients import places
from clients.maps_errors import MapsKeyError, PlaceNotFoundError
from clients.maps_legacy import LegacyMapsClient
from clients.maps_routes import RoutesClient
from service.distances import NO_KEY_NOTE, NOT_A_PLACE_NOTE, DistanceService
from service.settings import load_settings
from service.trip_source import make_drive_client
from tests.fakes.http import Reply
from tests.fakes.maps import KEY, FakeMaps

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
HOME = "1 Home Rd, Springfield MA"


@pytest.fixture(scope="module")
def server():
    with FakeMaps() as f:
        yield f


@pytest.fixture
def fake(server):
    server.reset()
    return server


def client_for(fake, api: str, key: str = KEY):
    s = load_settings(environ={"GOOGLE_MAPS_API_KEY": key, "MAPS_API": api, "MAPS_BASE_URL": fake.url,
                               "ROUTES_BASE_URL": fake.url}, env_file=None)
    return make_drive_client(s)


@pytest.mark.parametrize("api", ["routes", "legacy"])
def test_both_apis_give_the_same_drive(fake, api):
    leg = client_for(fake, api).drive(HOME, "South Station, Boston MA")
    assert (leg.distance_m, leg.duration_s) == (145000, 6600)
    with pytest.raises(PlaceNotFoundError):
        client_for(fake, api).drive(HOME, "Atlantis")


def test_routes_request_shape(fake):
    RoutesClient(KEY, fake.url).drive(HOME, "Dentist, 12 Oak Ave")
    (req,) = fake.requests("POST")
    assert req.headers["X-Goog-Api-Key"] == KEY
    assert req.headers["X-Goog-FieldMask"] == "routes.distanceMeters,routes.duration"
    body = req.json()
    assert body["origin"] == {"address": HOME} and body["destination"] == {"address": "Dentist, 12 Oak Ave"}
    assert body["travelMode"] == "DRIVE" and "key" not in req.query


def test_legacy_request_goes_through_googlemaps_with_the_key_in_the_query(fake):
    LegacyMapsClient(KEY, fake.url).drive(HOME, "Dentist, 12 Oak Ave")
    (req,) = fake.requests("GET", "distancematrix")
    assert req.query["key"] == [KEY] and req.query["mode"] == ["driving"] and req.query["origins"] == [HOME]


def test_a_key_refused_by_one_api_names_the_other(fake):
    fake.routes_enabled = False
    with pytest.raises(MapsKeyError, match="MAPS_API=legacy") as err:
        client_for(fake, "routes").drive(HOME, "Dentist, 12 Oak Ave")
    assert KEY not in str(err.value)
    fake.legacy_enabled = False
    with pytest.raises(MapsKeyError, match="MAPS_API=routes"):
        client_for(fake, "legacy").drive(HOME, "Dentist, 12 Oak Ave")
    with pytest.raises(MapsKeyError, match="GOOGLE_MAPS_API_KEY"):
        client_for(fake, "routes", key="AIza-wrong").drive(HOME, "Dentist, 12 Oak Ave")


@pytest.mark.parametrize("location, place", [
    ("", False), ("   ", False), (None, False), ("Zoom", False), ("Microsoft Teams Meeting", False),
    ("Google Meet", False), ("https://zoom.us/j/123456789?pwd=abc", False), ("meet.google.com/abc-defg-hij", False),
    ("+1 (555) 123-4567", False), ("tel:+4722000000", False), ("Zoom Meeting ID: 123 456 7890", False),
    ("Teams; https://teams.microsoft.com/l/meetup-join/19%3a", False),
    ("Dentist, 12 Oak Ave", True), ("South Station, Boston MA", True), ("Gym annex\n5 Elm St", True),
])
def test_places_that_are_not_places(location, place):
    assert places.is_place(location) is place


def test_normalized_destinations_share_a_cache_entry():
    assert places.normalize("  South Station ,Boston MA. ") == places.normalize("south station, boston ma")


def service(fake, tmp_path, api="routes", **kw) -> DistanceService:
    return DistanceService(client_for(fake, api), HOME, tmp_path, **kw)


def test_cache_hit_and_not_a_place_cost_no_call(fake, tmp_path):
    d = service(fake, tmp_path)
    assert d.route("South Station, Boston MA", NOW) == (Route(145.0, 110.0), None)
    assert d.route("south station,  Boston MA", NOW + timedelta(hours=1)) == (Route(145.0, 110.0), None)
    assert d.route("Zoom", NOW) == (None, NOT_A_PLACE_NOTE)
    again = service(fake, tmp_path)  # a restart reads the cache from disk
    assert again.route("South Station, Boston MA", NOW + timedelta(days=2))[0] == Route(145.0, 110.0)
    assert len(fake.log) == 1 and d.status.calls_month == 1
    assert stat.S_IMODE(os.stat(tmp_path / "distance_cache.json").st_mode) == 0o600
    assert service(fake, tmp_path, cache_days=1).route("South Station, Boston MA", NOW + timedelta(days=2))[0]
    assert len(fake.log) == 2  # older than DISTANCE_CACHE_DAYS: asked again


def test_unknown_place_is_remembered_and_transient_errors_back_off(fake, tmp_path):
    d = service(fake, tmp_path)
    route, note = d.route("Atlantis", NOW)
    assert route is None and "distance unknown" in note
    d.route("Atlantis", NOW + timedelta(hours=5))
    assert len(fake.log) == 1
    fake.errors = [Reply(500, {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}})]
    route, note = d.route("Dentist, 12 Oak Ave", NOW)
    assert route is None and not d.status.ok and "500" in d.status.last_error
    d.route("Dentist, 12 Oak Ave", NOW + timedelta(minutes=14))
    assert len(fake.log) == 2  # backed off
    assert d.route("Dentist, 12 Oak Ave", NOW + timedelta(hours=2)) == (Route(8.0, 15.0), None) and d.status.ok


@pytest.mark.parametrize("reply", [
    Reply(200, "<html><body>Sign in to the Wi-Fi</body></html>", {"Content-Type": "text/html"}),
    Reply(200, '{"routes": [{"distanceMet', {"Content-Type": "application/json"}),
], ids=["html page", "cut-off json"])
def test_a_reply_that_is_not_json_is_transient_not_a_place_not_found(fake, tmp_path, reply):
    """Found by the soak: a 200 that is not JSON was read as {} ("no route") and cached for DISTANCE_CACHE_DAYS."""
    d = service(fake, tmp_path)
    fake.errors = [reply]
    route, note = d.route("South Station, Boston MA", NOW)
    assert route is None and "not its JSON" in note and not d.status.ok
    assert d.route("South Station, Boston MA", NOW + timedelta(hours=2)) == (Route(145.0, 110.0), None)


def test_no_key_means_distance_unknown_with_a_note(tmp_path):
    d = DistanceService(None, HOME, tmp_path)
    assert d.route("South Station, Boston MA", NOW) == (None, NO_KEY_NOTE)
    assert d.status.ok and d.status.calls_month == 0


def test_monthly_cap(fake, tmp_path):
    d = service(fake, tmp_path, calls_per_month=2)
    for dest in ["South Station, Boston MA", "Dentist, 12 Oak Ave", "Gym annex, 5 Elm St, Springfield MA"]:
        d.route(dest, NOW)
    assert len(fake.log) == 2 and "MAPS_CALLS_PER_MONTH" in d.status.last_error
    assert d.route("Acadia National Park, ME", NOW.replace(month=12, day=1))[0] is not None


@pytest.mark.parametrize("api", ["routes", "legacy"])
def test_thirty_days_of_ticks_cost_one_call_per_destination(fake, tmp_path, api):
    d = service(fake, tmp_path, api=api)
    week = ["Planet Fitness, 100 Main St, Springfield MA", "South Station, Boston MA", "Zoom", "",
            "Dentist, 12 Oak Ave", "planet fitness, 100 main st, springfield ma", "Atlantis",
            "https://meet.google.com/x", "Acadia National Park, ME"]
    t = datetime(2026, 11, 1, tzinfo=UTC)
    ticks = 0
    while t < datetime(2026, 12, 1, tzinfo=UTC):
        for dest in week:  # every tick asks for every upcoming event's drive
            d.route(dest, t)
        t += timedelta(minutes=14)
        ticks += 1
    distinct = {places.normalize(x) for x in week if places.is_place(x)}
    calls = len(fake.calls())
    print(f"\nMaps ({api}): {calls} calls for {len(distinct)} distinct destinations over {ticks} ticks")
    assert calls == len(distinct) == 5


# ---------------------------------------------------------------------- Google as it really answers (issue 15)
def test_a_0_m_route_comes_without_distance_meters_and_is_0_km_not_place_not_found(fake, tmp_path):
    """proto3 JSON leaves zeros out: an event at home has a route with no distanceMeters."""
    import requests
    raw = requests.post(fake.url + "/directions/v2:computeRoutes", timeout=5, json={
        "origin": {"address": HOME}, "destination": {"address": HOME}, "travelMode": "DRIVE"},
        headers={"X-Goog-Api-Key": KEY, "X-Goog-FieldMask": "routes.distanceMeters,routes.duration"}).json()
    assert raw == {"routes": [{"duration": "0s"}]}  # what the client has to read
    leg = RoutesClient(KEY, fake.url).drive(HOME, HOME)
    assert (leg.distance_m, leg.duration_s) == (0.0, 0.0)
    assert service(fake, tmp_path).route(HOME, NOW) == (Route(0.0, 0.0), None)


def test_over_daily_limit_is_the_key_or_billing_named_once_and_asked_once_a_day(fake, tmp_path):
    """OVER_DAILY_LIMIT means a bad key, no billing, an exceeded cap or an invalid payment method (Google's status
    list), not "try later": one line naming the fix, and no hourly retries paying for nothing."""
    fake.over_daily_limit = True
    d = service(fake, tmp_path, api="legacy")
    t = NOW
    while t < NOW + timedelta(days=3):
        route, note = d.route("South Station, Boston MA", t)
        assert route is None
        t += timedelta(minutes=14)
    assert len(fake.calls()) <= 3
    err = d.status.last_error
    assert "OVER_DAILY_LIMIT" in err and "GOOGLE_MAPS_API_KEY" in err and "billing" in err and "\n" not in err
    assert "will retry later" not in err and KEY not in err
    fake.over_daily_limit = False
    assert d.route("South Station, Boston MA", t + timedelta(days=1))[0] == Route(145.0, 110.0)


def test_a_legacy_api_not_enabled_steers_to_the_routes_api(fake):
    fake.legacy_enabled = False
    with pytest.raises(MapsKeyError, match=r"set MAPS_API=routes and enable the Routes API .*new Cloud projects"):
        client_for(fake, "legacy").drive(HOME, "Dentist, 12 Oak Ave")
