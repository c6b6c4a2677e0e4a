"""The simulated car (backend `sim`): the demo's car, and a stand-in owners can run without a Tesla account.

It behaves like a car where it matters to the scheduler: it falls asleep 15 minutes after it stops charging, answers
commands only while awake, charges at amps × volts as time passes, tapers near full, and runs its own scheduled
departure (off-peak charging that finishes by the off-peak end) even when nobody sends it anything. Its state can be
saved to a JSON file so that `--demo --once` runs continue where the last one stopped.

On firmware 2024.26 or later (`SimCarState.firmware`) it keeps charge schedules instead, as a 2026 car does
(tests/fakes/tesla_car.py has the same rules, from tesla-http-proxy's pkg/proxy/command.go): add_charge_schedule /
remove_charge_schedule (an id replaces that schedule), the ones made out to where it is start charging when its clock
reaches their start on their days and stop the charge they started at their end; plugged in inside one, or where none
applies, it charges at once; the scheduled-departure fields read Off, and each set_scheduled_departure adds one more
schedule (vehicle-command issue 290).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from charge_logic.models import CHARGING, COMPLETE, DISCONNECTED, STOPPED, ChargeSchedule, Command, VehicleSnapshot
from clients.private_files import read_json, write_json_atomic
from clients.vehicle import CallCounter, CommandResult, VehicleAsleep, VehicleError, VehicleSummary

AWAKE_AFTER_ACTIVITY = timedelta(minutes=15)
TAPER_FROM_SOC = 80.0
LEGACY_FIRMWARE = "2024.14.9"
FIRMWARE_2026 = "2026.38.4"
PLACE_DEG = 0.002  # a schedule applies where the car is within about 200 m of its lat/lon
DAY_BITS = {"SUN": 1, "SUNDAY": 1, "MON": 2, "MONDAY": 2, "TUES": 4, "TUESDAY": 4, "WED": 8, "WEDNESDAY": 8,
            "THURS": 16, "THURSDAY": 16, "FRI": 32, "FRIDAY": 32, "SAT": 64, "SATURDAY": 64, "ALL": 127,
            "WEEKDAYS": 62}  # tesla-http-proxy's names for days_of_week


def takes_schedules(firmware: str) -> bool:
    """2024.26 or later: charge schedules (developer.tesla.com/docs/fleet-api/support/announcements, 2024-08-30)."""
    try:
        year, week = (int(x) for x in firmware.split()[0].split(".")[:2])
    except ValueError:
        return False
    return (year, week) >= (2024, 26)


@dataclass
class SimCarState:
    """Everything the simulated car remembers; times are ISO strings so it round-trips through JSON."""

    clock: str  # the last instant the simulation advanced to
    battery_kwh: float = 75.0
    soc: float = 45.0
    plugged_in: bool = True
    charging: bool = False
    amps: int = 16
    max_amps: int = 32
    volts: int = 240
    phases: int = 1
    limit: int = 80
    departure_minutes: int = 7 * 60 + 30
    scheduled_departure: bool = True
    off_peak: bool = True
    off_peak_end_minutes: int = 7 * 60 + 30
    preconditioning: bool = False
    awake_until: str = ""
    schedule_paused_until: str = ""  # a charge_stop pauses the car's own schedule until its next off-peak end
    odometer_km: float = 21000.0
    energy_added_kwh: float = 0.0  # since this plug-in (the car's charge_energy_added)
    latitude: float = 40.7420
    longitude: float = -74.0020
    firmware: str = LEGACY_FIRMWARE
    schedules: list[dict[str, Any]] = field(default_factory=list)  # 2024.26+: its charge schedules
    by_schedule: bool = False  # charging because one of them started it

    @classmethod
    def from_json(cls, data: Any) -> SimCarState | None:
        """The state as saved (a field an older version kept is dropped); None when it is not a state."""
        if not isinstance(data, dict):
            return None
        names = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except TypeError:  # no clock
            return None


class SimVehicle:
    """A Vehicle (clients.vehicle) that simulates a Tesla; `now` is injected so demos and soaks can run fast."""

    def __init__(self, now: Callable[[], datetime], zone: ZoneInfo, state: SimCarState | None = None,
                 path: Path | None = None, display_name: str = "Demo Model 3", vin: str = "5YJ3SIMULATED04321"):
        self._now = now
        self.zone = zone
        self.path = path
        self.display_name = display_name
        self.vin = vin
        self.calls = CallCounter()
        if state is None and path is not None:
            state = SimCarState.from_json(read_json(path))  # a missing or broken sim file is simply started afresh
        self.s = state or SimCarState(clock=now().isoformat(), awake_until=(now() + AWAKE_AFTER_ACTIVITY).isoformat())

    # ------------------------------------------------------------------ physics
    def _power_kw(self) -> float:
        kw = self.s.amps * self.s.volts * self.s.phases / 1000
        if self.s.soc > TAPER_FROM_SOC:  # the last fifth goes slower, as on a real battery
            kw *= max(0.25, 1 - (self.s.soc - TAPER_FROM_SOC) / 25)
        return kw

    def _next_off_peak_end(self, t: datetime) -> datetime:
        m = self.s.off_peak_end_minutes
        end = t.astimezone(self.zone).replace(hour=m // 60, minute=m % 60, second=0, microsecond=0)
        return end if end > t else end + timedelta(days=1)

    def _schedule_wants_charge(self, t: datetime) -> bool:
        """Off-peak charging: start when what is missing would just finish by the off-peak end."""
        if not (self.s.scheduled_departure and self.s.off_peak) or self.s.soc >= self.s.limit:
            return False
        if self.s.schedule_paused_until and t < datetime.fromisoformat(self.s.schedule_paused_until):
            return False
        need_h = (self.s.limit - self.s.soc) / 100 * self.s.battery_kwh / max(self._power_kw(), 0.1)
        hours_left = (self._next_off_peak_end(t) - t).total_seconds() / 3600
        return hours_left <= need_h + 0.25 and hours_left < 12

    def advance(self) -> None:
        """Run the car from its last instant to now in 5-minute steps."""
        target = self._now()
        t = datetime.fromisoformat(self.s.clock)
        while t < target:
            step = min(timedelta(minutes=5), target - t)
            if takes_schedules(self.s.firmware):
                self._follow_schedules(t, step)
            elif self.s.plugged_in and not self.s.charging and self._schedule_wants_charge(t):
                self.s.charging = True
            if self.s.charging:
                if not self.s.plugged_in or self.s.soc >= self.s.limit:
                    self.s.charging = False
                else:
                    kwh = self._power_kw() * step.total_seconds() / 3600
                    soc = min(float(self.s.limit), self.s.soc + kwh / self.s.battery_kwh * 100)
                    self.s.energy_added_kwh += (soc - self.s.soc) / 100 * self.s.battery_kwh
                    self.s.soc = soc
                self.s.awake_until = (t + step + AWAKE_AFTER_ACTIVITY).isoformat()
            t += step
        self.s.clock = max(t, target).isoformat()
        self._save()

    # ------------------------------------------------------------------ charge schedules (2024.26+)
    def _here(self, x: dict[str, Any]) -> bool:
        return bool(x.get("enabled")) and abs(float(x.get("latitude") or 0) - self.s.latitude) <= PLACE_DEG and \
            abs(float(x.get("longitude") or 0) - self.s.longitude) <= PLACE_DEG

    def _minute_and_day(self, t: datetime, days_back: int = 0) -> tuple[int, int]:
        local = t.astimezone(self.zone)
        day = (local - timedelta(days=days_back)).weekday()
        return local.hour * 60 + local.minute, 1 << ((day + 1) % 7)  # Sunday 1, Monday 2 ... Saturday 64

    def _inside(self, x: dict[str, Any], t: datetime) -> bool:
        minute, today = self._minute_and_day(t)
        start, end = int(x.get("start_time") or 0), int(x.get("end_time") or 0)
        if not (x.get("start_enabled") and x.get("end_enabled")) or start == end:
            return False
        days = int(x.get("days_of_week") or 0)
        if start < end:
            return start <= minute < end and bool(days & today)
        return bool(days & today) if minute >= start else minute < end and bool(days & self._minute_and_day(t, 1)[1])

    def _follow_schedules(self, t: datetime, step: timedelta) -> None:
        """A schedule made out to where the car is starts charging when the car's clock passes its start, on its days,
        and stops the charge it started at its end; a one-time schedule is gone once it ran."""
        minute, today = self._minute_and_day(t)
        span = max(1, int(step.total_seconds() // 60))
        for x in list(self.s.schedules):
            if not self._here(x):
                continue
            if x.get("start_enabled") and (int(x.get("start_time") or 0) - minute) % 1440 < span and \
                    int(x.get("days_of_week") or 0) & today and self.s.plugged_in and not self.s.charging and \
                    self.s.soc < self.s.limit:
                self.s.charging = self.s.by_schedule = True
            if x.get("end_enabled") and (int(x.get("end_time") or 0) - minute) % 1440 < span:
                if self.s.by_schedule and self.s.charging:
                    self.s.charging = self.s.by_schedule = False
                if x.get("one_time"):
                    self.s.schedules.remove(x)

    def _schedule_command(self, name: str, a: dict[str, Any]) -> CommandResult:
        """add_charge_schedule / remove_charge_schedule as tesla-http-proxy takes them: lat, lon, days_of_week
        (names), start_enabled, end_enabled and enabled required; an id replaces that schedule. And the
        set_scheduled_departure of a car on this firmware."""
        if not takes_schedules(self.s.firmware):
            return CommandResult(False, "not_supported")
        if name == "set_scheduled_departure":
            if a.get("enable", True):  # on this firmware each call adds one more schedule (vehicle-command issue 290)
                self.s.schedules.append({
                    "id": int(self._now().timestamp()) + len(self.s.schedules), "name": "", "days_of_week": 127,
                    "start_enabled": False, "start_time": 0, "end_enabled": True,
                    "end_time": int(a.get("end_off_peak_time", 0)), "one_time": False, "enabled": True,
                    "latitude": self.s.latitude, "longitude": self.s.longitude})
            return CommandResult(True)
        sid = int(a.get("id") or 0)
        if name == "remove_charge_schedule":
            self.s.schedules = [x for x in self.s.schedules if x["id"] != sid]
            return CommandResult(True)
        try:
            mask = 0
            for day in str(a["days_of_week"]).split(","):
                mask |= DAY_BITS[day.strip().upper()]
            item = {"id": sid or int(self._now().timestamp()), "name": str(a.get("name") or ""), "days_of_week": mask,
                    "start_enabled": bool(a["start_enabled"]), "start_time": int(a.get("start_time") or 0),
                    "end_enabled": bool(a["end_enabled"]), "end_time": int(a.get("end_time") or 0),
                    "one_time": bool(a.get("one_time", False)), "enabled": bool(a["enabled"]),
                    "latitude": float(a["lat"]), "longitude": float(a["lon"])}
        except (KeyError, ValueError, TypeError):
            return CommandResult(False, "invalid_value")
        old = next((i for i, x in enumerate(self.s.schedules) if x["id"] == item["id"]), None)
        if old is None and len(self.s.schedules) >= 10:
            return CommandResult(False, "too_many_schedules")
        if old is None:
            self.s.schedules.append(item)
        else:
            self.s.schedules[old] = item
        self._schedules_changed()
        return CommandResult(True)

    def _schedules_changed(self) -> None:
        """Charging outside every schedule made out to where it is, the car stops when its schedules change and waits
        for them, as when plugged in there (tests/fakes/tesla_car.py has the same rule and its source)."""
        now = self._now()
        here = [x for x in self.s.schedules if self._here(x) and x.get("start_enabled")]
        if self.s.plugged_in and self.s.charging and here and not any(self._inside(x, now) for x in here):
            self.s.charging = self.s.by_schedule = False

    def _awake(self) -> bool:
        return self.s.charging or self._now() < datetime.fromisoformat(self.s.awake_until)

    def _touch(self) -> None:
        self.s.awake_until = (self._now() + AWAKE_AFTER_ACTIVITY).isoformat()

    def _save(self) -> None:
        if self.path is not None:
            write_json_atomic(self.path, asdict(self.s))

    # ------------------------------------------------------------------ the test bench's hands
    def plug(self, plugged: bool) -> None:
        self.advance()
        if plugged and not self.s.plugged_in:
            self.s.energy_added_kwh = 0.0  # the car counts from each plug-in
        self.s.plugged_in = plugged
        if not plugged:
            self.s.charging = self.s.by_schedule = False
        elif takes_schedules(self.s.firmware):  # it waits for a schedule made out to here, unless inside one
            now = self._now()
            here = [x for x in self.s.schedules if self._here(x) and x.get("start_enabled")]
            self.s.charging = self.s.soc < self.s.limit and (not here or any(self._inside(x, now) for x in here))
            self.s.by_schedule = bool(here) and self.s.charging
        self._touch()
        self._save()

    def drive(self, km: float, wh_per_km: float = 170.0) -> None:
        self.advance()
        self.s.plugged_in = self.s.charging = False
        self.s.soc = max(0.0, self.s.soc - km * wh_per_km / 1000 / self.s.battery_kwh * 100)
        self.s.odometer_km += km
        self._touch()
        self._save()

    # ------------------------------------------------------------------ the Vehicle interface
    def summary(self) -> VehicleSummary:
        self.advance()
        self.calls.summaries += 1
        return VehicleSummary("…" + self.vin[-4:], self.display_name, "online" if self._awake() else "asleep")

    def snapshot(self) -> VehicleSnapshot:
        self.advance()
        self.calls.data += 1
        if not self._awake():
            raise VehicleAsleep("the simulated car is asleep")
        s = self.s
        state = (CHARGING if s.charging else COMPLETE if s.soc >= s.limit else STOPPED) if s.plugged_in \
            else DISCONNECTED
        power = self._power_kw() if s.charging else 0.0
        new = takes_schedules(s.firmware)  # the scheduled-departure fields no longer say what it will do
        return VehicleSnapshot(
            vin_short="…" + self.vin[-4:], display_name=self.display_name, state="online", read_at=self._now(),
            battery_level=int(s.soc), charge_limit_soc=s.limit, charge_limit_soc_min=50, charge_limit_soc_max=100,
            charging_state=state, charge_current_request=s.amps, charge_current_request_max=s.max_amps,
            charger_actual_current=s.amps if s.charging else 0, charger_voltage=s.volts if s.plugged_in else 0,
            charger_phases=s.phases if s.plugged_in else None,
            conn_charge_cable="SAE" if s.plugged_in else "<invalid>", charge_port_door_open=s.plugged_in,
            fast_charger_present=False,
            scheduled_charging_mode="DepartBy" if s.scheduled_departure and not new else "Off",
            off_peak_charging_enabled=s.off_peak and not new, off_peak_charging_times="all_week",
            scheduled_departure_time_minutes=None if new else s.departure_minutes,
            off_peak_hours_end_time=s.off_peak_end_minutes,
            preconditioning_enabled=s.preconditioning and not new, preconditioning_times="all_week",
            time_to_full_charge=round((s.limit - s.soc) / 100 * s.battery_kwh / power, 2) if power else 0.0,
            battery_range_km=round(s.soc / 100 * s.battery_kwh * 1000 / 150, 1), odometer_km=round(s.odometer_km, 1),
            latitude=s.latitude, longitude=s.longitude, charge_energy_added=round(s.energy_added_kwh, 2),
            car_version=s.firmware,
            charge_schedules=tuple(ChargeSchedule(**x) for x in s.schedules) if new else None)

    def wake(self, timeout_s: float = 30.0) -> bool:
        self.advance()
        self.calls.wakes += 1
        self._touch()
        self._save()
        return True

    def execute(self, command: Command) -> CommandResult:
        self.advance()
        self.calls.commands += 1
        if not self._awake():
            raise VehicleAsleep("vehicle unavailable: the simulated car is asleep")
        s, a = self.s, command.args
        self._touch()
        result = CommandResult(True)
        if command.name == "set_charging_amps":
            s.amps = max(0, min(int(a["charging_amps"]), s.max_amps))
        elif command.name == "set_charge_limit":
            percent = int(a["percent"])
            if not 50 <= percent <= 100:
                return CommandResult(False, "invalid charge limit")
            result = CommandResult(True, "already_set") if percent == s.limit else result
            s.limit = percent
        elif command.name in ("add_charge_schedule", "remove_charge_schedule") or (
                command.name == "set_scheduled_departure" and takes_schedules(s.firmware)):
            result = self._schedule_command(command.name, a)
        elif command.name == "set_scheduled_departure":
            s.scheduled_departure = bool(a.get("enable", True))
            s.departure_minutes = int(a.get("departure_time", s.departure_minutes))
            s.off_peak = bool(a.get("off_peak_charging_enabled", s.off_peak))
            s.off_peak_end_minutes = int(a.get("end_off_peak_time", s.off_peak_end_minutes))
            s.preconditioning = bool(a.get("preconditioning_enabled", s.preconditioning))
        elif command.name == "charge_start":
            if not s.plugged_in:
                return CommandResult(False, "disconnected")
            if s.charging:
                return CommandResult(True, "is_charging")
            if s.soc >= s.limit:
                return CommandResult(True, "complete")
            s.charging = True
            s.by_schedule = False
            s.schedule_paused_until = ""
        elif command.name == "charge_stop":
            if not s.charging:
                return CommandResult(True, "not_charging")
            s.charging = s.by_schedule = False
            s.schedule_paused_until = self._next_off_peak_end(self._now()).isoformat()
        else:
            raise VehicleError(f"the simulated car does not know the command {command.name}")
        self._save()
        return result
