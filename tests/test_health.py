"""`scheduler.py health`, as Docker's health check sees it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.health import check

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
LIMITS = {"grid": 24.0, "calendar": 6.0, "vehicle": 24.0}


def state(tick_age_min: float, **ages: float | None) -> dict:
    return {"generated_at": (NOW - timedelta(minutes=tick_age_min)).isoformat(), "interval_min": 14,
            "health": {"sources": {k: {"data_age_min": v, "last_error": "HTTP 503" if v is None or v > 60 else None}
                                   for k, v in ages.items()}}}


@pytest.mark.parametrize("st, reason", [
    (state(5, grid=30, calendar=10, vehicle=3), None),
    (state(60, grid=30), "the last tick was 60 min ago (interval 14 min): the scheduler has stopped"),
    (state(5, grid=25 * 60), "grid: data is 25.0 h old, over its 24 h limit; last error: HTTP 503"),
    (state(5, calendar=7 * 60), "calendar: data is 7.0 h old, over its 6 h limit; last error: HTTP 503"),
    (state(5, vehicle=None), "vehicle: no data yet; last error: HTTP 503"),
    ({"interval_min": 14}, "state.json has no valid generated_at"),
    ({**state(5), "health": {"sources": {"grid": {"data_age_min": None, "last_error": "HTTP 503",
                                                  "retry_at": "2026-11-27T18:14:00+00:00"}}}},
     "grid: no data yet; last error: HTTP 503; next try 2026-11-27T18:14:00+00:00"),
])
def test_health_reasons(st: dict, reason: str | None) -> None:
    assert check(st, NOW, LIMITS) == reason


def test_health_command_exit_codes(tmp_path: Path) -> None:
    def health() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "health", "--state-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)

    missing = health()
    assert missing.returncode == 1 and "does not exist yet" in missing.stdout
    (tmp_path / "state.json").write_text(json.dumps(state(60 * 24)))
    stale = health()
    assert stale.returncode == 1 and stale.stdout.count("\n") == 1 and "the scheduler has stopped" in stale.stdout
    fresh = state(0, grid=10)
    fresh["generated_at"] = datetime.now(UTC).isoformat()
    (tmp_path / "state.json").write_text(json.dumps(fresh))
    assert health().returncode == 0


def test_health_names_every_failing_source() -> None:
    reason = check(state(60, grid=25 * 60, calendar=7 * 60, vehicle=None), NOW, LIMITS)
    assert reason is not None
    for part in ("the scheduler has stopped", "grid: data is 25.0 h old", "calendar: data is 7.0 h old",
                 "vehicle: no data yet"):
        assert part in reason, reason
    assert reason.count(" | ") == 3


@pytest.mark.parametrize("written_min_ago, stopped", [(47, True), (5, False)])
def test_health_and_the_dashboard_agree_on_a_demo_that_stopped(tmp_path: Path, written_min_ago: float,
                                                               stopped: bool) -> None:
    """The demo stamps generated_at with its 10x clock, hours ahead of the wall: both go by the file's write time."""
    import os
    import time

    from dashboard.state import read_snapshot

    def run_from(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--demo", "--once", "--state-dir",
                               str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                              stdin=subprocess.DEVNULL)

    assert run_from(tmp_path / "d").returncode == 0
    path = tmp_path / "d" / "state.json"
    doc = json.loads(path.read_text())
    doc["generated_at"] = (datetime.now(UTC) + timedelta(hours=6)).isoformat()  # the demo's clock, far ahead
    path.write_text(json.dumps(doc))
    then = time.time() - written_min_ago * 60
    os.utime(path, (then, then))
    done = subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "health", "--state-dir", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)
    dashboard_says = read_snapshot(path).is_stale(datetime.now(UTC))
    assert dashboard_says is stopped
    assert (done.returncode == 1 and "the scheduler has stopped" in done.stdout) is stopped, done.stdout
    assert (done.stdout.strip() == "healthy") is not stopped, done.stdout
