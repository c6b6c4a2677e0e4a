"""Backoff per source: exponential from the tick interval, capped, ±20 % jitter, Retry-After as a floor."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from clients.http_text import readable, retry_after_s
from service.backoff import MAX_RETRY_AFTER, Backoff, retry_after_of, retry_text

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TICK = timedelta(minutes=14)


def test_delays_double_from_one_tick_to_the_cap_within_the_jitter():
    b = Backoff(TICK, cap=timedelta(hours=4), rng=random.Random(7))
    waits = [b.failed(NOW) - NOW for _ in range(8)]
    raw = [min(TICK * 2 ** i, timedelta(hours=4)) for i in range(8)]
    for wait, expected in zip(waits, raw, strict=True):
        assert expected * 0.8 <= wait <= expected * 1.2
    assert waits[-1] <= timedelta(hours=4.8)
    assert len({round(w / expected, 6) for w, expected in zip(waits, raw, strict=True)}) > 1  # jittered


def test_the_same_seed_gives_the_same_schedule():
    a, b = Backoff(TICK, rng=random.Random(1)), Backoff(TICK, rng=random.Random(1))
    assert [a.failed(NOW) for _ in range(5)] == [b.failed(NOW) for _ in range(5)]


def test_not_ready_before_retry_at_and_a_success_resets():
    b = Backoff(TICK, rng=random.Random(3))
    assert b.ready(NOW)
    at = b.failed(NOW)
    assert not b.ready(NOW + timedelta(minutes=5)) and not b.ready(at - timedelta(seconds=1)) and b.ready(at)
    b.failed(at)
    b.succeeded()
    assert b.ready(NOW) and b.failures == 0 and b.retry_at is None
    assert b.failed(NOW) - NOW <= TICK * 1.2  # back to one tick


def test_retry_after_and_a_sources_own_rule_are_floors():
    b = Backoff(TICK, rng=random.Random(3))
    assert b.failed(NOW, retry_after_s=3600) == NOW + timedelta(hours=1)
    assert b.failed(NOW, retry_after_s=5) > NOW + timedelta(seconds=5)  # shorter than the backoff: backoff wins
    assert b.failed(NOW, retry_after_s=10 ** 9) == NOW + MAX_RETRY_AFTER
    month_end = datetime(2026, 12, 1, tzinfo=UTC)
    assert b.failed(NOW, at_least=month_end) == month_end


def test_retry_after_parsing_and_reading_it_off_an_error():
    assert retry_after_s({"Retry-After": "120"}) == 120.0 and retry_after_s({"retry-after": " 1.5 "}) == 1.5
    assert retry_after_s({}) is None and retry_after_s({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    err = RuntimeError("rate limited")
    assert retry_after_of(err) is None
    err.retry_after_s = 30.0  # type: ignore[attr-defined]
    assert retry_after_of(err) == 30.0


def test_an_html_error_page_becomes_a_few_words():
    page = "<!DOCTYPE html>\n<html><head><title>502 Bad\n Gateway</title></head><body><h1>Oops</h1></body></html>"
    assert readable(page) == "an HTML page (502 Bad Gateway)"
    assert readable("<html><body><h1>Service &amp; more</h1><p>x</p></body></html>") == \
        "an HTML page (Service & more)"
    assert readable("plain\n  text") == "plain text" and readable(b"") == ""


def test_the_next_try_in_words():
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    now = datetime(2026, 10, 31, 12, 0, tzinfo=ny)
    assert retry_text(now + timedelta(minutes=14), now, ny) == "at 12:14"
    assert retry_text(now + timedelta(hours=14), now, ny) == "at tomorrow 02:00"
    assert retry_text(datetime(2026, 11, 1, tzinfo=UTC), now, ny) == "at 20:00"
    assert retry_text(datetime(2026, 12, 1, tzinfo=UTC), now, ny) == "on Mon 30 Nov 19:00"


def test_a_servers_wait_survives_a_restart_per_source_and_a_broken_file_is_a_fresh_clock(tmp_path):
    path = tmp_path / "backoff.json"
    grid, car = Backoff(TICK, rng=random.Random(1)).keep(path, "grid"), Backoff(TICK).keep(path, "vehicle")
    maps = Backoff(TICK).keep(path, "maps")
    at = grid.failed(NOW, retry_after_s=3600)  # the server asked for an hour
    car.failed(NOW, retry_after_s=600)
    car.succeeded()
    maps.failed(NOW)  # a wait the backoff chose itself (say, a wrong key): a restart after fixing it asks at once
    grid_again, car_again = Backoff(TICK).keep(path, "grid"), Backoff(TICK).keep(path, "vehicle")
    maps_again = Backoff(TICK).keep(path, "maps")
    assert (grid_again.failures, grid_again.retry_at) == (1, at) and not grid_again.ready(NOW + TICK)
    assert car_again.failures == 0 and car_again.ready(NOW)
    assert maps_again.failures == 0 and maps_again.ready(NOW)
    for broken in ("not json", '{"grid": {"failures": "x", "retry_at": "2026-11-30T13:00:00"}}',
                   '{"grid": {"failures": 2, "retry_at": "2026-11-30T13:00:00"}}', '["grid"]'):
        path.write_text(broken)
        fresh = Backoff(TICK).keep(path, "grid")
        assert fresh.failures == 0 and fresh.ready(NOW), broken
