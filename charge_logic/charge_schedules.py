"""The plan written into the car as its own charge schedule (firmware 2024.26+), so the car charges it even while the
scheduler is down.

Why: Tesla says add_charge_schedule / remove_charge_schedule "should be preferred" over set_scheduled_departure on
firmware 2024.26+ (developer.tesla.com/docs/fleet-api/support/announcements, 2024-08-30); on such cars the old fields
read Off/null and each set_scheduled_departure adds another schedule (github.com/teslamotors/vehicle-command/issues/
290), so re-sending it whenever a read does not show DepartBy piles schedules up in the car.

How: one schedule of the scheduler's own, found again by its id (SCHEDULER_ID: tesla-http-proxy takes the id we give,
pkg/proxy/command.go; the car's own ids are creation times in epoch seconds, common.proto, so ids from the year 2100
on are never the owner's). It starts at the plan's first window and ends at its last, every day, at home's lat/lon;
it is moved (same id: replaced, never duplicated) only when the plan's start or end moves by more than a tolerance
(every move is a billed command), removed when the owner turns the feature off, and the owner's own schedules are
never touched. A daily schedule rather than a one-time one: a one-time schedule is gone after one night, and a car
without a schedule starts charging the moment it is plugged in, which would cost a stop and a new schedule every
evening; a daily one keeps charging the plan through a daemon outage of any length.

Pure: no clock, no I/O; `now` comes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from charge_logic.localtime import minutes_after_midnight
from charge_logic.models import ChargeSchedule, ChargeWindow, Command, CommandName, Decision, VehicleSnapshot

SCHEDULER_ID = 4_102_444_800  # 2100-01-01T00:00:00Z in epoch seconds
OWN_IDS = range(SCHEDULER_ID, SCHEDULER_ID + 100)
QUANTUM_MIN = 15  # start rounded down, end rounded up, to this: the plan moves a little every tick
EARLIER_OK_MIN = 60  # the car's start may be this much earlier than the plan's without a new command
LATER_END_OK_MIN = 120  # ...and its end this much later (the car stops at its limit anyway)
EARLIER_END_OK_MIN = 30  # ...or this much earlier (the plan's end moves a quarter hour now and then)
LATER_START_OK_MIN = 60  # its start may be this much later when the car is still full DONE_MARGIN_MIN before its end
DONE_MARGIN_MIN = 30  # ...and so may its end be earlier, by any amount
SOON_START_MIN = 15  # a plan that charges now waits this long for the car's own start rather than send charge_start
BLOCK = timedelta(hours=16)
PLACE_DEG = 0.001  # lat/lon come back as float32 (the proxy sends them so): equal within ~100 m
LEGACY = ("set_scheduled_departure", "set_scheduled_charging")
PLAN_MODES = ("plan_charging", "plan_waiting", "scheduled")  # the car's schedule starts and stops these
DAY_BITS = {"SUN": 1, "SUNDAY": 1, "MON": 2, "MONDAY": 2, "TUES": 4, "TUESDAY": 4, "WED": 8, "WEDNESDAY": 8,
            "THURS": 16, "THURSDAY": 16, "FRI": 32, "FRIDAY": 32, "SAT": 64, "SATURDAY": 64, "ALL": 127,
            "WEEKDAYS": 62}  # tesla-http-proxy's names for days_of_week (pkg/proxy/command.go)


@dataclass(frozen=True)
class Place:
    """Where the schedule applies: the car follows a schedule only where it is made out to."""

    latitude: float
    longitude: float


def takes_charge_schedules(vehicle: VehicleSnapshot | None) -> bool:
    """Firmware 2024.26 or later that reported its charge_schedule_data."""
    if vehicle is None or vehicle.charge_schedules is None or not vehicle.car_version:
        return False
    try:
        year, week = (int(x) for x in vehicle.car_version.split()[0].split(".")[:2])
    except ValueError:
        return False
    return (year, week) >= (2024, 26)


def is_ours(schedule: ChargeSchedule) -> bool:
    return schedule.id in OWN_IDS


def days_mask(text: str) -> int:
    """'All', 'Weekdays' or 'Monday,Friday' as the car's bit mask; ValueError on a name the proxy does not know."""
    mask = 0
    for day in str(text).split(","):
        try:
            mask |= DAY_BITS[day.strip().upper()]
        except KeyError:
            raise ValueError(f"unrecognized day name: {day!r}") from None
    return mask


def schedule_from_args(args: dict[str, Any]) -> ChargeSchedule:
    """What the car holds after add_charge_schedule with these arguments (used by apply_commands)."""
    return ChargeSchedule(id=int(args.get("id") or 0), name=str(args.get("name") or ""),
                          days_of_week=days_mask(args.get("days_of_week", "All")),
                          start_enabled=bool(args.get("start_enabled")), start_time=args.get("start_time"),
                          end_enabled=bool(args.get("end_enabled")), end_time=args.get("end_time"),
                          one_time=bool(args.get("one_time")), enabled=bool(args.get("enabled", True)),
                          latitude=args.get("lat"), longitude=args.get("lon"))


def add_command(s: ChargeSchedule) -> Command:
    """add_charge_schedule as tesla-http-proxy parses it: lat, lon, days_of_week (names), start_enabled, end_enabled
    and enabled are required; an id replaces the schedule that has it."""
    return Command(CommandName.ADD_CHARGE_SCHEDULE, {
        "id": s.id, "name": s.name, "days_of_week": "All", "enabled": s.enabled,
        "start_enabled": s.start_enabled, "start_time": s.start_time, "end_enabled": s.end_enabled,
        "end_time": s.end_time, "one_time": s.one_time, "lat": s.latitude, "lon": s.longitude})


def wanted(decision: Decision, now: datetime, zone: ZoneInfo, place: Place,
           planned: Sequence[ChargeWindow] = (), charging: bool = False) -> ChargeSchedule | None:
    """The plan's windows as one daily schedule: from the first window's start to the last one's end. `planned`: the
    planner's own windows, whose start stays put while a window is under way (the decision's start at now, and an end
    counted from it, would move the schedule every tick: a write, and to a sleeping car a wake). A car that is not
    `charging` starts only when its clock reaches the start: a start already passed would wait a day, so it is the
    next quarter hour instead."""
    source = planned or decision.windows
    windows = sorted((w for w in source if w.amps > 0 and w.end > now), key=lambda w: w.start)
    if not windows:
        return None
    start = windows[0].start
    # tonight's charge: the windows before the departure (or within BLOCK of the first), not tomorrow night's
    block = [w for w in windows if w.start < start + BLOCK and (decision.departure is None
                                                                 or w.start < decision.departure)] or windows[:1]
    end = max(w.end for w in block)
    if decision.departure is not None and decision.departure > start:
        end = min(end, decision.departure)
    end = min(end, start + timedelta(hours=23))
    start_min = minutes_after_midnight(start, zone) // QUANTUM_MIN * QUANTUM_MIN
    if not charging and start - timedelta(minutes=minutes_after_midnight(start, zone) % QUANTUM_MIN) <= now:
        start_min = (minutes_after_midnight(now, zone) // QUANTUM_MIN + 1) * QUANTUM_MIN % 1440
    end_min = -(-minutes_after_midnight(end, zone) // QUANTUM_MIN) * QUANTUM_MIN % 1440
    if start_min == end_min:
        return None
    return ChargeSchedule(id=SCHEDULER_ID, name="Charge scheduler", days_of_week=127, start_enabled=True,
                          start_time=start_min, end_enabled=True, end_time=end_min, one_time=False, enabled=True,
                          latitude=place.latitude, longitude=place.longitude)


def _ahead(a: int, b: int) -> int:
    """Minutes from a forward to b on the clock face."""
    return (b - a) % 1440


def close_place(have: ChargeSchedule, want: ChargeSchedule) -> bool:
    if have.latitude is None or have.longitude is None or want.latitude is None or want.longitude is None:
        return False
    return abs(have.latitude - want.latitude) <= PLACE_DEG and abs(have.longitude - want.longitude) <= PLACE_DEG


@dataclass(frozen=True)
class CarNow:
    """Where the car stands, as far as its schedule is concerned: `minute` on its clock; `under_way`: charging
    inside the schedule while the plan charges (today's start is behind it); `done_in`: minutes until it should be
    full (its own estimate while it charges, else the plan's), None when unknown."""

    minute: int
    under_way: bool = False
    done_in: int | None = None


def _span(s: ChargeSchedule, minute: int) -> tuple[int, int]:
    """Minutes from now to the schedule's start and end as the car meets them next (a window under way: its start
    gone by, negative)."""
    start, length = s.start_time or 0, _ahead(s.start_time or 0, s.end_time or 0)
    if _inside(s, minute):
        ago = _ahead(start, minute)
        return -ago, length - ago
    start_in = _ahead(minute, start)
    return start_in, start_in + length


def close_enough(have: ChargeSchedule, want: ChargeSchedule, car: CarNow) -> bool:
    """The car's schedule does what the plan wants: the same place and kind; a start not much earlier (the evening
    peak) and no later, unless the window is under way or the car, starting that little later, is still full well
    before the schedule's end; an end not much later (the next evening's plug-in would fall inside it) and no earlier,
    unless the car is full well before it. Every rewrite is a billed command, and to a sleeping car a wake."""
    if (have.enabled, have.start_enabled, have.end_enabled, have.one_time) != \
            (want.enabled, want.start_enabled, want.end_enabled, want.one_time):
        return False
    if have.days_of_week != want.days_of_week or have.end_time is None or have.start_time is None:
        return False
    if not close_place(have, want) or want.start_time is None or want.end_time is None:
        return False
    (have_start, have_end), (want_start, want_end) = _span(have, car.minute), _span(want, car.minute)
    later_start = 0 if car.under_way else have_start - want_start
    done = None if car.done_in is None else car.done_in + max(0, later_start)
    fits = done is not None and done + DONE_MARGIN_MIN <= have_end
    later_end = have_end - want_end
    if later_end > LATER_END_OK_MIN or (later_end < -EARLIER_END_OK_MIN and not fits):
        return False
    return later_start >= -EARLIER_OK_MIN and (later_start <= 0 or (later_start <= LATER_START_OK_MIN and fits))


def _inside(s: ChargeSchedule, minute: int) -> bool:
    if s.start_time is None or s.end_time is None:
        return False
    return _ahead(s.start_time, minute) < _ahead(s.start_time, s.end_time)


def _full(decision: Decision, vehicle: VehicleSnapshot) -> bool:
    """At its limit (the one this decision sets): it charges nothing, whatever its schedule says."""
    limit = decision.charge_limit or vehicle.charge_limit_soc
    return not vehicle.charging and vehicle.battery_level is not None and limit is not None and \
        vehicle.battery_level >= limit


def _start_now(have: ChargeSchedule | None, want: ChargeSchedule, decision: Decision, vehicle: VehicleSnapshot,
               now: datetime, minute: int) -> bool:
    """The plan charges now and the car, plugged in, does not (its schedule starts later, or it missed the start): the
    plan's charge_start goes, one command like a rewrite, but it starts at once and leaves the car's schedule to the
    nights it was written for (a plan that charges now at plug-in, as before a departure that is due, often waits
    again within the hour). Not when the car's own schedule starts soon, or starts later by no more than the schedule
    check lets it (`close_enough`: still full well before the schedule's end and the departure): a start the car's
    schedule was kept for would cost a command, and a wake, for the same night. A car without the scheduler's
    schedule gets one written instead."""
    if decision.mode != "plan_charging" or vehicle.charging or not vehicle.plugged_in or have is None:
        return False
    if _full(decision, vehicle) or not any(c.name == "charge_start" for c in decision.commands):
        return False
    if vehicle.charging_state == "Complete" and _inside(have, minute):
        return False  # full at the old limit inside its schedule: it resumes by itself when the limit is raised
    if have.enabled and have.start_enabled and not _inside(have, minute) and \
            _ahead(minute, have.start_time or 0) <= SOON_START_MIN:
        return False
    return not _schedule_does_it(have, want, decision, now, minute)


def _schedule_does_it(have: ChargeSchedule, want: ChargeSchedule, decision: Decision, now: datetime,
                      minute: int) -> bool:
    """The car's schedule, starting later than the plan, still has it full DONE_MARGIN_MIN before the departure and
    before its own end (the tolerance `close_enough` keeps it by)."""
    done_in = _plan_done_in(decision, now)
    if done_in is None or decision.departure is None or not close_enough(have, want, CarNow(minute, False, done_in)):
        return False
    start_in = _span(have, minute)[0]
    to_departure = (decision.departure - now).total_seconds() / 60
    return start_in >= 0 and start_in + done_in + DONE_MARGIN_MIN <= to_departure


def _must_write(have: ChargeSchedule | None, want: ChargeSchedule, decision: Decision, vehicle: VehicleSnapshot,
                now: datetime, minute: int) -> bool:
    """Whether the car's schedule has to be rewritten for the plan (a billed command)."""
    # full at the old limit inside its schedule, the car resumes by itself when the plan raises the limit: as good as
    # a charge under way
    resumes = vehicle.charging_state == "Complete" and have is not None and _inside(have, minute) and \
        not _full(decision, vehicle)
    if (vehicle.charging or resumes) and decision.mode == "plan_charging":
        # the charge the plan wants is under way: a write changes nothing tonight, unless the car's own schedule
        # started it and would end it before the car is full
        if have is None or not _inside(have, minute):
            return False
        done_in = round(vehicle.time_to_full_charge * 60) if vehicle.time_to_full_charge is not None and \
            vehicle.charging else _plan_done_in(decision, now)
        return not close_enough(have, want, CarNow(minute, True, done_in))
    if have is None:
        return True
    if _full(decision, vehicle):
        return False  # full: it charges nothing tonight whatever it holds; the next plug-in is read before it matters
    return not close_enough(have, want, CarNow(minute, False, _plan_done_in(decision, now)))


def _plan_done_in(decision: Decision, now: datetime) -> int | None:
    """Minutes from now until the plan has the car full (the first of its turns at the top SoC)."""
    if not decision.expected_soc:
        return None
    top = max(soc for _, soc in decision.expected_soc)
    first = min(t for t, soc in decision.expected_soc if soc >= top)
    return max(0, round((first - now).total_seconds() / 60))


def with_charge_schedule(decision: Decision, vehicle: VehicleSnapshot | None, *, now: datetime, zone: ZoneInfo,
                         place: Place | None, enabled: bool, planned: Sequence[ChargeWindow] = ()) -> Decision:
    """The decision for a car on firmware 2024.26+: no set_scheduled_departure (it would add a schedule per call);
    the plan as the car's own schedule (when `enabled` and home is known); the car then starts and stops the plan
    itself, so the plan's charge_start is dropped (unless the plan charges now and the car's schedule would not:
    `_start_now`), and its charge_stop kept only for charging outside the schedule.
    An older car's decision comes back as it was."""
    if not takes_charge_schedules(vehicle):
        return decision
    assert vehicle is not None and vehicle.charge_schedules is not None
    rest = [c for c in decision.commands if c.name not in LEGACY]
    mine = [s for s in vehicle.charge_schedules if is_ours(s)]
    reasons = list(decision.reasons)
    first: list[Command] = []
    if not enabled or place is None:
        first = [Command(CommandName.REMOVE_CHARGE_SCHEDULE, {"id": s.id}) for s in mine]  # the owner turned it off
        if enabled:
            reasons.append("Home's position is not known (HOME_LATITUDE, HOME_LONGITUDE), so the plan is not written "
                           "into the car as a charge schedule")
        return replace(decision, commands=(*first, *rest), reasons=tuple(reasons))
    charging = vehicle.charging
    want = wanted(decision, now, zone, place, planned, charging) if decision.mode in PLAN_MODES else None
    if want is not None:
        have = next((s for s in mine if s.id == want.id), None)
        minute = minutes_after_midnight(now, zone)
        start_now = _start_now(have, want, decision, vehicle, now, minute)
        wrote = not start_now and _must_write(have, want, decision, vehicle, now, minute)
        if wrote:
            first.append(add_command(want))
            have = want
        first += [Command(CommandName.REMOVE_CHARGE_SCHEDULE, {"id": s.id}) for s in mine if s.id != want.id]
        inside = have is not None and _inside(have, minute)
        # a car charging outside every schedule of its place stops by itself when one is rewritten: no charge_stop
        stops_itself = wrote and not inside and not _owner_inside(vehicle.charge_schedules, want, minute)
        rest = [c for c in rest if (c.name != "charge_start" or start_now) and
                not (c.name == "charge_stop" and (inside or stops_itself))]
        if have is not None:
            start, end = have.start_time or 0, have.end_time or 0
            reasons.append(f"The car's own charge schedule charges the plan from {start // 60:02d}:{start % 60:02d} "
                           f"to {end // 60:02d}:{end % 60:02d}, also if the scheduler is down")
    return replace(decision, commands=(*first, *rest), reasons=tuple(reasons))


def _owner_inside(schedules: Sequence[ChargeSchedule], place: ChargeSchedule, minute: int) -> bool:
    """One of the owner's schedules at this place is under way: the car charges by it whatever ours says."""
    return any(not is_ours(s) and s.enabled and s.start_enabled and close_place(s, place) and _inside(s, minute)
               for s in schedules)


def own_schedules(schedules: Sequence[ChargeSchedule] | None) -> list[ChargeSchedule]:
    return [s for s in schedules or () if is_ours(s)]


def charging_by_own_schedule(vehicle: VehicleSnapshot | None, now: datetime, zone: ZoneInfo) -> bool:
    """The car charges inside the scheduler's schedule: it stops by itself (at its limit or the schedule's end), so
    nothing has to be watched closely."""
    if vehicle is None or not vehicle.charging:
        return False
    minute = minutes_after_midnight(now, zone)
    return any(_inside(s, minute) for s in own_schedules(vehicle.charge_schedules))


def _next_start(minute: int, s: ChargeSchedule) -> int | None:
    """Minutes from `minute` until the schedule's start next comes (0: this minute); None: it never starts."""
    if not (s.enabled and s.start_enabled) or s.start_time is None:
        return None
    return _ahead(minute, s.start_time)


def write_can_wait(vehicle: VehicleSnapshot | None, commands: Sequence[Command], now: datetime, zone: ZoneInfo,
                   within: timedelta) -> bool:
    """Whether a sleeping car may keep its schedule until it wakes by itself (it does when it starts a charge, is
    unplugged or driven), rather than be woken now ($0.02) to have it rewritten: a sleeping car does not charge, so
    what it does next is start at its schedule's start; while neither that start nor the new one comes `within`, the
    two schedules do the same. Rewrites the plan makes meanwhile then cost one write, not one wake each. Only for
    commands that are nothing but the scheduler's schedule written (a removal, or any other command, goes now)."""
    if not commands or any(c.name != CommandName.ADD_CHARGE_SCHEDULE for c in commands):
        return False
    if vehicle is None or vehicle.charging:
        return False
    minute = minutes_after_midnight(now, zone)
    soon = within.total_seconds() / 60
    mine = {s.id: s for s in own_schedules(vehicle.charge_schedules)}
    for c in commands:
        want = schedule_from_args(c.args)
        have = mine.get(want.id)
        starts = [_next_start(minute, want)] + ([_next_start(minute, have)] if have is not None else [])
        if have is not None and have.start_time == want.start_time and have.enabled and have.start_enabled \
                and close_place(have, want):
            continue  # the same start: the end can be moved while the car charges (it is awake then)
        if any(m is not None and m <= soon for m in starts):
            return False
    return True
