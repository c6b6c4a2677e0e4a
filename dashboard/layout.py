"""The page: a status line, then the cards a phone user reads top to bottom in the evening.

Tonight's summary first, then why (decision and reasons), the charts, the coming drives, the car, the last 7 days and
each source's health; with several cars, a row a car and the shared circuit first, then each car's cards. Every
card is built from the state alone; one that cannot be drawn says so and the rest still show. A state that cannot
be read at all gets the friendly page instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard import cards
from dashboard.cars import Car
from dashboard.cars import cars as car_list
from dashboard.state import STALE_INTERVALS, Problem, Snapshot
from dashboard.values import ago, num, obj

log = logging.getLogger(__name__)
REDRAW_S = 300  # the refresh redraws the cards at least this often, for "now" and "… min ago"


def shown_key(signature: str, now: datetime) -> str:
    """What the page shows: the file's signature and the few-minute slot it was drawn in."""
    return f"{signature}@{int(now.timestamp() // REDRAW_S)}"



def page(snapshot: Snapshot, now: datetime, refresh_s: float) -> html.Div:
    """The whole page at first load (`now` is the wall clock); the refresh callback swaps `status` and `content`."""
    return html.Div(className="page", children=[
        dcc.Interval(id="tick", interval=int(refresh_s * 1000), n_intervals=0),
        dcc.Store(id="signature", data=shown_key(snapshot.signature, now)),
        dcc.Store(id="picked-car", data=None),  # the car the phone's picker shows (several cars)
        html.Header(className="top", children=[
            html.H1("Charge scheduler"),
            html.Div(id="status", className="status", children=status(snapshot, now)),
        ]),
        html.Main(id="content", children=content(snapshot, snapshot.clock(now), refresh_s)),
        html.Footer(className="foot", children=f"Reads {snapshot.path} · checks for changes every {refresh_s:g} s"),
    ])


# ------------------------------------------------------------------ status line and stale warning
def status(snapshot: Snapshot, now: datetime) -> list[Any]:
    if snapshot.state is None:
        return [html.Span("waiting for the scheduler", className="pill pill-warn")]
    state = snapshot.state
    age = snapshot.age_min(now)
    out: list[Any] = [
        html.Span(f"{state.get('mode') or 'live'}", className="pill" + (" pill-demo" if state.get("mode") == "demo"
                                                                          else "")),
        html.Span(f"updated {ago(age)}", id="updated", className="muted"),
    ]
    if snapshot.demo and snapshot.generated_at is not None and snapshot.zone is not None:
        out.append(html.Span(f"demo clock {snapshot.generated_at.astimezone(snapshot.zone):%a %H:%M}",
                             className="muted"))
    if snapshot.is_stale(now):
        out.append(html.Div(id="stale-warning", className="warning", role="alert", children=[
            html.Strong("The scheduler seems to have stopped. "),
            f"The state file was last written {ago(age)} but the scheduler writes it every "
            f"{snapshot.interval_min():g} min (warning after {STALE_INTERVALS} missed ticks). What you see below may "
            "be out of date and the car is not being managed. Check the scheduler's log and restart it: ",
            html.Code("python scheduler.py --demo" if snapshot.demo
                      else f"python scheduler.py -v -i {snapshot.interval_min():g}"),
        ]))
    return out


# ------------------------------------------------------------------ content
CAR_CARDS: list[tuple[Callable[..., Any], str]] = [
    (cards.tonight_card, "Tonight"), (cards.decision_card, "Decision"),
    (cards.signal_card, "Signal and charging plan"), (cards.soc_card, "Battery until departure"),
    (cards.events_card, "Coming drives"), (cards.car_card, "Car"), (cards.history_card, "Last 7 days"),
]


def content(snapshot: Snapshot, now: datetime, refresh_s: float, picked: str | None = None) -> list[Any]:
    """The cards, drawn at `now`: the state's own clock (see Snapshot.clock).

    One car: its cards as they always were. Several: a row a car, the shared circuit, then each car's cards under its
    name; a phone shows one car's at a time, the one its picker chose (the CSS hides the others)."""
    if snapshot.state is None or snapshot.zone is None:
        return [problem_page(snapshot.problem or Problem("No state yet", "The state file could not be read."),
                             snapshot, refresh_s)]
    state, zone = snapshot.state, snapshot.zone
    local_now = now.astimezone(zone)
    all_cars = car_list(state)
    health = _safe(cards.health_card, "Sources", state, zone, local_now)
    if len(all_cars) == 1:
        own = [_safe(build, title, all_cars[0].view, zone, local_now) for build, title in CAR_CARDS]
        return [html.Div(className="grid", children=[*own, health])]
    site = [_safe(cards.cars_card, "Cars", state, zone, local_now, all_cars)]
    if num(obj(state.get("circuit")).get("max_amps")) is not None:
        site.append(_safe(cards.circuit_card, "Shared circuit tonight", state, zone, local_now, all_cars))
    if picked not in {car.id for car in all_cars}:
        picked = all_cars[0].id
    details = [html.Section(
        id={"type": "car-detail", "car": car.id}, className="car-detail" + (" picked" if car.id == picked else ""),
        **_attrs(car), children=[
            html.H2(car.name, className="car-title"),
            html.Div(className="grid", children=[_safe(build, title, car.view, zone, local_now)
                                                 for build, title in CAR_CARDS])])
        for car in all_cars]
    return [html.Div(className="grid site", children=site), cards.car_picker(all_cars, picked), *details,
            html.Div(className="grid", children=[health])]


def _attrs(car: Car) -> dict[str, Any]:
    """data-* and aria-* pass through to the element: the tests and screen readers find a car by them."""
    return {"data-car": car.id, "aria-label": car.name}


def _safe(build: Callable[..., Any], title: str, state: dict[str, Any], zone: ZoneInfo, now: datetime,
          *extra: Any) -> Any:
    """One card; if its part of the state is malformed, a short note instead of a broken page."""
    try:
        return build(state, zone, now, *extra)
    except Exception as exc:  # a bad value inside one section must not blank the page
        log.exception("card %r could not be drawn", title)
        note = f"This part could not be drawn from the state file ({type(exc).__name__}: {exc})."
        return cards.card(title, [html.P(note, className="muted")])


def problem_page(problem: Problem, snapshot: Snapshot, refresh_s: float) -> html.Section:
    """Nothing to draw: say what is missing and how to get a state file, in words, never a trace."""
    folder = snapshot.path.parent
    return html.Section(id="problem", className="card problem", children=[
        html.H2(problem.title),
        html.P(problem.detail, id="problem-detail"),
        html.P("The dashboard only shows what the scheduler writes to this file. Start the scheduler with the same "
               "state folder:"),
        html.Pre(f"python scheduler.py -v -i 14 --state-dir {folder}"),
        html.P("or try the dashboard with made-up data (no car, no accounts needed):"),
        html.Pre(f"python scheduler.py --demo --state-dir {folder}"),
        html.P(f"The state folder is STATE_DIR in .env or the environment, or --state-dir. This page looks again every "
               f"{refresh_s:g} s and shows the schedule as soon as a good file appears.", className="muted"),
    ])
