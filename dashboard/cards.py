"""The cards of the page, each drawn from the validated state alone: tonight, the decision and its reasons, the two
plan charts, the coming drives, the car, the last 7 days and the sources' health.

Each builder takes (state, zone, now) and returns one section; values it cannot read show as "—".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard.cars import Car, cid, signal
from dashboard.figures import circuit_figure, display_unit, history_figure, signal_figure, soc_figure
from dashboard.plan import Window, departure, expected_soc, needed_soc, recent_history, windows
from dashboard.values import DASH, ago, clock, flag, fmt, items, num, obj, text, when

GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True, "scrollZoom": False}
# A yes/no of the car's in words; None: the state does not say.
YES_NO_WORDS: dict[str, dict[bool | None, str]] = {
    "plugged_in": {True: "plugged in", False: "not plugged in", None: "plug unknown"},
    "at_home": {True: "at home", False: "away", None: ""},
}
SOURCE_NAMES = {"grid": "Grid forecast", "calendar": "Calendar", "maps": "Maps (drive distances)", "vehicle": "Car"}
# The decision's machine labels (charge_logic.rules) in words; an unknown label shows with its underscores as spaces.
MODE_WORDS = {
    "scheduled": "Scheduled charging", "charge_now_low_soc": "Charging now: battery low",
    "charge_now_full": "Charging now at full power", "charge_now_trip": "Charging now for today's trip",
    "plan_charging": "Charging in a planned window",
    "plan_waiting": "Waiting for the next planned window", "not_plugged_in": "Not plugged in",
    "not_at_home": "Away from home", "no_power": "Plugged in, no power", "supercharging": "On a fast charger",
    "no_vehicle_data": "No data from the car yet", "no_charge_data": "No charge data from the car",
}


def mode_words(mode: str) -> str:
    return MODE_WORDS.get(mode, mode.replace("_", " "))


CHARGE_NOW_WORDS = {"True": "start", "False": "stop", "None": "leave as is"}


def card(title: str, children: list[Any], kind: str | None = None, wide: bool = False,
         subtitle: Any = None, state: dict[str, Any] | None = None) -> html.Section:
    """A card of class `card-KIND`, with id `card-KIND-CAR` when it is one car's (`state` is that car's view)."""
    head = [html.H2(title)] + ([html.Div(subtitle, className="sub")] if subtitle else [])
    extra: dict[str, Any] = {}
    if kind:
        extra["id"] = cid(state, f"card-{kind}") if state is not None else f"card-{kind}"
    return html.Section(className="card" + (f" card-{kind}" if kind else "") + (" wide" if wide else ""), **extra,
                        children=[html.Div(className="card-head", children=head), *children])


def _graph(graph_id: str, figure: Any, tall: bool = False, kind: str = "") -> html.Div:
    """Plotly's responsive mode fills its box; the box's height comes from the CSS, per screen width."""
    return html.Div(className="graph-box" + (" tall" if tall else ""), children=dcc.Graph(
        id=graph_id, figure=figure, config=GRAPH_CONFIG, style={"height": "100%", "width": "100%"},
        className=kind or None))


def _tile(label: str, value: str, tile_id: str | None = None, tone: str = "", note: str | None = None,
          kind: str = "") -> html.Div:
    extra: dict[str, Any] = {"id": tile_id} if tile_id else {}
    return html.Div(className=f"tile {tone} {kind}".strip(), children=[
        html.Div(label, className="tile-label"), html.Div(value, className="tile-value", **extra),
        html.Div(note, className="tile-note") if note else None])


def _time_tile(label: str, moment: datetime | None, now: datetime, tile_id: str | None = None,
               kind: str = "") -> html.Div:
    """'07:30' big, 'tomorrow' small: fits a phone's half-width tile."""
    if moment is None:
        return _tile(label, DASH, tile_id, kind=kind)
    day = clock(moment, now).removesuffix(moment.strftime("%H:%M")).strip() or "today"
    return _tile(label, moment.strftime("%H:%M"), tile_id, note=day, kind=kind)


def _window_text(w: Window, now: datetime) -> str:
    energy = f" · ≈{w.kwh:.0f} kWh" if w.kwh is not None else ""
    power = f" · {w.kw:.1f} kW" if w.kw is not None else ""
    return f"{clock(w.start, now)}–{w.end.strftime('%H:%M')} · {fmt(w.amps, 'A')}{power}{energy}"


def tonight_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    """One sentence of what the car will do, then the four numbers that matter, then what waiting saves."""
    vehicle, decision, car = obj(state.get("vehicle")), obj(state.get("decision")), obj(state.get("car"))
    wins = windows(state, zone)
    dep = departure(state, zone) or when(car.get("departure"), zone)
    expected_points = expected_soc(state, zone)
    needed, expected = needed_soc(state), (expected_points[-1][1] if expected_points else None)
    soc = num(vehicle.get("battery_level"))
    if not state.get("vehicle"):
        headline = "No car data yet: the scheduler has not read the car."
    elif vehicle.get("plugged_in") is False:
        headline = "The car is not plugged in: plug it in to charge tonight."
    elif decision.get("charge_now") is True or vehicle.get("charging_state") in ("Charging", "Starting"):
        power = num(vehicle.get("charger_power_kw"))
        headline = f"Charging now at {fmt(decision.get('amps') or vehicle.get('charge_current_request'), 'A')}" + (
            f" ({power:.1f} kW)." if power else ".")
    elif wins:
        total = sum(w.kwh or 0 for w in wins)
        headline = (f"Charges from {clock(wins[0].start, now)} in {len(wins)} window{'s' if len(wins) > 1 else ''}"
                    + (f", about {total:.0f} kWh" if total else "") + ".")
    else:
        headline = "No charging planned before departure."
    if dep is not None:
        ready = f" expecting {expected:.0f} %" if expected is not None else ""
        headline += f" Leaves {clock(dep, now)}{ready}" + (f" (needs {needed:.0f} %)." if needed is not None else ".")
    short = expected is not None and needed is not None and expected < needed
    not_ready = flag(car.get("ready")) is False
    tiles = [
        _tile("Battery now", fmt(soc, "%"), cid(state, "tile-soc")),
        _time_tile("Departure", dep, now, cid(state, "departure"), kind="departure"),
        _tile("Needed", fmt(needed, "%"), cid(state, "tile-needed")),
        _tile("Expected", fmt(expected, "%"), cid(state, "tile-expected"),
              tone="bad" if short or not_ready else "good"),
    ]
    win_list = html.Ul(id=cid(state, "windows"), className="windows", children=[
        html.Li(_window_text(w, now)) for w in wins] or [html.Li("No charging windows planned", className="muted")])
    body = [html.P(headline, className="headline", id=cid(state, "headline")),
            *_readiness(state, dep, now, short),
            html.Div(className="tiles", children=tiles),
            html.H3("Charging windows"), win_list, *savings_block(state)]
    if short:
        body.insert(1, html.P(f"The plan falls short: {expected:.0f} % expected, {needed:.0f} % needed.",
                              className="warning"))
    return card("Tonight", body, "tonight", state=state)


def _readiness(state: dict[str, Any], dep: datetime | None, now: datetime, short: bool) -> list[Any]:
    """Whether the site's plan gets this car ready, and the car that charges first when the circuit is short."""
    car = obj(state.get("car"))
    ready, waits = flag(car.get("ready")), text(car.get("waits_for"))
    names = obj(car.get("names"))
    other = (text(names.get(waits)) or waits) if waits else None
    when_text = f" for {clock(dep, now)}" if dep is not None else ""
    if ready is False and not short:  # short already has its own warning, with the figures
        because = f": {other} charges first on the shared circuit" if other else ""
        return [html.P(f"Not ready{when_text}{because}.", id=cid(state, "ready"), className="warning")]
    if ready is True and not short:
        after = f", after {other} (the circuit is shared)" if other else ""
        return [html.P(f"Ready{when_text}{after}.", id=cid(state, "ready"), className="ok ready")]
    if other:
        return [html.P(f"Waits for {other}: the circuit is short.", id=cid(state, "ready"), className="warn")]
    return []


def savings_block(state: dict[str, Any]) -> list[Any]:
    """The night's cost and CO₂ against charging at once, and the month's savings (measured: its plug-ins against
    charging each at once); nothing the state leaves null, and why when there is no price to count in."""
    car = obj(state.get("car"))
    savings = obj(car.get("savings"))
    night, month = obj(savings.get("night")), obj(savings.get("month"))
    tiles = []
    cost, now_cost = num(night.get("cost_usd")), num(night.get("now_cost_usd"))
    if cost is not None:
        note = f"at once ${now_cost:.2f} · saves ${now_cost - cost:.2f}" if now_cost is not None else None
        tiles.append(_tile("Tonight costs", f"${cost:.2f}", cid(state, "night-cost"), note=note))
    co2, now_co2 = num(night.get("co2_kg")), num(night.get("now_co2_kg"))
    if co2 is not None:
        note = f"at once {now_co2:.1f} kg · saves {now_co2 - co2:.1f} kg" if now_co2 is not None else None
        tiles.append(_tile("Tonight's CO₂", f"{co2:.1f} kg", cid(state, "night-co2"), note=note))
    saved, saved_co2 = num(month.get("saved_usd")), num(month.get("saved_co2_kg"))
    count = num(month.get("sessions", month.get("nights")))  # `nights`: an earlier name of the count
    unpriced = num(month.get("unpriced"))
    if saved is not None or saved_co2 is not None:
        bits = ([f"{saved_co2:.0f} kg CO₂"] if saved is not None and saved_co2 is not None else []) + (
            [f"over {count:.0f} plug-in{'s' if count != 1 else ''}"] if count is not None else [])
        note = " ".join(bits) + (f" ({unpriced:.0f} without a price yet)" if unpriced else "")
        value = (f"${saved:.2f}" if saved >= 0 else f"−${-saved:.2f}") if saved is not None else \
            f"{saved_co2:.0f} kg CO₂"
        worse = (saved if saved is not None else saved_co2 or 0.0) < 0  # the hours taken cost more than at once
        tiles.append(_tile("Saved this month", value, cid(state, "month-saved"), tone="bad" if worse else "good",
                           note=note or None))
    if not tiles:
        if car.get("savings") is None and text(signal(state).get("unit")) == "MW":
            return [html.P("No tariff or price is known (TARIFF_TOU, TARIFF_FILE or PRICE_SOURCE): the night's cost "
                           "and the month's savings are not counted.", id=cid(state, "no-price"), className="muted")]
        return []
    why = text(month.get("note"))
    return [html.H3("Against charging at once"), html.Div(className="tiles savings", id=cid(state, "savings"),
                                                          children=tiles),
            *([html.P(why, id=cid(state, "month-note"), className="muted")] if why else [])]


def decision_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    decision = obj(state.get("decision"))
    if not state.get("decision"):
        return card("Decision", [html.P("No decision yet.", className="muted")], "decision", state=state)
    mode = text(decision.get("mode")) or DASH
    at = when(decision.get("at"), zone)
    charge_now = CHARGE_NOW_WORDS.get(str(decision.get("charge_now")), DASH)
    tiles = [
        _tile("Amps", fmt(decision.get("amps"), "A")), _tile("Charge limit", fmt(decision.get("charge_limit"), "%")),
        _tile("Charging now", charge_now),
        _time_tile("Off-peak ends", when(decision.get("off_peak_end"), zone), now),
    ]
    reasons = [r for r in decision.get("reasons") or [] if isinstance(r, str)] if isinstance(
        decision.get("reasons"), list) else []
    sent = items(decision.get("sent"))
    asked = items(decision.get("commands"))
    if sent:
        cmds = [html.Li([html.Code(text(c.get("name")) or "?"), " ",
                         html.Span("sent" if c.get("ok") is True else "failed", className="ok" if c.get("ok") is True
                                   else "bad"),
                         f" — {c.get('reason')}" if text(c.get("reason")) else ""]) for c in sent]
    elif asked:
        cmds = [html.Li([html.Code(text(c.get("name")) or "?"), " not sent this tick"]) for c in asked]
    else:
        cmds = [html.Li("Nothing to change: no command sent.", className="muted")]
    if decision.get("woke") is True:
        cmds.append(html.Li("The car was woken for this.", className="warn"))
    planner = obj(state.get("planner"))
    learned = [html.P(id=cid(state, "risk-price"), className="muted", children=text(planner.get("why")))] \
        if text(planner.get("why")) else []
    if text(planner.get("note")):
        learned.append(html.P(id=cid(state, "planner-note"), className="warn", children=text(planner.get("note"))))
    return card("Decision", [
        html.Div(className="tiles", children=tiles),
        html.H3("Why"),
        html.Ol(id=cid(state, "reasons"), className="reasons", children=[html.Li(r) for r in reasons]
                or [html.Li("No reasons given.", className="muted")]),
        *learned,
        html.H3("Commands"), html.Ul(className="commands", children=cmds),
    ], "decision", subtitle=f"{mode_words(mode)} · {clock(at, now)}", state=state)


def signal_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    """The plan over the signal it minimises: price, CO₂ or grid load, known hours apart from forecast ones."""
    sig = signal(state)
    name = text(sig.get("name")) or "signal"
    bits = [text(sig.get("label")), text(sig.get("source")), display_unit(text(sig.get("unit")))[0]]
    sub = " · ".join(b for b in bits if b)
    fc = obj(state.get("forecast"))
    if sig.get("objective") == "load":
        mean, std = num(fc.get("mean_mw")), num(fc.get("std_mw"))
        if mean is not None:
            sub += f" · mean {mean / 1000:.1f} GW" + (f", σ {std / 1000:.1f} GW" if std is not None else "")
        fetched = when(fc.get("fetched_at"), zone)
        if fetched is not None:
            sub += f" · fetched {ago((now - fetched).total_seconds() / 60)}"
        if fc.get("stale") is True:
            sub += " · STALE"
    body: list[Any] = []
    fallback = text(sig.get("fallback"))
    if fallback:
        body.append(html.P(["Planning on ", html.Strong(name), f" for now: {fallback}"],
                           id=cid(state, "signal-fallback"), className="warning"))
    band = "Band: mean ± σ of the coming days' load; the amps fall as load rises. " \
        if sig.get("objective") == "load" else ""
    body += [_graph(cid(state, "signal-graph"), signal_figure(state, zone, now), tall=True, kind="signal-graph"),
             html.P(f"Bars: {name} by the hour, solid where known, hatched where forecast. Green: planned charging "
                    f"(the line: its amps). {band}", className="note")]
    return card(f"{name[0].upper()}{name[1:]} and charging plan", body, "signal", wide=True, subtitle=sub,
                state=state)


def soc_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    return card("Battery until departure", [
        _graph(cid(state, "soc-graph"), soc_figure(state, zone, now)),
    ], "soc", state=state)


def events_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    events = items(state.get("events"))
    rows = []
    for ev in sorted(events, key=lambda e: when(e.get("start"), zone) or now + timedelta(days=999)):
        start, end = when(ev.get("start"), zone), when(ev.get("end"), zone)
        start_text = (start.strftime("%a %d %b") + " · all day") if ev.get("all_day") is True and start else clock(
            start, now)
        if start and end and start <= now < end and ev.get("all_day") is not True:
            start_text += " · now"
        dist = num(ev.get("distance_km"))
        if dist is None:
            note = text(ev.get("note")) or ""
            trip = [html.Span(note if note.startswith("no drive") else "distance unknown" + (  # online, no place
                f": {note}" if note else ""), className="muted")]
        else:
            trip = [html.Span(fmt(dist, "km", 1 if dist < 10 else 0)),
                    html.Span(fmt(ev.get("drive_minutes"), "min")),
                    html.Span(fmt(ev.get("energy_kwh"), "kWh", 1), className="energy")]
        rows.append(html.Li(className="event", children=[
            html.Div(className="event-when", children=start_text),
            html.Div(className="event-what", children=[html.Strong(text(ev.get("summary")) or "(no title)"),
                                                         html.Div(text(ev.get("location")) or "no location",
                                                                  className="muted small")]),
            html.Div(className="event-trip", children=trip),
        ]))
    return card("Coming drives", [html.Ul(id=cid(state, "events"), className="events", children=rows or [
        html.Li("No events in the calendar window.", className="muted")])], "events",
        subtitle="distance and drive time from home, energy the trip needs", state=state)


def car_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    if not state.get("vehicle"):
        return card("Car", [html.P("No car data yet: the scheduler has not read the car successfully.",
                                    className="muted")], "car", state=state)
    v = obj(state.get("vehicle"))
    soc, limit = num(v.get("battery_level")), num(v.get("charge_limit_soc"))
    read = when(v.get("read_at"), zone)
    plugged = YES_NO_WORDS["plugged_in"][flag(v.get("plugged_in"))]
    home = YES_NO_WORDS["at_home"][flag(v.get("at_home"))]
    bar = html.Div(className="socbar", title=f"{fmt(soc, '%')} of {fmt(limit, '%')} limit", children=[
        html.Div(className="socbar-fill", style={"width": f"{max(0.0, min(100.0, soc or 0)):.0f}%"}),
        html.Div(className="socbar-limit", style={"left": f"{max(0.0, min(100.0, limit or 0)):.0f}%"})
        if limit is not None else None,
    ])
    amps = f"{fmt(v.get('charger_actual_current'), 'A')} of {fmt(v.get('charge_current_request'), 'A')} " \
           f"(max {fmt(v.get('charge_current_request_max'), 'A')})"
    sched = text(v.get("scheduled_charging_mode")) or DASH
    if v.get("off_peak_charging_enabled") is True:
        sched += " · off-peak on"
    tiles = [
        _tile("Battery", fmt(soc, "%"), cid(state, "car-soc")),
        _tile("Limit", fmt(limit, "%"), cid(state, "car-limit")),
        _tile("Charging", text(v.get("charging_state")) or DASH, cid(state, "car-charging")),
        _tile("Plug", plugged, cid(state, "car-plug"), tone="good" if v.get("plugged_in") is True else "warn"),
    ]
    rows = [("Current", amps), ("Power", fmt(v.get("charger_power_kw"), "kW", 1)),
            ("Time to full", fmt(v.get("time_to_full_charge"), "h", 1)), ("Scheduled charging", sched),
            ("Car", f"{text(v.get('state')) or DASH}{' · ' + home if home else ''}"),
            ("Read", f"{clock(read, now)} ({ago((now - read).total_seconds() / 60)})" if read else DASH)]
    car = obj(state.get("car"))
    own = obj(car.get("tesla"))  # several cars: this car's share of the account's use
    usage = html.P(tesla_usage(own, "This car's Tesla API use"), id=cid(state, "car-tesla"), className="note") \
        if own and len(obj(car.get("names"))) > 1 else None
    return card("Car", [bar, html.Div(className="tiles", children=tiles), _facts(rows), usage], "car",
                subtitle=" · ".join(b for b in (text(v.get("name")), text(v.get("vin"))) if b), state=state)


def _facts(rows: list[tuple[str, str]]) -> html.Dl:
    out: list[Any] = []
    for label, value in rows:
        out += [html.Dt(label), html.Dd(value)]
    return html.Dl(className="facts", children=out)


def history_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    return card("Last 7 days", [
        _graph(cid(state, "history-graph"), history_figure(state, zone, now)),
        history_table(state, zone, now),
    ], "history", wide=True, state=state)


def history_table(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Div:
    """Per day: energy charged, hours charging, commands sent, wakes and the decision that held most ticks."""
    rows = recent_history(state, zone, now)
    default_gap = float(num(state.get("interval_min")) or 14)
    days: dict[str, dict[str, Any]] = {}
    for i, (t, h) in enumerate(rows):
        gap = (rows[i + 1][0] - t).total_seconds() / 60 if i + 1 < len(rows) else default_gap
        gap = min(gap, 2 * default_gap)
        d = days.setdefault(t.strftime("%a %d"), {"kwh": 0.0, "min": 0.0, "sent": 0, "woke": 0, "modes": {}})
        power = num(h.get("power_kw")) or 0.0
        d["kwh"] += power * gap / 60
        d["min"] += gap if power > 0 or h.get("charging_state") == "Charging" else 0
        d["sent"] += int(num(h.get("sent")) or 0)
        d["woke"] += 1 if h.get("woke") is True else 0
        mode = text(h.get("mode")) or DASH
        d["modes"][mode] = d["modes"].get(mode, 0) + 1
    head = html.Tr([html.Th(x) for x in ("Day", "Charged", "Charging", "Commands", "Wakes", "Mostly")])
    body = [html.Tr([html.Td(day), html.Td(f"{d['kwh']:.1f} kWh"), html.Td(f"{d['min'] / 60:.1f} h"),
                     html.Td(str(d["sent"])), html.Td(str(d["woke"])),
                     html.Td(mode_words(max(d["modes"], key=d["modes"].get)))])
            for day, d in reversed(list(days.items()))]
    if not body:
        body = [html.Tr([html.Td("No history yet", colSpan=6, className="muted")])]
    return html.Div(className="scroll", children=html.Table(id=cid(state, "history-table"), className="table",
                                                            children=[html.Thead(head), html.Tbody(body)]))


def health_card(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> html.Section:
    health = obj(state.get("health"))
    sources = obj(health.get("sources"))
    rows = []
    for name, src in sources.items():
        src = obj(src)
        ok, stale = src.get("ok"), src.get("stale") is True
        tone, word = ("bad", "failing") if ok is False else ("warn", "stale") if stale else ("good", "ok") \
            if ok is True else ("warn", "unknown")
        err = text(src.get("last_error"))
        err_at = when(src.get("last_error_at"), zone)
        if ok is True and not stale and text(src.get("warning")):  # read, but something was skipped or cut
            tone, word, err, err_at = "warn", "partial", text(src.get("warning")), None
        retry = when(src.get("retry_at"), zone)  # a failing source is not asked before this (service/backoff.py)
        if err and retry is not None and retry > now:
            err = f"{err}; next try {clock(retry, now)}"
        calls, budget = num(src.get("calls_month")), num(src.get("budget_month"))
        calls_text = DASH if calls is None else f"{calls:.0f}" + (f" / {budget:.0f}" if budget is not None else "")
        rows.append(html.Tr(className=f"src-{name}", children=[
            html.Td([SOURCE_NAMES.get(name, name),  # on a phone the calls column gives way to this line
                     html.Div(f"{calls_text} calls this month", className="show-narrow muted small")
                     if calls is not None else None]),
            html.Td(html.Span(word, className=f"badge {tone}")),
            html.Td(_age(num(src.get("data_age_min")))),
            html.Td(f"{err} ({clock(err_at, now)})" if err and err_at else err or "none",
                    className="err" if err else "muted"),
            html.Td(calls_text, className="hide-narrow"),
        ]))
    table = html.Table(id="health-table", className="table", children=[
        html.Thead(html.Tr([html.Th("Source"), html.Th("State"), html.Th("Data age"), html.Th("Last error"),
                            html.Th("Calls this month", className="hide-narrow")])),
        html.Tbody(rows or [html.Tr(html.Td("No source has reported yet", colSpan=5, className="muted"))])])
    tesla = obj(health.get("tesla"))
    usage = html.P(className="note", id="tesla-usage", children=tesla_usage(tesla, "Tesla API")) if tesla else None
    return card("Sources", [html.Div(className="scroll", children=table), usage], "health")


def tesla_usage(tesla: dict[str, Any], who: str) -> str:
    return (f"{who} {text(tesla.get('month')) or 'this month'}: {fmt(tesla.get('data'))} data reads, "
            f"{fmt(tesla.get('list'))} vehicle lists (the last at {str(tesla.get('listed_at') or '?')[11:16]}), "
            f"{fmt(tesla.get('commands'))} commands, {fmt(tesla.get('wakes'))} wakes "
            f"(≈ ${num(tesla.get('est_cost_usd')) or 0:.3f}); today "
            f"{_of(tesla.get('commands_today'), tesla.get('budget_commands_day'))} commands, "
            f"{_of(tesla.get('wakes_today'), tesla.get('budget_wakes_day'))} wakes.")


def _of(used: Any, budget: Any) -> str:
    """'3' or '3 of 40' when the state carries the daily budget (an optional field beyond the schema)."""
    return fmt(used) + (f" of {fmt(budget)}" if num(budget) is not None else "")


def _age(minutes: float | None) -> str:
    if minutes is None:
        return DASH
    return f"{max(0.0, minutes):.0f} min" if minutes < 120 else ago(minutes).removesuffix(" ago")


# ------------------------------------------------------------------ several cars: the site
def cars_card(state: dict[str, Any], zone: ZoneInfo, now: datetime, cars: list[Car]) -> html.Section:
    """One row a car: name, battery, plug and charging, departure, ready or not, and the car it waits for."""
    rows = [car_row(car, zone, now) for car in cars]
    circuit = obj(state.get("circuit"))
    amps = num(circuit.get("max_amps"))
    sub = f"{len(cars)} cars" + (f" on one {amps:.0f} A circuit" if amps is not None else "")
    return card("Cars", [html.Div(id="car-rows", className="car-rows", children=rows)], "cars", wide=True,
                subtitle=sub)


def car_row(car: Car, zone: ZoneInfo, now: datetime) -> html.Div:
    state = car.view
    v, entry = obj(state.get("vehicle")), obj(state.get("car"))
    dep = departure(state, zone) or when(entry.get("departure"), zone)
    charging = text(v.get("charging_state"))
    plug = YES_NO_WORDS["plugged_in"][flag(v.get("plugged_in"))] if state.get("vehicle") else "no data yet"
    status = "charging" if charging in ("Charging", "Starting") else plug
    charge_note = charging.lower() if charging and status == "plugged in" else None
    ready = flag(entry.get("ready"))
    waits = text(entry.get("waits_for"))
    other = (text(obj(entry.get("names")).get(waits)) or waits) if waits else None
    tiles = [
        _tile("Battery", fmt(v.get("battery_level"), "%"), cid(state, "row-soc")),
        _tile("Plug", status, cid(state, "row-plug"), tone="good" if v.get("plugged_in") is True else "warn",
              note=charge_note),
        _time_tile("Departure", dep, now, cid(state, "row-departure"), kind="departure"),
        _tile("Ready", {True: "yes", False: "no", None: DASH}[ready], cid(state, "row-ready"),
              tone={True: "good", False: "bad", None: ""}[ready],
              note=f"waits for {other}" if other else None),
    ]
    return html.Div(className="car-row", id=cid(state, "row"), children=[
        html.Div(className="car-row-name", children=[html.Strong(car.name),
                                                     html.Span(text(entry.get("vin")) or "", className="muted small")]),
        html.Div(className="tiles", children=tiles)])


def circuit_card(state: dict[str, Any], zone: ZoneInfo, now: datetime, cars: list[Car]) -> html.Section:
    """The circuit's planned load over the night: each car's amps stacked, under the circuit's limit."""
    circuit = obj(state.get("circuit"))
    amps, peak = num(circuit.get("max_amps")), num(circuit.get("peak_amps"))
    sub = f"limit {fmt(amps, 'A')}" + (f" · planned peak {fmt(peak, 'A')}" if peak is not None else "")
    return card("Shared circuit tonight", [
        _graph("circuit-graph", circuit_figure(state, zone, now, cars)),
        html.P("Each car's planned amps, stacked; the red line is the circuit's limit (CIRCUIT_MAX_AMPS).",
               className="note"),
    ], "circuit", wide=True, subtitle=sub)


def car_picker(cars: list[Car], picked: str) -> html.Div:
    """On a phone the page shows one car at a time: this picks which."""
    return html.Div(className="picker-box", children=dcc.RadioItems(
        id="car-picker", className="picker", inline=True, value=picked,
        options=[{"label": c.name, "value": c.id} for c in cars]))
