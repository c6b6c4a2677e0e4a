"""What a plan saves against charging at once: the money (and CO₂) of the same kWh taken in the plan's windows versus
from now at the same power — "waiting until 00:00 saves $2.10 and 6 kg CO₂ against charging now".

Pure: `now`, the windows and the hourly series come in as values. An hour the series does not cover makes the
figure unknown (None) rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from charge_logic.models import ForecastPoint

HOUR_S = 3600.0


@dataclass(frozen=True)
class Savings:
    """The plan's bill and the bill of charging at once, for the same kWh; None where a series does not cover them."""

    kwh: float  # what both take
    plan_cost: float | None  # $
    now_cost: float | None
    plan_kg: float | None  # kg CO₂
    now_kg: float | None

    @property
    def saved_usd(self) -> float | None:
        return None if self.plan_cost is None or self.now_cost is None else self.now_cost - self.plan_cost

    @property
    def saved_kg(self) -> float | None:
        return None if self.plan_kg is None or self.now_kg is None else self.now_kg - self.plan_kg


Window = tuple[datetime, datetime, float]  # start, end, kW


def _spans(windows: Sequence[Window], now: datetime, kwh: float) -> list[tuple[float, float, float]]:
    """(start, end, kW) in epoch seconds, from now on, cut where the plan has delivered `kwh`."""
    out, left, t0 = [], kwh, now.timestamp()
    for start, end, kw in sorted(windows):
        a, b = max(start.timestamp(), t0), end.timestamp()
        if b <= a or kw <= 0 or left <= 1e-9:
            continue
        b = min(b, a + left / kw * HOUR_S)
        out.append((a, b, kw))
        left -= kw * (b - a) / HOUR_S
    return out


def _bill(spans: Sequence[tuple[float, float, float]], series: Sequence[ForecastPoint]) -> float | None:
    """Σ kWh × value of its hour; None when a charged hour has no value."""
    by_hour = {math.floor(p.start.timestamp() / HOUR_S): p.load_mw for p in series
               if p.load_mw is not None and math.isfinite(p.load_mw)}
    if not by_hour:
        return None
    total = 0.0
    for a, b, kw in spans:
        t = a
        while t < b - 1e-9:
            h = math.floor(t / HOUR_S)
            seg = min(b, (h + 1) * HOUR_S)
            value = by_hour.get(h)
            if value is None:
                return None
            total += kw * (seg - t) / HOUR_S * value
            t = seg
    return total


def plan_savings(now: datetime, windows: Sequence[Window], kwh: float, price: Sequence[ForecastPoint],
                 co2: Sequence[ForecastPoint] = ()) -> Savings:
    """The plan's windows (open-ended: the car stops when it has taken `kwh`) against full power from `now` at the
    plan's own highest kW, for the kWh the plan delivers. `price` in $/kWh, `co2` in kg/kWh, hourly."""
    planned = _spans(windows, now, kwh)
    got = sum(kw * (b - a) / HOUR_S for a, b, kw in planned)
    kw_now = max((kw for _, _, kw in windows), default=0.0)
    at_once = _spans([(now, now + timedelta(hours=got / kw_now + 1), kw_now)], now, got) if got > 0 else []
    return Savings(got, _bill(planned, price), _bill(at_once, price), _bill(planned, co2) if co2 else None,
                   _bill(at_once, co2) if co2 else None)


def savings_text(s: Savings, start: datetime) -> str | None:
    """'waiting until 00:00 saves $2.10 and 6 kg CO₂ against charging now' (the start in the owner's zone); None when
    there is nothing known to say."""
    parts = []
    if s.saved_usd is not None:
        parts.append(f"${s.saved_usd:.2f}" if s.saved_usd >= 0 else f"costs ${-s.saved_usd:.2f} more")
    if s.saved_kg is not None:
        parts.append(f"{s.saved_kg:.0f} kg CO₂" if s.saved_kg >= 0 else f"{-s.saved_kg:.0f} kg more CO₂")
    if not parts or s.kwh <= 0:
        return None
    saves = [p for p in parts if not p.startswith("costs") and "more" not in p]
    worse = [p for p in parts if p not in saves]
    text = f"waiting until {start:%H:%M}"
    if saves:
        text += " saves " + " and ".join(saves)
    if worse:
        text += (" but " if saves else " ") + " and ".join(worse)
    return text + f" against charging now ({s.kwh:.1f} kWh)"
