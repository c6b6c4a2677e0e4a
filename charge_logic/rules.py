"""The rules: from the car, the grid forecast and the calendar to one decision and the fewest commands.

Pure: `now` and every input come in as values, nothing is read from the clock, a file or the network, so a tick can
be replayed exactly and tested with any clock. Order of precedence: guards (nothing to do or nothing safe to do),
then "charge now" (battery below the minimum, or the owner asked for a full charge), then the plan — the planner's
windows when given, else the seed rules (forecast-banded amps and the car's own off-peak schedule).

Decision.mode (charge_logic.models.Mode), for the dashboard and the history: the guards (no commands); charging now
at full power (low battery, a limit set for a full charge, a trip the battery cannot make); the seed rules' schedule;
following the planner's windows (inside one, or between them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from charge_logic.amps import clamp_amps, forecast_amps, max_amps, max_text
from charge_logic.commands import DEPART_BY, Target, commands_for
from charge_logic.config import RuleConfig
from charge_logic.departure import DeparturePlan, day_end, plan_departure, trip_before_departure
from charge_logic.forecast_stats import forecast_stats
from charge_logic.limit import LimitChoice, SocNeed, choose_limit, soc_need
from charge_logic.localtime import clock_text, minutes_after_midnight, require_aware
from charge_logic.models import NO_POWER, ChargeWindow, Decision, ForecastPoint, Mode, Trip, VehicleSnapshot
from charge_logic.soc_plan import SocPath, charge_before, charge_from, follow, hours_to

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
    need = soc_need(now, trips, departure.trips_until, config)
    guard = _guard(vehicle, at_home, need)
    if guard is not None:
        mode, guard_reasons = guard
        return Decision(at=now, mode=mode, charge_now=None, amps=None, charge_limit=None, departure=None,
                        off_peak_end=None, needed_soc=round(need.needed_soc, 1),
                        reasons=(*guard_reasons, *notes), commands=())
    assert vehicle is not None and vehicle.battery_level is not None  # the guards saw to it
    return _decide_plugged_in(now, vehicle, forecast, trips, config, zone, at_home, windows, notes, departure, need)


def _guard(vehicle: VehicleSnapshot | None, at_home: bool | None, need: SocNeed) -> tuple[Mode, list[str]] | None:
    """Situations where the scheduler must not touch the car; each says why in the owner's words."""
    if vehicle is None:
        return Mode.NO_VEHICLE_DATA, ["No data from the car yet: nothing is changed"]
    if vehicle.battery_level is None or vehicle.plugged_in is None:
        if vehicle.state != "online":
            return Mode.NO_CHARGE_DATA, [f"The car is {vehicle.state} and has sent no charge data; it is not woken "
                                      "just to look"]
        return Mode.NO_CHARGE_DATA, ["The car is online but sent no charge data: nothing is changed"]
    if vehicle.fast_charger_present:
        return Mode.SUPERCHARGING, ["The car is on a fast charger: the home schedule leaves it alone"]
    if at_home is False:
        return Mode.NOT_AT_HOME, ["The car is away from home: charging there is left alone"]
    if at_home is None:  # never assumed: a car charging elsewhere must not be stopped, started or rescheduled
        return Mode.LOCATION_UNKNOWN, ["The car sent no position, so whether it is at home is not known: nothing is "
                                    "changed"]
    if not vehicle.plugged_in:
        reasons = ["The car is not plugged in: nothing to schedule"]
        if vehicle.battery_level < need.needed_soc:
            reasons.append(f"Plug in: the trips before the next charge need {need.needed_soc:.1f} % and the battery "
                           f"has {vehicle.battery_level} %")
        return Mode.NOT_PLUGGED_IN, reasons
    if vehicle.charging_state == NO_POWER:
        return Mode.NO_POWER, ["The car is plugged in but the charger gives no power (check the breaker or the "
                            "charger's own schedule): no start is sent"]
    return None


def _schedule_on(vehicle: VehicleSnapshot) -> bool:
    """The car charges by departure itself (DepartBy / off-peak), so we may set its departure; or it takes charge
    schedules (firmware 2024.26+, charge_logic/charge_schedules.py writes the plan as one). A start-time schedule
    (StartAt) is the owner's own choice and is left alone."""
    mode = vehicle.scheduled_charging_mode
    return mode == DEPART_BY or (bool(vehicle.off_peak_charging_enabled) and mode != "StartAt") or (
        vehicle.charge_schedules is not None and mode != "StartAt")


@dataclass
class _Tick:
    """One plugged-in tick's inputs, and the decision taking shape step by step."""

    now: datetime
    vehicle: VehicleSnapshot
    forecast: Sequence[ForecastPoint]
    trips: Sequence[Trip]
    config: RuleConfig
    zone: ZoneInfo
    departure: DeparturePlan
    off_peak_end: datetime
    battery: int
    top: int
    limit: int
    mode: Mode = Mode.SCHEDULED
    charge_now: bool | None = None
    amps: int | None = None
    plan: SocPath = ((), ())
    head: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


def _decide_plugged_in(now: datetime, vehicle: VehicleSnapshot, forecast: Sequence[ForecastPoint],
                       trips: Sequence[Trip], config: RuleConfig, zone: ZoneInfo, at_home: bool | None,
                       windows: Sequence[ChargeWindow] | None, notes: Sequence[str], departure: DeparturePlan,
                       need: SocNeed) -> Decision:
    """Which of the four ways this tick goes: a trip first, charge now (low or full), the plan, the car's schedule."""
    battery = vehicle.battery_level or 0
    low = battery < config.min_soc
    owner_limit = vehicle.charge_limit_soc
    full = owner_limit is not None and owner_limit >= config.full_power_limit
    limit_choice = choose_limit(now, need, departure.at, config, vehicle)
    trip_first = None if low or full or windows is not None else _trip_charge(now, trips, departure, battery, config,
                                                                              zone, vehicle)
    if trip_first is not None and trip_first[1].limit > limit_choice.limit:
        limit_choice = trip_first[1]
    limit = owner_limit if full and owner_limit is not None else limit_choice.limit
    t = _Tick(now, vehicle, forecast, trips, config, zone, departure, _off_peak_end(departure.at, windows, now),
              battery, max_amps(config, vehicle), limit)
    manage = _schedule_on(vehicle) and not low
    if trip_first is not None:
        _charge_for_trip(t, trip_first[0])
    elif low or full:
        _charge_now(t, low, owner_limit if full else None)
    elif windows is not None:
        _follow_plan(t, windows)
    else:
        _seed_schedule(t, manage)
    if not full:
        t.tail.extend(limit_choice.reasons)
    t.tail.extend(need.reasons)
    dep_minutes, end_minutes = _departure_setting(t, manage, low)
    target = Target(charge_now=t.charge_now, amps=t.amps, charge_limit=None if full else t.limit,
                    departure_minutes=dep_minutes, off_peak_end_minutes=end_minutes)
    return Decision(
        at=now, mode=t.mode, charge_now=t.charge_now, amps=t.amps, charge_limit=t.limit,
        departure=departure.at if manage else None, off_peak_end=t.off_peak_end if manage else None,
        needed_soc=round(need.needed_soc, 1), reasons=(*t.head, *t.tail, *notes),
        commands=commands_for(vehicle, target), windows=t.plan[0], expected_soc=t.plan[1])


def _charge_for_trip(t: _Tick, why: str) -> None:
    """A trip before the car's own schedule would charge needs more than the battery has: full power now."""
    t.mode, t.charge_now, t.amps = Mode.CHARGE_NOW_TRIP, True, t.top
    t.head.append(why + f": charging now at the full {max_text(t.config, t.top)}")
    t.plan = charge_from(t.now, t.battery, t.limit, t.top, t.vehicle, t.config)


def _charge_now(t: _Tick, low: bool, owner_limit: int | None) -> None:
    """Below MIN_SOC, or a limit the owner set for a full charge: full power now."""
    config, top = t.config, t.top
    t.mode = Mode.CHARGE_NOW_LOW_SOC if low else Mode.CHARGE_NOW_FULL
    t.charge_now, t.amps = True, top
    if low:
        t.head.append(f"Battery {t.battery} % is below {config.min_soc} %: charging now at the full "
                      f"{max_text(config, top)}")
    if owner_limit is not None:
        t.head.append(f"The charge limit is set to {owner_limit} % (at or above {config.full_power_limit} %): "
                      f"{'also ' if low else ''}charging now at the full {max_text(config, top)} and leaving the "
                      f"limit as set. Set it below {config.full_power_limit} % to go back to the schedule")
    t.plan = charge_from(t.now, t.battery, t.limit, top, t.vehicle, t.config)


def _follow_plan(t: _Tick, windows: Sequence[ChargeWindow]) -> None:
    """The planner's windows: charge inside one, wait between them."""
    now, config, zone = t.now, t.config, t.zone
    current = next((w for w in windows if w.start <= now < w.end and w.amps > 0), None)
    ahead = [w for w in windows if w.end > now and w.amps > 0]
    if current is not None:
        t.mode, t.charge_now = Mode.PLAN_CHARGING, True
        t.amps = clamp_amps(current.amps, config, t.top)
        t.head.append(f"The plan charges now until {clock_text(current.end, now, zone)} at {t.amps} A")
    else:
        t.mode, t.charge_now, t.amps = Mode.PLAN_WAITING, False, None
        upcoming = min(ahead, key=lambda w: w.start, default=None)
        if upcoming is not None:
            t.head.append(f"The plan's next charge starts {clock_text(upcoming.start, now, zone)} at "
                          f"{upcoming.amps} A: not charging until then")
        elif t.battery >= t.limit:
            t.charge_now = None  # the car stops by itself at its limit; a stop would be a wasted command
            t.head.append(f"The battery is at the {t.limit} % limit: nothing more to charge")
        else:
            t.head.append("The plan has no more charging ahead: not charging")
    clipped = tuple(ChargeWindow(max(w.start, now), w.end, clamp_amps(w.amps, config, t.top))
                    for w in sorted(ahead, key=lambda w: w.start))
    t.plan = (clipped, follow(clipped, now, t.battery, t.limit, t.vehicle, config)[1])


def _seed_schedule(t: _Tick, manage: bool) -> None:
    """The seed rules: amps from the forecast's bands; the car's own off-peak schedule finishes by departure."""
    now, config, zone, vehicle, limit, end = t.now, t.config, t.zone, t.vehicle, t.limit, t.off_peak_end
    t.mode = Mode.SCHEDULED
    choice = forecast_amps(forecast_stats(now, t.forecast, config.forecast_days), config, t.top)
    t.amps = choice.amps
    t.tail.append(choice.reason)
    if not manage:
        t.plan = charge_from(now, t.battery, limit, t.amps, vehicle, config) if vehicle.charging else ((), ())
        if vehicle.scheduled_charging_mode == "StartAt":
            t.head.append("The car starts charging at its own set time (Scheduled Charging), left as the owner set "
                          "it; amps and limit are still set")
        else:
            t.head.append("The car has no off-peak departure schedule, so it charges when it is plugged in; amps "
                          "and limit are still set")
        return
    ready = _ready_amps(now, end, t.battery, limit, t.amps, t.top, vehicle, config)
    if ready > t.amps:
        t.head.append(f"{t.amps} A would not reach {limit} % by {clock_text(end, now, zone)}: "
                      f"{ready} A instead, so the car is ready")
        t.amps = ready
    t.plan = charge_before(now, end, t.battery, limit, t.amps, vehicle, config)
    start = t.plan[0][0].start if t.plan[0] else None
    if vehicle.charging and start is not None and now < start - SCHEDULE_SLACK:
        t.charge_now = False
        t.head.append(f"Battery {t.battery} % is at or above {config.min_soc} %: charging stops now and the car's "
                      f"off-peak schedule charges it from about {clock_text(start, now, zone)}")
    elif start is not None and not vehicle.charging and now >= start:
        t.charge_now = True  # the car's schedule may be paused (a stop pauses it until its next day)
        t.head.append(f"Charging to {limit} % by {clock_text(end, now, zone)} must start now: starting "
                      "it, so the car is ready whatever its own schedule does")
    elif start is not None:
        t.head.append(f"The car's off-peak schedule charges it to {limit} % by "
                      f"{clock_text(end, now, zone)}, from about {clock_text(start, now, zone)}")
    else:
        t.head.append(f"The battery is at {t.battery} %, already at the {limit} % limit: nothing to charge")


def _departure_setting(t: _Tick, manage: bool, low: bool) -> tuple[int | None, int | None]:
    """The car's scheduled departure and off-peak end to set (minutes after midnight), and why."""
    if manage:
        t.tail.extend(t.departure.reasons)
        if t.off_peak_end != t.departure.at:
            t.tail.append(f"Off-peak charging ends {clock_text(t.off_peak_end, t.now, t.zone)}, with the plan's "
                          "last window")
        return minutes_after_midnight(t.departure.at, t.zone), minutes_after_midnight(t.off_peak_end, t.zone)
    if low and _schedule_on(t.vehicle):
        t.tail.append(f"The scheduled departure is left alone while the battery is below {t.config.min_soc} %")
    elif t.vehicle.scheduled_charging_mode != "StartAt":
        t.tail.append("Scheduled departure with off-peak charging is off in the car, so the calendar does not set it")
    return None, None


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
    need = soc_need(now, trips, day_end(trip.event.start, zone), config)
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
