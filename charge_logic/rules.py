"""The rules: from the car, the grid forecast and the calendar to one decision and the fewest commands.

Pure: `now` and every input come in as values, nothing is read from the clock, a file or the network, so a tick can
be replayed exactly and tested with any clock. Order of precedence: guards (nothing to do or nothing safe to do),
then "charge now" (battery below the minimum, or the owner asked for a full charge), then the plan — the planner's
windows when given, else the seed rules (forecast-banded amps and the car's own off-peak schedule).

Decision.mode, for the dashboard and the history:
  no_vehicle_data, no_charge_data, supercharging, not_at_home, location_unknown, not_plugged_in, no_power  — guards:
  no commands
  charge_now_low_soc, charge_now_full  — charging now at full power
  charge_now_trip  — seed rules: a trip before the scheduled departure needs more than the battery has
  scheduled  — seed rules: the car's off-peak schedule charges it by departure
  plan_charging, plan_waiting  — following the planner's windows (inside one / between them)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from charge_logic.amps import clamp_amps, forecast_amps, max_amps, max_text
from charge_logic.commands import DEPART_BY, Target, commands_for
from charge_logic.config import RuleConfig
from charge_logic.departure import DeparturePlan, day_end, plan_departure, trip_before_departure
from charge_logic.forecast_stats import forecast_stats
from charge_logic.limit import LimitChoice, TripNeed, choose_limit, trip_need
from charge_logic.localtime import clock_text, minutes_after_midnight, require_aware
from charge_logic.models import NO_POWER, ChargeWindow, Decision, ForecastPoint, Trip, VehicleSnapshot
from charge_logic.soc_plan import Plan, charge_before, charge_from, follow, hours_to

# The car's own off-peak schedule may start a little before our estimate (it measures the supply first and has
# its own losses model); charging that close to the estimated start is left alone rather than stopped.
SCHEDULE_SLACK = timedelta(hours=1)

__all__ = ["decide", "SCHEDULE_SLACK"]


def decide(now: datetime, vehicle: VehicleSnapshot | None, forecast: Sequence[ForecastPoint], trips: Sequence[Trip],
           config: RuleConfig, *, zone: ZoneInfo, at_home: bool | None = True,
           windows: Sequence[ChargeWindow] | None = None, notes: Sequence[str] = ()) -> Decision:
    """One tick's decision. `windows` is the planner's plan (None = the seed rules); `notes` are the caller's own
    reasons (stale data and the like) and end up in Decision.reasons."""
    require_aware(now, "now")
    if not isinstance(zone, tzinfo):
        raise ValueError(f"zone must be a time zone object such as ZoneInfo('America/New_York'), got {zone!r}")
    for window in windows or ():
        require_aware(window.start, "planner window start")
        require_aware(window.end, "planner window end")
    if config.min_amps > config.max_amps:
        raise ValueError(f"min_amps {config.min_amps} is above max_amps {config.max_amps}: min_amps must be smaller")
    if config.battery_kwh <= 0:
        raise ValueError(f"battery_kwh must be above 0, got {config.battery_kwh}")
    departure = plan_departure(now, trips, config, zone)
    need = trip_need(now, trips, departure.trips_until, config)
    guard = _guard(vehicle, at_home, need)
    if guard is not None:
        mode, guard_reasons = guard
        return Decision(at=now, mode=mode, charge_now=None, amps=None, charge_limit=None, departure=None,
                        off_peak_end=None, needed_soc=round(need.needed_soc, 1),
                        reasons=(*guard_reasons, *notes), commands=())
    assert vehicle is not None and vehicle.battery_level is not None  # the guards saw to it
    return _decide_plugged_in(now, vehicle, forecast, trips, config, zone, at_home, windows, notes, departure, need)


def _guard(vehicle: VehicleSnapshot | None, at_home: bool | None, need: TripNeed) -> tuple[str, list[str]] | None:
    """Situations where the scheduler must not touch the car; each says why in the owner's words."""
    if vehicle is None:
        return "no_vehicle_data", ["No data from the car yet: nothing is changed"]
    if vehicle.battery_level is None or vehicle.plugged_in is None:
        if vehicle.state != "online":
            return "no_charge_data", [f"The car is {vehicle.state} and has sent no charge data; it is not woken "
                                      "just to look"]
        return "no_charge_data", ["The car is online but sent no charge data: nothing is changed"]
    if vehicle.fast_charger_present:
        return "supercharging", ["The car is on a fast charger: the home schedule leaves it alone"]
    if at_home is False:
        return "not_at_home", ["The car is away from home: charging there is left alone"]
    if at_home is None:  # never assumed: a car charging elsewhere must not be stopped, started or rescheduled
        return "location_unknown", ["The car sent no position, so whether it is at home is not known: nothing is "
                                    "changed"]
    if not vehicle.plugged_in:
        reasons = ["The car is not plugged in: nothing to schedule"]
        if vehicle.battery_level < need.needed_soc:
            reasons.append(f"Plug in: the trips before the next charge need {need.needed_soc:.1f} % and the battery "
                           f"has {vehicle.battery_level} %")
        return "not_plugged_in", reasons
    if vehicle.charging_state == NO_POWER:
        return "no_power", ["The car is plugged in but the charger gives no power (check the breaker or the "
                            "charger's own schedule): no start is sent"]
    return None


def _schedule_on(vehicle: VehicleSnapshot) -> bool:
    """The car charges by departure itself (DepartBy / off-peak), so we may set its departure; or it takes charge
    schedules (firmware 2024.26+, charge_logic/charge_schedules.py writes the plan as one). A start-time schedule
    (StartAt) is the owner's own choice and is left alone."""
    mode = vehicle.scheduled_charging_mode
    return mode == DEPART_BY or (bool(vehicle.off_peak_charging_enabled) and mode != "StartAt") or (
        vehicle.charge_schedules is not None and mode != "StartAt")


def _decide_plugged_in(  # noqa: C901 - dispatches the four modes: trip, low or full, the plan, the car's schedule
        now: datetime, vehicle: VehicleSnapshot, forecast: Sequence[ForecastPoint], trips: Sequence[Trip],
        config: RuleConfig, zone: ZoneInfo, at_home: bool | None, windows: Sequence[ChargeWindow] | None,
        notes: Sequence[str], departure: DeparturePlan, need: TripNeed) -> Decision:
    battery = vehicle.battery_level or 0
    top = max_amps(config, vehicle)
    low = battery < config.min_soc
    owner_limit = vehicle.charge_limit_soc
    full = owner_limit is not None and owner_limit >= config.full_power_limit
    limit_choice = choose_limit(now, need, departure.at, config, vehicle)
    limit = owner_limit if full and owner_limit is not None else limit_choice.limit
    manage = _schedule_on(vehicle) and not low
    off_peak_end = _off_peak_end(departure.at, windows, now)
    trip_first = None if low or full or windows is not None else _trip_charge(now, trips, departure, battery, config,
                                                                              zone, vehicle)
    if trip_first is not None and trip_first[1].limit > limit:
        limit_choice = trip_first[1]
        limit = limit_choice.limit

    head: list[str] = []
    tail: list[str] = []
    charge_now: bool | None = None
    amps: int | None
    plan: Plan
    if trip_first is not None:
        mode, charge_now, amps = "charge_now_trip", True, top
        head.append(trip_first[0] + f": charging now at the full {max_text(config, top)}")
        plan = charge_from(now, battery, limit, amps, vehicle, config)
    elif low or full:
        mode = "charge_now_low_soc" if low else "charge_now_full"
        charge_now, amps = True, top
        if low:
            head.append(f"Battery {battery} % is below {config.min_soc} %: charging now at the full "
                        f"{max_text(config, top)}")
        if full:
            head.append(f"The charge limit is set to {owner_limit} % (at or above {config.full_power_limit} %): "
                        f"{'also ' if low else ''}charging now at the full {max_text(config, top)} and leaving the "
                        f"limit as set. Set it below {config.full_power_limit} % to go back to the schedule")
        plan = charge_from(now, battery, limit, amps, vehicle, config)
    elif windows is not None:
        current = next((w for w in windows if w.start <= now < w.end and w.amps > 0), None)
        ahead = [w for w in windows if w.end > now and w.amps > 0]
        if current is not None:
            mode, charge_now = "plan_charging", True
            amps = clamp_amps(current.amps, config, top)
            head.append(f"The plan charges now until {clock_text(current.end, now, zone)} at {amps} A")
        else:
            mode, charge_now, amps = "plan_waiting", False, None
            upcoming = min(ahead, key=lambda w: w.start, default=None)
            if upcoming is not None:
                head.append(f"The plan's next charge starts {clock_text(upcoming.start, now, zone)} at "
                            f"{upcoming.amps} A: not charging until then")
            elif battery >= limit:
                charge_now = None  # the car stops by itself at its limit; a stop would be a wasted command
                head.append(f"The battery is at the {limit} % limit: nothing more to charge")
            else:
                head.append("The plan has no more charging ahead: not charging")
        clipped = tuple(ChargeWindow(max(w.start, now), w.end, clamp_amps(w.amps, config, top))
                        for w in sorted(ahead, key=lambda w: w.start))
        plan = (clipped, follow(clipped, now, battery, limit, vehicle, config)[1])
    else:
        mode = "scheduled"
        choice = forecast_amps(forecast_stats(now, forecast, config.forecast_days), config, top)
        amps = choice.amps
        tail.append(choice.reason)
        if manage:
            ready = _ready_amps(now, off_peak_end, battery, limit, amps, top, vehicle, config)
            if ready > amps:
                head.append(f"{amps} A would not reach {limit} % by {clock_text(off_peak_end, now, zone)}: "
                            f"{ready} A instead, so the car is ready")
                amps = ready
            plan = charge_before(now, off_peak_end, battery, limit, amps, vehicle, config)
            start = plan[0][0].start if plan[0] else None
            if vehicle.charging and start is not None and now < start - SCHEDULE_SLACK:
                charge_now = False
                head.append(f"Battery {battery} % is at or above {config.min_soc} %: charging stops now and the car's "
                            f"off-peak schedule charges it from about {clock_text(start, now, zone)}")
            elif start is not None and not vehicle.charging and now >= start:
                charge_now = True  # the car's schedule may be paused (a stop pauses it until its next day)
                head.append(f"Charging to {limit} % by {clock_text(off_peak_end, now, zone)} must start now: starting "
                            "it, so the car is ready whatever its own schedule does")
            elif start is not None:
                head.append(f"The car's off-peak schedule charges it to {limit} % by "
                            f"{clock_text(off_peak_end, now, zone)}, from about {clock_text(start, now, zone)}")
            else:
                head.append(f"The battery is at {battery} %, already at the {limit} % limit: nothing to charge")
        else:
            plan = charge_from(now, battery, limit, amps, vehicle, config) if vehicle.charging else ((), ())
            if vehicle.scheduled_charging_mode == "StartAt":
                head.append("The car starts charging at its own set time (Scheduled Charging), left as the owner set "
                            "it; amps and limit are still set")
            else:
                head.append("The car has no off-peak departure schedule, so it charges when it is plugged in; amps "
                            "and limit are still set")

    if not full:
        tail.extend(limit_choice.reasons)
    tail.extend(need.reasons)
    dep_minutes = end_minutes = None
    if manage:
        dep_minutes = minutes_after_midnight(departure.at, zone)
        end_minutes = minutes_after_midnight(off_peak_end, zone)
        tail.extend(departure.reasons)
        if off_peak_end != departure.at:
            tail.append(f"Off-peak charging ends {clock_text(off_peak_end, now, zone)}, with the plan's last window")
    elif low and _schedule_on(vehicle):
        tail.append(f"The scheduled departure is left alone while the battery is below {config.min_soc} %")
    elif vehicle.scheduled_charging_mode != "StartAt":
        tail.append("Scheduled departure with off-peak charging is off in the car, so the calendar does not set it")

    target = Target(charge_now=charge_now, amps=amps, charge_limit=None if full else limit,
                    departure_minutes=dep_minutes, off_peak_end_minutes=end_minutes)
    commands = commands_for(vehicle, target)
    return Decision(
        at=now, mode=mode, charge_now=charge_now, amps=amps, charge_limit=limit,
        departure=departure.at if manage else None, off_peak_end=off_peak_end if manage else None,
        needed_soc=round(need.needed_soc, 1), reasons=(*head, *tail, *notes),
        commands=commands, windows=plan[0], expected_soc=plan[1])


def _ready_amps(now: datetime, end: datetime, soc: float, limit: int, amps: int, top: int,
                vehicle: VehicleSnapshot, config: RuleConfig) -> int:
    """The fewest amps (from `amps` up to `top`) that still reach the limit by `end`; readiness beats the band."""
    left_h = (end - now).total_seconds() / 3600
    for candidate in range(amps, top + 1):
        if hours_to(soc, limit, vehicle, candidate, config) <= left_h:
            return candidate
    return top


def _trip_charge(now: datetime, trips: Sequence[Trip], departure: DeparturePlan, battery: int, config: RuleConfig,
                 zone: ZoneInfo, vehicle: VehicleSnapshot) -> tuple[str, LimitChoice] | None:
    """A trip before the scheduled departure that the battery cannot make: why, and the limit that trip needs."""
    early = trip_before_departure(now, trips, departure.at, config, zone)
    if early is None:
        return None
    trip, leave = early
    need = trip_need(now, trips, day_end(trip.event.start, zone), config)
    choice = choose_limit(now, need, leave, config, vehicle)
    wanted = min(need.needed_soc, choice.limit)
    if battery >= wanted:
        return None
    return (f"{trip.event.summary} (starts {clock_text(trip.event.start, now, zone)}, leave at "
            f"{clock_text(leave, now, zone)}) comes before the car's own schedule charges: it needs {wanted:.1f} % and "
            f"the battery has {battery} %"), choice


def _off_peak_end(departure: datetime, windows: Sequence[ChargeWindow] | None, now: datetime) -> datetime:
    """The departure, or with a plan the end of its last window that is still to start before departure: should the
    scheduler stop, the car's own schedule then charges about when the plan would have. A window under way is the
    scheduler's own charge and does not move the car's setting."""
    if not windows:
        return departure
    ends = [min(w.end, departure) for w in windows if now < w.start < departure and w.amps > 0]
    end = max(ends, default=departure)
    # on the next full hour: a window that starts "now" ends a little later each tick, and the car's setting
    # must not follow it tick by tick (each change is a billed command)
    whole = end.replace(minute=0, second=0, microsecond=0)
    return min(departure, whole if whole == end else whole + timedelta(hours=1))
