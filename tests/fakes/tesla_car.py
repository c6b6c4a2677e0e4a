"""One fake car behind two wire formats (Owner API, Fleet API), plus Tesla's OAuth token endpoint.

The car keeps its own clock: it sleeps after 15 idle minutes unless charging, wakes after a few polls once woken,
charges as `advance()` moves its clock, and changes its charge state on commands. The server logs every request
(FakeServer.log) and has switches for the failures a months-long run meets: 401, 403 command protocol, 408, 429
with Retry-After, 500, 503, a slow reply and a non-JSON body.

Wire formats follow Tesla's Fleet API docs and tesla-http-proxy (github.com/teslamotors/vehicle-command,
pkg/proxy/proxy.go): errors as {"response": null, "error": "...", "error_description": ""}, commands answer
{"response": {"result": bool, "reason": str}}; behind the proxy (FakeTesla.proxy) a car's refusal reads
"car could not execute command: <reason>" (pkg/vehicle/infotainment.go).

Firmware decides the schedule commands (`FakeCar(firmware=...)`): before 2024.26 the car keeps one scheduled departure
(set_scheduled_departure, read back as scheduled_charging_mode DepartBy); from 2024.26 it keeps a list of charge
schedules (add_charge_schedule / remove_charge_schedule, read as vehicle_data's charge_schedule_data, each with an
id, start/end minutes, a day mask, one_time and the place it applies at), follows the ones made out to where it is,
reads the old fields as Off/null, and adds another schedule for each set_scheduled_departure (vehicle-command issue
290).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from tests.fakes.http import FakeServer, Reply, Request

VIN = "5YJ3E7EB1NF123456"
ASLEEP_ERROR = "vehicle unavailable: vehicle is offline or asleep"
PROTOCOL_ERROR = ("Tesla Vehicle Command Protocol required, please refer to the documentation here: "
                  "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-"
                  "deprecation-warning")
KM_PER_MILE = 1.609344
LEGACY_FIRMWARE = "2024.14.9 d8a5a2e1c4f"
FIRMWARE_2026 = "2026.38.4 0b3fa07d5c2e"
PROXY_REFUSAL = "car could not execute command: "
# tesla-http-proxy's day names (pkg/proxy/command.go, dayNamesBitMask)
DAY_BITS = {"SUN": 1, "SUNDAY": 1, "MON": 2, "MONDAY": 2, "TUES": 4, "TUESDAY": 4, "WED": 8, "WEDNESDAY": 8,
            "THURS": 16, "THURSDAY": 16, "FRI": 32, "FRIDAY": 32, "SAT": 64, "SATURDAY": 64, "ALL": 127,
            "WEEKDAYS": 62}
SCHEDULE_PLACE_DEG = 0.002  # a schedule applies where the car is within about 200 m of its lat/lon


def new_firmware(version: str) -> bool:
    """2024.26 or later: the car takes charge schedules (developer.tesla.com/docs/fleet-api/support/announcements,
    2024-08-30)."""
    try:
        year, week = (int(x) for x in version.split()[0].split(".")[:2])
    except ValueError:
        return False
    return (year, week) >= (2024, 26)


class FakeCar:
    """A Model 3 in a garage; times are aware, the car's local zone decides its schedules."""

    def __init__(self, *, now: datetime | None = None, zone: str = "America/New_York", vin: str = VIN,
                 name: str = "Fakey", battery_level: float = 45.0, charge_limit: int = 80, plugged: bool = True,
                 state: str = "asleep", wake_polls: int = 2, sleep_after_min: float = 15.0,
                 battery_kwh: float = 75.0, voltage: int = 240, max_amps: int = 32,
                 firmware: str = LEGACY_FIRMWARE) -> None:
        self.now = now or datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
        self.zone = ZoneInfo(zone)
        self.vin, self.name = vin, name
        self.id = 1492931337
        self.battery = float(battery_level)
        self.limit = charge_limit
        self.plugged = plugged
        self.state = state  # online | asleep | offline
        self.wake_polls = wake_polls
        self.sleep_after = timedelta(minutes=sleep_after_min)
        self.battery_kwh, self.voltage, self.max_amps = battery_kwh, voltage, max_amps
        self.amps = max_amps
        self.want_charge = False
        self.scheduled_mode = "Off"  # Off | StartAt | DepartBy
        self.start_time_min = 0
        self.departure_min = 7 * 60 + 30
        self.off_peak = False
        self.off_peak_end_min = 6 * 60
        self.preconditioning = False
        self.preconditioning_times = "all_week"  # the weekday choice is kept while preconditioning is off
        self.odometer_mi = 12345.6
        self.lat, self.lon = 40.0, -75.0
        self._waking: int | None = None
        self.last_activity = self.now
        self.woken_times = 0
        self.asleep_reads = 0  # vehicle_data asked of a sleeping car
        self.energy_added = 0.0  # kWh since this plug-in: charge_state.charge_energy_added
        self.firmware = firmware
        self.command_signing = "allowed"  # the vehicle list's "off" | "allowed" | "required"
        self.schedules: list[dict[str, Any]] = []  # charge_schedule_data.charge_schedules (new firmware)
        self.owner_ids: set[int] = set()  # schedules the owner made in the app
        self.owner_touched = 0  # commands that changed or removed one of them
        self.by_schedule = False  # charging because one of its schedules started it
        self.schedule_starts: list[tuple[datetime, int]] = []  # (when, schedule id) each time a schedule started

    @property
    def takes_schedules(self) -> bool:
        return new_firmware(self.firmware)

    def owner_schedule(self, **fields: Any) -> dict[str, Any]:
        """A schedule the owner made in the Tesla app (days_of_week as the mask)."""
        item = {"id": int(self.now.timestamp()) - 86400 * (1 + len(self.owner_ids)), "name": "", "days_of_week": 127,
                "start_enabled": False, "start_time": 0, "end_enabled": False, "end_time": 0, "one_time": False,
                "enabled": True, "latitude": self.lat, "longitude": self.lon, **fields}
        self.schedules.append(item)
        self.owner_ids.add(item["id"])
        return item

    # ------------------------------------------------------------------ what the owner does
    def plug_in(self) -> None:
        self.plugged = True
        self.energy_added = 0.0
        self.by_schedule = False
        if self.takes_schedules:  # a car with a schedule for this place waits for it, unless it is under way
            here = [x for x in self.schedules if x["enabled"] and x["start_enabled"] and self._here(x)]
            self.want_charge = not here or any(self._inside(x) for x in here)
            self.by_schedule = bool(here) and self.want_charge
        else:
            self.want_charge = self.scheduled_mode == "Off"
        self._activity()
        if self.state == "asleep":
            self.state = "online"  # plugging in wakes a Tesla

    def unplug(self) -> None:
        self.plugged = False
        self.want_charge = False
        self._activity()

    def drive(self, km: float, wh_per_km: float = 170.0) -> None:
        self.battery = max(0.0, self.battery - km * wh_per_km / 1000 / self.battery_kwh * 100)
        self.odometer_mi += km / KM_PER_MILE
        self._activity()

    # ------------------------------------------------------------------ time
    def advance(self, delta: timedelta | float) -> None:
        """Move the car's clock (seconds or a timedelta) a minute at a time: it charges, follows its schedule and
        falls asleep as a car would."""
        end = self.now + (delta if isinstance(delta, timedelta) else timedelta(seconds=delta))
        while self.now < end:
            step = min(timedelta(minutes=1), end - self.now)
            self._follow_schedule()
            if self.charging_state == "Charging":
                kwh = self.power_kw * step.total_seconds() / 3600
                battery = min(100.0, self.battery + kwh / self.battery_kwh * 100)
                self.energy_added += (battery - self.battery) / 100 * self.battery_kwh
                self.battery = battery
                self.last_activity = self.now + step
            self.now += step
            if self.state == "online" and self.now - self.last_activity >= self.sleep_after:
                self.state = "asleep"

    def _local_minutes(self) -> int:
        local = self.now.astimezone(self.zone)
        return local.hour * 60 + local.minute

    def _here(self, x: dict[str, Any]) -> bool:
        return (abs(float(x.get("latitude") or 0) - self.lat) <= SCHEDULE_PLACE_DEG
                and abs(float(x.get("longitude") or 0) - self.lon) <= SCHEDULE_PLACE_DEG)

    def _day_bit(self, days_back: int = 0) -> int:
        local = (self.now.astimezone(self.zone) - timedelta(days=days_back))
        return 1 << ((local.weekday() + 1) % 7)  # Sunday 1, Monday 2 ... Saturday 64

    def _inside(self, x: dict[str, Any]) -> bool:
        """Now is between the schedule's start and end (an end before the start is on the next day)."""
        minute, start, end = self._local_minutes(), x["start_time"], x["end_time"] if x["end_enabled"] else None
        if end is None or end == start:
            return False
        if start < end:
            return start <= minute < end and bool(x["days_of_week"] & self._day_bit())
        if minute >= start:
            return bool(x["days_of_week"] & self._day_bit())
        return minute < end and bool(x["days_of_week"] & self._day_bit(1))

    def _follow_schedules(self) -> None:
        """New firmware: a schedule made out to where the car is starts charging at its start, on its days, and
        stops it at its end; a one-time schedule is gone once it ran."""
        minute = self._local_minutes()
        for x in list(self.schedules):
            if not (x["enabled"] and self._here(x)):
                continue
            if x["start_enabled"] and minute == x["start_time"] and x["days_of_week"] & self._day_bit() and \
                    self.plugged and not self.want_charge and self.battery < self.limit:
                self.want_charge = self.by_schedule = True
                self.schedule_starts.append((self.now, x["id"]))
                if self.state != "online":
                    self.state = "online"
                    self._activity()
            if x["end_enabled"] and minute == x["end_time"]:
                if self.by_schedule and self.want_charge:
                    self.want_charge = self.by_schedule = False
                if x["one_time"]:
                    self.schedules.remove(x)

    def _follow_schedule(self) -> None:
        if self.takes_schedules:
            self._follow_schedules()
            return
        if not self.plugged or self.want_charge or self.battery >= self.limit:
            return
        minute = self._local_minutes()
        start = None
        if self.scheduled_mode == "StartAt":
            start = self.start_time_min
        elif self.scheduled_mode == "DepartBy" and self.off_peak:
            need_h = (self.limit - self.battery) / 100 * self.battery_kwh / max(self.power_at(self.amps), 0.1)
            start = (self.off_peak_end_min - int(need_h * 60) - 15) % 1440
        if start is not None and minute == start:
            self.want_charge = True
            if self.state != "online":
                self.state = "online"
            self._activity()

    # ------------------------------------------------------------------ derived state
    def power_at(self, amps: int) -> float:
        return amps * self.voltage / 1000

    @property
    def power_kw(self) -> float:
        return self.power_at(self.amps) if self.charging_state == "Charging" else 0.0

    @property
    def charging_state(self) -> str:
        if not self.plugged:
            return "Disconnected"
        if self.battery >= self.limit:
            return "Complete"
        return "Charging" if self.want_charge else "Stopped"

    def _activity(self) -> None:
        self.last_activity = self.now

    # ------------------------------------------------------------------ what the API sees
    def summary(self, id_key: str) -> dict[str, Any]:
        self._poll()
        return {"id": self.id, "vehicle_id": 1234567, "vin": self.vin, "display_name": self.name,
                "state": self.state, "in_service": False, "id_s": str(self.id), "calendar_enabled": True,
                "api_version": 71, "access_type": "OWNER", "color": None, "tokens": None,
                "backseat_token": None, "backseat_token_updated_at": None, "command_signing": self.command_signing}

    def request_wake(self) -> None:
        if self.state == "asleep" and self._waking is None:
            self._waking = self.wake_polls

    def _poll(self) -> None:
        if self._waking is None:
            return
        if self._waking <= 0:
            self._waking = None
            self.state = "online"
            self.woken_times += 1
            self._activity()
        else:
            self._waking -= 1

    def vehicle_data(self, endpoints: str | None) -> dict[str, Any]:
        self._activity()
        ts = int(self.now.timestamp() * 1000)
        cs = {
            "battery_level": int(self.battery), "usable_battery_level": int(self.battery),
            "battery_range": round(self.battery / 100 * 310, 2), "charge_limit_soc": self.limit,
            "charge_limit_soc_min": 50, "charge_limit_soc_max": 100, "charge_limit_soc_std": 90,
            "charging_state": self.charging_state, "charge_current_request": self.amps,
            "charge_current_request_max": self.max_amps,
            "charger_actual_current": self.amps if self.charging_state == "Charging" else 0,
            "charger_voltage": self.voltage if self.charging_state == "Charging" else 2,
            "charger_phases": 1 if self.plugged else None,
            "charger_power": round(self.power_kw),
            "conn_charge_cable": "SAE" if self.plugged else "<invalid>",
            "charge_port_door_open": self.plugged, "fast_charger_present": False,
            "scheduled_charging_mode": self.scheduled_mode,
            "scheduled_charging_pending": self.scheduled_mode != "Off" and not self.want_charge,
            "scheduled_charging_start_time_minutes": self.start_time_min if self.scheduled_mode == "StartAt"
            else None,
            "scheduled_departure_time_minutes": self.departure_min,
            "off_peak_charging_enabled": self.off_peak, "off_peak_charging_times": "all_week",
            "off_peak_hours_end_time": self.off_peak_end_min,
            "preconditioning_enabled": self.preconditioning, "preconditioning_times": self.preconditioning_times,
            "time_to_full_charge": round((self.limit - self.battery) / 100 * self.battery_kwh / self.power_kw, 2)
            if self.power_kw and self.battery < self.limit else 0.0,
            "charge_energy_added": round(self.energy_added, 2), "timestamp": ts,
        }
        if self.takes_schedules:  # the old fields no longer say what the car will do (vehicle-command issue 290)
            cs.update(scheduled_charging_mode="Off", scheduled_charging_pending=False,
                      scheduled_charging_start_time=None, scheduled_charging_start_time_minutes=None,
                      scheduled_departure_time=None, scheduled_departure_time_minutes=None,
                      off_peak_charging_enabled=False, preconditioning_enabled=False)
        data: dict[str, Any] = {k: v for k, v in self.summary("vin").items()}
        sections = {
            "charge_state": cs,
            "location_data": ("drive_state", {"latitude": self.lat, "longitude": self.lon, "heading": 90,
                                              "gps_as_of": ts // 1000, "timestamp": ts}),
            "vehicle_state": {"odometer": round(self.odometer_mi, 1), "vehicle_name": self.name,
                              "car_version": self.firmware, "timestamp": ts},
        }
        if self.takes_schedules:
            sections["charge_schedule_data"] = {
                "charge_schedules": [dict(x) for x in self.schedules], "charge_schedule_window": None,
                "charge_buffer": 0, "max_num_charge_schedules": 10, "next_schedule": False, "timestamp": ts}
        wanted = (endpoints or "charge_state;location_data;vehicle_state").split(";")
        for name, value in sections.items():
            if name in wanted:
                key, val = value if isinstance(value, tuple) else (name, value)
                data[key] = val
        return data

    def command(self, name: str, args: dict[str, Any]) -> tuple[bool, str]:  # noqa: C901 - one branch per command
        """Apply one command; (result, reason) as the car answers."""
        self._activity()
        if name == "set_charging_amps":
            amps = int(args.get("charging_amps", 0))
            if amps == self.amps:
                return True, "already_set"
            self.amps = max(0, min(self.max_amps, amps))
            return True, ""
        if name == "set_charge_limit":
            pct = int(args.get("percent", 0))
            if pct == self.limit:
                return False, "already_set"
            if not 50 <= pct <= 100:
                return False, "invalid_value"
            self.limit = pct
            return True, ""
        if name == "charge_start":
            if not self.plugged:
                return False, "disconnected"
            if self.battery >= self.limit:
                return False, "complete"
            if self.want_charge:
                return False, "is_charging"
            self.want_charge = True
            return True, ""
        if name == "charge_stop":
            if self.charging_state != "Charging":
                return False, "not_charging"
            self.want_charge = False
            return True, ""
        if name == "set_scheduled_charging":
            self.scheduled_mode = "StartAt" if args.get("enable") else "Off"
            self.start_time_min = int(args.get("time") or 0)
            return True, ""
        if name in ("add_charge_schedule", "remove_charge_schedule"):
            if not self.takes_schedules:
                return False, "not_supported"
            return self._schedule_command(name, args)
        if name == "set_scheduled_departure" and self.takes_schedules:
            if args.get("enable", True):  # each call adds one more schedule (vehicle-command issue 290)
                end = int(args.get("end_off_peak_time", 0))
                self.schedules.append({"id": int(self.now.timestamp()) + len(self.schedules), "name": "",
                                       "days_of_week": 127, "start_enabled": False, "start_time": 0,
                                       "end_enabled": True, "end_time": end, "one_time": False, "enabled": True,
                                       "latitude": self.lat, "longitude": self.lon})
            return True, ""
        if name == "set_scheduled_departure":
            if not args.get("enable", True):
                self.scheduled_mode = "Off"
                return True, ""
            self.scheduled_mode = "DepartBy"
            self.departure_min = int(args.get("departure_time", self.departure_min))
            self.off_peak = bool(args.get("off_peak_charging_enabled", self.off_peak))
            self.off_peak_end_min = int(args.get("end_off_peak_time", self.off_peak_end_min))
            # the proxy's policy: weekdays_only means on (weekdays), whatever *_enabled says
            # (vehicle-command pkg/proxy/command.go, getPolicy)
            self.preconditioning = bool(args.get("preconditioning_enabled")) or bool(
                args.get("preconditioning_weekdays_only"))
            self.off_peak = bool(args.get("off_peak_charging_enabled")) or bool(
                args.get("off_peak_charging_weekdays_only"))
            return True, ""
        return False, "unknown command"

    def _schedule_command(self, name: str, args: dict[str, Any]) -> tuple[bool, str]:
        """add_charge_schedule / remove_charge_schedule as tesla-http-proxy takes them (pkg/proxy/command.go): lat,
        lon, days_of_week (names), start_enabled, end_enabled and enabled required; no id (or 0) makes a new one with
        the time as its id, an id replaces that schedule."""
        sid = int(args.get("id") or 0)
        if name == "remove_charge_schedule":
            if sid in self.owner_ids:
                self.owner_touched += 1
            self.schedules = [x for x in self.schedules if x["id"] != sid]
            return True, ""
        try:
            mask = 0
            for day in str(args["days_of_week"]).split(","):
                mask |= DAY_BITS[day.strip().upper()]
            item = {"id": sid or int(self.now.timestamp()), "name": "", "days_of_week": mask,
                    "start_enabled": bool(args["start_enabled"]), "start_time": int(args.get("start_time") or 0),
                    "end_enabled": bool(args["end_enabled"]), "end_time": int(args.get("end_time") or 0),
                    "one_time": bool(args.get("one_time", False)), "enabled": bool(args["enabled"]),
                    "latitude": _float32(args["lat"]), "longitude": _float32(args["lon"])}
        except (KeyError, ValueError, TypeError):
            return False, "invalid_value"
        if item["id"] in self.owner_ids:
            self.owner_touched += 1
        old = next((i for i, x in enumerate(self.schedules) if x["id"] == item["id"]), None)
        if old is None and len(self.schedules) >= 10:
            return False, "too_many_schedules"
        if old is None:
            self.schedules.append(item)
        else:
            self.schedules[old] = item
        self._schedules_changed()
        return True, ""

    def _schedules_changed(self) -> None:
        """A car charging outside every schedule made out to where it is stops when its schedules change, and waits
        for them, as it does when plugged in there (our reading: TeslaSolarCharger issue 714, a charge under way stopped
        by the car when a scheduled start later than now was set; the 2024.26+ schedules are taken to do the same)."""
        here = [x for x in self.schedules if x["enabled"] and x["start_enabled"] and self._here(x)]
        if self.plugged and self.want_charge and here and not any(self._inside(x) for x in here):
            self.want_charge = self.by_schedule = False


@dataclass
class Fault:
    kind: str  # "401" "401_mobile" "402" "403" "403_scopes" "403_owner_closed" "408" "412" "421" "429" "451" "500"
    # "503" "slow" "non_json"
    path_re: str | None
    times: int
    retry_after: float = 1.0
    delay_s: float = 2.0


@dataclass
class TokenStore:
    """Tesla's OAuth server, reduced: authorization codes, access tokens, rotating refresh tokens."""

    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)  # code -> client_id
    challenges: dict[str, str] = field(default_factory=dict)  # code -> PKCE code_challenge (S256)
    expires_in: int = 28800

    def issue(self) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_hex(12), "rt-" + secrets.token_hex(12)
        self.access.add(access)
        self.refresh.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "id_token": "idt-" + secrets.token_hex(6),
                "expires_in": self.expires_in, "state": "", "token_type": "Bearer"}


class FakeTesla(FakeServer):
    """The API both fakes speak; subclasses choose how a car is named in paths (VIN or Owner API id)."""

    id_key = "vin"
    proxy_default = False

    def __init__(self, car: FakeCar | None = None) -> None:
        super().__init__()
        self.car = car or FakeCar()
        self.others: list[FakeCar] = []  # more cars of the account (several cars: each named by its own VIN)
        self.tokens = TokenStore()
        self.faults: list[Fault] = []
        self.commands_need_signing = False  # a Model 3/Y behind the plain REST endpoints: 403
        self.unsigned_hardlocked = False  # ...the same car answering 200 "unsigned_cmds_hardlocked"
        self.proxy = self.proxy_default  # tesla-http-proxy in front: refusals read "car could not execute command: .."
        self.location_scope = True  # the token was granted vehicle_location
        self.client_id = "fleet-client-id"
        self.client_secret = "fleet-client-secret"
        self.route("POST", r"/oauth2/v3/token", self._token)
        self.route("GET", r"/oauth2/v3/authorize", self._authorize)
        self.route("GET", r"/api/1/vehicles", self._list)
        self.route("GET", r"/api/1/vehicles/(?P<cid>[^/]+)", self._summary)
        self.route("GET", r"/api/1/vehicles/(?P<cid>[^/]+)/vehicle_data", self._vehicle_data)
        self.route("POST", r"/api/1/vehicles/(?P<cid>[^/]+)/wake_up", self._wake)
        self.route("POST", r"/api/1/vehicles/(?P<cid>[^/]+)/command/(?P<name>\w+)", self._command)
        self._initial_routes = list(self.routes)

    def reset(self, car: FakeCar | None = None) -> FakeTesla:
        """A fresh car, tokens, log and switches on the running server (tests share one server per module: the
        base class takes half a second to stop)."""
        with self.lock:
            self.car = car or FakeCar()
            self.others = []
            self.tokens = TokenStore()
            self.faults.clear()
            self.log.clear()
            self.commands_need_signing = self.unsigned_hardlocked = False
            self.proxy = type(self).proxy_default
            self.location_scope = True
            self.routes = list(self._initial_routes)
        return self

    # ------------------------------------------------------------------ switches
    def fail(self, kind: str, times: int = 1, path: str | None = None, *, retry_after: float = 1.0,
             delay_s: float = 2.0) -> None:
        """The next `times` requests whose path matches `path` (a regex; default: any API path) fail as `kind`."""
        self.faults.append(Fault(kind, path, times, retry_after, delay_s))

    def grant(self) -> dict[str, Any]:
        """A signed-in user's tokens (what `auth tesla` would have saved)."""
        return self.tokens.issue()

    def issue_code(self, client_id: str = "ownerapi") -> str:
        """The user signed in at the authorize page: the code Tesla puts in the redirect."""
        code = "code-" + secrets.token_hex(8)
        self.tokens.codes[code] = client_id
        return code

    def expire_access_tokens(self) -> None:
        self.tokens.access.clear()

    def revoke_refresh_tokens(self) -> None:
        self.tokens.refresh.clear()

    # ------------------------------------------------------------------ billing, from the log
    def billed(self) -> dict[str, int]:
        """Fleet API's billing categories, counted from the request log: every reply below 500 is billed
        (developer.tesla.com/docs/fleet-api/billing-and-limits)."""
        with self.lock:
            log = [r for r in self.log if r.status < 500]
        out = {"data": 0, "commands": 0, "wakes": 0, "summaries": 0}
        for r in log:
            if r.path.endswith("/vehicle_data"):
                out["data"] += 1
            elif "/command/" in r.path:
                out["commands"] += 1
            elif r.path.endswith("/wake_up"):
                out["wakes"] += 1
            elif r.path.startswith(("/api/1/vehicles", "/api/1/products")):
                out["summaries"] += 1
        return out

    # ------------------------------------------------------------------ plumbing
    def dispatch(self, req: Request) -> Reply:
        fault = self._take_fault(req)
        if fault is not None:
            reply = self._fault_reply(fault)
            if fault.kind != "slow":
                return reply
            normal = super().dispatch(req)
            normal.delay_s = fault.delay_s
            return normal
        return super().dispatch(req)

    def _take_fault(self, req: Request) -> Fault | None:
        import re

        for fault in self.faults:
            default = r"^/api/" if fault.kind != "403" else r"/command/"
            if fault.times > 0 and re.search(fault.path_re or default, req.path):
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _error(status: int, error: str, headers: dict[str, str] | None = None) -> Reply:
        return Reply(status, {"response": None, "error": error, "error_description": ""}, headers or {})

    def _fault_reply(self, f: Fault) -> Reply:
        if f.kind == "401":
            return self._error(401, "invalid bearer token")
        if f.kind == "403":
            return self._error(403, PROTOCOL_ERROR)
        if f.kind == "408":
            return self._error(408, ASLEEP_ERROR)
        if f.kind == "429":
            return self._error(429, "Too Many Requests", {"Retry-After": f"{f.retry_after:g}"})
        if f.kind == "421":  # the account lives in another region (the proxy follows this; a direct client must not)
            return self._error(421, "user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com, "
                                    "see https://developer.tesla.com/docs/fleet-api#response-codes")
        if f.kind == "402":  # the app has no payment method or hit its billing limit
            return self._error(402, "Payment is required in order to use the API (non-free account only).")
        if f.kind == "412":  # as Tesla words it (github.com/teslamotors/vehicle-command/issues/195)
            return self._error(412, "Account 8f3a-4c2e must be registered in the current region "
                                    "https://fleet-api.prd.na.vn.cloud.tesla.com/, please see "
                                    "https://developer.tesla.com/docs/fleet-api#register")
        if f.kind == "451":  # tesla_fleet_api's ResourceUnavailableForLegalReasons
            return self._error(451, "Querying for a user/vehicle without proper privacy settings.")
        if f.kind == "401_mobile":  # tesla_fleet_api's MobileAccessDisabled
            return Reply(401, {"response": None, "error": "mobile_access_disabled",
                               "error_description": "The vehicle has turned off remote access."})
        if f.kind == "403_scopes":  # developer.tesla.com/docs/fleet-api/support/faq
            return self._error(403, "Unauthorized missing scopes")
        if f.kind == "403_owner_closed":  # the Owner API's answer to many tokens since mid-2026 (issue 15)
            return self._error(403, "This endpoint is not available for this token, see "
                                    "developer.tesla.com/docs/fleet-api")
        if f.kind == "500":
            return self._error(500, "internal server error")
        if f.kind == "503":
            return self._error(503, "upstream internal error")
        if f.kind == "non_json":
            return Reply(200, "<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"})
        return Reply(200)  # "slow": replaced by the normal reply, late

    def _authed(self, req: Request) -> Reply | None:
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens.access:
            return self._error(401, "invalid bearer token")
        return None

    @property
    def cars(self) -> list[FakeCar]:
        return [self.car, *self.others]

    def _car(self, cid: str) -> FakeCar:
        """The car a path names (the first when none matches: _guarded has refused those already)."""
        for car in self.cars:
            if cid in ((car.vin, str(car.id)) if self.id_key == "vin" else (str(car.id),)):
                return car
        return self.car

    def _find(self, cid: str) -> bool:
        return any(cid in ((car.vin, str(car.id)) if self.id_key == "vin" else (str(car.id),)) for car in self.cars)

    def _guarded(self, req: Request, cid: str | None = None) -> Reply | None:
        denied = self._authed(req)
        if denied is not None:
            return denied
        if cid is not None and not self._find(cid):
            return self._error(404, "not_found")
        return None

    def _list(self, req: Request) -> Reply:
        cars = self.cars
        return self._guarded(req) or Reply(200, {"response": [car.summary(self.id_key) for car in cars],
                                                 "pagination": {"previous": None, "next": None, "current": 1,
                                                                "per_page": 2, "count": len(cars), "pages": 1},
                                                 "count": len(cars)})

    def _summary(self, req: Request, cid: str) -> Reply:
        return self._guarded(req, cid) or Reply(200, {"response": self._car(cid).summary(self.id_key)})

    def _vehicle_data(self, req: Request, cid: str) -> Reply:
        denied = self._guarded(req, cid)
        if denied:
            return denied
        car = self._car(cid)
        if car.state != "online":
            car.asleep_reads += 1
            return self._error(408, ASLEEP_ERROR)
        data = car.vehicle_data((req.query.get("endpoints") or [None])[0])
        if not self.location_scope and isinstance(data.get("drive_state"), dict):  # no vehicle_location: no place
            for key in ("latitude", "longitude", "heading", "native_latitude", "native_longitude"):
                data["drive_state"].pop(key, None)
        return Reply(200, {"response": data})

    def _wake(self, req: Request, cid: str) -> Reply:
        denied = self._guarded(req, cid)
        if denied:
            return denied
        car = self._car(cid)
        car.request_wake()
        return Reply(200, {"response": car.summary(self.id_key)})

    def _command(self, req: Request, cid: str, name: str) -> Reply:
        denied = self._guarded(req, cid)
        if denied:
            return denied
        if self.commands_need_signing:
            return self._error(403, PROTOCOL_ERROR)
        if self.unsigned_hardlocked:
            return Reply(200, {"response": {"result": False, "reason": "unsigned_cmds_hardlocked"}})
        car = self._car(cid)
        if car.state != "online":
            return self._error(408, ASLEEP_ERROR)
        try:
            args = req.json() or {}
        except ValueError:
            return self._error(400, "invalid json")
        result, reason = car.command(name, args)
        if self.proxy:  # pkg/proxy/proxy.go: success is result true, reason ""; a refusal is a NominalError
            if result and not reason:
                return Reply(200, {"response": {"result": True, "reason": ""}})
            return Reply(200, {"response": {"result": False, "reason": PROXY_REFUSAL + reason}, "error": "",
                               "error_description": ""})
        return Reply(200, {"response": {"result": result, "reason": reason}})

    def _authorize(self, req: Request) -> Reply:
        return Reply(200, "<html><body>Sign in to Tesla</body></html>", {"Content-Type": "text/html"})

    def _token(self, req: Request) -> Reply:
        ctype = req.headers.get("Content-Type", "")
        if "json" in ctype:
            form = {k: str(v) for k, v in (req.json() or {}).items()}
        else:
            form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        grant = form.get("grant_type")
        bad = Reply(401, {"error": "invalid_grant", "error_description": "The refresh_token is invalid"})
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.tokens.refresh or not form.get("client_id"):
                return bad
            self.tokens.refresh.discard(token)  # Tesla rotates refresh tokens
            return Reply(200, self.tokens.issue())
        if grant == "authorization_code":
            code = form.get("code", "")
            client = self.tokens.codes.pop(code, None)
            if client is None or client != form.get("client_id"):
                return Reply(400, {"error": "invalid_grant", "error_description": "The authorization code is invalid"})
            challenge = self.tokens.challenges.pop(code, None)
            if challenge is not None and _s256(form.get("code_verifier", "")) != challenge:
                return Reply(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
            if client != "ownerapi" and form.get("client_secret") != self.client_secret:
                return Reply(401, {"error": "invalid_client", "error_description": "client authentication failed"})
            return Reply(200, self.tokens.issue())
        return Reply(400, {"error": "unsupported_grant_type", "error_description": str(grant)})

    def redirect_url(self, authorize_url: str, redirect_uri: str, client_id: str) -> str:
        """What the browser lands on after the user signs in at `authorize_url`."""
        query = parse_qs(authorize_url.split("?", 1)[1])
        code = self.issue_code(client_id)
        if "code_challenge" in query:
            self.tokens.challenges[code] = query["code_challenge"][0]
        return redirect_uri + "?" + urlencode({"code": code, "state": query.get("state", [""])[0],
                                               "issuer": self.url + "/oauth2/v3"})


def _float32(value: Any) -> float:
    """The proxy sends lat/lon to the car as float32 (pkg/proxy/command.go): they come back a little off."""
    return struct.unpack("f", struct.pack("f", float(value)))[0]


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
