"""The three charts: grid load with the plan, the SoC the plan expects, and the last 7 days.

Each takes the validated state and `now` (home time) and returns a Plotly figure as a plain dict (plotly.js reads it
as it is; building graph_objects would only add server time to every page load); values it cannot read are left
out, so a sparse state draws a sparse chart, not an error. Heights come from the page's CSS (responsive mode).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.plan import charge_limit, departure, expected_soc, needed_soc, recent_history, windows
from dashboard.values import items, num, obj, plot_x, when

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


def forecast_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> Figure:
    """Load in GW over the coming days, its mean and ±σ (what sets the amps), the charging windows, now, departure."""
    fc = obj(state.get("forecast"))
    fig = _Fig()
    pairs = sorted((t, load / 1000) for t, load in ((when(p.get("start"), zone), num(p.get("load_mw")))
                                                   for p in items(fc.get("points"))) if t and load is not None)
    mean, std = num(fc.get("mean_mw")), num(fc.get("std_mw"))
    if pairs:
        x0, x1 = plot_x(pairs[0][0]), plot_x(pairs[-1][0] + timedelta(hours=1))
        if mean is not None and std is not None:
            hi, lo = (mean + std) / 1000, (mean - std) / 1000
            edge = {"color": MEAN, "width": 1, "dash": "dot"}
            fig.add(x=[x0, x1], y=[hi, hi], mode="lines", line=edge, name="mean ± σ", legendgroup="band",
                    hoverinfo="skip")
            fig.add(x=[x0, x1], y=[lo, lo], mode="lines", line=edge, fill="tonexty", fillcolor=BAND, name="mean − σ",
                    legendgroup="band", showlegend=False, hoverinfo="skip")
        if mean is not None:
            fig.add(x=[x0, x1], y=[mean / 1000] * 2, mode="lines", name="mean",
                    line={"color": MEAN, "width": 1.5, "dash": "dash"}, hoverinfo="skip")
        # hv: each point is the hour starting there; repeat the last so its hour is drawn too
        xs = [plot_x(t) for t, _ in pairs] + [x1]
        ys = [round(y, 2) for _, y in pairs] + [round(pairs[-1][1], 2)]
        fig.add(x=xs, y=ys, mode="lines", name="forecast load", line={"color": LOAD, "width": 2.5, "shape": "hv"},
                hovertemplate="%{y:.1f} GW<extra>load</extra>")
    _shade_windows(fig, state, zone)
    _vline(fig, now, "now", INK, "dot")
    dep = departure(state, zone)
    if dep is not None:
        _vline(fig, dep, "departure " + dep.strftime("%H:%M"), DEPART, "dash", y=0.9)
    fig.layout["yaxis"]["title"] = {"text": "GW", "font": {"size": 11, "color": MUTED}}
    if not pairs:  # nothing for Plotly to scale to: the coming day around now, and no made-up GW ticks
        end = max([now + timedelta(hours=24)] + ([dep + timedelta(hours=2)] if dep is not None else []))
        fig.layout["xaxis"].update(range=[plot_x(now - timedelta(hours=2)), plot_x(end)], autorange=False)
        fig.layout["yaxis"].update(range=[0, 1], showticklabels=False, showgrid=False)
        _empty(fig, "No forecast yet")
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
