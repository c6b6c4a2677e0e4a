"""What the planner plans for: the departure and the charge the trips ahead need, as the rules see them.

The rules (charge_logic.departure, charge_logic.limit) decide which events come before the next chance to charge,
when the car must leave and how much the round trips take; the planner takes the same answers, so the plan and the
car's settings never disagree. The one difference is the limit: the rules raise the car's limit only close to
departure, while the planner plans the energy of the raised limit from the start. Pure: values in, values out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from charge_logic import limit as rules_limit
from charge_logic.config import RuleConfig
from charge_logic.departure import day_end, leave_at, plan_departure
from charge_logic.localtime import clock_text
from charge_logic.models import Trip


@dataclass(frozen=True)
class TripNeed:
    departure: datetime | None  # leave home by then (None: no timed event ahead)
    trips: tuple[Trip, ...]  # the trips before the next chance to charge
    distance_km: float  # round trips, summed
    energy_kwh: float  # the trips' energy plus the reserve
    needed_soc: float  # SoC % needed at departure
    charge_limit: int  # a limit covering it, within [min_charge_limit, top_charge_limit]
    reasons: tuple[str, ...]


def trip_need(now: datetime, trips: Sequence[Trip], config: RuleConfig, zone: ZoneInfo) -> TripNeed:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if config.battery_kwh <= 0:
        raise ValueError("battery_kwh must be > 0")
    if not trips:  # most ticks: nothing in the calendar, and then nothing here depends on `now`
        return _no_trips(config)
    departure = plan_departure(now, trips, config, zone)
    at, until = departure.at, departure.trips_until
    # A trip to leave for before that departure: an evening one after the day's latest departure (the rules charge
    # for it on their own), or one whose time to leave has passed with the car still home (running late: the car's
    # setting moves on, but the plan must charge now).
    sooner = [t for t in trips if not t.event.all_day and not t.virtual and now < t.event.start
              and leave_at(t, config, zone) < at]
    if sooner:
        first = min(sooner, key=lambda t: leave_at(t, config, zone))
        at, until = leave_at(first, config, zone), day_end(first.event.start, zone)
    need = rules_limit.soc_need(now, trips, until, config)
    counted = tuple(t for t in rules_limit.trips_before(now, trips, until) if not t.virtual)
    energy = need.needed_soc / 100.0 * config.battery_kwh
    if departure.event is None and not sooner:
        return _everyday(config, need.km, need.needed_soc)
    base = _base_limit(config)
    limit = max(config.min_charge_limit, min(max(config.base_charge_limit, math.ceil(need.needed_soc - 1e-9)),
                                             config.top_charge_limit))
    reasons = []
    if limit != base:  # the rules' reasons already say the trips and the need; the plan adds its raised limit
        when = clock_text(at, now, zone) if at > now else "now (time to leave)"
        reasons.append(f"{need.needed_soc:.0f} % needed by {when} ({need.km:.0f} km of round trips): charging to "
                       f"{limit} % from now")
    if need.needed_soc > config.top_charge_limit:
        reasons.append(f"the trips need {need.needed_soc:.0f} % but the limit stops at {config.top_charge_limit} %: "
                       "plan a charge on the way")
    return TripNeed(at, counted, need.km, energy, need.needed_soc, limit, tuple(reasons))


@functools.lru_cache(maxsize=8)
def _no_trips(config: RuleConfig) -> TripNeed:
    """No trips at all: only the reserve is needed (what soc_need says of no trips), whatever `now` is."""
    return _everyday(config, 0.0, float(config.reserve_soc))


def _base_limit(config: RuleConfig) -> int:
    return max(config.min_charge_limit, min(config.base_charge_limit, config.top_charge_limit))


def _everyday(config: RuleConfig, km: float, needed_soc: float) -> TripNeed:
    """No timed event ahead: the everyday limit."""
    base = _base_limit(config)
    return TripNeed(None, (), km, needed_soc / 100.0 * config.battery_kwh, needed_soc, base,
                    (f"no timed event ahead: charging to the everyday {base} % limit",))
