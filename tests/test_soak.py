"""A month unattended, compressed: weeks of 14-minute ticks of the real daemon against the fakes, with faults.

The engine is tests/soak_harness.py (also behind `python scripts/soak.py`); `python -m pytest tests/test_soak.py -s`
prints the figures. It runs for two combinations of the backends a user can pick:

- fleet-ical-routes: TESLA_BACKEND=fleet, ICAL_URL, the Routes API; 30 days, 3086 ticks, a restart every 10 days;
- owner-google-legacy: TESLA_BACKEND=teslapy (the Owner API), the Google Calendar API, MAPS_API=legacy (googlemaps);
  14 days (still across the end of DST and the month's turn), 1440 ticks, a restart every 4 days, so that it takes
  about as long as the first (google-api-python-client spends some 20 ms of CPU a tick building its request objects).

What must hold for each, through three restarts and hundreds of injected faults: no tick raises, state.json is always
whole (read after every tick and by a reader thread during them), the history holds exactly one entry per tick of the
last 7 days, the car is never woken or commanded while unplugged, never sent a setting it already has, no API is
called beyond its budget, and every morning the car was plugged in overnight it leaves with enough charge.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.soak_harness import FLEET_ICAL_ROUTES, OWNER_GOOGLE_LEGACY, Backends, run_soak

pytestmark = pytest.mark.soak


@dataclass(frozen=True)
class Size:
    backends: Backends
    days: int
    restart_every_days: int
    ticks: int
    history: int  # ticks in the last 7 days at the end
    mornings: int  # at least this many mornings plugged in overnight


SIZES = {
    "fleet-ical-routes": Size(FLEET_ICAL_ROUTES, days=30, restart_every_days=10, ticks=3086, history=721, mornings=15),
    "owner-google-legacy": Size(OWNER_GOOGLE_LEGACY, days=14, restart_every_days=4, ticks=1440, history=716,
                                mornings=8),
}


@pytest.fixture(scope="module", params=list(SIZES))
def soak(request):
    size = SIZES[request.param]
    r = run_soak(days=size.days, seed=7, restart_every_days=size.restart_every_days, backends=size.backends)
    print("\n" + r.table())
    return r, size


@pytest.fixture
def report(soak):
    return soak[0]


def test_every_tick_returns(soak):
    report, size = soak
    assert report.ticks == size.ticks and report.restarts == 3
    assert report.crashes == []


def test_state_file_always_whole(report):
    assert report.unreadable_after_tick == 0 and report.state_reads_after_tick == report.ticks
    assert report.unreadable_concurrent == 0 and report.concurrent_reads > 100


def test_history_is_one_entry_per_tick_of_the_last_week(soak):
    report, size = soak
    assert report.history_gaps == 0
    assert report.history_len == report.history_expected == size.history


def test_the_car_is_left_alone_while_unplugged(report):
    assert (report.wakes_unplugged, report.commands_unplugged) == (0, 0)


def test_no_command_repeats_what_the_car_has(report):
    assert report.duplicate_commands == []


def test_calls_stay_within_budgets(report):
    assert 0 < report.wakes_max_day <= report.wakes_budget_day
    assert 0 < report.commands_max_day <= report.commands_budget_day
    assert report.grid_by_month and max(report.grid_by_month.values()) <= report.grid_budget_month
    assert report.maps_by_month and max(report.maps_by_month.values()) <= report.maps_budget_month


def test_faults_reached_every_source_and_the_car_still_charged(soak):
    report, size = soak
    assert set(report.faults) == {"tesla", "grid", size.backends.calendar, "maps"}
    assert all(sum(kinds.values()) > 0 for kinds in report.faults.values()), report.faults
    assert report.null_replies > 0 and report.offline_spells > 0
    if size.backends.calendar == "google":  # an expired access token was refreshed for real, and the loop went on,
        assert report.calendar_token_refreshes > 0  # also when Google's token endpoint itself was down
        assert any(kind.startswith("token_") for kind in report.faults["google"]), report.faults["google"]
    assert report.known_place_not_found == 0
    assert report.mornings_plugged > size.mornings and report.charged_by_departure == report.mornings_plugged
    assert report.problems() == []
