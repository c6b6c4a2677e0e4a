"""A month unattended, compressed: 30 days of 14-minute ticks of the real daemon against the fakes, with faults.

The engine is tests/soak_harness.py (also behind `python scripts/soak.py`); `python -m pytest tests/test_soak.py -s`
prints the figures. What must hold after 3086 ticks, three restarts and a few hundred injected faults:
no tick raises, state.json is always whole (read after every tick and by a reader thread during them), the history
holds exactly one entry per tick of the last 7 days, the car is never woken or commanded while unplugged, never sent
a setting it already has, and no API is called beyond its budget.
"""

from __future__ import annotations

import pytest

from tests.soak_harness import run_soak

pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def report():
    r = run_soak(days=30, seed=7)
    print("\n" + r.table())
    return r


def test_every_tick_returns(report):
    assert report.ticks == 3086 and report.restarts == 3
    assert report.crashes == []


def test_state_file_always_whole(report):
    assert report.unreadable_after_tick == 0 and report.state_reads_after_tick == report.ticks
    assert report.unreadable_concurrent == 0 and report.concurrent_reads > 100


def test_history_is_one_entry_per_tick_of_the_last_week(report):
    assert report.history_gaps == 0
    assert report.history_len == report.history_expected == 721


def test_the_car_is_left_alone_while_unplugged(report):
    assert (report.wakes_unplugged, report.commands_unplugged) == (0, 0)


def test_no_command_repeats_what_the_car_has(report):
    assert report.duplicate_commands == []


def test_calls_stay_within_budgets(report):
    assert 0 < report.wakes_max_day <= report.wakes_budget_day
    assert 0 < report.commands_max_day <= report.commands_budget_day
    assert report.grid_by_month and max(report.grid_by_month.values()) <= report.grid_budget_month
    assert report.maps_by_month and max(report.maps_by_month.values()) <= report.maps_budget_month


def test_faults_reached_every_source_and_the_car_still_charged(report):
    assert all(sum(kinds.values()) > 0 for kinds in report.faults.values()), report.faults
    assert report.null_replies > 0 and report.offline_spells > 0
    assert report.known_place_not_found == 0
    assert report.mornings_plugged > 15 and report.charged_by_departure == report.mornings_plugged
    assert report.problems() == []
