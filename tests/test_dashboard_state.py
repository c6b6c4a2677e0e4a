"""The dashboard's reading of state.json and the page it builds, without a browser: every broken file gets words.

The browser tests (test_dashboard_browser.py) check the same on the real page; these pin the messages and the
corner cases (sparse sections, wrong types, staleness, settings) fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import plotly.utils
import pytest

from dashboard import layout
from dashboard.settings import parse_args
from dashboard.state import StateReader, read_snapshot
from tests.dashboard_harness import ROOT

NOW = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 18:00 in New York


def iso(t: datetime) -> str:
    return t.isoformat()


def state_doc(now: datetime = NOW, **changes: Any) -> dict[str, Any]:
    """A small state as docs/state-file.md describes it: one window tonight, one event tomorrow."""
    dep = now + timedelta(hours=13, minutes=30)
    doc: dict[str, Any] = {
        "schema_version": 1, "generated_at": iso(now), "mode": "live", "interval_min": 14,
        "time_zone": "America/New_York",
        "vehicle": {"name": "Blue", "vin": "…4321", "state": "online", "read_at": iso(now), "plugged_in": True,
                    "at_home": True, "battery_level": 41, "charge_limit_soc": 80, "charging_state": "Stopped",
                    "charge_current_request": 16, "charge_current_request_max": 32, "charger_actual_current": 0,
                    "charger_voltage": 240, "charger_phases": 1, "charger_power_kw": 0.0,
                    "scheduled_charging_mode": "DepartBy", "off_peak_charging_enabled": True,
                    "scheduled_departure_time_minutes": 450, "off_peak_hours_end_time": 450,
                    "time_to_full_charge": 4.0},
        "forecast": {"source": "gridstatus", "iso": "PJM", "fetched_at": iso(now), "stale": False,
                     "mean_mw": 90000.0, "std_mw": 9000.0,
                     "points": [{"start": iso(now + timedelta(hours=h)), "load_mw": 80000.0 + 1000 * h}
                                for h in range(24)]},
        "events": [{"summary": "Climbing gym", "start": iso(dep + timedelta(minutes=40)),
                    "end": iso(dep + timedelta(hours=3)), "all_day": False, "location": "3400 Fisher Ln",
                    "distance_km": 38.5, "drive_minutes": 36.0, "energy_kwh": 13.1, "note": None},
                   {"summary": "Call", "start": iso(dep + timedelta(hours=5)), "end": iso(dep + timedelta(hours=6)),
                    "all_day": False, "location": None, "distance_km": None, "drive_minutes": None,
                    "energy_kwh": None, "note": "no location"}],
        "decision": {"at": iso(now), "mode": "scheduled", "charge_now": None, "amps": 24, "charge_limit": 80,
                     "departure": iso(dep), "off_peak_end": iso(dep), "needed_soc": 38.0,
                     "reasons": ["Load is below the mean: 75 % of 32 A = 24 A"],
                     "commands": [{"name": "set_charging_amps", "args": {"charging_amps": 24}}],
                     "sent": [{"name": "set_charging_amps", "ok": True, "reason": ""}], "woke": False},
        "plan": {"windows": [{"start": iso(now + timedelta(hours=7)), "end": iso(now + timedelta(hours=10)),
                              "amps": 24, "kw": 5.76}],
                 "departure": iso(dep), "needed_soc": 38.0,
                 "expected_soc": [{"at": iso(now), "soc": 41.0}, {"at": iso(dep), "soc": 64.0}]},
        "history": [{"at": iso(now - timedelta(hours=h)), "soc": 41, "plugged_in": True, "charging_state": "Stopped",
                     "amps": 24, "limit": 80, "mode": "scheduled", "charge_now": None, "sent": 0, "woke": False,
                     "power_kw": 0.0} for h in range(48, 0, -1)],
        "health": {"sources": {"grid": {"ok": True, "last_success": iso(now), "last_error": None,
                                        "last_error_at": None, "data_age_min": 12.0, "stale": False,
                                        "calls_month": 7, "budget_month": 240},
                               "maps": {"ok": False, "last_success": None, "last_error": "HTTP 403: key not valid",
                                        "last_error_at": iso(now), "data_age_min": None, "stale": False,
                                        "calls_month": 3, "budget_month": 300,
                                        "retry_at": iso(now + timedelta(hours=2, minutes=5))}},
                   "tesla": {"month": "2026-11", "data": 12, "commands": 4, "wakes": 1, "est_cost_usd": 0.048,
                             "wakes_today": 1, "commands_today": 4}},
    }
    doc.update(changes)
    return doc


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def page_text(snapshot: Any, now: datetime = NOW) -> str:
    """Everything the page would show, as JSON text (the Dash components and the Plotly figures)."""
    parts = layout.status(snapshot, now) + layout.content(snapshot, snapshot.clock(now), 10)
    return json.dumps(parts, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


# ------------------------------------------------------------------ broken files get words, not traces
@pytest.mark.parametrize("content, title, detail", [
    (None, "No state file yet", "does not exist"),
    ("", "The state file is empty", "has no content"),
    ("  \n", "The state file is empty", "has no content"),
    ('{"schema_version": 1, "generated_at": "2026-', "The state file is damaged", "not valid JSON"),
    ("[1, 2]", "not what the dashboard expects", "a list, not a JSON object"),
    (json.dumps({"schema_version": 3}), "newer than this dashboard", "schema_version 3"),
])
def test_a_broken_file_is_named_with_what_is_wrong(tmp_path: Path, content: str | None, title: str,
                                                   detail: str) -> None:
    path = tmp_path / "state.json"
    if content is not None:
        write(path, content)
    snap = read_snapshot(path)
    assert snap.state is None and snap.problem is not None
    assert title in snap.problem.title and detail in snap.problem.detail
    text = page_text(snap)
    assert title in text and "python scheduler.py -v -i 14" in text and "--demo" in text
    assert str(tmp_path) in text  # the commands name the folder the dashboard reads
    assert "Traceback" not in text


def test_a_partial_file_lists_the_missing_sections(tmp_path: Path) -> None:
    doc = state_doc()
    del doc["plan"], doc["history"]
    snap = read_snapshot(write(tmp_path / "state.json", doc))
    assert snap.problem is not None and snap.problem.title == "The state file is incomplete"
    assert "lacks plan, history" in snap.problem.detail


def test_a_section_of_the_wrong_kind_is_named(tmp_path: Path) -> None:
    snap = read_snapshot(write(tmp_path / "state.json", state_doc(events={"summary": "x"}, generated_at="yesterday")))
    assert snap.problem is not None
    assert "events should be a list or null" in snap.problem.detail.lower()
    assert "'yesterday' is not an iso 8601 time" in snap.problem.detail.lower()


# ------------------------------------------------------------------ a good file, sparse or odd inside
def test_a_good_file_shows_plan_reasons_events_and_health(tmp_path: Path) -> None:
    snap = read_snapshot(write(tmp_path / "state.json", state_doc()))
    assert snap.problem is None
    text = page_text(snap)
    for shown in ("Load is below the mean: 75 % of 32 A = 24 A", "Climbing gym", "13.1 kWh", "38 km", "36 min",
                  "distance unknown: no location", "HTTP 403: key not valid", "failing", "07:30", "tomorrow 01:00",
                  "key not valid; next try 20:05",
                  "signal-graph-car1", "soc-graph-car1", "history-graph-car1", "needed 38 %"):
        assert shown in text, shown
    assert "stale-warning" not in text


def test_sparse_sections_draw_as_sparse_cards(tmp_path: Path) -> None:
    doc = state_doc(vehicle=None, decision=None, plan=None, events=[], history=[], health=None,
                    forecast={"source": "demo", "iso": None, "fetched_at": None, "stale": True, "mean_mw": None,
                              "std_mw": None, "points": []})
    text = page_text(read_snapshot(write(tmp_path / "state.json", doc)))
    for shown in ("No car data yet", "No decision yet", "No forecast yet", "No history yet", "No events",
                  "No source has reported yet", "No charging windows planned"):
        assert shown in text, shown


def test_an_all_day_event_given_as_a_bare_date_is_shown_on_its_day(tmp_path: Path) -> None:
    doc = state_doc()
    doc["events"].append({"summary": "Family day", "start": "2026-11-29", "end": "2026-11-30", "all_day": True,
                          "location": None, "distance_km": None, "drive_minutes": None, "energy_kwh": None,
                          "note": "no location"})
    assert "Sun 29 Nov · all day" in page_text(read_snapshot(write(tmp_path / "state.json", doc)))


def test_odd_values_inside_a_section_do_not_blank_the_page(tmp_path: Path) -> None:
    doc = state_doc()
    doc["forecast"]["points"] = [{"start": "junk", "load_mw": "high"}, 7, None]
    doc["events"] = [{"summary": 5, "start": None}, "not an event"]
    doc["decision"]["reasons"] = "one reason, not a list"
    doc["plan"]["windows"] = [{"start": iso(NOW), "end": iso(NOW - timedelta(hours=1)), "amps": "x"}]
    doc["vehicle"]["battery_level"] = "full"
    doc["history"] = [{"at": iso(NOW), "soc": None, "sent": "2"}]
    doc["health"]["sources"]["grid"] = "ok"
    text = page_text(read_snapshot(write(tmp_path / "state.json", doc)))
    assert "Traceback" not in text and "could not be drawn" not in text
    assert "(no title)" in text and "No reasons given" in text and "No charging windows planned" in text


def _with(doc: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    doc[section] = {**doc[section], **values}
    return doc


@pytest.mark.parametrize("change, headline", [
    (lambda d: d, "Charges from tomorrow 01:00 in 1 window, about 17 kWh. Leaves tomorrow 07:30 expecting 64 % "
                  "(needs 38 %)."),
    (lambda d: _with(d, "vehicle", plugged_in=False, charging_state="Disconnected"),
     "The car is not plugged in: plug it in to charge tonight."),
    (lambda d: _with(d, "vehicle", charging_state="Charging", charger_power_kw=5.8),
     "Charging now at 24 A (5.8 kW)."),
    (lambda d: {**d, "vehicle": None}, "No car data yet"),
    (lambda d: _with(d, "plan", windows=[]), "No charging planned before departure."),
])
def test_tonight_says_in_one_sentence_what_the_car_will_do(tmp_path: Path, change: Any, headline: str) -> None:
    text = page_text(read_snapshot(write(tmp_path / "state.json", change(state_doc()))))
    assert headline in text


def test_an_open_ended_window_is_shown_until_the_car_is_expected_full(tmp_path: Path) -> None:
    # the planner's last window runs "until the limit" (here 12 h past departure); the car is full at 03:00
    full = NOW + timedelta(hours=9)
    doc = _with(state_doc(), "plan", windows=[{"start": iso(NOW + timedelta(hours=7)),
                                               "end": iso(NOW + timedelta(hours=25)), "amps": 32, "kw": 7.68}],
                expected_soc=[{"at": iso(NOW), "soc": 41.0}, {"at": iso(NOW + timedelta(hours=7)), "soc": 41.0},
                              {"at": iso(full), "soc": 61.5}])
    text = page_text(read_snapshot(write(tmp_path / "state.json", doc)))
    assert "Charges from tomorrow 01:00 in 1 window, about 15 kWh." in text
    assert "tomorrow 01:00–03:00 · 32 A" in text


def test_a_plan_that_falls_short_is_flagged(tmp_path: Path) -> None:
    doc = _with(state_doc(), "plan", needed_soc=70.0)
    text = page_text(read_snapshot(write(tmp_path / "state.json", doc)))
    assert "The plan falls short: 64 % expected, 70 % needed." in text


# ------------------------------------------------------------------ re-read on change, stale warning
def test_the_reader_rereads_only_when_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "state.json", state_doc())
    reader = StateReader(path)
    first = reader.read()
    assert reader.read() is first
    tmp = write(tmp_path / "state.json.tmp", state_doc(vehicle=None))
    os.replace(tmp, path)  # how the scheduler writes it: a new inode
    second = reader.read()
    assert second is not first and second.state is not None and second.state["vehicles"][0]["vehicle"] is None
    path.unlink()
    assert reader.read().problem is not None and reader.read().problem.title == "No state file yet"


def test_the_cards_are_redrawn_when_the_file_changes_or_every_few_minutes() -> None:
    assert layout.shown_key("a", NOW) == layout.shown_key("a", NOW + timedelta(seconds=20))
    assert layout.shown_key("a", NOW) != layout.shown_key("b", NOW)
    assert layout.shown_key("a", NOW) != layout.shown_key("a", NOW + timedelta(seconds=layout.REDRAW_S))


def test_the_page_warns_when_the_scheduler_stopped_writing(tmp_path: Path) -> None:
    snap = read_snapshot(write(tmp_path / "state.json", state_doc()))
    assert not snap.is_stale(NOW + timedelta(minutes=40))  # under 3 ticks of 14 min
    late = NOW + timedelta(minutes=43)
    assert snap.is_stale(late)
    text = page_text(snap, late)
    assert "stale-warning" in text and "seems to have stopped" in text and "43 min ago" in text


def test_a_demo_is_drawn_at_its_own_clock_and_aged_by_the_file(tmp_path: Path) -> None:
    ahead = datetime.now(UTC) + timedelta(hours=5)  # the demo's clock runs faster than the wall's
    path = write(tmp_path / "state.json", state_doc(ahead, mode="demo"))
    snap = read_snapshot(path)
    wall = datetime.now(UTC)
    assert snap.clock(wall) == ahead and not snap.is_stale(wall)
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert read_snapshot(path).is_stale(wall)


# ------------------------------------------------------------------ settings
def test_settings_come_from_the_command_line_then_environment_then_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9001\nSTATE_DIR=/srv/charge\nHOST=0.0.0.0\nTESLA_BACKEND=not-a-backend\nFOO=1\n")
    s = parse_args([], environ={"PORT": "9002"}, env_file=env_file)
    assert (s.host, s.port, str(s.state_dir)) == ("0.0.0.0", 9002, "/srv/charge")
    s = parse_args(["--port", "9003", "--state-dir", "x"], environ={}, env_file=env_file)
    assert (s.port, s.state_file) == (9003, Path("x/state.json"))
    s = parse_args([], environ={}, env_file=tmp_path / "absent.env")
    assert (s.host, s.port, s.state_dir) == ("127.0.0.1", 8050, Path("./state"))
    s = parse_args(["--env-file", str(env_file)], environ={})
    assert s.port == 9001


def test_app_py_names_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env_file = tmp_path / "dash.env"
    env_file.write_text("PORT=eighty\n")
    proc = subprocess.run([sys.executable, "app.py", "--env-file", str(env_file)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "PORT='eighty' is not valid: it takes a whole number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bad_port_stops_start_up_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args([], environ={"PORT": "80x"}, env_file=None)
    assert "PORT='80x' is not valid: it takes a whole number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--port", "70000"], environ={}, env_file=None)
    assert "PORT=70000 is out of range" in capsys.readouterr().err


def test_the_dashboard_never_loads_the_api_clients() -> None:
    """It reads the state file only: no client library (Tesla, Google, GridStatus) is even imported."""
    code = "import sys, app, dashboard.app; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('clients', 'teslapy', 'googleapiclient', 'googlemaps', 'gridstatus')))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ------------------------------------------------------------------ v1 and v2 files (the state file's schema 2)
DATA = ROOT / "tests" / "data"


def v2_doc() -> dict[str, Any]:
    """Two cars on one 48 A circuit, planned on a price (a hand-made v2 file, tests/data/state_v2_two_cars.json)."""
    doc: dict[str, Any] = json.loads((DATA / "state_v2_two_cars.json").read_text())
    return doc


def test_a_v1_file_is_read_as_one_car_of_v2_by_the_schedulers_own_migration(tmp_path: Path) -> None:
    v1 = json.loads((DATA / "state_v1_demo.json").read_text())  # what `scheduler.py --demo --once` wrote in v1
    assert v1["schema_version"] == 1
    snap = read_snapshot(write(tmp_path / "state.json", v1))
    assert snap.problem is None and snap.state is not None
    assert snap.state["schema_version"] == 2
    [car] = snap.state["vehicles"]
    assert car["id"] == "car1" and car["name"] == v1["vehicle"]["name"]
    for key in ("vehicle", "events", "decision", "plan", "planner", "history"):
        assert car[key] == v1[key], key
    assert car["tesla"] == v1["health"]["tesla"]
    assert snap.state["circuit"]["max_amps"] is None
    assert [p["value"] for p in snap.state["signal"]["points"]] == [p["load_mw"] for p in v1["forecast"]["points"]]
    text = page_text(snap, snap.generated_at)
    assert "car-picker" not in text and "circuit-graph" not in text  # one car looks as it always did
    assert "Grid load and charging plan" in text and v1["decision"]["reasons"][0] in text
    assert '"GW"' in text  # the load axis in GW, as before


def test_a_v2_file_with_a_v1_layout_names_what_v2_needs(tmp_path: Path) -> None:
    snap = read_snapshot(write(tmp_path / "state.json", state_doc(schema_version=2)))
    assert snap.problem is not None and snap.problem.title == "The state file is incomplete"
    assert "It lacks signal, circuit, vehicles." in snap.problem.detail


@pytest.mark.parametrize("change, words", [
    (lambda d: d["vehicles"][1].pop("plan"), "Vehicles[1] (car2) lacks plan."),
    (lambda d: d["vehicles"][0].pop("id"), "Vehicles[0] lacks id."),
    (lambda d: d["vehicles"][1].update(ready="yes"), "Vehicles[1] (car2) ready should be true or false or null."),
    (lambda d: d["vehicles"][0].update(events={}), "Vehicles[0] (car1) events should be a list or null."),
    (lambda d: d["vehicles"][1].update(id="car1"), "Vehicles[1] repeats the id 'car1': each car needs its own."),
    (lambda d: d.update(vehicles=[]), "Vehicles is an empty list"),
    (lambda d: d.update(vehicles=[d["vehicles"][0], "car2"]), "Vehicles[1] should be an object."),
    (lambda d: d.update(circuit=48), "Circuit should be an object or null."),
    (lambda d: d.pop("signal"), "It lacks signal."),
])
def test_a_v2_file_is_checked_car_by_car(tmp_path: Path, change: Any, words: str) -> None:
    doc = v2_doc()
    change(doc)
    snap = read_snapshot(write(tmp_path / "state.json", doc))
    assert snap.problem is not None and snap.state is None
    assert words in snap.problem.detail, snap.problem.detail
    assert "Traceback" not in page_text(snap)


def test_a_good_v2_file_passes_as_it_is(tmp_path: Path) -> None:
    doc = v2_doc()
    snap = read_snapshot(write(tmp_path / "state.json", doc))
    assert snap.problem is None and snap.state == doc
    doc["signal"] = doc["circuit"] = None  # null sections are allowed: a car alone, before any signal
    assert read_snapshot(write(tmp_path / "state.json", doc)).problem is None


@pytest.mark.parametrize("version, title", [(3, "newer than this dashboard"), (0, "unknown schema version"),
                                            (True, "incomplete")])
def test_a_file_of_another_version_is_named(tmp_path: Path, version: Any, title: str) -> None:
    snap = read_snapshot(write(tmp_path / "state.json", {**v2_doc(), "schema_version": version}))
    assert snap.problem is not None and title in snap.problem.title, snap.problem


def test_the_dashboard_draws_the_version_the_scheduler_writes() -> None:
    """A new schema version on the scheduler's side must come with a dashboard that draws it."""
    from dashboard import state
    from service import state_schema
    assert state.SCHEMA_VERSION == state_schema.SCHEMA_VERSION
