"""What the plan and the history say, read once for both the cards and the charts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from dashboard.values import items, num, obj, when


class Window(NamedTuple):
    start: datetime
    end: datetime
    amps: float | None
    kw: float | None

    @property
    def kwh(self) -> float | None:
        return None if self.kw is None else self.kw * (self.end - self.start).total_seconds() / 3600


def full_at(state: dict[str, Any], zone: ZoneInfo) -> datetime | None:
    """When the plan expects the car to be full (its expected SoC first reaches its top), if it says."""
    points = expected_soc(state, zone)
    if len(points) < 2 or points[-1][1] <= points[0][1]:
        return None
    top = max(s for _, s in points)
    return next(t for t, s in points if s >= top)


def windows(state: dict[str, Any], zone: ZoneInfo) -> list[Window]:
    """The plan's windows as the car will use them: a window is open-ended ("until the limit"), so it is shown
    ending when the plan expects the car to be full."""
    out = []
    full = full_at(state, zone)
    for w in items(obj(state.get("plan")).get("windows")):
        start, end = when(w.get("start"), zone), when(w.get("end"), zone)
        if start and end and full and start < full < end:
            end = full
        if start and end and end > start:
            out.append(Window(start, end, num(w.get("amps")), num(w.get("kw"))))
    return sorted(out, key=lambda w: (w.start, w.end))


def departure(state: dict[str, Any], zone: ZoneInfo) -> datetime | None:
    """The plan's departure, else the one the decision gave the car."""
    plan, decision = obj(state.get("plan")), obj(state.get("decision"))
    return when(plan.get("departure"), zone) or when(decision.get("departure"), zone)


def needed_soc(state: dict[str, Any]) -> float | None:
    needed = num(obj(state.get("plan")).get("needed_soc"))
    return needed if needed is not None else num(obj(state.get("decision")).get("needed_soc"))


def expected_soc(state: dict[str, Any], zone: ZoneInfo) -> list[tuple[datetime, float]]:
    points = ((when(p.get("at"), zone), num(p.get("soc"))) for p in items(obj(state.get("plan")).get("expected_soc")))
    return sorted((t, s) for t, s in points if t is not None and s is not None)


def charge_limit(state: dict[str, Any]) -> float | None:
    limit = num(obj(state.get("decision")).get("charge_limit"))
    return limit if limit is not None else num(obj(state.get("vehicle")).get("charge_limit_soc"))


def recent_history(state: dict[str, Any], zone: ZoneInfo, now: datetime, days: float = 7) -> list[tuple[datetime, Any]]:
    """History ticks of the last `days`, oldest first, each with its time in home time."""
    rows = ((when(h.get("at"), zone), h) for h in items(state.get("history")))
    return sorted(((t, h) for t, h in rows if t is not None and t >= now - timedelta(days=days)), key=lambda r: r[0])
