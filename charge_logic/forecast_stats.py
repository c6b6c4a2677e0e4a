"""Mean and spread of the grid load over the coming days, and the load of the hour we are in.

The amps bands compare this hour's load with these figures; the state file shows them too, so they live in one
function both can call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from charge_logic.localtime import require_aware
from charge_logic.models import ForecastPoint

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ForecastStats:
    mean_mw: float
    std_mw: float  # population standard deviation over the window
    current_mw: float  # load of the hour containing now (else the next hour that has a point)
    current_start: datetime
    points: int  # how many hourly points the figures come from
    covers_now: bool  # False when the forecast has no point for the current hour


def forecast_stats(now: datetime, forecast: Sequence[ForecastPoint], days: float) -> ForecastStats | None:
    """Figures over [now, now + days): the hour in progress counts, past hours and NaN loads do not. None if empty."""
    now_utc = now.astimezone(UTC)  # one zone on both sides keeps each comparison cheap
    after, end = now_utc - HOUR, now_utc + timedelta(days=days)
    loads: list[float] = []
    current: ForecastPoint | None = None
    for point in forecast:
        start = point.start
        if start.tzinfo is None:
            require_aware(start, "forecast point start")
        if after < start < end and math.isfinite(point.load_mw):
            loads.append(point.load_mw)
            if current is None or start < current.start:
                current = point
    if current is None:
        return None
    mean = math.fsum(loads) / len(loads)
    std = math.sqrt(math.fsum([(x - mean) ** 2 for x in loads]) / len(loads))
    return ForecastStats(mean_mw=mean, std_mw=std, current_mw=current.load_mw, current_start=current.start,
                         points=len(loads), covers_now=current.start <= now)
