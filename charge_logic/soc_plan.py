"""The charging a decision implies, as windows and the battery level over time, so a dashboard can shade it.
Power and efficiency are charge_logic.power's, as the planner's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from charge_logic.config import RuleConfig
from charge_logic.models import ChargeWindow, VehicleSnapshot
from charge_logic.power import battery_pct, wall_kw

SocPath = tuple[tuple[ChargeWindow, ...], tuple[tuple[datetime, float], ...]]


def soc_per_hour(vehicle: VehicleSnapshot | None, amps: int, config: RuleConfig) -> float:
    return battery_pct(wall_kw(vehicle, amps), config.battery_kwh)


def hours_to(soc: float, limit: int, vehicle: VehicleSnapshot | None, amps: int, config: RuleConfig) -> float:
    rate = soc_per_hour(vehicle, amps, config)
    return max(0.0, limit - soc) / rate if rate > 0 else 0.0


def charge_from(now: datetime, soc: float, limit: int, amps: int, vehicle: VehicleSnapshot | None,
                config: RuleConfig) -> SocPath:
    """Charging from now until the limit."""
    return follow([ChargeWindow(now, now + timedelta(hours=hours_to(soc, limit, vehicle, amps, config)), amps)],
                  now, soc, limit, vehicle, config)


def charge_before(now: datetime, end: datetime, soc: float, limit: int, amps: int, vehicle: VehicleSnapshot | None,
                  config: RuleConfig) -> SocPath:
    """The stretch just long enough to reach the limit by `end` (from now if there is not that much time)."""
    hours = hours_to(soc, limit, vehicle, amps, config)
    start = max(now, end - timedelta(hours=hours))
    return follow([ChargeWindow(start, max(start, end), amps)], now, soc, limit, vehicle, config)


def follow(windows: Sequence[ChargeWindow], now: datetime, soc: float, limit: int, vehicle: VehicleSnapshot | None,
           config: RuleConfig) -> SocPath:
    """Walk the windows from now, stopping at the limit: the part of each still ahead, and the SoC it gives."""
    kept: list[ChargeWindow] = []
    points: list[tuple[datetime, float]] = [(now, round(float(soc), 1))]
    level = float(soc)
    for window in sorted(windows, key=lambda w: w.start):
        start = max(window.start, now)
        if window.end <= start or window.amps <= 0:
            continue
        if level >= limit:
            break
        rate = soc_per_hour(vehicle, window.amps, config)
        hours = (window.end - start).total_seconds() / 3600
        gain = rate * hours
        end = window.end
        if level + gain > limit + 1e-6 and rate > 0:
            end = start + timedelta(hours=(limit - level) / rate)
            gain = limit - level
        kept.append(ChargeWindow(start, end, window.amps))
        if points[-1][0] != start:
            points.append((start, round(level, 1)))
        level = min(float(limit), level + gain) if level < limit else level + gain
        points.append((end, round(level, 1)))
    if not kept:
        return (), ()
    return tuple(kept), tuple(points)

