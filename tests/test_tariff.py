"""Tariffs: a URDB rate (file or fetched by label from a fake OpenEI over real HTTP, cached) and the hand-written TOU
form, into the price of any local hour; every bad input is one line naming what is wrong."""

from __future__ import annotations

import copy
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from charge_logic.tariff import TariffError, parse_tou, parse_urdb
from clients.openei import (
    OpenEIClient,
    OpenEIKeyError,
    OpenEIUnavailableError,
    RateNotFoundError,
    fetch_tariff,
    tariff_from_file,
)
from tests.fakes.http import Reply
from tests.fakes.openei import KEY, LABEL, SAMPLE_RATE, FakeOpenEI

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def local(y, mo, d, h):
    return datetime(y, mo, d, h, tzinfo=NY)


# ---------------------------------------------------------------------- URDB
@pytest.mark.parametrize("when, used, price", [
    (local(2026, 7, 15, 17), 0, 0.43),  # a summer weekday (Wednesday) at 17:00: period 2
    (local(2026, 7, 18, 17), 0, 0.12),  # Saturday: the weekend schedule, off-peak
    (local(2026, 12, 2, 17), 0, 0.31),  # a winter weekday peak
    (local(2026, 12, 2, 3), 0, 0.12),  # night: off-peak, first tier (rate 0.11 + adj 0.01)
    (local(2026, 12, 2, 3), 499.9, 0.12),
    (local(2026, 12, 2, 3), 500, 0.15),  # past the first tier's 500 kWh
    (local(2026, 12, 2, 21), 0, 0.12),  # 21:00 is past the 16-21 peak
    (local(2026, 6, 1, 16), 0, 0.43),  # June is summer
    (local(2026, 10, 1, 16), 0, 0.31),  # October is winter
])
def test_a_urdb_rate_prices_every_local_hour(when, used, price):
    assert parse_urdb(SAMPLE_RATE).price_at(when, used) == pytest.approx(price)


def test_the_api_reply_and_the_rate_alone_are_the_same_tariff():
    assert parse_urdb({"items": [SAMPLE_RATE]}) == parse_urdb(SAMPLE_RATE)
    assert parse_urdb(SAMPLE_RATE).name == "Example Electric Co Residential TOU-EV (test)"


def test_hourly_prices_follow_the_local_clock_across_a_dst_change():
    t = parse_urdb(SAMPLE_RATE)
    start = datetime(2026, 11, 2, 20, tzinfo=UTC)  # Monday 15:00 EST (DST ended on Nov 1)
    series = t.hourly(start, start + timedelta(hours=3), NY)
    assert [p for _, p in series] == pytest.approx([0.12, 0.31, 0.31])  # 15:00 off, 16:00 and 17:00 peak
    assert [s for s, _ in series] == [start + timedelta(hours=i) for i in range(3)]


def test_the_autumn_night_has_25_hours_of_prices_from_a_local_start():
    """A start given in the local zone: the repeated 1 a.m. of November 1 2026 is priced twice, none is skipped (a
    month of savings priced its hours with this)."""
    t = parse_urdb(SAMPLE_RATE)
    start = datetime(2026, 10, 31, 23, tzinfo=NY)
    series = t.hourly(start, start.astimezone(UTC) + timedelta(hours=25), NY)
    assert len(series) == 25
    assert [s - start for s, _ in series] == [timedelta(hours=i) for i in range(25)]  # real hours, none lost
    assert [s.astimezone(NY).hour for s, _ in series[:4]] == [23, 0, 1, 1]


def _bad(**change):
    rate = copy.deepcopy(SAMPLE_RATE)
    for k, v in change.items():
        if v is None:
            del rate[k]
        else:
            rate[k] = v
    return rate


@pytest.mark.parametrize("data, message", [
    ({"items": []}, '{"items": []} holds no rate: check the rate\'s label'),
    ({"items": [SAMPLE_RATE, SAMPLE_RATE]}, "the reply holds 2 rates, not one"),
    ([1, 2], "not a URDB rate"),
    (_bad(energyratestructure=None), "the rate has no energyratestructure"),
    (_bad(energyratestructure=[[{"max": 10}]]), "energyratestructure period 0 tier 0 has no rate"),
    (_bad(energyratestructure=[[{"rate": "cheap"}], [{"rate": 1}], [{"rate": 1}]]),
     "energyratestructure period 0 tier 0 rate is 'cheap', not a number"),
    (_bad(energyratestructure=[[]]), "energyratestructure period 0 has no tiers"),
    (_bad(energyweekdayschedule=SAMPLE_RATE["energyweekdayschedule"][:11]),
     "energyweekdayschedule is 11 months, not 12 months x 24 hours"),
    (_bad(energyweekendschedule=None), "energyweekendschedule is missing, not 12 months x 24 hours"),
    (_bad(energyweekdayschedule=[[0] * 23] + [[0] * 24] * 11), "energyweekdayschedule jan has 23 hours, not 24"),
    (_bad(energyweekdayschedule=[[0] * 17 + [3] + [0] * 6] * 12),
     "energyweekdayschedule jan 17:00 names period 3, but energyratestructure has periods 0-2"),
])
def test_a_bad_rate_is_one_line_naming_what_is_wrong(data, message):
    with pytest.raises(TariffError) as err:
        parse_urdb(data)
    text = str(err.value)
    assert text.startswith("TARIFF_FILE: ") and message in text and "\n" not in text, text


def test_a_rate_file_and_its_errors_name_the_file(tmp_path):
    good = tmp_path / "rate.json"
    good.write_text(json.dumps({"items": [SAMPLE_RATE]}))
    assert tariff_from_file(good).price_at(local(2026, 7, 15, 17)) == pytest.approx(0.43)
    broken = tmp_path / "broken.json"
    broken.write_text('{"items": [')
    with pytest.raises(TariffError, match=r"^TARIFF_FILE=.*broken.json: not JSON"):
        tariff_from_file(broken)
    with pytest.raises(TariffError, match=r"^TARIFF_FILE=.*missing.json: cannot be read"):
        tariff_from_file(tmp_path / "missing.json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(_bad(energyweekendschedule=None)))
    with pytest.raises(TariffError, match=r"^TARIFF_FILE=wrong.json: energyweekendschedule is missing"):
        tariff_from_file(wrong)


# ---------------------------------------------------------------------- the hand-written form
@pytest.mark.parametrize("text, when, price", [
    ("0.12", local(2026, 7, 15, 17), 0.12),
    ("0.12, 16-21 0.38 weekdays", local(2026, 7, 15, 17), 0.38),
    ("0.12, 16-21 0.38 weekdays", local(2026, 7, 18, 17), 0.12),  # Saturday
    ("0.12, 16-21 0.38 weekdays", local(2026, 7, 15, 21), 0.12),  # the end hour is not in the window
    ("0.20, 22-6 0.08", local(2026, 7, 15, 23), 0.08),  # past midnight
    ("0.20, 22-6 0.08", local(2026, 7, 15, 5), 0.08),
    ("0.20, 22-6 0.08", local(2026, 7, 15, 6), 0.20),
    ("0.12, 16-21 0.30, jun-sep 16-21 0.45", local(2026, 8, 3, 18), 0.45),  # later windows win
    ("0.12, 16-21 0.30, jun-sep 16-21 0.45", local(2026, 11, 3, 18), 0.30),
    ("0.12, nov-feb 0-24 0.10", local(2026, 1, 10, 12), 0.10),  # a month range over the new year
    ("0.12, nov-feb 0-24 0.10", local(2026, 3, 10, 12), 0.12),
    ("$0.12, 16-21 $0.38 weekends", local(2026, 7, 18, 17), 0.38),
])
def test_the_hand_written_tou_form(text, when, price):
    assert parse_tou(text).price_at(when) == pytest.approx(price)


@pytest.mark.parametrize("text, message", [
    ("", "TARIFF_TOU is empty: write a base price in $/kWh"),
    ("cheap", "TARIFF_TOU: 'cheap': 'cheap' is not a price in $/kWh"),
    ("0.12, 16-25 0.38", "TARIFF_TOU: '16-25 0.38': hour 25 is not 0-24"),
    ("0.12, 16-21", "TARIFF_TOU: '16-21' is not '[jun-sep ]H1-H2 PRICE[ weekdays|weekends]'"),
    ("0.12, 16-16 0.3", "the window starts and ends at the same hour"),
    ("0.12, 16-21 38", "'38' is not a price in $/kWh (0 to 10)"),
    ("0.12, jun-sept 16-21 0.3", "is not '[jun-sep ]H1-H2 PRICE"),
    ("0.12, jun-xyz 16-21 0.3", "'xyz' is not a month (jan ... dec)"),
])
def test_a_bad_tou_form_is_one_line_naming_what_is_wrong(text, message):
    with pytest.raises(TariffError) as err:
        parse_tou(text)
    assert message in str(err.value) and "\n" not in str(err.value), str(err.value)


# ---------------------------------------------------------------------- fetched by label from OpenEI
@pytest.fixture(scope="module")
def server():
    with FakeOpenEI() as f:
        yield f


@pytest.fixture
def fake(server):
    server.reset()
    server.injected.clear()
    return server


def test_a_rate_is_fetched_once_by_its_label_and_kept(fake, tmp_path):
    cache = tmp_path / "tariff.json"
    client = OpenEIClient(KEY, fake.url)
    tariff = fetch_tariff(client, LABEL, cache, NOW)
    assert tariff.price_at(local(2026, 7, 15, 17)) == pytest.approx(0.43)
    (req,) = fake.requests("GET")
    assert {k: v[0] for k, v in req.query.items()} == {"version": "7", "format": "json", "detail": "full",
                                                       "getpage": LABEL, "api_key": KEY}
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert fetch_tariff(OpenEIClient(KEY, fake.url), LABEL, cache, NOW + timedelta(days=29)) == tariff  # a restart
    assert len(fake.log) == 1
    fetch_tariff(client, LABEL, cache, NOW + timedelta(days=31))
    assert len(fake.log) == 2  # older than CACHE_DAYS: asked again


def test_openei_down_uses_the_kept_rate_however_old(fake, tmp_path):
    cache = tmp_path / "tariff.json"
    client = OpenEIClient(KEY, fake.url)
    kept = fetch_tariff(client, LABEL, cache, NOW)
    fake.inject(Reply(503, "<html><head><title>503 Service Unavailable</title></head></html>"))
    assert fetch_tariff(client, LABEL, cache, NOW + timedelta(days=400)) == kept
    with pytest.raises(OpenEIUnavailableError, match=r"OpenEI error 503: an HTML page \(503 Service Unavailable\)"):
        fetch_tariff(client, LABEL, tmp_path / "none.json", NOW)


def test_an_unknown_label_and_a_bad_key_say_what_to_fix_without_the_key(fake, tmp_path):
    with pytest.raises(RateNotFoundError, match="no rate labelled 'nope': check TARIFF_LABEL"):
        OpenEIClient(KEY, fake.url).rate("nope")
    with pytest.raises(OpenEIKeyError) as err:
        OpenEIClient("wrong-key", fake.url).rate(LABEL)
    assert "API_KEY_INVALID" in str(err.value) and "OPENEI_API_KEY" in str(err.value)
    assert "wrong-key" not in str(err.value)
    with pytest.raises(OpenEIKeyError, match="OPENEI_API_KEY is empty"):
        OpenEIClient("", fake.url)


def test_a_rate_limit_carries_retry_after(fake):
    fake.inject(Reply(429, {"error": {"code": "OVER_RATE_LIMIT", "message": "You have exceeded your rate limit."}},
                      {"Retry-After": "3600"}))
    with pytest.raises(OpenEIUnavailableError, match=r"rate limit \(OVER_RATE_LIMIT\)") as err:
        OpenEIClient(KEY, fake.url).rate(LABEL)
    assert err.value.retry_after_s == 3600


def test_the_fake_leaves_the_structures_out_without_detail_full(fake):
    import requests
    items = requests.get(fake.url + "/utility_rates", timeout=5,
                         params={"version": 7, "format": "json", "api_key": KEY, "getpage": LABEL}).json()["items"]
    assert "energyratestructure" not in items[0] and items[0]["label"] == LABEL
    with pytest.raises(TariffError, match="has no energyratestructure .*detail=full"):
        parse_urdb({"items": items})
