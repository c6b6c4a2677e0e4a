"""A month against a car on 2026 firmware through tesla-http-proxy's reply shapes (issue 15's soak).

The engine is tests/soak_harness.py (`python scripts/soak.py --firmware 2026 --outage-hours 24` prints the table):
the real daemon, Fleet backend, ICAL_URL and the Routes API, 30 days of 14-minute ticks with the harness's faults and
three restarts; the car (firmware 2026.38) keeps charge schedules, two of them the owner's (a weekday one at work, a
disabled one at home); the proxy answers a car's refusal as HTTP 200 "car could not execute command: ..."; and from an
evening of the 13th day when the car waits to charge the daemon is down 24 hours while the household goes on (unplugs,
drives, plugs in again).

What must hold: every check of the other soaks (no tick raises, state.json whole, history complete, the car never
woken or commanded while unplugged, no command repeating what the car has, budgets), and: never two schedules of the
scheduler's in the car, the owner's never touched, the car starting the plan by itself, also through the outage
(no request meanwhile, every morning in it left with at least 50 %), billed commands per plug-in session <= 2 (seeds 7,
11, 23, 3 and 42 hold it: docs/tesla.md), and Fleet API billing <= $0.50 a car-month with every reply below 500
counted: the vehicle list too (Tesla shows no free pricing category for it). Listed every 14-minute tick that was
about $5.80 of a $6.10 month; the daemon now lists a car that charges the plan by its own schedule only when the
answer can change what it does (VEHICLE_LIST_IDLE_MIN, the household's learned arrival and departure hours), about
$3.6-3.9 of a $3.9-4.2 month: the bound stays xfail (strict), and the bill besides the lists is held to it.
"""

from __future__ import annotations

import pytest

from tests.fakes.tesla_car import FIRMWARE_2026
from tests.soak_harness import COMMANDS_PER_SESSION_MAX, FLEET_USD_PER_CAR_MONTH_MAX, run_soak

pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def report():
    r = run_soak(days=30, seed=7, restart_every_days=10, firmware=FIRMWARE_2026, outage_hours=24)
    print("\n" + r.table())
    return r


def test_a_month_on_2026_firmware_holds_every_soak_check(report):
    assert report.takes_schedules and report.restarts == 3 and report.crashes == []
    assert report.problems() == []
    assert (report.wakes_unplugged, report.commands_unplugged) == (0, 0)
    assert report.duplicate_commands == []


def test_never_two_schedules_of_the_scheduler_s_and_the_owner_s_untouched(report):
    assert report.schedule_writes > 0 and report.scheduler_schedules_max == 1
    assert report.schedule_duplicate_ticks == 0
    assert report.owner_schedules == 2 and report.owner_schedules_touched == 0


def test_the_proxy_s_refusals_came_and_were_done(report):
    """A refusal through the proxy is HTTP 200 with result false; harmless ones must not count as failures (the soak
    would then re-read and re-send, and show up as duplicate commands)."""
    assert set(report.refusals) <= {"already_set", "is_charging", "not_charging", "complete"}, report.refusals


def test_the_car_charges_the_plan_through_a_24_h_daemon_outage(report):
    assert report.outage_from and report.outage_requests == 0
    assert report.outage_schedule_starts >= 1 and report.outage_charged_pct > 0
    assert report.outage_departures and min(report.outage_departures) >= 50
    assert report.schedule_starts > 0 and report.charged_by_departure == report.mornings_plugged > 15


def test_at_most_two_billed_commands_a_session(report):
    """Every billed reply to a command counts, a fault's too (a 429 retried is two); over budget, the message lists
    the session's ticks and commands."""
    assert report.sessions > 20 and report.commands_per_session_max <= COMMANDS_PER_SESSION_MAX, report.over_budget()


def test_the_vehicle_list_is_asked_far_less_than_every_tick_and_a_plug_in_is_still_read_within_one(report):
    """Issue 15: the list is billed as data. Once the household's hours are learned (day 10 on) it is asked well under
    every tick (about 2,900 a month before), and half the plug-ins are still read within a tick (the car's 15 awake
    minutes: the plan goes without a wake)."""
    ticks_month = report.ticks * 30 / report.days
    assert report.lists_month_learned < 0.6 * ticks_month, (report.lists_month_learned, ticks_month)
    median, _ = report.plug_seen_median_max_min
    assert median <= 14, report.notes


@pytest.mark.xfail(strict=True, reason="issue 15: the vehicle list is billed as a data request; asked only when the "
                                       "answer can change what the daemon does (VEHICLE_LIST_IDLE_MIN 60, the "
                                       "household's arrival and departure hours every tick) it is still about 1,800-"
                                       "1,950 a month, $3.6-3.9 of a $3.9-4.2 car-month (2026-12-07, seeds 7, 11, "
                                       "23): docs/tesla.md")
def test_fleet_api_billing_stays_under_fifty_cents_a_car_month(report):
    assert report.tesla_cost_month_usd <= FLEET_USD_PER_CAR_MONTH_MAX, report.over_budget()


def test_fleet_api_billing_besides_the_vehicle_list_stays_under_fifty_cents_a_car_month(report):
    """What the daemon's reads, wakes and commands cost (the list aside): the bound the rules above are held to."""
    assert 0 < report.tesla_list_cost_usd < report.tesla_cost_usd
    assert report.tesla_cost_month_besides_list_usd <= FLEET_USD_PER_CAR_MONTH_MAX, report.over_budget()
