"""The three charts: grid load with the plan, the SoC the plan expects, and the last 7 days.

Each takes the validated state and `now` (home time) and returns a plain Plotly figure; values it cannot read are
left out, so a sparse state draws a sparse chart, not an error.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

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
NOW = "#e2e8f0"


def _base(title: str | None = None) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", autosize=True,
        margin={"l": 44, "r": 12, "t": 30 if title else 22, "b": 8}, font={"color": INK, "size": 12},
        title={"text": title, "font": {"size": 13, "color": MUTED}, "x": 0, "xanchor": "left"} if title else None,
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "font": {"size": 11}},
        hovermode="x unified", uirevision="keep", showlegend=True,
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False, tickformat="%H:%M\n%a %d", hoverformat="%a %H:%M")
    fig.update_yaxes(gridcolor=GRID, zeroline=False)
    return fig


def _windows(state: dict[str, Any], zone: ZoneInfo) -> list[tuple[datetime, datetime, float | None, float | None]]:
    out = []
    for w in items(obj(state.get("plan")).get("windows")):
        start, end = when(w.get("start"), zone), when(w.get("end"), zone)
        if start and end and end > start:
            out.append((start, end, num(w.get("amps")), num(w.get("kw"))))
    return out


def departure(state: dict[str, Any], zone: ZoneInfo) -> datetime | None:
    """The plan's departure, else the one the decision gave the car."""
    return when(obj(state.get("plan")).get("departure"), zone) or when(obj(state.get("decision")).get("departure"), zone)


def _shade_windows(fig: go.Figure, state: dict[str, Any], zone: ZoneInfo, label: bool = True) -> None:
    for i, (start, end, amps, _kw) in enumerate(_windows(state, zone)):
        fig.add_vrect(x0=plot_x(start), x1=plot_x(end), fillcolor=WINDOW, line_width=0, layer="below",
                      name="charging window", legendgroup="windows", showlegend=i == 0)


def _vline(fig: go.Figure, moment: datetime, text: str, color: str, dash: str, yshift: float = 1.0) -> None:
    x = plot_x(moment)
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"color": color, "width": 1.5, "dash": dash})
    fig.add_annotation(x=x, y=yshift, yref="paper", text=text, showarrow=False, xanchor="left", yanchor="bottom",
                       font={"color": color, "size": 11}, bgcolor="rgba(15,23,42,0.7)")


def forecast_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> go.Figure:
    """Load in GW over the coming days, its mean and ±σ (what sets the amps), the charging windows, now, departure."""
    fc = obj(state.get("forecast"))
    fig = _base()
    xs, ys = [], []
    for p in items(fc.get("points")):
        start, load = when(p.get("start"), zone), num(p.get("load_mw"))
        if start is not None and load is not None:
            xs.append(start)
            ys.append(load / 1000)
    pairs = sorted(zip(xs, ys, strict=True))
    mean, std = num(fc.get("mean_mw")), num(fc.get("std_mw"))
    if pairs:
        x0, x1 = plot_x(pairs[0][0]), plot_x(pairs[-1][0] + timedelta(hours=1))
        if mean is not None and std is not None:
            hi, lo = (mean + std) / 1000, (mean - std) / 1000
            fig.add_trace(go.Scatter(x=[x0, x1], y=[hi, hi], mode="lines", line={"color": MEAN, "width": 1, "dash": "dot"},
                                     name="mean ± σ", legendgroup="band", hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=[x0, x1], y=[lo, lo], mode="lines", line={"color": MEAN, "width": 1, "dash": "dot"},
                                     fill="tonexty", fillcolor=BAND, name="mean − σ", legendgroup="band",
                                     showlegend=False, hoverinfo="skip"))
        if mean is not None:
            fig.add_trace(go.Scatter(x=[x0, x1], y=[mean / 1000] * 2, mode="lines", name="mean",
                                     line={"color": MEAN, "width": 1.5, "dash": "dash"}, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[plot_x(x) for x, _ in pairs], y=[y for _, y in pairs], mode="lines",
                                 name="forecast load", line={"color": LOAD, "width": 2.5, "shape": "hv"},
                                 hovertemplate="%{y:.1f} GW<extra>load</extra>"))
    _shade_windows(fig, state, zone)
    _vline(fig, now, "now", NOW, "dot")
    dep = departure(state, zone)
    if dep is not None:
        _vline(fig, dep, "departure " + dep.strftime("%H:%M"), DEPART, "dash", yshift=0.9)
    fig.update_yaxes(title={"text": "GW", "font": {"size": 11, "color": MUTED}}, ticksuffix="")
    if not pairs:
        _empty(fig, "No forecast yet")
    return fig


def soc_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> go.Figure:
    """The SoC the plan expects until departure against the SoC the drives need and the charge limit."""
    plan, decision, vehicle = obj(state.get("plan")), obj(state.get("decision")), obj(state.get("vehicle"))
    fig = _base()
    pts = sorted((t, s) for t, s in ((when(p.get("at"), zone), num(p.get("soc")))
                                     for p in items(plan.get("expected_soc"))) if t is not None and s is not None)
    dep = departure(state, zone)
    _shade_windows(fig, state, zone, label=False)
    if pts:
        fig.add_trace(go.Scatter(x=[plot_x(t) for t, _ in pts], y=[s for _, s in pts], mode="lines", name="expected SoC",
                                 line={"color": CHARGE, "width": 2.5}, fill="tozeroy", fillcolor="rgba(34,197,94,0.08)",
                                 hovertemplate="%{y:.0f} %<extra>expected</extra>"))
    x0 = pts[0][0] if pts else now
    x1 = max([t for t, _ in pts] + ([dep] if dep else []) + [now + timedelta(hours=1)])
    needed = num(plan.get("needed_soc"))
    needed = needed if needed is not None else num(decision.get("needed_soc"))
    if needed is not None:
        fig.add_trace(go.Scatter(x=[plot_x(x0), plot_x(x1)], y=[needed] * 2, mode="lines", name=f"needed {needed:.0f} %",
                                 line={"color": NEEDED, "width": 2, "dash": "dash"}, hoverinfo="skip"))
    limit = num(decision.get("charge_limit"))
    limit = limit if limit is not None else num(vehicle.get("charge_limit_soc"))
    if limit is not None:
        fig.add_trace(go.Scatter(x=[plot_x(x0), plot_x(x1)], y=[limit] * 2, mode="lines", name=f"limit {limit:.0f} %",
                                 line={"color": MUTED, "width": 1, "dash": "dot"}, hoverinfo="skip"))
    soc = num(vehicle.get("battery_level"))
    if soc is not None:
        read = when(vehicle.get("read_at"), zone) or now
        fig.add_trace(go.Scatter(x=[plot_x(read)], y=[soc], mode="markers", name=f"now {soc:.0f} %",
                                 marker={"color": INK, "size": 9, "line": {"color": CHARGE, "width": 2}},
                                 hovertemplate="%{y:.0f} %<extra>car</extra>"))
    if dep is not None:
        _vline(fig, dep, "departure", DEPART, "dash")
    fig.update_yaxes(range=[0, 100], ticksuffix=" %")
    if not pts and needed is None:
        _empty(fig, "No plan yet")
    return fig


def history_figure(state: dict[str, Any], zone: ZoneInfo, now: datetime) -> go.Figure:
    """The last 7 days: SoC, charging power, and the ticks that sent commands or woke the car."""
    rows = sorted((t, h) for t, h in ((when(h.get("at"), zone), h) for h in items(state.get("history")))
                  if t is not None and t >= now - timedelta(days=7))
    fig = _base()
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "ticksuffix": " kW",
                              "rangemode": "tozero"}, margin={"r": 44})
    xs = [plot_x(t) for t, _ in rows]
    fig.add_trace(go.Bar(x=xs, y=[num(h.get("power_kw")) for _, h in rows], name="charging kW", yaxis="y2",
                         marker={"color": "rgba(34,197,94,0.45)"}, hovertemplate="%{y:.1f} kW<extra></extra>"))
    fig.add_trace(go.Scatter(x=xs, y=[num(h.get("soc")) for _, h in rows], mode="lines", name="SoC",
                             line={"color": LOAD, "width": 2}, connectgaps=False,
                             hovertemplate="%{y:.0f} %<extra>SoC</extra>"))
    sent = [(x, num(h.get("soc"))) for x, (_, h) in zip(xs, rows, strict=True) if (num(h.get("sent")) or 0) > 0]
    if sent:
        fig.add_trace(go.Scatter(x=[x for x, _ in sent], y=[s for _, s in sent], mode="markers", name="commands sent",
                                 marker={"color": MEAN, "size": 7, "symbol": "diamond"},
                                 hovertemplate="commands sent<extra></extra>"))
    woke = [(x, num(h.get("soc"))) for x, (_, h) in zip(xs, rows, strict=True) if h.get("woke") is True]
    if woke:
        fig.add_trace(go.Scatter(x=[x for x, _ in woke], y=[s for _, s in woke], mode="markers", name="car woken",
                                 marker={"color": NEEDED, "size": 9, "symbol": "star"},
                                 hovertemplate="car woken<extra></extra>"))
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", selector={"anchor": "x"})
    fig.update_xaxes(tickformat="%a %d", hoverformat="%a %d %H:%M")
    if not rows:
        _empty(fig, "No history yet")
    return fig


def _empty(fig: go.Figure, message: str) -> None:
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"color": MUTED, "size": 14})
