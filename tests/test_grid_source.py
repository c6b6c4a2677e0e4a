"""The grid forecast source against a fake GridStatus over real HTTP: paging, errors, cache, staleness, budget."""

from __future__ import annotations

import math
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest

from clients import gridstatus
from service.grid_source import make_forecast_provider
from service.settings import load_settings
from tests.fakes.gridstatus import KEY, FakeGridStatus, synthetic_load
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
    (req,) = fake.requests("GET")
    assert req.headers["x-api-key"] == KEY
    assert req.path == "/v1/datasets/pjm_load_forecast/query"
    assert req.query["publish_time"] == ["latest_report"]
    assert req.query["columns"] == ["interval_start_utc,load_forecast"]


def test_cursor_paging_collects_every_page(tmp_path):
    with FakeGridStatus(page_size=20) as fake:
        points = provider(fake, tmp_path).get(NOW)
        reqs = fake.requests("GET")
    assert len(points) == 79 and len(reqs) == 4
    assert reqs[0].query.get("cursor", [""]) == [""] and reqs[1].query["cursor"][0] != ""


def test_array_of_arrays_replies_are_read_too(fake, tmp_path):
    fake.force_schema = "array-of-arrays"
    p = provider(fake, tmp_path)
    rows = p.client.latest_forecast("pjm_load_forecast", "load_forecast", NOW, NOW + timedelta(hours=3))
    assert [r.value for r in rows] == [synthetic_load(r.start) for r in rows] and len(rows) == 4


def _row(t: datetime, mw, published="2026-11-27T06:00:00+00:00"):
    return {"interval_start_utc": t.isoformat(), "publish_time_utc": published, "load_forecast": mw}


def test_only_the_latest_report_and_dirty_rows_are_cleaned(fake, tmp_path):
    h = datetime(2026, 11, 27, 20, tzinfo=UTC)
    fake.rows = [
        _row(h, 1.0, published="2026-11-27T00:00:00+00:00"),  # older report: ignored
        _row(h + timedelta(hours=2), 300.0),  # out of order
        _row(h, 100.0),
        _row(h + timedelta(minutes=30), 200.0),  # sub-hourly: averaged with 20:00
        _row(h + timedelta(hours=1), None),  # empty cell
        _row(h + timedelta(hours=1), "NaN"),
        _row(h + timedelta(hours=3), 400.0),
        _row(h + timedelta(hours=3), 410.0),  # repeated timestamp: the last row wins
    ]
    points = provider(fake, tmp_path).get(NOW)
    assert [(p.start.hour, p.load_mw) for p in points] == [(20, 150.0), (22, 300.0), (23, 410.0)]
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
    assert p.get(NOW + timedelta(hours=2)) and len(fake.log) == 1
    cache = tmp_path / "grid_forecast.json"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    again = provider(fake, tmp_path).get(NOW + timedelta(minutes=14))  # a restarted daemon
    assert len(fake.log) == 1 and again == first
    provider(fake, tmp_path).get(NOW + timedelta(hours=3))
    assert len(fake.log) == 2


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
    assert p.get(datetime(2026, 12, 1, 0, 5, tzinfo=UTC)) and len(fake.log) == 1 and p.status.ok


def test_pagination_stops_at_the_budget(tmp_path):
    with FakeGridStatus(page_size=20) as fake:  # four pages a fetch
        p = provider(fake, tmp_path, GRIDSTATUS_REQUESTS_PER_MONTH=2)
        assert p.get(NOW) == [] and len(fake.log) == 2 and "GRIDSTATUS_REQUESTS_PER_MONTH" in p.status.last_error


def test_a_reply_of_unexpected_shape_is_a_failure_not_a_crash(fake, tmp_path):
    fake.errors = [Reply(200, {"data": "oops", "meta": []}), Reply(200, {"data": [{"x": 1}], "meta": []}),
                   Reply(200, [1, 2, 3])]
    p = provider(fake, tmp_path)
    for i in range(3):
        assert p.get(NOW + timedelta(hours=i)) == [] and not p.status.ok and p.status.last_error


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
