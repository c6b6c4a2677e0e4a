"""The grid forecast source against a fake GridStatus over real HTTP: paging, errors, cache, staleness, budget."""

from __future__ import annotations

import math
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from clients import gridstatus
from clients.vehicle_sim import SimCarState, SimVehicle
from service.coordinator import Coordinator
from service.grid_source import make_forecast_provider
from service.settings import load_settings
from service.vehicle_link import VehicleLink
from tests.clock import Clock
from tests.fakes.gridstatus import KEY, FakeGridStatus, day_ahead_rows, metadata_columns, synthetic_load
from tests.fakes.http import Reply

NOW = datetime(2026, 11, 27, 18, 7, tzinfo=UTC)


@pytest.fixture(scope="module")
def server():
    with FakeGridStatus() as f:
        yield f


@pytest.fixture
def fake(server):
    server.reset()
    return server


def provider(fake, tmp_path, **env):
    base = {"GRID_STATUS_API_KEY": KEY, "GRIDSTATUS_BASE_URL": fake.url, "STATE_DIR": str(tmp_path),
            "GRID_ISO": "PJM"}
    base.update({k: str(v) for k, v in env.items()})
    p = make_forecast_provider(load_settings(environ=base, env_file=None))
    assert p is not None
    p.client.sleep = lambda s: None
    return p


def test_no_key_means_no_provider(tmp_path):
    assert make_forecast_provider(load_settings(environ={"STATE_DIR": str(tmp_path)}, env_file=None)) is None


def test_hourly_points_from_now_minus_6h_to_plus_72h(fake, tmp_path):
    points = provider(fake, tmp_path).get(NOW)
    assert points[0].start == datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert points[-1].start == datetime(2026, 11, 30, 18, tzinfo=UTC)
    assert len(points) == 6 + 72 + 1
    assert all(p.start.tzinfo is not None and p.start.utcoffset() == timedelta(0) for p in points)
    assert all(b.start - a.start == timedelta(hours=1) for a, b in zip(points, points[1:], strict=False))
    assert points[5].load_mw == synthetic_load(points[5].start)
    assert [r.path for r in fake.log] == ["/v1/api_usage", "/v1/datasets/pjm_load_forecast",
                                          "/v1/datasets/pjm_load_forecast/query"]
    (req,) = fake.queries()
    assert all(r.headers["x-api-key"] == KEY for r in fake.log)
    assert req.query["publish_time"] == ["latest"]
    assert req.query["columns"] == ["interval_start_utc,load_forecast"]


def test_cursor_paging_collects_every_page(tmp_path):
    with FakeGridStatus(page_size=20) as fake:
        points = provider(fake, tmp_path).get(NOW)
        reqs = fake.queries()
    assert len(points) == 79 and len(reqs) == 4
    assert reqs[0].query.get("cursor", [""]) == [""] and reqs[1].query["cursor"][0] != ""


def test_array_of_arrays_replies_are_read_too(fake, tmp_path):
    fake.force_schema = "array-of-arrays"
    p = provider(fake, tmp_path)
    rows = p.client.latest_forecast("pjm_load_forecast", "load_forecast", NOW, NOW + timedelta(hours=3))
    assert [r.value for r in rows] == [synthetic_load(r.start) for r in rows] and len(rows) == 4


def _row(t: datetime, mw, published="2026-11-27T06:00:00+00:00"):
    return {"interval_start_utc": t.isoformat(), "publish_time_utc": published, "load_forecast": mw}


def test_the_newest_value_of_each_hour_and_dirty_rows_are_cleaned(fake, tmp_path):
    h = datetime(2026, 11, 27, 20, tzinfo=UTC)
    fake.rows = [
        _row(h, 1.0, published="2026-11-27T00:00:00+00:00"),  # an older report's value for 20:00: replaced
        _row(h + timedelta(hours=2), 300.0),  # out of order
        _row(h, 100.0),
        _row(h + timedelta(minutes=30), 200.0),  # sub-hourly: averaged with 20:00
        _row(h + timedelta(hours=1), None),  # empty cell
        _row(h + timedelta(hours=1), "NaN"),
        _row(h + timedelta(hours=3), 400.0),
        _row(h + timedelta(hours=3), 410.0),  # repeated timestamp: the last row wins
        _row(h + timedelta(hours=14), 500.0),  # the forecast reaches past MIN_AHEAD
    ]
    points = provider(fake, tmp_path).get(NOW)
    assert [(p.start.hour, p.load_mw) for p in points][:3] == [(20, 150.0), (22, 300.0), (23, 410.0)]
    assert all(math.isfinite(p.load_mw) for p in points)


@pytest.mark.parametrize("reply, error, words", [
    (Reply(401, {"detail": "Invalid API key."}), gridstatus.BadKeyError, "GRID_STATUS_API_KEY"),
    (Reply(403, {"detail": "Your plan does not include this dataset."}), gridstatus.PlanError, "plan"),
    (Reply(429, {"detail": "API usage limit exceeded for this month."}), gridstatus.QuotaSpentError, "month"),
    (Reply(404, {"detail": "Dataset nope not found"}), gridstatus.NotFoundError, "GRID_DATASET"),
    (Reply(502, "<html>bad gateway</html>"), gridstatus.UnavailableError, "502"),
])
def test_errors_are_typed_and_say_what_to_fix(fake, tmp_path, reply, error, words):
    fake.errors = [reply, reply, reply]
    p = provider(fake, tmp_path)
    with pytest.raises(error, match=words):
        p.client.latest_forecast("pjm_load_forecast", "load_forecast", NOW, NOW + timedelta(hours=2))
    assert p.get(NOW) == [] and not p.status.ok and KEY not in (p.status.last_error or "")


def test_wrong_key_is_refused_by_the_server(fake, tmp_path):
    p = provider(fake, tmp_path, GRID_STATUS_API_KEY="wrong")
    assert p.get(NOW) == []
    assert "GRID_STATUS_API_KEY" in p.status.last_error and "wrong" not in p.status.last_error


def test_unknown_column_names_the_setting(fake, tmp_path):
    p = provider(fake, tmp_path, GRID_VALUE_COLUMN="mw_total")
    assert p.get(NOW) == [] and "mw_total" in p.status.last_error


def test_per_second_rate_limit_is_retried_once(fake, tmp_path):
    fake.errors = [Reply(429, {"detail": "Too Many Requests. Limit: 6 per 1 second"}, headers={"Retry-After": "1"})]
    p = provider(fake, tmp_path)
    slept = []
    p.client.sleep = slept.append
    assert len(p.get(NOW)) == 79 and slept == [1.0] and p.status.ok
    fake.errors = [Reply(429, {"detail": "Too Many Requests. Limit: 6 per 1 second"})] * 2
    with pytest.raises(gridstatus.RateLimitedError):
        p.client.latest_forecast("pjm_load_forecast", "load_forecast", NOW, NOW + timedelta(hours=2))


def test_timeout_is_an_unavailable_error(fake, tmp_path):
    fake.errors = [Reply(200, {"data": []}, delay_s=1.0)]
    p = provider(fake, tmp_path)
    p.client.timeout = 0.2
    with pytest.raises(gridstatus.UnavailableError, match="did not answer"):
        p.client.latest_forecast("pjm_load_forecast", "load_forecast", NOW, NOW + timedelta(hours=2))


def test_cache_hit_in_memory_and_after_restart(fake, tmp_path):
    p = provider(fake, tmp_path)
    first = p.get(NOW)
    assert p.get(NOW + timedelta(hours=2)) and len(fake.log) == 3  # plan usage, dataset metadata, the query
    cache = tmp_path / "grid_forecast.json"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    again = provider(fake, tmp_path).get(NOW + timedelta(minutes=14))  # a restarted daemon
    assert len(fake.log) == 3 and again == first
    provider(fake, tmp_path).get(NOW + timedelta(hours=3))
    assert len(fake.log) == 4 and len(fake.queries()) == 2  # usage and metadata come from disk


def test_failure_keeps_the_last_forecast_marked_stale_until_forecast_stale_hours(fake, tmp_path):
    p = provider(fake, tmp_path, FORECAST_STALE_HOURS=12)
    good = p.get(NOW)
    fake.errors = [Reply(503, {"detail": "Service Unavailable"})] * 100
    later = NOW + timedelta(hours=4)
    kept = p.get(later)
    assert kept and kept[0].load_mw == [q for q in good if q.start == kept[0].start][0].load_mw
    assert p.status.stale and not p.status.ok and "503" in p.status.last_error
    assert p.status.data_at == NOW and p.status.last_error_at == later
    assert p.get(NOW + timedelta(hours=13)) == [] and p.status.stale
    fake.errors = []
    assert p.get(NOW + timedelta(hours=14)) and p.status.ok and not p.status.stale


def test_thirty_days_of_14_minute_ticks_stay_under_the_free_plan(fake, tmp_path):
    p = provider(fake, tmp_path)
    t, ticks, empty = datetime(2026, 11, 1, tzinfo=UTC), 0, 0
    while t < datetime(2026, 12, 1, tzinfo=UTC):
        empty += not p.get(t)
        t += timedelta(minutes=14)
        ticks += 1
    n = len(fake.requests("GET"))
    print(f"\nGridStatus: {n} requests over {ticks} ticks in 30 days")
    assert n <= 250 and empty == 0 and p.status.calls_month == n


def test_a_31_day_month_is_paced_to_the_budget_and_never_without_a_forecast(fake, tmp_path):
    p = provider(fake, tmp_path)
    t, gaps = datetime(2026, 12, 1, tzinfo=UTC), 0
    while t < datetime(2027, 1, 1, tzinfo=UTC):
        points = p.get(t)
        gaps += not points or p.status.stale
        t += timedelta(minutes=14)
    n = len(fake.requests("GET"))
    print(f"\nGridStatus, 31 days: {n} requests")
    assert n <= 240 and gaps == 0


def test_a_spent_budget_stops_requests_until_next_month(fake, tmp_path):
    t = datetime(2026, 11, 10, tzinfo=UTC)
    provider(fake, tmp_path, GRIDSTATUS_REQUESTS_PER_MONTH=5).budget.spend(t, 5)  # spent, e.g. before a restart
    p = provider(fake, tmp_path, GRIDSTATUS_REQUESTS_PER_MONTH=5)
    for _ in range(24 * 4):
        assert p.get(t) == []
        t += timedelta(minutes=15)
    assert len(fake.log) == 0 and p.status.calls_month == 5
    assert "GRIDSTATUS_REQUESTS_PER_MONTH" in p.status.last_error
    assert p.get(datetime(2026, 12, 1, 0, 5, tzinfo=UTC)) and len(fake.queries()) == 1 and p.status.ok


def test_pagination_stops_at_the_budget(tmp_path):
    with FakeGridStatus(page_size=20) as fake:  # four pages a fetch
        p = provider(fake, tmp_path, GRIDSTATUS_REQUESTS_PER_MONTH=4)  # usage, metadata and two pages
        assert p.get(NOW) == [] and len(fake.log) == 4 and len(fake.queries()) == 2
        assert "GRIDSTATUS_REQUESTS_PER_MONTH" in p.status.last_error


def test_a_reply_of_unexpected_shape_is_a_failure_not_a_crash(fake, tmp_path):
    p = provider(fake, tmp_path)
    assert p.get(NOW)  # plan usage and metadata are read; the next fetches are queries only
    for i, reply in enumerate([Reply(200, {"data": "oops", "meta": []}), Reply(200, {"data": [{"x": 1}], "meta": []}),
                               Reply(200, [1, 2, 3])]):
        fake.errors = [reply]
        assert p.get(NOW + timedelta(hours=3 * (i + 1), minutes=5)) and p.status.stale
        assert not p.status.ok and p.status.last_error
    for bad in [Reply(200, {"plan_name": "Free"}), Reply(200, {"id": "pjm_load_forecast", "all_columns": "x"})]:
        fake.errors = [bad]  # a usage or metadata reply of the wrong shape, on a cold start
        cold = provider(fake, tmp_path / f"cold{len(fake.log)}")
        assert cold.get(NOW) == [] and not cold.status.ok and "GridStatus sent" in cold.status.last_error


def test_every_iso_has_a_dataset_and_the_settings_override_it(fake, tmp_path):
    from clients.grid_datasets import DATASETS, dataset_for
    from service.settings import ISOS
    assert set(DATASETS) == set(ISOS) and len({d.dataset for d in DATASETS.values()}) == len(ISOS)
    assert dataset_for("ERCOT").dataset == "ercot_load_forecast"
    custom = dataset_for("ERCOT", "ercot_load_forecast_by_forecast_zone", "system_total")
    assert (custom.dataset, custom.value_column) == ("ercot_load_forecast_by_forecast_zone", "system_total")
    fake.datasets.add("ercot_load_forecast_by_forecast_zone")
    fake.value_column = "system_total"
    try:
        p = provider(fake, tmp_path, GRID_ISO="ERCOT", GRID_DATASET="ercot_load_forecast_by_forecast_zone",
                     GRID_VALUE_COLUMN="system_total")
        assert len(p.get(NOW)) == 79
        assert fake.log[-1].path == "/v1/datasets/ercot_load_forecast_by_forecast_zone/query"
    finally:
        fake.datasets.discard("ercot_load_forecast_by_forecast_zone")
        fake.value_column = "load_forecast"


def test_a_restart_does_not_ask_a_rate_limiting_server_again_at_once(fake, tmp_path):
    """GridStatus said "not for an hour"; the daemon restarts (an upgrade, a crash loop in docker) 14 minutes later:
    the new process keeps the hour, then asks again and gets its forecast."""
    fake.errors = [Reply(429, {"detail": "Too Many Requests"}, headers={"Retry-After": "3600"})] * 10
    first = provider(fake, tmp_path)
    assert first.get(NOW) == [] and first.status.retry_at == NOW + timedelta(hours=1)
    asked = len(fake.requests("GET"))
    fake.errors = []
    restarted = provider(fake, tmp_path)
    assert restarted.status.retry_at == NOW + timedelta(hours=1)  # the dashboard's "next try" says so at once
    assert restarted.get(NOW + timedelta(minutes=14)) == [] and len(fake.requests("GET")) == asked
    assert restarted.get(NOW + timedelta(minutes=61)) and restarted.status.ok
    again = provider(fake, tmp_path)  # a success wipes the clock: the next restart asks when it is due
    assert again.backoff.ready(NOW + timedelta(minutes=62)) and again.backoff.failures == 0


# ---------------------------------------------------------------------- GridStatus as it really answers (issue 15)
def _caiso(fake, tmp_path, **env):
    fake.datasets.add("caiso_load_forecast")
    fake.rows = day_ahead_rows(datetime(2026, 11, 26, tzinfo=UTC), 3)  # reports for Nov 26, 27, 28
    return provider(fake, tmp_path, GRID_ISO="CAISO", **env)


def test_a_day_ahead_forecast_still_holds_tonight_with_the_newest_value_of_each_hour(fake, tmp_path):
    """CAISO's load forecast is a day-ahead product: at 18:07 the newest report (published 17:00) holds tomorrow
    only. `latest_report` would drop tonight; `latest` keeps tonight from yesterday's report."""
    fake.now = NOW
    points = _caiso(fake, tmp_path).get(NOW)
    hours = {p.start for p in points}
    assert datetime(2026, 11, 27, 22, tzinfo=UTC) in hours and datetime(2026, 11, 28, 23, tzinfo=UTC) in hours
    assert points[0].start == datetime(2026, 11, 27, 12, tzinfo=UTC)
    (query,) = fake.queries()
    assert query.query["publish_time"] == ["latest"] and query.path == "/v1/datasets/caiso_load_forecast/query"


def test_before_the_next_day_ahead_report_a_short_forecast_is_not_used_and_the_reasons_say_so(fake, tmp_path):
    """At 16:00 tomorrow's report is not out: the forecast ends at midnight, 8 h ahead. The planner would shift
    charging into hours it cannot see; the forecast is set aside as a stale one is, the reasons say why, and the
    next fetch (after the 17:00 report) brings it back."""
    early = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    fake.now = early
    clock = Clock(early)
    settings = load_settings(environ={"GRID_STATUS_API_KEY": KEY, "GRIDSTATUS_BASE_URL": fake.url,
                                      "STATE_DIR": str(tmp_path), "GRID_ISO": "CAISO"}, env_file=None)
    fake.datasets.add("caiso_load_forecast")
    fake.rows = day_ahead_rows(datetime(2026, 11, 26, tzinfo=UTC), 3)
    grid = make_forecast_provider(settings)
    car = SimVehicle(clock, UTC, SimCarState(clock=early.isoformat(), plugged_in=True, soc=50.0,
                                             awake_until=(early + timedelta(hours=1)).isoformat()))
    link = VehicleLink(car, tmp_path, data_min_interval_min=10, wakes_per_day=4, commands_per_day=40, zone=UTC)
    coord = Coordinator(settings, link, grid, None)
    result = coord.tick(early)
    assert result.state["forecast"]["points"] == []
    why = " ".join(result.decision.reasons)
    assert "No usable grid forecast" in why and "ends at 2026-11-28 00:00 UTC" in why and "day-ahead" in why, why
    assert not grid.status.ok and grid.status.stale and len(fake.queries()) == 1
    later = early + timedelta(hours=3, minutes=5)
    fake.now = clock.now = later
    assert coord.tick(later).state["forecast"]["points"] and grid.status.ok and len(fake.queries()) == 2


def test_the_pace_follows_the_rows_the_plan_has_left_as_gridstatus_states_them(fake, tmp_path):
    """Another program on the same key has used most of the plan's rows: GridStatus's /v1/api_usage says so, and the
    forecasts are spread over what is left until the period's end, never running into its 429. Every two days the
    usage is read again, and what others spent meanwhile slows the pace further."""
    fake.rows_limit, fake.rows_used = 10_000, 10_000 - 6 * 79  # six forecasts' rows left until Dec 1
    p = provider(fake, tmp_path)
    t, empty = NOW, 0
    while t < datetime(2026, 12, 1, tzinfo=UTC):
        empty += not p.get(t)
        t += timedelta(minutes=14)
    queries = fake.queries()
    assert 4 <= len(queries) <= 6, len(queries)
    assert fake.rows_used <= fake.rows_limit and "429" not in (p.status.last_error or "")
    assert len(fake.requests("GET", r"/api_usage$")) == 2  # at the start, and two days later
    assert empty == 0 and p.status.ok


def test_a_plan_with_its_rows_used_up_waits_for_the_period_gridstatus_states(fake, tmp_path):
    fake.rows_limit, fake.rows_used = 10_000, 10_000
    p = provider(fake, tmp_path)
    assert p.get(NOW) == [] and fake.queries() == []
    assert "10,000 rows this period are used up" in p.status.last_error
    assert p.status.retry_at == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("iso", ["MISO", "NYISO", "ISONE", "SPP"])
def test_a_dataset_without_the_tables_column_names_the_setting_before_any_query(fake, tmp_path, iso):
    """The table's `load_forecast` is not checked for these ISOs: the dataset's metadata decides. Zonal columns only:
    one line naming GRID_VALUE_COLUMN and the columns there are, and no query spent on a column that is not there."""
    ds = f"{iso.lower()}_load_forecast"
    fake.datasets.add(ds)
    fake.columns[ds] = metadata_columns(["zone_a", "zone_b", "system_total"])
    p = provider(fake, tmp_path, GRID_ISO=iso)
    assert p.get(NOW) == [] and fake.queries() == []
    assert p.status.last_error == (f"GridStatus dataset {ds} has no column 'load_forecast' (the default column): "
                                   "set GRID_VALUE_COLUMN to one of zone_a, zone_b, system_total")
    fake.value_column = "system_total"
    try:
        chosen = provider(fake, tmp_path / "set", GRID_ISO=iso, GRID_VALUE_COLUMN="system_total")
        assert len(chosen.get(NOW)) == 79
        assert fake.queries()[-1].query["columns"] == ["interval_start_utc,system_total"]
        provider(fake, tmp_path / "set", GRID_ISO=iso, GRID_VALUE_COLUMN="system_total").get(NOW + timedelta(hours=4))
        assert len(fake.requests("GET", rf"/v1/datasets/{ds}$")) == 2  # once per state dir: kept on disk
        wrong = provider(fake, tmp_path / "wrong", GRID_ISO=iso, GRID_VALUE_COLUMN="mw")
        assert wrong.get(NOW) == [] and "no column 'mw' (GRID_VALUE_COLUMN)" in wrong.status.last_error
    finally:
        fake.value_column = "load_forecast"


def test_a_dataset_with_one_value_column_of_another_name_uses_it(fake, tmp_path):
    fake.datasets.add("spp_load_forecast")
    fake.columns["spp_load_forecast"] = metadata_columns(["mtlf"])
    fake.value_column = "mtlf"
    try:
        assert len(provider(fake, tmp_path, GRID_ISO="SPP").get(NOW)) == 79
        assert fake.queries()[-1].query["columns"] == ["interval_start_utc,mtlf"]
    finally:
        fake.value_column = "load_forecast"


def test_a_dataset_without_a_publish_time_column_is_queried_without_publish_time(fake, tmp_path):
    fake.no_publish_time.add("pjm_load_forecast")
    assert len(provider(fake, tmp_path).get(NOW)) == 79
    assert "publish_time" not in fake.queries()[0].query


def test_the_fake_answers_publish_time_as_gridstatus_documents(fake):
    """latest: every interval once, from its newest report; latest_report: the newest report's rows only."""
    import requests
    fake.rows = day_ahead_rows(datetime(2026, 11, 26, tzinfo=UTC), 2, publish_hour_utc=6)
    fake.rows += [dict(fake.rows[30], publish_time_utc="2026-11-26T12:00:00+00:00", load_forecast=1.0)]  # a revision
    url, key = fake.url + "/v1/datasets/pjm_load_forecast/query", {"x-api-key": KEY}
    latest = requests.get(url, params={"publish_time": "latest"}, headers=key, timeout=5).json()["data"]
    report = requests.get(url, params={"publish_time": "latest_report"}, headers=key, timeout=5).json()["data"]
    assert len(latest) == 48 and len({r["interval_start_utc"] for r in latest}) == 48
    revised = fake.rows[30]["interval_start_utc"]
    assert [r["load_forecast"] for r in latest if r["interval_start_utc"] == revised] == [1.0]
    assert len(report) == 1 and report[0]["load_forecast"] == 1.0
    usage = requests.get(fake.url + "/v1/api_usage", headers=key, timeout=5).json()
    assert usage["current_period_usage"] == {"total_requests": 3, "total_api_rows_returned": 49}
    assert usage["limits"]["api_rows_returned_limit"] == 1_000_000 and usage["limits"]["api_requests_limit"] == -1
