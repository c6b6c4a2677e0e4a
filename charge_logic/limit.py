"""How full to charge: the everyday limit, raised close to departure when the day's trips need more."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from charge_logic.config import RuleConfig
from charge_logic.localtime import hours_text
from charge_logic.models import Trip, VehicleSnapshot, trip_order


@dataclass(frozen=True)
class SocNeed:
    needed_soc: float  # % to start the day with: reserve + the round trips
    km: float  # round-trip km counted
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class LimitChoice:
    limit: int
    reasons: tuple[str, ...]


def trips_before(now: datetime, trips: Sequence[Trip], until: datetime) -> list[Trip]:
    """Trips ahead of us and before the next chance to charge; an all-day event counts while it lasts."""
    out = []
    for trip in trips:
        event = trip.event
        ahead = event.end > now if event.all_day else event.start > now
        if ahead and event.start < until:
            out.append(trip)
    return sorted(out, key=trip_order)  # the order a source lists them in must not change the sum or the reasons


def soc_need(now: datetime, trips: Sequence[Trip], until: datetime, config: RuleConfig) -> SocNeed:
    """Reserve + each trip there and back, as % of the battery."""
    parts: list[str] = []
    unknown: list[str] = []
    km = 0.0
    for trip in trips_before(now, trips, until):
        if trip.virtual:
            continue
        route = trip.route
        if route is None or not math.isfinite(route.distance_km) or route.distance_km < 0:
            unknown.append(f"{trip.event.summary} ({trip.note or 'no route'})")
            continue
        km += 2 * route.distance_km
        parts.append(f"{trip.event.summary} 2 × {route.distance_km:.1f} km")
    pct = km * config.consumption_wh_per_km / (config.battery_kwh * 1000) * 100
    needed = config.reserve_soc + pct
    reasons = []
    if parts:
        reasons.append(f"Trips before the next charge: {', '.join(parts)} = {km:.0f} km ≈ {pct:.1f} % of the battery;"
                       f" with the {config.reserve_soc} % reserve {needed:.1f} % is needed")
    else:
        reasons.append(f"No trips with a known distance before the next charge: the {config.reserve_soc} % reserve "
                       "is needed")
    if unknown:
        reasons.append(f"Distance unknown, not counted: {', '.join(unknown)}")
    return SocNeed(needed, km, tuple(reasons))


def limit_bounds(config: RuleConfig, vehicle: VehicleSnapshot | None) -> tuple[int, int]:
    """Lowest and highest limit we may set; the car's own range wins over the settings. A limit at or above
    full_power_limit would read as the owner asking for a full charge on the next tick, so we stay below it."""
    high = min(config.top_charge_limit, config.full_power_limit - 1)
    low = config.min_charge_limit
    if vehicle is not None and vehicle.charge_limit_soc_max:
        high = min(high, vehicle.charge_limit_soc_max)
    if vehicle is not None and vehicle.charge_limit_soc_min:
        low = max(low, vehicle.charge_limit_soc_min)
    return min(low, high), high


def choose_limit(now: datetime, need: SocNeed, departure: datetime, config: RuleConfig,
                 vehicle: VehicleSnapshot | None) -> LimitChoice:
    low, high = limit_bounds(config, vehicle)
    base = max(low, min(high, config.base_charge_limit))
    wanted = max(config.base_charge_limit, math.ceil(need.needed_soc - 1e-9))
    until = departure - now
    close = until <= timedelta(hours=config.high_limit_hours)
    reasons = []
    if wanted <= config.base_charge_limit:
        limit = base
        reasons.append(f"Charge limit {limit} %: the everyday limit covers the {need.needed_soc:.1f} % needed")
    elif not close:
        limit = base
        reasons.append(f"Charge limit stays at {limit} % for now: the trips need {need.needed_soc:.1f} %, and the "
                       f"limit goes up only within {config.high_limit_hours:g} h of departure ({hours_text(until)} "
                       "away)")
    else:
        limit = max(low, min(high, wanted))
        reasons.append(f"Charge limit raised to {limit} % for the trips (departure in {hours_text(until)})")
        if wanted > high:
            car_max = vehicle.charge_limit_soc_max if vehicle is not None else None
            who = ("the car's maximum" if car_max and car_max <= high else
                   "the top limit" if high >= config.top_charge_limit else "just below the full-charge setting")
            reasons.append(f"The trips need {need.needed_soc:.1f} %, more than {who} {high} %: plan a charging stop "
                           "on the way")
    return LimitChoice(limit, tuple(reasons))
