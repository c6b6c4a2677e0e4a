"""How the daemon talks to the car without running up a bill or draining the battery.

Each tick asks the free summary first; billed vehicle data is read only when the car is online anyway, and not more
often than VEHICLE_DATA_MIN_INTERVAL_MIN while it charges, VEHICLE_DATA_IDLE_INTERVAL_MIN otherwise (a car that is
polled every few minutes never falls asleep). A sleeping car is woken only when it was last seen plugged in and a
changed decision needs a command, within the day's wake budget. Every billed call is counted per day and per month.
After a failure (not a sleeping car: that is normal) the API is not asked again before the backoff
(service/backoff.py) and the server's Retry-After; meanwhile the last snapshot is used, marked stale.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from charge_logic.charge_schedules import (
    charging_by_own_schedule,
    own_schedules,
    takes_charge_schedules,
    write_can_wait,
)
from charge_logic.commands import apply_commands
from charge_logic.models import ChargeSchedule, Command, Decision, Mode, VehicleSnapshot
from clients.vehicle import CallCounter, CommandProtocolRequired, Vehicle, VehicleAsleep, VehicleError
from service.backoff import Backoff, retry_after_of, retry_text
from service.sources import SourceStatus
from service.state_file import read_json_or_move_aside, write_json_atomic

log = logging.getLogger(__name__)


COMMANDS_REFUSED_PAUSE = timedelta(days=1)  # a car refusing unsigned commands is asked again a day later
# Longer than this without a look at the car (the daemon was down, or Tesla's API failing): it may have been unplugged
# and driven meanwhile, so for a car that holds the scheduler's charge schedule (firmware 2024.26+: it charges the
# plan by itself while nobody watches) a plugged-in reading from before is no reason to wake it; a wake costs $0.02.
# An older car is still woken: without the daemon's commands it might not charge by the morning.
UNWATCHED = timedelta(minutes=45)
# A sleeping car is woken to have its charge schedule rewritten only when its old start or the new one comes within
# this (two 14-minute ticks: the write then lands before the start); until then it keeps the old one, and the plan's
# moves meanwhile cost one write when it wakes by itself, not a wake each.
SCHEDULE_SOON = timedelta(minutes=30)
# The account's vehicle list (billed as data on the Fleet API) is asked every tick only while its answer can change
# what the daemon does (VEHICLE_LIST_IDLE_MIN otherwise, see list_due): the hours the household comes home are
# learned from the last ARRIVALS_KEPT plug-ins, and until ARRIVALS_TO_LEARN are logged every hour counts as one.
ARRIVALS_TO_LEARN = 7
ARRIVALS_KEPT = 60
# The daemon changes nothing while the car is elsewhere, or where it is cannot be told: its charge is not watched.
HANDS_OFF = (Mode.NOT_AT_HOME, Mode.LOCATION_UNKNOWN, Mode.SUPERCHARGING)


@dataclass
class Usage:
    """Billed Tesla calls this month and today, kept in STATE_DIR/usage.json across restarts."""

    month: str = ""
    day: str = ""
    data: int = 0
    commands: int = 0
    wakes: int = 0
    commands_today: int = 0
    wakes_today: int = 0
    listed: int = 0  # Fleet API vehicle-list requests: billed as data (clients/vehicle.py, CallCounter.listed)

    def roll(self, local_now: datetime) -> None:
        month, day = local_now.strftime("%Y-%m"), local_now.strftime("%Y-%m-%d")
        if month != self.month:
            self.month, self.data, self.commands, self.wakes, self.listed = month, 0, 0, 0, 0
        if day != self.day:
            self.day, self.commands_today, self.wakes_today = day, 0, 0

    def add(self, before: CallCounter, after: CallCounter) -> None:
        d, c, w = after.data - before.data, after.commands - before.commands, after.wakes - before.wakes
        self.data, self.commands, self.wakes = self.data + d, self.commands + c, self.wakes + w
        self.listed += after.listed - before.listed
        self.commands_today += c
        self.wakes_today += w

    def cost_usd(self) -> float:
        return round(CallCounter(self.data, self.commands, self.wakes, listed=self.listed).cost_usd(), 4)

    @classmethod
    def from_json(cls, data: Any) -> Usage:
        """The counts as saved; a count an older version kept (data_today) is dropped, not a reason to forget the
        month's."""
        if not isinstance(data, dict):
            raise TypeError(f"usage is {type(data).__name__}, not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class SendReport:
    decision: Decision
    sent: list[dict[str, Any]] = field(default_factory=list)
    woke: bool = False
    skipped: str | None = None  # why commands were not sent


class VehicleLink:
    def __init__(self, vehicle: Vehicle, state_dir: Path, *, data_min_interval_min: float, wakes_per_day: int,
                 commands_per_day: int, zone: Any, data_idle_interval_min: float | None = None,
                 backoff: Backoff | None = None, list_idle_min: float = 0.0, tick_min: float = 14.0):
        self.vehicle = vehicle
        self.zone = zone
        self.data_min_interval = timedelta(minutes=data_min_interval_min)
        # a car polled every few minutes never sleeps: while it is not charging, read less often
        self.data_idle_interval = timedelta(minutes=max(data_idle_interval_min or 0, data_min_interval_min))
        self.wakes_per_day, self.commands_per_day = wakes_per_day, commands_per_day
        self.path = state_dir / "vehicle.json"
        self.status = SourceStatus("vehicle")
        self.backoff = (backoff or Backoff()).keep(state_dir / "backoff.json", "vehicle")
        self.status.retry_at = self.backoff.retry_at
        self.usage = Usage()
        self.last: VehicleSnapshot | None = None
        self.online = False
        self._saved: tuple[Usage, VehicleSnapshot | None, datetime | None, int] | None = None
        self.hands_off = False  # the last decision changes nothing wherever the car is (HANDS_OFF)
        self._reread = False  # a command was refused or failed: read the car next tick, whatever the interval
        self._summary_state: str | None = None  # what the last summary that came through said
        self.looked_at: datetime | None = None  # when a summary last came through (kept in vehicle.json)
        self.plugged_unknown = False  # not watched for UNWATCHED since the last plugged-in reading: not woken
        # The car refused unsigned commands: none is sent (nor the car woken for one) until then; said once.
        self.commands_refused_until: datetime | None = None
        self.commands_refused_why = ""
        # the vehicle list's cadence (VEHICLE_LIST_IDLE_MIN; 0: every tick)
        self.list_idle = timedelta(minutes=max(list_idle_min, 0.0))
        self.tick = timedelta(minutes=tick_min)
        self.arrival_hours: frozenset[int] | None = None  # local hours plug-ins begin in (None: not learned yet)
        self.departure_hours: frozenset[int] | None = None  # ...and end in
        self.listed = False  # this tick's summary came from a list asked this tick
        self.list_why: str | None = None  # why the account was (or was not) listed this tick, for the state file
        self.also_list: str | None = None  # the site lists the account this tick for another car: read it too
        self._waiting: tuple[Command, ...] = ()  # the last decision's commands that did not go (or failed)
        self._look_before: datetime | None = None  # the look before this tick's
        # readings that found the cable changed after a gap without a look: when it changed is not known, so these
        # plug-ins and unplugs (the session log's times) do not teach the household's hours (kept in vehicle.json)
        self.seen_late: list[datetime] = []
        self._load()

    @classmethod
    def from_settings(cls, vehicle: Vehicle, settings: Any, *, interval_min: float = 14.0) -> VehicleLink:
        return cls(vehicle, Path(settings.state_dir), data_min_interval_min=settings.vehicle_data_min_interval_min,
                   data_idle_interval_min=settings.vehicle_data_idle_interval_min,
                   wakes_per_day=settings.tesla_wakes_per_day, commands_per_day=settings.tesla_commands_per_day,
                   zone=settings.zone, backoff=Backoff(timedelta(minutes=interval_min)),
                   # the Owner API's list is free: only the Fleet API's is worth asking less often
                   list_idle_min=settings.vehicle_list_idle_min if settings.tesla_backend == "fleet" else 0.0,
                   tick_min=interval_min)

    # ------------------------------------------------------------------ persistence
    def _load(self) -> None:
        saved = read_json_or_move_aside(self.path, datetime.now().astimezone()) or {}
        try:
            self.usage = Usage.from_json(saved.get("usage", {}))
            self.looked_at = datetime.fromisoformat(saved["looked_at"]) if saved.get("looked_at") else None
            self.seen_late = [datetime.fromisoformat(t) for t in saved.get("seen_late") or []]
            snap = saved.get("last")
            if snap:
                snap["read_at"] = datetime.fromisoformat(snap["read_at"]) if snap.get("read_at") else None
                if isinstance(snap.get("charge_schedules"), list):
                    snap["charge_schedules"] = tuple(ChargeSchedule(**c) for c in snap["charge_schedules"])
                self.last = VehicleSnapshot(**snap)
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("vehicle.json is from another version (%s); starting without the last known car", exc)
            self.usage, self.last = Usage(), None

    def save(self) -> None:
        # the snapshot is frozen; usage is copied
        now = (dataclasses.replace(self.usage), self.last, self.looked_at, len(self.seen_late))
        if now != self._saved:  # unchanged ticks write nothing
            write_json_atomic(self.path, {"usage": dataclasses.asdict(self.usage),
                                          "last": dataclasses.asdict(self.last) if self.last else None,
                                          "looked_at": self.looked_at.isoformat() if self.looked_at else None,
                                          "seen_late": [t.isoformat() for t in self.seen_late]})
            self._saved = now

    def _counted(self, fn: Callable[[], Any]) -> Any:
        before = dataclasses.replace(self.vehicle.calls)
        try:
            return fn()
        finally:
            self.usage.add(before, self.vehicle.calls)

    # ------------------------------------------------------------------ reading
    def learn_hours(self, arrivals: Sequence[datetime], departures: Sequence[datetime]) -> None:
        """The household's arrival and departure hours from the car's own session log (its plug-ins' starts and
        ends, oldest first)."""
        late = set(self.seen_late)
        self.arrival_hours = learned_hours([t for t in arrivals if t not in late][-ARRIVALS_KEPT:], self.zone,
                                           self.tick)
        self.departure_hours = learned_hours([t for t in departures if t not in late][-ARRIVALS_KEPT:], self.zone,
                                             self.tick)

    def list_due(self, now: datetime) -> str | None:
        """Why the account's vehicle list is asked this tick; None: nothing it could say would change what the daemon
        does before the next look. On firmware 2024.26+ a car holding the scheduler's schedule charges the plan by
        itself (also while the daemon is down), so it is listed every tick only while it is plugged in and awake (a
        command then needs no wake) or charges by the daemon's commands, while a command waits or a read is due, and
        in the hours the household comes home (a plug-in is then seen in the car's 15 awake minutes) or, plugged in,
        leaves (an unplug unseen would merge two plug-ins in the session log the planner learns from); otherwise at
        most every VEHICLE_LIST_IDLE_MIN. An older car, or one without the scheduler's schedule, every tick."""
        last = self.last
        if self.list_idle <= timedelta(0):
            return "every tick (VEHICLE_LIST_IDLE_MIN=0)"
        if last is None or self.looked_at is None or last.read_at is None:
            return "the car is not known yet"
        if not (takes_charge_schedules(last) and own_schedules(last.charge_schedules)):
            return "the car does not hold the scheduler's charge schedule: it charges by the daemon's commands"
        if self._reread or not self._waiting_can_wait(now):
            return "a command waits"
        if now - self.looked_at + self.tick / 2 >= self.list_idle:
            return f"VEHICLE_LIST_IDLE_MIN ({self.list_idle.total_seconds() / 60:g} min) since the last look"
        if last.plugged_in and last.state == "online":
            if not charging_by_own_schedule(last, now, self.zone):
                return "plugged in and awake"
            if self._data_due(now):
                return "a read is due"
        # plugged in: it may be unplugged; not: plugged in; not watched for a while (UNWATCHED): either
        kinds = [("departure", self.departure_hours)] if last.plugged_in else []
        if not last.plugged_in or self.plugged_unknown:
            kinds.append(("arrival", self.arrival_hours))
        hour = now.astimezone(self.zone).hour
        for what, hours in kinds:
            if hours is None:
                return f"the household's {what} hours are not learned yet"
            if hour in hours:
                return f"the household's {what} hours"
        return None

    def _waiting_can_wait(self, now: datetime) -> bool:
        """No command waits, or only the scheduler's schedule for a sleeping car, whose old and new start are both
        further off than a wake for it could come (SCHEDULE_SOON, after UNWATCHED without a look)."""
        if not self._waiting:
            return True
        last = self.last
        if last is not None and last.state != "online" and self.plugged_unknown:
            return True  # not woken anyway (UNWATCHED): the commands go when the car wakes by itself, and is listed
        return last is not None and last.state != "online" and write_can_wait(
            last, self._waiting, now, self.zone, SCHEDULE_SOON + UNWATCHED + self.tick)

    def read(self, now: datetime) -> VehicleSnapshot | None:
        """The freshest snapshot this tick may have: billed data only if online and the last read is old enough; the
        account listed only when `list_due`."""
        self.usage.roll(now.astimezone(self.zone))
        self.listed = False
        if not self.backoff.ready(now):
            self.online = False
            self.status.stale = self.last is not None
            return self.last
        self.list_why = self.list_due(now) or self.also_list
        self.also_list = None
        if self.list_why is None:
            self.online = False  # not known this tick: send() lists first if a command has to go
            return self.last
        return self._look(now)

    def _look(self, now: datetime) -> VehicleSnapshot | None:
        """List the account (the car's summary), and read the car's data when due."""
        self.listed = True
        try:
            summary = self._counted(self.vehicle.summary)  # the Fleet API's vehicle list is billed
        except Exception as exc:  # VehicleError, or a backend surprise: the tick goes on with the last known car
            self.online = False
            self._error(now, _as_vehicle_error(exc))
            return self.last
        self.backoff.succeeded()
        self.status.succeeded(now)
        self.status.retry_at = None
        if self.looked_at is not None and now - self.looked_at > UNWATCHED and self.last is not None \
                and self.last.plugged_in and own_schedules(self.last.charge_schedules):
            self.plugged_unknown = True  # until the car is read again
        self._look_before, self.looked_at = self.looked_at, now
        came_online = summary.state == "online" and self._summary_state != "online"
        self._summary_state = summary.state
        self.online = summary.state == "online"
        due = self._data_due(now)
        # A car that woke by itself was used: plugged in, unplugged, driven. Read it now, or a car unplugged and
        # asleep again before the next due read is still thought plugged in, and woken for nothing.
        due = due or came_online or self._reread
        if self.online and due:
            self._reread = not self._read_data(now) and self._reread
        elif self.last is not None:
            self.last = dataclasses.replace(self.last, state=summary.state)
        if self.last is None:
            self.status.succeeded(now)
            return VehicleSnapshot(summary.vin_short, summary.display_name, summary.state)
        return self.last

    def _data_due(self, now: datetime) -> bool:
        """Billed data is read every VEHICLE_DATA_MIN_INTERVAL_MIN while the car charges; as seldom as while it idles
        when it charges by the scheduler's own schedule (2024.26+: it starts and stops itself; the daemon has nothing
        to do meanwhile) or where the daemon changes nothing (HANDS_OFF), and then once more when it should be full,
        before it falls asleep (15 minutes after) with the charge unseen."""
        last = self.last
        if last is None or last.read_at is None:
            return True
        age = now - last.read_at
        if not last.charging:
            return age >= self.data_idle_interval
        if not (self.hands_off or charging_by_own_schedule(last, now, self.zone)):
            return age >= self.data_min_interval
        full = timedelta(hours=last.time_to_full_charge or 0)
        return age >= self.data_idle_interval or (full > timedelta(0) and age >= max(full, self.data_min_interval))

    def _read_data(self, now: datetime) -> bool:
        try:
            fresh = self._counted(self.vehicle.snapshot)
            self._cable_seen(now, fresh)
            self.last = _fill_gaps(fresh, self.last)
        except VehicleAsleep:
            self.online = False
            return False
        except Exception as exc:
            self._error(now, _as_vehicle_error(exc))
            return False
        self.status.succeeded(now, data_at=self.last.read_at or now)  # a fresh read: not stale
        self.plugged_unknown = False
        return True

    def _cable_seen(self, now: datetime, fresh: VehicleSnapshot) -> None:
        """Note a plug-in or unplug found after more than a tick and a half without a look (seen_late)."""
        before = self.last.plugged_in if self.last is not None else None
        gap = now - self._look_before if self._look_before is not None else None
        if before is not None and fresh.plugged_in is not None and fresh.plugged_in != before and gap is not None \
                and gap > self.tick * 1.5:
            self.seen_late = [*self.seen_late, now][-2 * ARRIVALS_KEPT:]

    def _error(self, now: datetime, exc: Exception) -> None:
        self.status.failed(exc, now, stale=self.last is not None)
        self.status.retry_at = self.backoff.failed(now, retry_after_s=retry_after_of(exc))

    # ------------------------------------------------------------------ commanding
    def send(self, now: datetime, decision: Decision,
             decide_again: Callable[[VehicleSnapshot], Decision]) -> SendReport:
        """Send the decision's commands; wake first only if the car was last seen plugged in."""
        report = SendReport(decision)
        self.hands_off = decision.mode in HANDS_OFF
        self._waiting = tuple(decision.commands)
        report = self._send(now, report, decide_again)
        sent_ok = sum(1 for s in report.sent if s["ok"])
        if not report.decision.commands or (not report.skipped and sent_ok == len(report.decision.commands)):
            self._waiting = ()
        return report

    def _send(self, now: datetime, report: SendReport,
              decide_again: Callable[[VehicleSnapshot], Decision]) -> SendReport:
        decision = report.decision
        if not decision.commands:
            return report
        if self.commands_refused_until is not None and now < self.commands_refused_until:
            report.skipped = f"{self.commands_refused_why}; commands are not sent until that is fixed"
            return report
        if not self.backoff.ready(now):
            when = retry_text(self.backoff.retry_at, now, self.zone) if self.backoff.retry_at else "later"
            report.skipped = f"the car's API failed ({self.status.last_error}); commands wait for the next try {when}"
            return report
        if not self.listed:  # the account was not listed this tick (list_due): look now, unless the write can wait
            if not self._look_before_sending(now, report, decide_again):
                return report
            decision = report.decision
        if not self.online:
            report.skipped = self._not_woken(now, decision)
            if report.skipped:
                return report
            try:
                awake = self._counted(lambda: self.vehicle.wake(60.0))
            except Exception as exc:
                self._error(now, _as_vehicle_error(exc))
                awake = False
            report.woke = True
            if not awake or not self._read_data(now):
                report.skipped = "the car did not wake up within 60 s"
                return report
            self.online, self._summary_state = True, "online"  # woken by us: not a car that woke by itself
            assert self.last is not None  # a read that succeeded leaves it
            report.decision = decide_again(self.last)  # the fresh data may already hold what we wanted
            if not self.last.plugged_in:
                report.skipped = "the car turned out not to be plugged in"
                return report
        elif self.last is not None and (self.last.read_at is None or now - self.last.read_at >= self.data_min_interval):
            # read seldom while it charges by its own schedule: commands go on what the car holds now (it may have
            # been unplugged, or be full), not on a reading from before
            if not self._read_data(now):
                report.skipped = "the car could not be read before sending commands; they wait for the next tick"
                return report
            report.decision = decide_again(self.last)
            if not self.last.plugged_in:
                report.skipped = "the car turned out not to be plugged in"
                return report
        report.sent = self._send_all(now, report.decision.commands)
        return report

    def _look_before_sending(self, now: datetime, report: SendReport,
                             decide_again: Callable[[VehicleSnapshot], Decision]) -> bool:
        """List the account before commands on a tick that did not (False: they wait, `report` says why, or a fresh
        reading left nothing to send)."""
        if self._waiting_can_wait(now):
            seen = self.looked_at.astimezone(self.zone).strftime("%H:%M") if self.looked_at else "?"
            report.skipped = (f"the car was asleep at the last look ({seen}): the commands go when it wakes by "
                              "itself, or a charge schedule's rewrite before its old start or the new one comes")
            return False
        read_before = self.last.read_at if self.last is not None else None
        self._look(now)
        if not self.backoff.ready(now):
            report.skipped = f"the car's API failed ({self.status.last_error}); commands wait for the next try"
            return False
        if self.last is not None and self.last.read_at != read_before:  # read just now: decide on what it holds
            report.decision = decide_again(self.last)
        return bool(report.decision.commands)

    def _not_woken(self, now: datetime, decision: Decision) -> str | None:
        """Why a sleeping car is not woken for these commands (None: it is)."""
        if not (self.last is not None and self.last.plugged_in):
            return "the car is asleep and not known to be plugged in: not woken"
        if self.plugged_unknown:
            return ("the car is asleep and was not watched for a while (the scheduler was down, or Tesla's API "
                    "failing): it may have been unplugged meanwhile, so it is not woken; the commands go when it "
                    "wakes by itself")
        if write_can_wait(self.last, decision.commands, now, self.zone, SCHEDULE_SOON):
            return ("the car is asleep: its charge schedule is rewritten when it wakes by itself, or before either its "
                    "old start or the new one comes, rather than waking it now")
        if all(c.name == "set_charging_amps" for c in decision.commands):
            return ("the car is asleep, so not charging: the new amps are sent when it wakes to charge, rather than "
                    "waking it now")
        if all(_lowers_limit(c, self.last) for c in decision.commands):
            return ("the car is asleep, so not charging: the lower charge limit (never needed for a trip) is sent "
                    "when it wakes by itself, rather than waking it now")
        if self.usage.wakes_today >= self.wakes_per_day:
            return f"the car is asleep and today's {self.wakes_per_day} wakes are spent"
        return None

    def _send_all(self, now: datetime, commands: Sequence[Command]) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        for cmd in commands:
            if self.usage.commands_today >= self.commands_per_day:
                sent.append({"name": cmd.name, "ok": False, "reason": "daily command budget spent"})
                break
            try:
                result = self._counted(functools.partial(self.vehicle.execute, cmd))
                sent.append({"name": cmd.name, "ok": result.ok, "reason": result.reason})
                if not result.ok:  # "disconnected", "not plugged in"...: our picture of the car is wrong; re-read it
                    self._reread = True
            except VehicleAsleep as exc:
                sent.append({"name": cmd.name, "ok": False, "reason": f"asleep: {exc}"[:200]})
                self.online = False
                break
            except CommandProtocolRequired as exc:  # every command would be refused, and billed: stop sending
                if self.commands_refused_until is None:
                    log.warning("%s", exc)
                self.commands_refused_until = now + COMMANDS_REFUSED_PAUSE
                self.commands_refused_why = str(exc)[:300]
                self.status.noted(self.commands_refused_why, now)
                sent.append({"name": cmd.name, "ok": False, "reason": self.commands_refused_why[:200]})
                break
            except Exception as exc:
                exc = _as_vehicle_error(exc)
                self._error(now, exc)
                self._reread = True  # did it reach the car? only a reading can tell before it is sent again
                sent.append({"name": cmd.name, "ok": False, "reason": str(exc)[:200]})
                break
        done = [c for c, s in zip(commands, sent, strict=False) if s["ok"]]
        if done and self.last is not None:  # what the car now holds, without paying for another read
            self.last = apply_commands(self.last, done)
        return sent


def learned_hours(times: Sequence[datetime], zone: Any, widen: timedelta) -> frozenset[int] | None:
    """The local hours in which the household's plug-ins began (or ended), each widened by `widen` (a tick) either
    side, and an hour between two such hours with it: a week of evenings leaves gaps (17:40 and 20:10 say nothing
    against 19:00), and a plug-in missed in a gap is seen late, when nobody knows when it came, so it cannot teach the
    hour itself. None: fewer than ARRIVALS_TO_LEARN to tell from."""
    if len(times) < ARRIVALS_TO_LEARN:
        return None
    hours: set[int] = set()
    for at in times:
        hours.update(t.astimezone(zone).hour for t in (at - widen, at, at + widen))
    hours.update([h for h in range(24) if (h - 1) % 24 in hours and (h + 1) % 24 in hours])
    return frozenset(hours)


def _lowers_limit(command: Command, last: VehicleSnapshot) -> bool:
    """set_charge_limit below what the car holds (the limit goes back down after a trip that needed more)."""
    percent = command.args.get("percent")
    return command.name == "set_charge_limit" and isinstance(percent, int) and last.charge_limit_soc is not None \
        and percent < last.charge_limit_soc


# Settings a reply sometimes leaves null (seen after firmware updates, and from cars half asleep) that Tesla otherwise
# always sends. Acting on the null would send a command the car already has (a limit or amps "unknown", so "changed").
# The car's state (battery level, charging state, cable) is not among them: it moves by itself, and a stale one
# would start a car that is already full, or keep commanding one that has been unplugged and driven off.
KEEP_LAST_KNOWN = ("charge_limit_soc", "charge_limit_soc_min", "charge_limit_soc_max", "charge_current_request",
                   "charge_current_request_max", "scheduled_charging_mode", "off_peak_charging_enabled",
                   "off_peak_charging_times", "scheduled_departure_time_minutes", "off_peak_hours_end_time",
                   "preconditioning_enabled", "preconditioning_times")


def _fill_gaps(fresh: VehicleSnapshot, last: VehicleSnapshot | None) -> VehicleSnapshot:
    """The fresh reading, with a field it left null taken from the last reading (minutes old), when that knew it."""
    if last is None:
        return fresh
    gaps = {k: getattr(last, k) for k in KEEP_LAST_KNOWN if getattr(fresh, k) is None and getattr(last, k) is not None}
    if gaps:
        log.info("the car left %s null; keeping the last known values", ", ".join(sorted(gaps)))
        return dataclasses.replace(fresh, **gaps)
    return fresh


def _as_vehicle_error(exc: Exception) -> VehicleError:
    """A backend's own error as it is; anything else (a reply of a shape nobody expected) logged with its traceback
    and named by type only, so that no tick ends early and no reply text reaches the state file."""
    if isinstance(exc, VehicleError):
        return exc
    log.error("vehicle backend: unexpected %s", type(exc).__name__, exc_info=exc)
    return VehicleError(f"the car's reply could not be used ({type(exc).__name__}); will try again next tick")
