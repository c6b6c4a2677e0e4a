"""The page of a v2 state without a browser: several cars, the shared circuit, the signal the plan minimises and what
waiting saves (issues 18 and 17). test_dashboard_browser.py checks the same in Chromium; these pin the words, the
figures' data and the page's ids fast."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.utils
import pytest

from dashboard import layout
from dashboard.cars import cars
from dashboard.state import Snapshot, read_snapshot
from tests.test_dashboard_state import DATA, v2_doc, write


def snap_of(tmp_path: Path, doc: dict[str, Any]) -> Snapshot:
    snap = read_snapshot(write(tmp_path / "state.json", doc))
    assert snap.problem is None, snap.problem
    return snap


def drawn(snap: Snapshot) -> list[Any]:
    assert snap.generated_at is not None
    return layout.content(snap, snap.clock(snap.generated_at), 10)


def text_of(parts: list[Any]) -> str:
    return json.dumps(parts, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def walk(node: Any) -> Any:
    """Every Dash component under `node`, depth first."""
    if isinstance(node, (list, tuple)):
        for child in node:
            yield from walk(child)
        return
    if hasattr(node, "_prop_names"):
        yield node
        yield from walk(getattr(node, "children", None))


def by_id(parts: list[Any], wanted: Any) -> Any:
    found = [c for c in walk(parts) if getattr(c, "id", None) == wanted]
    assert len(found) == 1, f"{wanted!r}: {len(found)} components"
    return found[0]


def figure(parts: list[Any], graph_id: str) -> dict[str, Any]:
    fig: dict[str, Any] = by_id(parts, graph_id).figure
    return fig


def ids(parts: list[Any]) -> list[str]:
    return [c.id if isinstance(c.id, str) else json.dumps(c.id, sort_keys=True)
            for c in walk(parts) if getattr(c, "id", None) is not None]


def test_every_car_gets_its_row_and_its_own_cards_with_ids_of_its_own(tmp_path: Path) -> None:
    doc = v2_doc()
    parts = drawn(snap_of(tmp_path, doc))
    every = ids(parts)
    assert len(every) == len(set(every)), sorted(i for i in every if every.count(i) > 1)  # Dash needs unique ids
    picker = by_id(parts, "car-picker")
    assert [o["value"] for o in picker.options] == ["car1", "car2"] and picker.value == "car1"
    assert [o["label"] for o in picker.options] == ["Demo Model 3", "Demo Model Y"]
    details = [c for c in walk(parts) if isinstance(getattr(c, "id", None), dict)]
    assert [(d.id["car"], d.className) for d in details] == [("car1", "car-detail picked"), ("car2", "car-detail")]
    for car in doc["vehicles"]:
        row = text_of([by_id(parts, f"row-{car['id']}")])
        assert car["name"] in row and f"{car['vehicle']['battery_level']}%" in row
        reasons = by_id(parts, f"reasons-{car['id']}")
        assert [li.children for li in reasons.children] == car["decision"]["reasons"]
        assert f"signal-graph-{car['id']}" in every and f"soc-graph-{car['id']}" in every
    # the second car waits for the first on the shared circuit, and the page names it by its name
    assert by_id(parts, "row-ready-car2").children == "yes"
    assert "waits for Demo Model 3" in text_of([by_id(parts, "row-car2")])
    assert by_id(parts, "ready-car2").children == \
        "Ready for tomorrow 07:15, after Demo Model 3 (the circuit is shared)."


def test_a_redraw_keeps_the_car_the_phone_picked(tmp_path: Path) -> None:
    snap = snap_of(tmp_path, v2_doc())
    assert snap.generated_at is not None
    parts = layout.content(snap, snap.generated_at, 10, picked="car2")
    assert by_id(parts, "car-picker").value == "car2"
    details = [c for c in walk(parts) if isinstance(getattr(c, "id", None), dict)]
    assert [d.className for d in details] == ["car-detail", "car-detail picked"]
    gone = layout.content(snap, snap.generated_at, 10, picked="car9")  # a car no longer in the file
    assert by_id(gone, "car-picker").value == "car1"


def test_a_car_the_circuit_leaves_short_says_which_car_goes_first(tmp_path: Path) -> None:
    doc = v2_doc()
    doc["vehicles"][1]["ready"] = False
    parts = drawn(snap_of(tmp_path, doc))
    assert by_id(parts, "ready-car2").children == \
        "Not ready for tomorrow 07:15: Demo Model 3 charges first on the shared circuit."
    assert by_id(parts, "row-ready-car2").children == "no"


def test_the_circuit_chart_stacks_each_cars_plan_under_the_limit(tmp_path: Path) -> None:
    doc = v2_doc()
    snap = snap_of(tmp_path, doc)
    parts = drawn(snap)
    fig = figure(parts, "circuit-graph")
    traces = {t["name"]: t for t in fig["data"]}
    assert set(traces) == {"Demo Model 3", "Demo Model Y", "planned total", "circuit 48 A"}
    m3, my = traces["Demo Model 3"], traces["Demo Model Y"]
    assert m3["stackgroup"] == my["stackgroup"] and m3["x"] == my["x"]
    assert max(traces["circuit 48 A"]["y"]) == 48
    # from 23:00 both charge (32 A + 16 A); after the first is full only the second, at 32 A
    at = {x[11:16]: (a, b) for x, a, b in zip(m3["x"], m3["y"], my["y"], strict=True)}
    assert at["23:00"] == (32, 16) and at["02:48"] == (0, 32)
    assert all(a + b <= 48 for a, b in zip(m3["y"], my["y"], strict=True))
    assert "limit 48 A · planned peak 48 A" in text_of(parts)


def test_no_circuit_chart_without_a_limit_nor_with_one_car(tmp_path: Path) -> None:
    doc = v2_doc()
    doc["circuit"]["max_amps"] = None
    assert "circuit-graph" not in ids(drawn(snap_of(tmp_path, doc)))
    doc = v2_doc()
    doc["vehicles"] = doc["vehicles"][:1]
    one = drawn(snap_of(tmp_path, doc))
    assert "circuit-graph" not in ids(one) and "car-picker" not in ids(one) and "car-rows" not in ids(one)


def test_the_plan_is_drawn_over_the_signals_bars_known_apart_from_forecast(tmp_path: Path) -> None:
    doc = v2_doc()
    points = doc["signal"]["points"]
    fig = figure(drawn(snap_of(tmp_path, doc)), "signal-graph-car1")
    bars = {t["name"]: t for t in fig["data"] if t["type"] == "bar"}
    known, guess = bars["known price"], bars["forecast price"]
    assert len(known["y"]) == sum(p["known"] for p in points) > 0
    assert len(guess["y"]) == sum(not p["known"] for p in points) > 0
    assert sorted(known["y"] + guess["y"]) == sorted(p["value"] for p in points)  # $/kWh as the state gives it
    assert known["marker"]["color"] != guess["marker"]["color"] and guess["marker"]["pattern"]["shape"] == "/"
    assert fig["layout"]["yaxis"]["title"]["text"] == "$/kWh"
    amps = next(t for t in fig["data"] if t["name"] == "planned amps")
    assert max(amps["y"]) == 32 and amps["yaxis"] == "y2"
    assert len([s for s in fig["layout"]["shapes"] if s["type"] == "rect"]) == 1  # the car's window


def test_the_signals_fallback_is_said(tmp_path: Path) -> None:
    doc = v2_doc()
    assert "signal-fallback-car1" not in ids(drawn(snap_of(tmp_path, doc)))
    doc["signal"]["fallback"] = "the price source is down since 18:10: planning on the tariff alone"
    text = text_of([by_id(drawn(snap_of(tmp_path, doc)), "signal-fallback-car1")])
    assert "the price source is down since 18:10: planning on the tariff alone" in text


def test_the_nights_cost_and_co2_against_charging_at_once_and_the_months_savings(tmp_path: Path) -> None:
    doc = v2_doc()
    parts = drawn(snap_of(tmp_path, doc))
    assert by_id(parts, "night-cost-car1").children == "$1.62"
    assert by_id(parts, "night-co2-car1").children == "9.8 kg"
    assert by_id(parts, "month-saved-car1").children == "$18.40"
    notes = [c.children for c in walk([by_id(parts, "savings-car1")]) if c.className == "tile-note"]
    assert notes == ["at once $3.05 · saves $1.43", "at once 12.9 kg · saves 3.1 kg", "41 kg CO₂ over 6 plug-ins"]
    every = ids(parts)
    assert "night-cost-car2" in every and "month-saved-car2" not in every  # car2's month is null: hidden


@pytest.mark.parametrize("savings", [None, {"night": None, "month": None},
                                     {"night": {"cost_usd": None, "now_cost_usd": None, "co2_kg": None,
                                                "now_co2_kg": None}, "month": None}])
def test_unknown_savings_are_hidden_not_shown_as_zero(tmp_path: Path, savings: Any) -> None:
    doc = v2_doc()
    doc["vehicles"][0]["savings"] = savings
    parts = drawn(snap_of(tmp_path, doc))
    assert not [i for i in ids(parts) if i.endswith("-car1") and i.startswith(("savings", "night-", "month-"))]
    assert "Against charging at once" in text_of([by_id(parts, {"type": "car-detail", "car": "car2"})])


def test_the_months_plug_ins_without_a_price_and_a_rebuilt_month_are_said(tmp_path: Path) -> None:
    doc = v2_doc()
    why = ("savings.json is not JSON (moved aside): this month was rebuilt from the session log and the last 7 days "
           "of readings")
    doc["vehicles"][0]["savings"]["month"] = {"month": "2026-12", "sessions": 3, "kwh": 61.2, "cost_usd": 4.4,
                                              "now_cost_usd": 11.25, "saved_usd": 6.85, "co2_kg": None,
                                              "now_co2_kg": None, "saved_co2_kg": None, "unpriced": 1, "note": why}
    parts = drawn(snap_of(tmp_path, doc))
    assert by_id(parts, "month-saved-car1").children == "$6.85"
    notes = [c.children for c in walk([by_id(parts, "savings-car1")]) if c.className == "tile-note"]
    assert notes[-1] == "over 3 plug-ins (1 without a price yet)"
    assert by_id(parts, "month-note-car1").children == why
    doc["vehicles"][0]["savings"]["month"] = {"saved_usd": -1.2, "saved_co2_kg": None, "nights": 1}  # its earlier name
    assert by_id(drawn(snap_of(tmp_path, doc)), "month-saved-car1").children == "−$1.20"  # cost more than at once
    notes = [c.children for c in walk([by_id(drawn(snap_of(tmp_path, doc)), "savings-car1")])
             if c.className == "tile-note"]
    assert notes[-1] == "over 1 plug-in"


def test_planning_on_grid_load_without_a_price_says_why_there_are_no_savings(tmp_path: Path) -> None:
    doc = v2_doc()
    doc["vehicles"][0]["savings"] = None
    assert "no-price-car1" not in ids(drawn(snap_of(tmp_path, doc)))  # a price is known, only not for this plan
    doc["signal"] = None  # OBJECTIVE=load, no tariff: the grid forecast is the signal
    parts = drawn(snap_of(tmp_path, doc))
    assert "No tariff or price is known" in by_id(parts, "no-price-car1").children
    assert "month-saved-car1" not in ids(parts)


def test_a_car_id_that_is_no_html_id_still_gets_unique_ids(tmp_path: Path) -> None:
    doc = v2_doc()
    doc["vehicles"][0]["id"], doc["vehicles"][1]["id"] = "Blue car", "Blue-car"
    doc["vehicles"][1]["waits_for"] = "Blue car"
    snap = snap_of(tmp_path, doc)
    assert snap.state is not None
    assert [c.dom for c in cars(snap.state)] == ["Blue-car", "Blue-car-2"]
    parts = drawn(snap)
    every = ids(parts)
    assert len(every) == len(set(every))
    assert "waits for Demo Model 3" in text_of([by_id(parts, "row-Blue-car-2")])


def test_a_load_signal_reads_in_gw_with_its_band(tmp_path: Path) -> None:
    v1 = json.loads((DATA / "state_v1_demo.json").read_text())
    fig = figure(drawn(snap_of(tmp_path, v1)), "signal-graph-car1")
    bars = {t["name"]: t for t in fig["data"] if t["type"] == "bar"}
    assert set(bars) == {"forecast grid load"}  # a load forecast is a forecast: every hour hatched
    assert bars["forecast grid load"]["y"][0] == pytest.approx(v1["forecast"]["points"][0]["load_mw"] / 1000)
    assert {"mean ± σ", "mean"} <= {t["name"] for t in fig["data"]}
    assert fig["layout"]["yaxis"]["title"]["text"] == "GW"


def test_the_demo_clock_is_the_files(tmp_path: Path) -> None:
    snap = snap_of(tmp_path, v2_doc())
    assert snap.demo and snap.clock(datetime.now().astimezone()) == snap.generated_at


def test_a_plan_that_falls_short_is_never_called_ready(tmp_path: Path) -> None:
    doc = v2_doc()
    doc["vehicles"][1]["plan"]["needed_soc"] = 90.0  # more than the 80 % the plan expects
    parts = drawn(snap_of(tmp_path, doc))
    assert by_id(parts, "ready-car2").children == "Waits for Demo Model 3: the circuit is short."
    assert "The plan falls short: 80 % expected, 90 % needed." in text_of([by_id(parts, "card-tonight-car2")])
