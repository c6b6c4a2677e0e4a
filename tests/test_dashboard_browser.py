"""The dashboard in real headless Chromium, on the state file the scheduler's demo writes.

The app runs as `python app.py` in a subprocess on a free port; the tests read the page as the owner would: the
graph, the departure, the charging windows, the reasons; then rewrite, corrupt and delete the file and watch the page
follow. Every request the browser makes must stay on 127.0.0.1 (no CDN, no outside API).

The demo's file is read as v2 (service.state_schema.migrate: the same whichever version the demo writes) and the
tests look at its first car; several cars, the circuit and the signal are checked on a hand-made two-car v2 file
(tests/data/state_v2_two_cars.json) and a one-car v1 file the demo wrote (tests/data/state_v1_demo.json).
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

from dashboard.cars import cars
from service.state_schema import migrate
from tests.dashboard_harness import GRAPH_DRAWN, ROOT, demo_state, launch, run_app

WAIT_MS = 15000
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def demo_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tick of `python scheduler.py --demo --once`: the real thing, not a hand-made sample; as v2."""
    doc: dict[str, Any] = migrate(json.loads(demo_state(tmp_path_factory.mktemp("demo")).read_text()))
    return doc


def first(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The first car of a v2 state and the suffix of its ids on the page ('departure-car1')."""
    return doc["vehicles"][0], cars(doc)[0].dom


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
        return {traces: gd.data.map(t => ({name: t.name, type: t.type || 'scatter', n: (t.x || []).length,
                                           marker: t.marker || null})),
                shapes: (gd.layout.shapes || []).map(s => ({type: s.type, fill: s.fillcolor || null, x0: s.x0})),
                notes: (gd.layout.annotations || []).map(a => a.text)} }""", graph_id)


# ------------------------------------------------------------------ what the owner reads in the evening
def test_the_page_shows_the_plan_the_departure_and_the_reasons(page: Page, demo_doc: dict[str, Any]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    car, d = first(demo_doc)
    zone, plan, decision = demo_doc["time_zone"], car["plan"], car["decision"]

    forecast = graph(page, f"signal-graph-{d}")
    bars = [t for t in forecast["traces"] if t["type"] == "bar"]
    assert sum(t["n"] for t in bars) == len(demo_doc["signal"]["points"]) > 24  # the coming days, hour by hour
    if demo_doc["signal"]["objective"] == "load":  # the seed rules' amps bands
        assert {"mean ± σ", "mean"} <= {t["name"] for t in forecast["traces"]}
    shaded = [s for s in forecast["shapes"] if s["type"] == "rect"]
    assert len(shaded) == len(plan["windows"])
    assert "now" in forecast["notes"]

    departure = plan["departure"] or decision["departure"]
    assert departure, "the demo should plan a departure"
    expect(page.locator(f"#departure-{d}")).to_have_text(hhmm(departure, zone))
    assert f"departure {hhmm(departure, zone)}" in forecast["notes"]

    windows = page.locator(f"#windows-{d} li")
    if plan["windows"]:
        expect(windows).to_have_count(len(plan["windows"]))
        full = max(plan["expected_soc"], key=lambda p: p["soc"])["at"]  # an open window ends when the car is full
        for li, w in zip(windows.all(), plan["windows"], strict=True):
            start, stop, at_full = (datetime.fromisoformat(t) for t in (w["start"], w["end"], full))
            end = full if start < at_full < stop else w["end"]
            assert f"{hhmm(w['start'], zone)}–{hhmm(end, zone)} · {w['amps']} A" in li.inner_text()
    else:
        expect(windows).to_have_text(["No charging windows planned"])

    reasons = page.locator(f"#reasons-{d} li")
    assert decision["reasons"], "the demo's decision should give reasons"
    expect(reasons).to_have_text(decision["reasons"])
    # which risk price the planner holds, and why (learned from the household's ended plug-ins)
    expect(page.locator(f"#risk-price-{d}")).to_have_text(car["planner"]["why"])

    soc = graph(page, f"soc-graph-{d}")
    names = {t["name"] for t in soc["traces"]}
    if plan["expected_soc"]:
        assert "expected SoC" in names
    if plan["needed_soc"] is not None:
        assert f"needed {plan['needed_soc']:.0f} %" in names

    events = page.locator(f"#events-{d}").inner_text()
    for ev in car["events"]:
        assert ev["summary"] in events
        if ev["energy_kwh"] is not None:
            assert f"{ev['energy_kwh']:.1f} kWh" in events

    vehicle = car["vehicle"]
    expect(page.locator(f"#car-soc-{d}")).to_have_text(f"{vehicle['battery_level']}%")
    expect(page.locator(f"#car-limit-{d}")).to_have_text(f"{vehicle['charge_limit_soc']}%")
    expect(page.locator(f"#car-plug-{d}")).to_have_text("plugged in" if vehicle["plugged_in"] else "not plugged in")

    assert graph(page, f"history-graph-{d}")["traces"]
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


def test_a_phone_needs_no_sideways_scrolling(page: Page, demo_doc: dict[str, Any]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.locator(f"#signal-graph-{first(demo_doc)[1]}").bounding_box()
    assert box is not None and box["width"] >= 330 and box["height"] >= 250


# ------------------------------------------------------------------ the page follows the file
def test_the_page_follows_a_rewritten_file(page: Page, state_file: Path, demo_doc: dict[str, Any]) -> None:
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    doc = fresh(demo_doc)
    car, d = first(doc)
    car["vehicle"]["battery_level"] = 77 if car["vehicle"]["battery_level"] != 77 else 78
    car["decision"]["reasons"] = ["The file changed under the dashboard"]
    put(state_file, doc)
    expect(page.locator(f"#reasons-{d} li")).to_have_text(["The file changed under the dashboard"], timeout=WAIT_MS)
    expect(page.locator(f"#car-soc-{d}")).to_have_text(f"{car['vehicle']['battery_level']}%")
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
            del doc["vehicles"][0]["plan"]
            put(state_file, doc)
        else:
            state_file.write_text(broken)  # in place, as a crash or a hand edit would leave it
        expect(problem, name).to_contain_text(words, timeout=WAIT_MS)
        expect(problem, name).to_contain_text("python scheduler.py -v -i 14")
        expect(problem, name).to_contain_text("--demo")
        assert "Traceback" not in page.content() and "Internal Server Error" not in page.content()
        expect(page.locator(".signal-graph"), name).to_have_count(0)

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
    d = first(doc)[1]
    page.wait_for_selector(f"#signal-graph-{d} .main-svg", timeout=WAIT_MS)
    page.wait_for_selector(f"#soc-graph-{d} .main-svg", timeout=WAIT_MS)


def test_with_no_forecast_the_grid_chart_keeps_the_coming_day_and_no_made_up_scale(
        page: Page, state_file: Path, demo_doc: dict[str, Any]) -> None:
    doc = fresh(demo_doc)
    doc["forecast"], doc["signal"] = {}, None  # no forecast, and so nothing to plan on
    _reload(page, state_file, doc)
    drawn = page.evaluate("""d => { const gd = document.querySelector('#signal-graph-' + d + ' .js-plotly-plot');
        return {x: gd._fullLayout.xaxis.range,
                y: Array.from(gd.querySelectorAll('.ytick text')).map(t => t.textContent),
                notes: gd.layout.annotations.map(a => a.text)} }""", first(doc)[1])
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
    car, d = first(doc)
    car["vehicle"]["read_at"] = read.isoformat()
    _reload(page, state_file, doc)
    soc = page.evaluate("""d => { const gd = document.querySelector('#soc-graph-' + d + ' .js-plotly-plot');
        return {names: gd.data.map(t => t.name), notes: gd.layout.annotations.map(a => [a.text, a.x])} }""", d)
    level = car["vehicle"]["battery_level"]
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
    car, d = first(doc)
    row = car["history"][0]
    car["history"] = [{**row, "at": (now - timedelta(hours=h)).isoformat(), "mode": "plan_waiting", "sent": 12,
                       "woke": True, "power_kw": 11.5, "charging_state": "Charging"} for h in range(0, 7 * 24, 2)]
    for src in doc["health"]["sources"].values():
        src["calls_month"], src["budget_month"] = 1234, 10000
    _reload(page, state_file, doc)
    for table in (f"history-table-{d}", "health-table"):
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


# ------------------------------------------------------------------ several cars, the circuit, the signal (18, 17)
@pytest.fixture(scope="module")
def two_cars() -> dict[str, Any]:
    """Two cars on one 48 A circuit planned on a price, from the demo's clock (tests/data/state_v2_two_cars.json)."""
    doc: dict[str, Any] = json.loads((DATA / "state_v2_two_cars.json").read_text())
    return doc


@pytest.fixture(scope="module")
def two_served(tmp_path_factory: pytest.TempPathFactory, two_cars: dict[str, Any]) -> Iterator[tuple[str, Path]]:
    state_dir = tmp_path_factory.mktemp("two")
    put(state_dir / "state.json", two_cars)
    with run_app(state_dir, refresh_s=0.5) as url:
        yield url, state_dir / "state.json"


def open_at(browser: Browser, url: str, width: int) -> Page:
    p = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    p.goto(url + "/")
    p.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    return p


def detail(page: Page, car_id: str) -> Any:
    return page.locator(f"[data-car='{car_id}']")


def test_a_desktop_shows_every_car_and_the_shared_circuit(browser: Browser, two_served: tuple[str, Path],
                                                          two_cars: dict[str, Any]) -> None:
    put(two_served[1], two_cars)
    page = open_at(browser, two_served[0], 1280)
    names = [car["name"] for car in two_cars["vehicles"]]
    rows = page.locator(".car-row")
    expect(rows).to_have_count(2)
    for row, car in zip(rows.all(), two_cars["vehicles"], strict=True):
        expect(row).to_contain_text(car["name"])
        expect(row).to_contain_text(f"{car['vehicle']['battery_level']}%")
        expect(row).to_contain_text(hhmm(car["departure"] or car["plan"]["departure"], two_cars["time_zone"]))
    expect(page.locator("#row-car2")).to_contain_text("waits for Demo Model 3")
    expect(page.locator("#car-picker")).to_be_hidden()  # a desktop has room for both
    for car in two_cars["vehicles"]:
        expect(detail(page, car["id"])).to_be_visible()
        expect(detail(page, car["id"]).locator("h2.car-title")).to_have_text(car["name"])
        page.wait_for_selector(f"#signal-graph-{car['id']} .main-svg .trace", timeout=WAIT_MS)
        expect(page.locator(f"#reasons-{car['id']} li")).to_have_text(car["decision"]["reasons"])
    circuit = graph(page, "circuit-graph")
    assert {t["name"] for t in circuit["traces"]} == {*names, "planned total", "circuit 48 A"}
    drawn = page.evaluate("""() => { const gd = document.querySelector('#circuit-graph .js-plotly-plot');
        return gd.querySelectorAll('.scatterlayer .trace').length }""")
    assert drawn == 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.context.close()


def test_a_phone_shows_one_car_at_a_time_and_the_picker_switches(browser: Browser, two_served: tuple[str, Path],
                                                                 two_cars: dict[str, Any]) -> None:
    put(two_served[1], two_cars)
    page = open_at(browser, two_served[0], 390)
    expect(page.locator(".car-row")).to_have_count(2)  # the overview keeps both cars
    picker = page.locator("#car-picker label")
    expect(picker).to_have_text(["Demo Model 3", "Demo Model Y"])
    expect(detail(page, "car1")).to_be_visible()
    expect(detail(page, "car2")).to_be_hidden()
    expect(page.locator("#departure-car1")).to_have_text("08:31")

    picker.filter(has_text="Demo Model Y").click()
    expect(detail(page, "car2")).to_be_visible()
    expect(detail(page, "car1")).to_be_hidden()
    expect(page.locator("#departure-car2")).to_have_text("07:15")
    expect(page.locator("#ready-car2")).to_have_text(
        "Ready for tomorrow 07:15, after Demo Model 3 (the circuit is shared).")
    # the charts drawn while their car was hidden fit the phone once shown
    page.wait_for_function("""() => Array.from(document.querySelectorAll("[data-car='car2'] .main-svg"))
        .every(svg => svg.getBoundingClientRect().width <= 390)""", timeout=WAIT_MS)
    box = page.locator("#signal-graph-car2 .main-svg").first.bounding_box()
    assert box is not None and 330 <= box["width"] <= 390 and box["height"] >= 250, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    doc = json.loads(json.dumps(two_cars))  # the file changes: the page redraws and keeps the car picked
    doc["vehicles"][1]["decision"]["reasons"] = ["Rewritten while the phone looked at the Model Y"]
    put(two_served[1], doc)
    expect(page.locator("#reasons-car2 li")).to_have_text(["Rewritten while the phone looked at the Model Y"],
                                                         timeout=WAIT_MS)
    expect(detail(page, "car2")).to_be_visible()
    expect(detail(page, "car1")).to_be_hidden()

    picker.filter(has_text="Demo Model 3").click()
    expect(detail(page, "car1")).to_be_visible()
    expect(detail(page, "car2")).to_be_hidden()
    page.context.close()


def test_the_night_and_months_savings_are_shown_where_known(browser: Browser, two_served: tuple[str, Path],
                                                            two_cars: dict[str, Any]) -> None:
    put(two_served[1], two_cars)
    page = open_at(browser, two_served[0], 1280)
    night = two_cars["vehicles"][0]["savings"]["night"]
    expect(page.locator("#night-cost-car1")).to_have_text(f"${night['cost_usd']:.2f}")
    saved = night["now_cost_usd"] - night["cost_usd"]
    expect(page.locator("#savings-car1")).to_contain_text(f"at once ${night['now_cost_usd']:.2f} · saves ${saved:.2f}")
    expect(page.locator("#night-co2-car1")).to_have_text(f"{night['co2_kg']:.1f} kg")
    expect(page.locator("#month-saved-car1")).to_have_text(f"${two_cars['vehicles'][0]['savings']['month']['saved_usd']:.2f}")
    assert two_cars["vehicles"][1]["savings"]["month"] is None
    expect(page.locator("#night-cost-car2")).to_be_visible()
    expect(page.locator("#month-saved-car2")).to_have_count(0)  # null: hidden, not $0
    page.context.close()


def test_forecast_hours_are_shaded_apart_from_known_ones(browser: Browser, two_served: tuple[str, Path],
                                                         two_cars: dict[str, Any]) -> None:
    put(two_served[1], two_cars)
    page = open_at(browser, two_served[0], 1280)
    points = two_cars["signal"]["points"]
    drawn = page.evaluate("""() => { const gd = document.querySelector('#signal-graph-car1 .js-plotly-plot');
        const layers = Array.from(gd.querySelectorAll('.barlayer .trace'));
        return {bars: gd.data.filter(t => t.type === 'bar').map(t => [t.name, t.x.length]),
                fills: layers.map(l => getComputedStyle(l.querySelector('.point path')).fill),
                title: gd._fullLayout.yaxis.title.text} }""")
    assert drawn["bars"] == [["known price", sum(p["known"] for p in points)],
                             ["forecast price", sum(not p["known"] for p in points)]]
    known_fill, forecast_fill = drawn["fills"]
    assert "url(" not in known_fill and "url(" in forecast_fill, drawn["fills"]  # forecast hours hatched
    assert drawn["title"] == "$/kWh"
    page.context.close()


def test_one_car_from_a_v1_file_looks_as_before(page: Page, state_file: Path) -> None:
    v1 = json.loads((DATA / "state_v1_demo.json").read_text())
    v1["generated_at"], v1["mode"] = datetime.now(UTC).isoformat(), "live"
    put(state_file, v1)
    page.reload()
    page.wait_for_selector(GRAPH_DRAWN, timeout=WAIT_MS)
    expect(page.locator("#reasons-car1 li")).to_have_text(v1["decision"]["reasons"])
    expect(page.locator("#car-soc-car1")).to_have_text(f"{v1['vehicle']['battery_level']}%")
    expect(page.locator("#car-picker")).to_have_count(0)
    expect(page.locator("#circuit-graph")).to_have_count(0)
    expect(page.locator(".car-row")).to_have_count(0)
