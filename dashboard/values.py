"""Small, forgiving readers for values inside the state: a wrong or missing value becomes None, never an exception.

The top-level shape is checked in `state.validate`; inside a section the page shows "—" for what it cannot read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.state import parse_time

DASH = "—"


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def flag(value: Any) -> bool | None:
    """A yes/no the state says, or None when it says neither."""
    return value if isinstance(value, bool) else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def when(value: Any, zone: ZoneInfo) -> datetime | None:
    """An ISO time from the state, in home time; a bare date (an all-day event) is that day's home midnight."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.fromisoformat(value).replace(tzinfo=zone)
        except ValueError:
            return None
    parsed = parse_time(value)
    return None if parsed is None else parsed.astimezone(zone)


def plot_x(moment: datetime) -> str:
    """Plotly draws wall-clock strings as they are; give it home time without an offset."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def clock(moment: datetime | None, now: datetime | None = None) -> str:
    """'21:40', 'tomorrow 07:30' or 'Sat 28 Nov 07:30', relative to now's date (home time)."""
    if moment is None:
        return DASH
    if now is None:
        return moment.strftime("%a %d %b %H:%M")
    days = (moment.date() - now.date()).days
    if days == 0:
        return moment.strftime("%H:%M")
    if days == 1:
        return "tomorrow " + moment.strftime("%H:%M")
    if days == -1:
        return "yesterday " + moment.strftime("%H:%M")
    return moment.strftime("%a %d %b %H:%M")


def ago(minutes: float | None) -> str:
    if minutes is None:
        return DASH
    if minutes < 0:
        return "in the future (clock skew?)" if minutes < -2 else "just now"
    if minutes < 1.5:
        return "just now"
    if minutes < 90:
        return f"{minutes:.0f} min ago"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h ago"
    return f"{minutes / 1440:.1f} days ago"


def fmt(value: Any, unit: str = "", digits: int = 0) -> str:
    n = num(value)
    if n is None:
        return DASH
    body = f"{n:,.{digits}f}"
    return f"{body} {unit}".rstrip() if unit and unit != "%" else body + unit
