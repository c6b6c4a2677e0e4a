"""The price and CO₂ sources, each through its real client against its wire fake: what the signal gets (units, known
hours, the owner's location), what each fetch costs, and a wrong setting named once, not retried every tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from clients import comed
from service.price_source import KG_PER_LB, make_co2_source, make_price_source
from service.settings import load_settings
from service.signal_source import make_signal_source
from tests.fakes import gridstatus as fgs
from tests.fakes import watttime as fwt
from tests.fakes.comed import FakeComEd, cents_at
from tests.fakes.gridstatus_market import LMP, FakeGridStatusMarket, lmp_at, mer_at
from tests.fakes.http import Reply
from tests.fakes.openei import KEY, LABEL, FakeOpenEI
from tests.fakes.watttime import FakeWattTime, moer_at

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=NY)  # a Monday evening: tomorrow's day-ahead prices are out


def settings(tmp_path: Path, **env: str) -> Any:
    return load_settings({"STATE_DIR": str(tmp_path), "TIME_ZONE": "America/New_York", **env}, env_file=None)


def test_gridstatus_lmp_is_the_owners_zone_in_dollars_per_kwh_known_ahead(tmp_path: Path) -> None:
    with FakeGridStatusMarket() as gs:
        gs.now = NOW.astimezone(UTC)
        src = make_price_source(settings(tmp_path, PRICE_SOURCE="gridstatus_lmp", GRID_STATUS_API_KEY=fgs.KEY,
                                         GRIDSTATUS_BASE_URL=gs.url, PRICE_LOCATION="PECO"))
        assert src is not None
        points = src.get(NOW)
        again = src.get(NOW + timedelta(hours=1))  # within SIGNAL_FETCH_HOURS: the kept series, no request
        queries = gs.queries()
    assert len(queries) == 1 and queries[0].headers["x-api-key"] == fgs.KEY
    q = {k: v[0] for k, v in queries[0].query.items()}
    assert (q["filter_column"], q["filter_value"], q["filter_operator"]) == ("location", "PECO", "=")
    assert all(p.known for p in points) and again == [p for p in points if p.start > NOW - timedelta(hours=6)]
    assert [p.value for p in points] == [round(lmp_at(p.start, "PECO") / 1000, 6) for p in points]
    assert points[-1].start == datetime(2026, 11, 24, 23, 0, tzinfo=NY).astimezone(UTC)  # to tomorrow's midnight
    assert src.status.ok and src.status.calls_month == 1 and src.label == f"{LMP} PECO"


def test_a_location_gridstatus_does_not_know_is_named_and_not_asked_again_every_tick(tmp_path: Path) -> None:
    with FakeGridStatusMarket() as gs:
        gs.now = NOW.astimezone(UTC)
        src = make_price_source(settings(tmp_path, PRICE_SOURCE="gridstatus_lmp", GRID_STATUS_API_KEY=fgs.KEY,
                                         GRIDSTATUS_BASE_URL=gs.url, PRICE_LOCATION="PECOO"))
        assert src is not None and src.get(NOW) == []
        for minutes in range(14, 180, 14):
            src.get(NOW + timedelta(minutes=minutes))
        asked = len(gs.queries())
    assert asked == 1
    assert src.status.last_error == (f"GridStatus {LMP} has no prices for PRICE_LOCATION='PECOO': check the name as "
                                     "the dataset spells it (e.g. PECO, COMED, WESTERN HUB)")
    assert src.status.retry_at is not None and src.status.retry_at >= NOW + timedelta(hours=3)


def test_pjm_marginal_emission_rates_measured_behind_a_weeks_profile_ahead(tmp_path: Path) -> None:
    with FakeGridStatusMarket() as gs:
        gs.now = NOW.astimezone(UTC)
        src = make_co2_source(settings(tmp_path, CO2_SOURCE="pjm_mer", GRID_STATUS_API_KEY=fgs.KEY,
                                       GRIDSTATUS_BASE_URL=gs.url, CO2_LOCATION="PPL"))
        assert src is not None
        points = src.get(NOW)
        (query,) = gs.queries()
        rows = gs.rows_used
    q = {k: v[0] for k, v in query.query.items()}
    assert q["resample_frequency"] == "1 hour" and q["filter_value"] == "PPL" and rows == 7 * 24  # not 7 × 288
    behind = [p for p in points if p.start < NOW]
    ahead = [p for p in points if p.start >= NOW]
    assert behind and all(p.known for p in behind) and ahead and not any(p.known for p in ahead)
    assert ahead[-1].start >= NOW + timedelta(hours=71)
    three_am = next(p for p in ahead if p.start.astimezone(NY).hour == 3)
    measured = fmean(mer_at(datetime(2026, 11, 23, 3, m, tzinfo=NY), "PPL") for m in range(0, 60, 5))
    assert abs(three_am.value - measured * KG_PER_LB / 1000) < 1e-6  # kg/kWh, the hour's mean over the week


def test_watttime_finds_the_region_from_home_and_gives_kg_per_kwh(tmp_path: Path) -> None:
    with FakeWattTime() as wt:
        wt.now = NOW.astimezone(UTC)
        src = make_co2_source(settings(tmp_path, CO2_SOURCE="watttime", WATTTIME_USERNAME=fwt.USER,
                                       WATTTIME_PASSWORD=fwt.PASSWORD, WATTTIME_BASE_URL=wt.url,
                                       HOME_LATITUDE="39.95", HOME_LONGITUDE="-75.17"))
        assert src is not None
        points = src.get(NOW)
        src.get(NOW + timedelta(hours=4))  # the next fetch: the region is not looked up again, the token reused
        paths = [r.path for r in wt.log]
        forecast_q = {k: v[0] for k, v in wt.requests("GET", "/v3/forecast$")[0].query.items()}
    assert paths == ["/login", "/v3/region-from-loc", "/v3/forecast", "/v3/forecast"]  # within the token's 30 min
    assert forecast_q == {"region": "PJM_DC", "signal_type": "co2_moer", "horizon_hours": "72"}
    assert len(points) == 72 and not any(p.known for p in points)
    first = points[0]
    expected = fmean(moer_at(first.start + timedelta(minutes=m)) for m in range(0, 60, 5)) * KG_PER_LB / 1000
    assert abs(first.value - expected) < 1e-6
    assert src.status.calls_month == 4 and src.status.ok


def test_comed_day_ahead_feed_reads_chicago_hours_with_javascript_months(tmp_path: Path) -> None:
    with FakeComEd() as fake:
        fake.now = NOW
        client = comed.ComEdClient(fake.url)
        rows = client.day_ahead(date(2026, 11, 24))
        five = client.five_minute()
        not_out = comed.ComEdClient(fake.url).day_ahead(date(2026, 11, 26))
    chicago = ZoneInfo("America/Chicago")
    assert len(rows) == 24 and rows[0][0] == datetime(2026, 11, 24, 0, 0, tzinfo=chicago).astimezone(UTC)
    assert [c for _, c in rows] == [cents_at(t) for t, _ in rows]
    assert not_out == []
    assert five[-1][0] == NOW.astimezone(UTC) and five[0][0] == (NOW - timedelta(hours=24)).astimezone(UTC)


def test_comed_day_ahead_on_the_autumn_clock_change_keeps_25_distinct_hours() -> None:
    text = "[" + ", ".join(f"[Date.UTC(2026,10,1,{h},0,0), 2.{h % 10}]" for h in [0, 1, 1, *range(2, 24)]) + "]"

    class One:
        status_code, reason = 200, "OK"

        def __init__(self, body: str) -> None:
            self.text = body

    client = comed.ComEdClient("http://unused")
    client._get = lambda path, params: One(text)  # type: ignore[assignment,method-assign,misc]
    rows = client.day_ahead(date(2026, 11, 1))
    starts = [t for t, _ in rows]
    assert len(set(starts)) == 25 and starts == sorted(starts)
    assert all(b - a == timedelta(hours=1) for a, b in zip(starts, starts[1:], strict=False))


def test_a_tariff_by_label_is_fetched_once_and_kept_and_openei_down_falls_back(tmp_path: Path) -> None:
    with FakeOpenEI() as openei:
        openei.inject(Reply(503, {"error": {"code": "SERVICE_UNAVAILABLE", "message": "try later"}}), times=1)
        env = dict(TARIFF_LABEL=LABEL, OPENEI_API_KEY=KEY, OPENEI_BASE_URL=openei.url)
        src = make_signal_source(settings(tmp_path, **env))
        down = src.build(NOW, [])
        assert down.fallback == ("the tariff is not available (OpenEI error 503: try later): planning on grid load")
        assert down.points == [] and src.statuses[0].name == "openei" and not src.statuses[0].ok
        src.build(NOW + timedelta(minutes=5), [])  # before the backoff's retry time: not asked
        up = src.build(NOW + timedelta(minutes=30), [])
        asked = len(openei.log)
        again = make_signal_source(settings(tmp_path, **env)).build(NOW + timedelta(hours=1), [])  # a restart
        asked_after_restart = len(openei.log)
    assert asked == 2 and asked_after_restart == 2  # kept in STATE_DIR/tariff.json
    assert up.fallback is None and up.source == "tariff" and up.label == "Example Electric Co Residential TOU-EV (test)"
    assert again.source == "tariff" and again.fallback is None
    peak = next(p for p in up.points if p.start.astimezone(NY).hour == 17 and p.start > NOW)  # a weekday 17:00
    assert peak.load_mw == 0.31 and up.known[peak.start]


def test_a_month_of_ticks_stays_within_the_price_budget_and_spreads_it(tmp_path: Path) -> None:
    """PRICE_REQUESTS_PER_MONTH=60 and ComEd's 3 requests a fetch: the pace stretches so the 60 last the month."""
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    with FakeComEd() as fake:
        src = make_price_source(settings(tmp_path, PRICE_SOURCE="comed", COMED_BASE_URL=fake.url,
                                         PRICE_REQUESTS_PER_MONTH="60"))
        assert src is not None
        t, days_used = start, set()
        while t < datetime(2026, 12, 1, tzinfo=UTC):
            fake.now = t
            before = len(fake.log)
            src.get(t)
            if len(fake.log) > before:
                days_used.add(t.day)
            t += timedelta(minutes=14)
        asked = len(fake.log)
    assert 48 <= asked <= 60, asked
    assert len(days_used) >= 14  # spread over the month, not spent in the first days


def test_co2_falls_back_to_the_tariff_when_watttime_refuses_the_region(tmp_path: Path) -> None:
    with FakeWattTime(regions=("CAISO_NORTH",)) as wt:
        wt.now = NOW.astimezone(UTC)
        env = dict(OBJECTIVE="co2", CO2_SOURCE="watttime", WATTTIME_USERNAME=fwt.USER, WATTTIME_PASSWORD=fwt.PASSWORD,
                   WATTTIME_BASE_URL=wt.url, WATTTIME_REGION="PJM_DC", TARIFF_TOU="0.32, 0-7 0.11")
        down = make_signal_source(settings(tmp_path / "down", **env)).build(NOW, [])
        wt.regions.add("PJM_DC")
        up = make_signal_source(settings(tmp_path / "up", **env)).build(NOW, [])
    assert (down.objective.value, down.kind.name, down.source) == ("co2", "price", "tariff")
    assert down.fallback is not None
    assert down.fallback.startswith("WattTime PJM_DC gives no usable series now (WattTime does not let this account "
                                    "read PJM_DC (403)")
    assert down.fallback.endswith(": planning on price instead")
    assert (up.kind.unit, up.source, up.fallback) == ("kg/kWh", "watttime", None)
    assert not any(up.known.values())


def test_gridstatus_price_rows_count_against_the_keys_plan_and_a_spent_plan_is_not_asked(tmp_path: Path) -> None:
    """The free plan counts rows a month over every dataset read with the key: the prices' rows go into the file the
    grid forecast paces itself by (grid_usage.json), and once /v1/api_usage said the rows are used up, the price
    source asks nothing more."""
    from clients.gridstatus import ApiUsage
    from service.grid_usage import USAGE_FILE, PlanUsage

    path = tmp_path / USAGE_FILE
    PlanUsage(ApiUsage("Free", 1_000_000, None, 400_000, 90, None, None), NOW).save(path)
    env = dict(PRICE_SOURCE="gridstatus_lmp", GRID_STATUS_API_KEY=fgs.KEY, PRICE_LOCATION="PECO")
    with FakeGridStatusMarket() as gs:
        gs.now = NOW.astimezone(UTC)
        src = make_price_source(settings(tmp_path, GRIDSTATUS_BASE_URL=gs.url, **env))
        assert src is not None
        points = src.get(NOW)
        used = PlanUsage.load(path).usage
        assert used is not None and used.rows_used == 400_000 + len(points) > 400_000
        PlanUsage(ApiUsage("Free", 1_000_000, None, 1_000_000, 95, None, None), NOW).save(path)
        src.get(NOW + timedelta(hours=4))  # due again, but the plan is spent
        asked = len(gs.queries())
    assert asked == 1
    assert src.status.last_error is not None and "1,000,000 rows this period are used up" in src.status.last_error
