"""The dashboard in real headless Chromium, on the state file the scheduler's demo writes.

The app runs as `python app.py` in a subprocess on a free port; the tests read the page as the owner would: the
graph, the departure, the charging windows, the reasons; then rewrite, corrupt and delete the file and watch the page
follow. Every request the browser makes must stay on 127.0.0.1 (no CDN, no outside API).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from plotly.offline import get_plotlyjs_version as plotly_js_version

from tests.dashboard_harness import GRAPH_DRAWN, demo_state, launch, run_app

WAIT_MS = 15000


@pytest.fixture(scope="module")
def demo_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tick of `python scheduler.py --demo --once`: the real thing, not a hand-made sample."""
    return json.loads(demo_state(tmp_path_factory.mktemp("demo")).read_text())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_doc: dict[str, Any]) -> Iterator[tuple[str, Path]]:
    """The app on its own copy of the demo state, checking for changes twice a second."""
    state_dir = tmp_path_factory.mktemp("served")
    put(state_dir / "state.json", demo_doc)
    with run_app(state_dir, refresh_s=0.5) as url:
        yield url, state_dir / "state.json"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


@pytest.fixture
def state_file(served: tuple[str, Path], demo_doc: dict[str, Any]) -> Path:
    """The served file, reset to the demo's state with a fresh generated_at before each test."""
    put(served[1], fresh(demo_doc))
    return served[1]


@pytest.fixture
def page(browser: Browser, served: tuple[str, Path], state_file: Path) -> Iterator[Page]:
    """A phone-sized page that logs every request it makes (page.requests)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    p = context.new_page()
    p.requests = []  # type: ignore[attr-defined]
    p.on("request", lambda r: p.requests.append(r.url))  # type: ignore[attr-defined]
    p.goto(served[0] + "/")
    yield p
    context.close()


def put(path: Path, doc: Any) -> None:
    """Write as the scheduler does: whole file, atomic rename."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    os.replace(tmp, path)


def fresh(doc: dict[str, Any]) -> dict[str, Any]:
    """The demo's state, written just now (the demo clock may run ahead; the live mode ages by generated_at)."""
    doc = json.loads(json.dumps(doc))
    doc["generated_at"] = datetime.now(UTC).isoformat()
    doc["mode"] = "live"
    return doc


def hhmm(value: str, zone: str) -> str:
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%H:%M")


def graph(page: Page, graph_id: str) -> dict[str, Any]:
    """What Plotly drew: trace names and point counts, shapes and annotations."""
    return page.evaluate("""id => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');
        return {traces: gd.data.map(t => ({name: t.name, n: (t.x || []).length})),
                shapes: (gd.layout.shapes || []).map(s => ({type: s.type, fill: s.fillcolor || null, x0: s.x0})),
                notes: (gd.layout.annotations || []).map(a => a.text)} }""", graph_id)


# ------------------------------------------------------------------ what the owner reads in the evening
def test_the_page_shows_the_plan_the_departure_and_the_reasons(page: Page, demo_doc: dict[str, Any]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    zone, plan, decision = demo_doc["time_zone"], demo_doc["plan"], demo_doc["decision"]

    forecast = graph(page, "forecast-graph")
    load = next(t for t in forecast["traces"] if t["name"] == "forecast load")
    assert load["n"] >= len(demo_doc["forecast"]["points"]) > 24  # the coming days, hour by hour
    assert {"mean ± σ", "mean"} <= {t["name"] for t in forecast["traces"]}
    shaded = [s for s in forecast["shapes"] if s["type"] == "rect"]
    assert len(shaded) == len(plan["windows"])
    assert "now" in forecast["notes"]

    departure = plan["departure"] or decision["departure"]
    assert departure, "the demo should plan a departure"
    expect(page.locator("#departure")).to_have_text(hhmm(departure, zone))
    assert f"departure {hhmm(departure, zone)}" in forecast["notes"]

    windows = page.locator("#windows li")
    if plan["windows"]:
        expect(windows).to_have_count(len(plan["windows"]))
        full = max(plan["expected_soc"], key=lambda p: p["soc"])["at"]  # an open window ends when the car is full
        for li, w in zip(windows.all(), plan["windows"], strict=True):
            start, stop, at_full = (datetime.fromisoformat(t) for t in (w["start"], w["end"], full))
            end = full if start < at_full < stop else w["end"]
            assert f"{hhmm(w['start'], zone)}–{hhmm(end, zone)} · {w['amps']} A" in li.inner_text()
    else:
        expect(windows).to_have_text(["No charging windows planned"])

    reasons = page.locator("#reasons li")
    assert decision["reasons"], "the demo's decision should give reasons"
    expect(reasons).to_have_text(decision["reasons"])
    # which risk price the planner holds, and why (learned from the household's ended plug-ins)
    expect(page.locator("#risk-price")).to_have_text(demo_doc["planner"]["why"])

    soc = graph(page, "soc-graph")
    names = {t["name"] for t in soc["traces"]}
    if plan["expected_soc"]:
        assert "expected SoC" in names
    if plan["needed_soc"] is not None:
        assert f"needed {plan['needed_soc']:.0f} %" in names

    events = page.locator("#events").inner_text()
    for ev in demo_doc["events"]:
        assert ev["summary"] in events
        if ev["energy_kwh"] is not None:
            assert f"{ev['energy_kwh']:.1f} kWh" in events

    car = demo_doc["vehicle"]
    expect(page.locator("#car-soc")).to_have_text(f"{car['battery_level']}%")
    expect(page.locator("#car-limit")).to_have_text(f"{car['charge_limit_soc']}%")
    expect(page.locator("#car-plug")).to_have_text("plugged in" if car["plugged_in"] else "not plugged in")

    assert graph(page, "history-graph")["traces"]
    health = page.locator("#health-table tbody tr")
    expect(health).to_have_count(len(demo_doc["health"]["sources"]))
    expect(page.locator("#stale-warning")).to_have_count(0)


def test_every_request_stays_on_this_machine(page: Page, served: tuple[str, Path]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    page.wait_for_timeout(1200)  # a couple of refresh ticks too
    requests: list[str] = page.requests  # type: ignore[attr-defined]
    hosts = {urlsplit(u).hostname for u in requests}
    assert hosts == {"127.0.0.1"}, sorted(u for u in requests if urlsplit(u).hostname != "127.0.0.1")
    scripts = [urlsplit(u).path for u in requests if urlsplit(u).path.endswith(".js")]
    assert any("plotly" in path for path in scripts), scripts  # plotly.js served by the app itself
    assert page.evaluate("window.Plotly.version") == plotly_js_version()
    assert any("/assets/style.css" in u for u in requests)
    assert any("_dash-update-component" in u for u in requests)  # and the page does refresh itself


def test_a_phone_needs_no_sideways_scrolling(page: Page) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator("#forecast-graph").bounding_box()
    assert box is not None and box["width"] >= 330 and box["height"] >= 250


# ------------------------------------------------------------------ the page follows the file
def test_the_page_follows_a_rewritten_file(page: Page, state_file: Path, demo_doc: dict[str, Any]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    doc = fresh(demo_doc)
    doc["vehicle"]["battery_level"] = 77 if doc["vehicle"]["battery_level"] != 77 else 78
    doc["decision"]["reasons"] = ["The file changed under the dashboard"]
    put(state_file, doc)
    expect(page.locator("#reasons li")).to_have_text(["The file changed under the dashboard"], timeout=WAIT_MS)
    expect(page.locator("#car-soc")).to_have_text(f"{doc['vehicle']['battery_level']}%")
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)

    doc["generated_at"] = (datetime.now(UTC) - timedelta(minutes=5 * doc["interval_min"])).isoformat()
    put(state_file, doc)
    warning = page.locator("#stale-warning")
    expect(warning).to_contain_text("seems to have stopped", timeout=WAIT_MS)
    expect(warning).to_contain_text("python scheduler.py")

    put(state_file, fresh(demo_doc))
    expect(warning).to_have_count(0, timeout=WAIT_MS)


BROKEN = [  # what a crash, a hand edit or a wrong folder leaves behind, and what the page must then say
    ("cut short", '{"schema_version": 1, "generated_at": "2026-11-2', "The state file is damaged"),
    ("empty", "", "The state file is empty"),
    ("missing", None, "No state file yet"),
    ("partial", "drop plan", "lacks plan"),
]


def test_a_broken_file_gets_a_friendly_page_then_the_dashboard_comes_back(
        page: Page, browser: Browser, served: tuple[str, Path], state_file: Path, demo_doc: dict[str, Any]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    problem = page.locator("#problem")
    for name, broken, words in BROKEN:
        if broken is None:
            state_file.unlink()
        elif broken == "drop plan":
            doc = fresh(demo_doc)
            del doc["plan"]
            put(state_file, doc)
        else:
            state_file.write_text(broken)  # in place, as a crash or a hand edit would leave it
        expect(problem, name).to_contain_text(words, timeout=WAIT_MS)
        expect(problem, name).to_contain_text("python scheduler.py -v -i 14")
        expect(problem, name).to_contain_text("--demo")
        assert "Traceback" not in page.content() and "Internal Server Error" not in page.content()
        expect(page.locator("#forecast-graph"), name).to_have_count(0)

        if name == "cut short":  # a first load on a broken file gets the same friendly page
            other = browser.new_page()
            other.goto(served[0] + "/")
            expect(other.locator("#problem")).to_contain_text(words, timeout=WAIT_MS)
            other.close()

    put(state_file, fresh(demo_doc))
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    expect(problem).to_have_count(0)


def test_a_dashboard_started_before_the_scheduler_waits_for_it(browser: Browser, tmp_path: Path,
                                                               demo_doc: dict[str, Any]) -> None:
    state_dir = tmp_path / "not-yet"
    with run_app(state_dir, refresh_s=0.5) as url:
        p = browser.new_page()
        p.goto(url + "/")
        problem = p.locator("#problem")
        expect(problem).to_contain_text("No state file yet", timeout=WAIT_MS)
        expect(problem).to_contain_text("does not exist either")
        expect(problem).to_contain_text(f"--state-dir {state_dir}")
        state_dir.mkdir()
        put(state_dir / "state.json", fresh(demo_doc))
        p.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
        expect(problem).to_have_count(0)
        p.close()


# ------------------------------------------------------------------ rough edges an owner noticed (issue 20, item 8)
def _reload(page: Page, state_file: Path, doc: dict[str, Any]) -> None:
    put(state_file, doc)
    page.reload()
    page.wait_for_selector("#forecast-graph .main-svg", timeout=WAIT_MS)
    page.wait_for_selector("#soc-graph .main-svg", timeout=WAIT_MS)


def test_with_no_forecast_the_grid_chart_keeps_the_coming_day_and_no_made_up_scale(
        page: Page, state_file: Path, demo_doc: dict[str, Any]) -> None:
    doc = fresh(demo_doc)
    doc["forecast"] = {}
    _reload(page, state_file, doc)
    drawn = page.evaluate("""() => { const gd = document.querySelector('#forecast-graph .js-plotly-plot');
        return {x: gd._fullLayout.xaxis.range,
                y: Array.from(gd.querySelectorAll('.ytick text')).map(t => t.textContent),
                notes: gd.layout.annotations.map(a => a.text)} }""")
    x0, x1 = (datetime.fromisoformat(v) for v in drawn["x"])
    now = datetime.now(ZoneInfo(demo_doc["time_zone"])).replace(tzinfo=None)
    assert x0 <= now <= x1 and x1 - x0 <= timedelta(days=3), f"the axis spans {drawn['x']}, not the coming day"
    assert drawn["y"] == [], f"GW ticks with no forecast: {drawn['y']}"
    assert "No forecast yet" in drawn["notes"]


def test_the_battery_charts_now_is_now_and_an_old_read_is_named_by_its_time(
        page: Page, state_file: Path, demo_doc: dict[str, Any]) -> None:
    doc = fresh(demo_doc)
    zone = ZoneInfo(doc["time_zone"])
    read = datetime.now(UTC) - timedelta(hours=3)
    doc["vehicle"]["read_at"] = read.isoformat()
    _reload(page, state_file, doc)
    soc = page.evaluate("""() => { const gd = document.querySelector('#soc-graph .js-plotly-plot');
        return {names: gd.data.map(t => t.name), notes: gd.layout.annotations.map(a => [a.text, a.x])} }""")
    level = doc["vehicle"]["battery_level"]
    assert f"now {level} %" not in soc["names"], "a read 3 h old is drawn as now"
    assert f"{level} % read {read.astimezone(zone):%H:%M}" in soc["names"], soc["names"]
    now_x = [x for text, x in soc["notes"] if text == "now"]
    assert now_x, f"no now line on the battery chart: {soc['notes']}"
    drawn_now = datetime.fromisoformat(now_x[0].replace(" ", "T"))
    assert abs(drawn_now - datetime.now(zone).replace(tzinfo=None)) < timedelta(minutes=5)


def test_a_phone_shows_every_table_column_or_its_figures_elsewhere(
        page: Page, state_file: Path, demo_doc: dict[str, Any]) -> None:
    """At 390 px nothing is cut off or hidden without a word: a column that gives way shows its figures in the row."""
    doc = fresh(demo_doc)
    now = datetime.now(UTC)
    row = doc["history"][0]
    doc["history"] = [{**row, "at": (now - timedelta(hours=h)).isoformat(), "mode": "plan_waiting", "sent": 12,
                       "woke": True, "power_kw": 11.5, "charging_state": "Charging"} for h in range(0, 7 * 24, 2)]
    for src in doc["health"]["sources"].values():
        src["calls_month"], src["budget_month"] = 1234, 10000
    _reload(page, state_file, doc)
    for table in ("history-table", "health-table"):
        cols = page.evaluate("""id => { const t = document.getElementById(id); const box = t.parentElement;
            const right = box.getBoundingClientRect().right;
            return Array.from(t.querySelectorAll('thead th')).map(th => [th.textContent,
                getComputedStyle(th).display !== 'none', th.getBoundingClientRect().right <= right + 0.5]) }""", table)
        for name, shown, fits in cols:
            if shown:
                assert fits, f"{table}: the {name!r} column is cut off at 390 px with no hint"
            else:
                rows = page.locator(f"#{table} tbody tr").all_inner_texts()
                assert all(name.lower() in r.lower() for r in rows), f"{table}: {name!r} hidden, its figures gone"
