"""How much charge the trips ahead need, and when the car must leave for the first one.

The car charges at home overnight, so the trips that count are those of the first day with a timed event ahead: each
is a round trip (home → event → home). Pure: trips, `now` and the settings come in as values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from charge_logic.config import RuleConfig
from charge_logic.models import Trip, trip_order


@dataclass(frozen=True)
class TripNeed:
    departure: datetime | None  # leave home by then: first event start − drive − buffer (None: no trip ahead)
    trips: tuple[Trip, ...]  # the trips before the next chance to charge
    distance_km: float  # round trips, summed
    energy_kwh: float  # the trips' energy plus the reserve
    needed_soc: float  # SoC % needed at departure
    charge_limit: int  # a limit covering it, within [min_charge_limit, top_charge_limit]
    reasons: tuple[str, ...]


def trips_before_next_charge(trips: Sequence[Trip], now: datetime, zone: tzinfo,
                             horizon_hours: float = 36.0) -> list[Trip]:
    """Timed events one drives to that start after now and within the horizon, on the local day of the first."""
    ahead = sorted((t for t in trips if not t.event.all_day and not t.virtual and now < t.event.start <= now +
                    timedelta(hours=horizon_hours)), key=trip_order)
    if not ahead:
        return []
    day = ahead[0].event.start.astimezone(zone).date()
    return [t for t in ahead if t.event.start.astimezone(zone).date() == day]


def trip_need(trips: Sequence[Trip], now: datetime, config: RuleConfig, zone: tzinfo) -> TripNeed:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    chosen = trips_before_next_charge(trips, now, zone, config.events_horizon_hours)
    reasons: list[str] = []
    battery = config.battery_kwh
    if battery <= 0:
        raise ValueError("battery_kwh must be > 0")
    reserve_kwh = battery * config.reserve_soc / 100.0
    if not chosen:
        needed = float(config.reserve_soc)
        limit = max(config.min_charge_limit, min(config.base_charge_limit, config.top_charge_limit))
        return TripNeed(None, (), 0.0, reserve_kwh, needed, limit,
                        (f"no timed event in the next {config.events_horizon_hours:.0f} h: everyday limit {limit} %",))
    distance = 0.0
    for t in chosen:
        if t.route is None:
            reasons.append(f"{t.event.summary!r}: distance unknown ({t.note or 'no route'}), not counted")
        else:
            distance += 2.0 * t.route.distance_km
    energy = distance * config.consumption_wh_per_km / 1000.0 + reserve_kwh
    needed = 100.0 * energy / battery
    first = chosen[0]
    drive = first.route.drive_minutes if first.route is not None else 0.0
    departure = first.event.start - timedelta(minutes=drive + config.departure_buffer_min)
    limit = max(config.base_charge_limit, math.ceil(needed))
    limit = max(config.min_charge_limit, min(limit, config.top_charge_limit))
    local = departure.astimezone(zone)
    reasons.append(f"{len(chosen)} trip(s) on {local:%a %d %b}: {distance:.0f} km round trip × "
                   f"{config.consumption_wh_per_km:.0f} Wh/km + {config.reserve_soc} % reserve = {needed:.0f} % "
                   f"at departure {local:%H:%M} ({first.event.summary!r} at "
                   f"{first.event.start.astimezone(zone):%H:%M} − {drive:.0f} min drive − "
                   f"{config.departure_buffer_min} min)")
    if needed > config.top_charge_limit:
        reasons.append(f"the trips need {needed:.0f} % but the limit stops at {config.top_charge_limit} %: "
                       "plan a charge on the way")
    elif limit > config.base_charge_limit:
        reasons.append(f"charge limit raised to {limit} % for the trip")
    return TripNeed(departure, tuple(chosen), distance, energy, needed, limit, tuple(reasons))
