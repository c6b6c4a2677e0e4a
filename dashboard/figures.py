"""The charts: the plan over the signal it minimises (price, CO₂ or grid load), the SoC the plan expects, the last
7 days, and with several cars the shared circuit's planned load.

Each takes the validated state and `now` (home time) and returns a Plotly figure as a plain dict (plotly.js reads it
as it is; building graph_objects would only add server time to every page load); values it cannot read are left
out, so a sparse state draws a sparse chart, not an error. Heights come from the page's CSS (responsive mode).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.cars import Car, signal
from dashboard.plan import Window, charge_limit, departure, expected_soc, needed_soc, recent_history, windows
from dashboard.values import items, num, obj, plot_x, text, when

INK = "#e2e8f0"
MUTED = "#94a3b8"
GRID = "rgba(148,163,184,0.18)"
LOAD = "#38bdf8"
MEAN = "#fbbf24"
BAND = "rgba(251,191,36,0.12)"
WINDOW = "rgba(34,197,94,0.28)"
CHARGE = "#22c55e"
DEPART = "#f472b6"
NEEDED = "#f87171"
KNOWN_BAR = "rgba(56,189,248,0.75)"
FORECAST_BAR = "rgba(56,189,248,0.28)"
CAR_COLOURS = ("#22c55e", "#a78bfa", "#fb923c", "#2dd4bf", "#f472b6", "#facc15")
# A unit the state gives and how the page shows it: grid load in GW reads better than 88,000 MW.
DISPLAY_UNITS: dict[str, tuple[str, float]] = {"MW": ("GW", 1 / 1000)}
HOUR = timedelta(hours=1)


Figure = dict[str, Any]
READ_IS_NOW_S = 20 * 60  # a car read this recently is "now" on the battery chart; older, it is named by its time


class _Fig:
    """Just enough of a figure builder: traces, shapes, annotations, layout."""

    def __init__(self) -> None:
        axis = {"gridcolor": GRID, "zeroline": False, "linecolor": GRID, "tickcolor": GRID}
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {
            "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "autosize": True,
            "margin": {"l": 44, "r": 12, "t": 22, "b": 8}, "font": {"color": INK, "size": 12},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "font": {"size": 11}},
            "hovermode": "x unified", "hoverlabel": {"bgcolor": "#0f172a", "bordercolor": GRID},
            "uirevision": "keep", "showlegend": True, "shapes": [], "annotations": [],
            "xaxis": {**axis, "type": "date", "tickformat": "%H:%M\n%a %d", "hoverformat": "%a %H:%M"},
            "yaxis": dict(axis),
        }

    def add(self, **trace: Any) -> None:
        self.data.append({"type": "scatter", **trace})

    def to_dict(self) -> Figure:
        return {"data": self.data, "layout": self.layout}


def _shade_windows(fig: _Fig, state: dict[str, Any], zone: ZoneInfo) -> None:
    for i, w in enumerate(windows(state, zone)):
        fig.layout["shapes"].append({
            "type": "rect", "xref": "x", "yref": "paper", "x0": plot_x(w.start), "x1": plot_x(w.end), "y0": 0,
            "y1": 1, "fillcolor": WINDOW, "line": {"width": 0}, "layer": "below", "name": "charging window",
            "legendgroup": "windows", "showlegend": i == 0})


def _vline(fig: _Fig, moment: datetime, text: str, color: str, dash: str, y: float = 1.0) -> None:
    x = plot_x(moment)
    fig.layout["shapes"].append({"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
                                 "line": {"color": color, "width": 1.5, "dash": dash}})
    fig.layout["annotations"].append({"x": x, "y": y, "xref": "x", "yref": "paper", "text": text, "showarrow": False,
                                      "xanchor": "left", "yanchor": "bottom", "font": {"color": color, "size": 11},
                                      "bgcolor": "rgba(15,23,42,0.7)"})


def display_unit(unit: str | None) -> tuple[str, float]:
    """The unit shown for the state's `unit`, and the factor from one to the other."""
    return DISPLAY_UNITS.get(unit or "", (unit or "", 1.0))


def _signal_points(sig: dict[str, Any], zone: ZoneInfo, scale: float) -> list[tuple[datetime, float, bool]]:
    points = ((when(p.get("start"), zone), num(p.get("value")), p.get("known") is True)
              for p in items(sig.get("points")))
    return sorted((t, v * scale, known) for t, v, known in points if t is not None and v is not None)


def _digits(values: list[float]) -> str:
    spread = max(values) - min(values) if values else 0
    return ".3f" if max(map(abs, values), default=0) < 1 else ".2f" if spread < 10 else ".1f" if spread < 100 else ".0f"


def _amps_steps(wins: list[Window], times: list[datetime]) -> list[float]:
    """A car's planned amps from each of `times` to the next (0 outside its windows; windows do not overlap)."""
    return [next((w.amps or 0.0 for w in wins if w.start <= t < w.end), 0.0) for t in times]


def signal_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> Figure:
    """The signal by the hour as bars, known hours solid and forecast ones hatched (as Tibber draws prices), the
    car's planned amps over them, its charging windows, now and departure; for grid load the mean ± σ the amps use."""
    sig = signal(state)
    name = text(sig.get("name")) or "signal"
    unit, scale = display_unit(text(sig.get("unit")))
    fig = _Fig()
    pts = _signal_points(sig, zone, scale)
    fmt = _digits([v for _, v, _ in pts])
    gaps = [(b[0] - a[0]) for a, b in zip(pts, pts[1:], strict=False) if b[0] > a[0]]
    step = min(gaps, default=HOUR)
    for known in (True, False):
        sel = [(t, v) for t, v, k in pts if k is known]
        if not sel:
            continue
        marker: dict[str, Any] = {"color": KNOWN_BAR if known else FORECAST_BAR, "line": {"width": 0}}
        if not known:
            marker["pattern"] = {"shape": "/", "fgcolor": KNOWN_BAR, "size": 6, "solidity": 0.25}
        fig.data.append({
            "type": "bar", "x": [plot_x(t + step / 2) for t, _ in sel], "y": [round(v, 4) for _, v in sel],
            "width": step.total_seconds() * 1000 * 0.9, "marker": marker,
            "name": f"{'known' if known else 'forecast'} {name}",
            "hovertemplate": f"%{{y:{fmt}}} {unit}<extra>{'known' if known else 'forecast'}</extra>"})
    fc = obj(state.get("forecast"))
    mean, std = num(fc.get("mean_mw")), num(fc.get("std_mw"))
    if pts and sig.get("objective") == "load" and text(sig.get("unit")) == "MW" and mean is not None:
        x0, x1 = plot_x(pts[0][0]), plot_x(pts[-1][0] + step)
        if std is not None:
            hi, lo = (mean + std) * scale, (mean - std) * scale
            edge = {"color": MEAN, "width": 1, "dash": "dot"}
            fig.add(x=[x0, x1], y=[hi, hi], mode="lines", line=edge, name="mean ± σ", legendgroup="band",
                    hoverinfo="skip")
            fig.add(x=[x0, x1], y=[lo, lo], mode="lines", line=edge, fill="tonexty", fillcolor=BAND, name="mean − σ",
                    legendgroup="band", showlegend=False, hoverinfo="skip")
        fig.add(x=[x0, x1], y=[mean * scale] * 2, mode="lines", name="mean",
                line={"color": MEAN, "width": 1.5, "dash": "dash"}, hoverinfo="skip")
    wins = windows(state, zone)
    if wins:  # the plan over the bars: the amps it asks for, on its own axis
        times = sorted({w.start for w in wins} | {w.end for w in wins})
        amps = _amps_steps(wins, times)
        fig.add(x=[plot_x(t) for t in times], y=amps, yaxis="y2", mode="lines", name="planned amps",
                line={"color": CHARGE, "width": 2.5, "shape": "hv"}, hovertemplate="%{y:.0f} A<extra>plan</extra>")
        fig.layout["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False, "ticksuffix": " A",
                                "rangemode": "tozero", "zeroline": False, "range": [0, max(amps) * 1.25 or 1],
                                "tickmode": "array", "tickvals": sorted({0.0, *amps}),  # the amps the plan uses
                                "ticktext": [f"{a:.0f} A" for a in sorted({0.0, *amps})]}
        fig.layout["margin"]["r"] = 44
    _shade_windows(fig, state, zone)
    _vline(fig, now, "now", INK, "dot")
    dep = departure(state, zone) or when(obj(state.get("car")).get("departure"), zone)
    if dep is not None:
        _vline(fig, dep, "departure " + dep.strftime("%H:%M"), DEPART, "dash", y=0.9)
    fig.layout["yaxis"]["title"] = {"text": unit, "font": {"size": 11, "color": MUTED}}
    fig.layout["bargap"] = 0
    values = [v for _, v, _ in pts] + ([mean * scale - (std or 0) * scale] if mean is not None and pts
                                       and sig.get("objective") == "load" else [])
    if values and min(values) > 0.35 * max(values):  # grid load: its swing, not its distance from zero
        pad = (max(values) - min(values)) * 0.15 or max(values) * 0.05
        fig.layout["yaxis"].update(range=[min(values) - pad, max(values) + pad])
    if not pts:  # nothing for Plotly to scale to: the coming day around now, and no made-up ticks
        end = max([now + timedelta(hours=24)] + ([dep + timedelta(hours=2)] if dep is not None else []))
        fig.layout["xaxis"].update(range=[plot_x(now - timedelta(hours=2)), plot_x(end)], autorange=False)
        fig.layout["yaxis"].update(range=[0, 1], showticklabels=False, showgrid=False)
        _empty(fig, "No forecast yet")
    return fig.to_dict()


def circuit_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime, cars: list[Car]) -> Figure:
    """The circuit over the night: each car's planned amps stacked (their windows as each car will use them), the
    scheduler's own total, and the circuit's limit as a line."""
    fig = _Fig()
    circuit = obj(state.get("circuit"))
    limit = num(circuit.get("max_amps"))
    plans = [(car, windows(car.view, zone)) for car in cars]
    load = sorted((t, a) for t, a in ((when(p.get("at"), zone), num(p.get("amps"))) for p in items(circuit.get("load")))
                  if t is not None and a is not None)
    times = sorted({t for _, wins in plans for w in wins for t in (w.start, w.end)} | {t for t, _ in load})
    steps = [_amps_steps(wins, times) for _, wins in plans]
    for i, (car, _) in enumerate(plans):
        if not times:
            break
        colour = CAR_COLOURS[i % len(CAR_COLOURS)]
        fig.add(x=[plot_x(t) for t in times], y=steps[i], mode="lines", name=car.name,
                stackgroup="cars", line={"color": colour, "width": 1.5, "shape": "hv"}, fillcolor=colour + "66",
                hovertemplate="%{y:.0f} A<extra>" + car.name + "</extra>")
    if load:
        fig.add(x=[plot_x(t) for t, _ in load], y=[a for _, a in load], mode="lines", name="planned total",
                line={"color": INK, "width": 1, "dash": "dot", "shape": "hv"},
                hovertemplate="%{y:.0f} A<extra>total</extra>")
    start = min(times + [now])
    end = max(times + [now + timedelta(hours=12)])
    if limit is not None:
        fig.add(x=[plot_x(start), plot_x(end)], y=[limit, limit], mode="lines", name=f"circuit {limit:.0f} A",
                line={"color": NEEDED, "width": 2, "dash": "dash"}, hoverinfo="skip")
    _vline(fig, now, "now", INK, "dot")
    top = max([limit or 0.0] + [a for _, a in load] + [sum(col) for col in zip(*steps, strict=True)])
    fig.layout["yaxis"].update(range=[0, max(top * 1.15, 1.0)], ticksuffix=" A")
    fig.layout["hovermode"] = "x unified"
    if not times:
        _empty(fig, "No charging planned")
    return fig.to_dict()


def soc_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> Figure:
    """The SoC the plan expects until departure against the SoC the drives need and the charge limit."""
    vehicle = obj(state.get("vehicle"))
    fig = _Fig()
    pts = expected_soc(state, zone)
    dep = departure(state, zone)
    _shade_windows(fig, state, zone)
    if pts:
        fig.add(x=[plot_x(t) for t, _ in pts], y=[s for _, s in pts], mode="lines", name="expected SoC",
                line={"color": CHARGE, "width": 2.5}, fill="tozeroy", fillcolor="rgba(34,197,94,0.08)",
                hovertemplate="%{y:.0f} %<extra>expected</extra>")
    x0 = pts[0][0] if pts else now
    x1 = max([t for t, _ in pts] + ([dep] if dep else []) + [now + timedelta(hours=1)])
    needed = needed_soc(state)
    if needed is not None:
        fig.add(x=[plot_x(x0), plot_x(x1)], y=[needed] * 2, mode="lines", name=f"needed {needed:.0f} %",
                line={"color": NEEDED, "width": 2, "dash": "dash"}, hoverinfo="skip")
    limit = charge_limit(state)
    if limit is not None:
        fig.add(x=[plot_x(x0), plot_x(x1)], y=[limit] * 2, mode="lines", name=f"limit {limit:.0f} %",
                line={"color": MUTED, "width": 1, "dash": "dot"}, hoverinfo="skip")
    soc = num(vehicle.get("battery_level"))
    if soc is not None:
        # the car's charge where it was read; called "now" only when that read is recent
        read = when(vehicle.get("read_at"), zone) or now
        label = f"now {soc:.0f} %" if abs((now - read).total_seconds()) <= READ_IS_NOW_S else \
            f"{soc:.0f} % read {read:%H:%M}"
        fig.add(x=[plot_x(read)], y=[soc], mode="markers", name=label,
                marker={"color": INK, "size": 9, "line": {"color": CHARGE, "width": 2}},
                hovertemplate="%{y:.0f} %<extra>car</extra>")
    _vline(fig, now, "now", INK, "dot", y=0.9)
    if dep is not None:
        _vline(fig, dep, "departure", DEPART, "dash")
    fig.layout["yaxis"].update(range=[0, 105], ticksuffix=" %")
    if not pts and needed is None:
        _empty(fig, "No plan yet")
    return fig.to_dict()


def history_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> Figure:
    """The last 7 days: SoC, charging power, and the ticks that sent commands or woke the car."""
    rows = recent_history(state, zone, now)
    fig = _Fig()
    fig.layout["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False, "ticksuffix": " kW",
                            "rangemode": "tozero", "zeroline": False}
    fig.layout["margin"]["r"] = 52
    xs = [plot_x(t) for t, _ in rows]
    fig.add(type="bar", x=xs, y=[num(h.get("power_kw")) for _, h in rows], name="charging kW", yaxis="y2",
            marker={"color": "rgba(34,197,94,0.45)"}, hovertemplate="%{y:.1f} kW<extra></extra>")
    fig.add(x=xs, y=[num(h.get("soc")) for _, h in rows], mode="lines" if len(rows) > 48 else "lines+markers",
            name="SoC",
            line={"color": LOAD, "width": 2}, hovertemplate="%{y:.0f} %<extra>SoC</extra>")
    marks = [("commands sent", lambda h: (num(h.get("sent")) or 0) > 0,
              {"color": MEAN, "size": 7, "symbol": "diamond"}),
             ("car woken", lambda h: h.get("woke") is True, {"color": NEEDED, "size": 9, "symbol": "star"})]
    for name, hit, marker in marks:
        sel = [(x, num(h.get("soc"))) for x, (_, h) in zip(xs, rows, strict=True) if hit(h)]
        if sel:
            fig.add(x=[x for x, _ in sel], y=[s if s is not None else 0 for _, s in sel], mode="markers", name=name,
                    marker=marker, hovertemplate=name + "<extra></extra>")
    fig.layout["yaxis"].update(range=[0, 105], ticksuffix=" %")
    peak = max([num(h.get("power_kw")) or 0 for _, h in rows] + [0])
    fig.layout["yaxis2"].update(range=[0, max(peak * 1.15, 1.0)], nticks=4, tickformat=".1f")
    fig.layout["xaxis"].update(tickformat="%a", hoverformat="%a %d %H:%M", dtick=86400000, tickangle=0,
                               range=[plot_x(now - timedelta(days=7)), plot_x(now + timedelta(hours=2))])
    if not rows:
        _empty(fig, "No history yet")
    return fig.to_dict()


def _empty(fig: _Fig, message: str) -> None:
    fig.layout["annotations"].append({"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                                      "showarrow": False, "font": {"color": MUTED, "size": 14}})
