"""What the two Tesla backends share: the vehicle_data JSON (the same in Owner and Fleet API), error text scrubbed
of secrets, and TeslaVehicle, the summary, snapshot and wake that both run the same way.

Why shared: Owner API and Fleet API return the same `vehicle_data` and command-reply shapes; only the transport,
the path ids, the errors and the sign-in differ, and only those are in clients/tesla_fleet.py and tesla_owner.py.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from charge_logic.models import ChargeSchedule, Command, VehicleSnapshot
from clients.vehicle import (
    BENIGN_REASONS,
    CallCounter,
    CommandProtocolRequired,
    CommandResult,
    VehicleAsleep,
    VehicleError,
    VehicleSummary,
)

Clock = Callable[[], datetime]

# The sections a charge decision needs; location_data gives the position on firmware 2023.38+ (Fleet API docs,
# "vehicle_data" endpoint) and only with the vehicle_location scope; charge_schedule_data lists the car's own charge
# schedules on firmware 2024.26+ (vehicle-command pkg/protocol/protobuf/vehicle.proto, ChargeScheduleState).
VEHICLE_DATA_ENDPOINTS = "charge_state;charge_schedule_data;location_data;vehicle_state"

# The commands the scheduler sends, named as in the Fleet API; the Owner API uses the same names and bodies.
COMMANDS = ("set_charging_amps", "set_charge_limit", "set_scheduled_departure", "set_scheduled_charging",
            "charge_start", "charge_stop", "add_charge_schedule", "remove_charge_schedule")

# tesla-http-proxy reports a car's refusal as HTTP 200 {"response": {"result": false, "reason": "car could not
# execute command: already_set"}} (pkg/vehicle/infotainment.go; pkg/proxy/proxy.go, writeJSONError with a
# NominalError); the security controller's say "vcsec could not execute command: ..." (pkg/protocol/error.go).
PROXY_REASON_PREFIXES = ("car could not execute command: ", "vcsec could not execute command: ")
# The Fleet API's REST command endpoint refuses an unsigned command to a car that takes only signed ones as HTTP 200
# {"response": {"result": false, "reason": "unsigned_cmds_hardlocked"}} (seen by TeslaSolarCharger,
# github.com/pkuehnel/TeslaSolarCharger, TeslaFleetApiService.HandleUnsignedCommands).
UNSIGNED_REFUSED = "unsigned_cmds_hardlocked"

KM_PER_MILE = 1.609344
AUTH_HINT = "run `python scheduler.py auth tesla`"
# The 403 body Tesla sends for unsigned commands (github.com/jankeesvw/omarchy-tesla/issues/8,
# github.com/teslamotors/vehicle-command/issues/76): "Tesla Vehicle Command Protocol required, please refer to ...".
PROTOCOL_MARKERS = ("vehicle command protocol required", "unsigned_cmds_hardlocked")
# Fleet API and tesla-http-proxy say this for a sleeping car, as a 408 (or, via the proxy, sometimes a 500).
ASLEEP_MARKERS = ("offline or asleep", "vehicle unavailable")
WAKE_MAX_S = 60.0  # a car may take up to a minute to come online after wake_up
SUMMARY_FRESH_S = 60.0  # a summary this young is trusted by snapshot() without asking again


def utc_now() -> datetime:
    return datetime.now(UTC)


def short_vin(vin: str) -> str:
    """The only form of a VIN that may appear in logs, errors and the state file."""
    return "…" + vin[-4:] if vin else "…"


class Scrubber:
    """Removes the VIN, the e-mail and any token from text before it goes into an error or a log."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def add(self, *values: str | None) -> None:
        self.secrets.update(v for v in values if v and len(v) >= 4)

    def __call__(self, text: object) -> str:
        out = str(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            out = out.replace(secret, short_vin(secret) if _looks_like_vin(secret) else "***")
        out = re.sub(r"(?i)(bearer\s+)[\w.\-~+/=]+", r"\1***", out)
        out = re.sub(r"\b[A-HJ-NPR-Z0-9]{17}\b", lambda m: short_vin(m.group(0)), out)
        out = re.sub(r"[\w.+-]+@[\w-]+\.[\w.-]+", "<email>", out)
        return " ".join(out.split())[:300]


def _looks_like_vin(value: str) -> bool:
    return re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", value) is not None


def error_text(body: Any) -> str:
    """The human part of a Tesla error body: {"response": null, "error": "...", "error_description": "..."}."""
    if isinstance(body, dict):
        parts = [str(body.get(k) or "") for k in ("error", "error_description", "message")]
        resp = body.get("response")
        if isinstance(resp, dict) and resp.get("reason"):
            parts.append(str(resp["reason"]))
        text = ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip())
        return text or json.dumps(body)[:200]
    return str(body or "")[:200]


def is_protocol_error(text: str) -> bool:
    low = text.lower()
    return any(m in low for m in PROTOCOL_MARKERS)


def is_asleep_error(text: str) -> bool:
    low = text.lower()
    return any(m in low for m in ASLEEP_MARKERS)


def summary_from_json(item: dict[str, Any]) -> VehicleSummary:
    state = str(item.get("state") or "offline")
    if state not in ("online", "asleep", "offline"):
        state = "offline"
    return VehicleSummary(vin_short=short_vin(str(item.get("vin") or "")),
                          display_name=str(item.get("display_name") or "Tesla"), state=state)


def pick_vehicle(items: Iterable[dict[str, Any]], vin: str) -> dict[str, Any] | None:
    """The configured car (by VIN), or the account's first car when no VIN is set."""
    items = [i for i in items if isinstance(i, dict) and i.get("vin")]
    if vin:
        return next((i for i in items if i.get("vin") == vin), None)
    return items[0] if items else None


def _num(d: dict[str, Any], key: str, kind: type = int) -> Any:
    value = d.get(key)
    if value is None or isinstance(value, bool) and kind is not bool:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _text(d: dict[str, Any], key: str) -> str | None:
    value = d.get(key)
    return value if isinstance(value, str) and value else None


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    """One part of vehicle_data; null or not an object: nothing known."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def snapshot_from_vehicle_data(data: dict[str, Any], clock: Clock) -> VehicleSnapshot:
    """Translate Tesla's vehicle_data response into our snapshot (miles to km, ms timestamps to datetimes)."""
    cs, ds, vs = (_section(data, k) for k in ("charge_state", "drive_state", "vehicle_state"))
    ts = cs.get("timestamp")
    read_at = datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, (int, float)) and ts > 0 else clock()
    rng = _num(cs, "battery_range", float)
    odo = _num(vs, "odometer", float)
    return VehicleSnapshot(
        vin_short=short_vin(str(data.get("vin") or "")),
        display_name=str(data.get("display_name") or vs.get("vehicle_name") or "Tesla"),
        state=str(data.get("state") or "online"),
        read_at=read_at,
        battery_level=_num(cs, "battery_level"),
        charge_limit_soc=_num(cs, "charge_limit_soc"),
        charge_limit_soc_min=_num(cs, "charge_limit_soc_min"),
        charge_limit_soc_max=_num(cs, "charge_limit_soc_max"),
        charging_state=_text(cs, "charging_state"),
        charge_current_request=_num(cs, "charge_current_request"),
        charge_current_request_max=_num(cs, "charge_current_request_max"),
        charger_actual_current=_num(cs, "charger_actual_current"),
        charger_voltage=_num(cs, "charger_voltage"),
        charger_phases=_num(cs, "charger_phases"),
        conn_charge_cable=cs.get("conn_charge_cable"),
        charge_port_door_open=cs.get("charge_port_door_open"),
        fast_charger_present=cs.get("fast_charger_present"),
        scheduled_charging_mode=cs.get("scheduled_charging_mode"),
        scheduled_charging_start_time_minutes=_num(cs, "scheduled_charging_start_time_minutes"),
        off_peak_charging_enabled=cs.get("off_peak_charging_enabled"),
        off_peak_charging_times=cs.get("off_peak_charging_times"),
        scheduled_departure_time_minutes=_num(cs, "scheduled_departure_time_minutes"),
        off_peak_hours_end_time=_num(cs, "off_peak_hours_end_time"),
        preconditioning_enabled=cs.get("preconditioning_enabled"),
        preconditioning_times=cs.get("preconditioning_times"),
        time_to_full_charge=_num(cs, "time_to_full_charge", float),
        charge_energy_added=_num(cs, "charge_energy_added", float),
        battery_range_km=round(rng * KM_PER_MILE, 1) if rng is not None else None,
        odometer_km=round(odo * KM_PER_MILE, 1) if odo is not None else None,
        latitude=_num(ds, "latitude", float),
        longitude=_num(ds, "longitude", float),
        car_version=_text(vs, "car_version"),
        charge_schedules=_schedules(data.get("charge_schedule_data")),
    )


def _schedules(section: Any) -> tuple[ChargeSchedule, ...] | None:
    """charge_schedule_data.charge_schedules (common.proto ChargeSchedule); None when the car sent no such section
    (firmware before 2024.26, or not asked)."""
    if not isinstance(section, dict):
        return None
    out = []
    for item in section.get("charge_schedules") or []:
        if not isinstance(item, dict) or _num(item, "id") is None:
            continue
        out.append(ChargeSchedule(
            id=_num(item, "id"), name=str(item.get("name") or ""), days_of_week=_num(item, "days_of_week") or 0,
            start_enabled=item.get("start_enabled") is True, start_time=_num(item, "start_time"),
            end_enabled=item.get("end_enabled") is True, end_time=_num(item, "end_time"),
            one_time=item.get("one_time") is True, enabled=item.get("enabled") is True,
            latitude=_num(item, "latitude", float), longitude=_num(item, "longitude", float)))
    return tuple(out)


def car_reason(reason: str) -> str:
    """The car's own word for a refusal, without tesla-http-proxy's "car could not execute command: " in front."""
    text = reason.strip()
    for prefix in PROXY_REASON_PREFIXES:
        if text.lower().startswith(prefix):
            return text[len(prefix):].strip()
    return text


def command_result(body: Any, protocol_help: str = "") -> CommandResult:
    """{"response": {"result": bool, "reason": str}} (pkg/proxy/proxy.go, carResponse); a benign reason
    ("already_set", "is_charging", ...) counts as done. An unsigned command refused in a 200 reply raises
    CommandProtocolRequired, as its 403 form does."""
    resp = body.get("response") if isinstance(body, dict) else None
    if not isinstance(resp, dict):
        return CommandResult(False, error_text(body) or "no response")
    reason = car_reason(str(resp.get("reason") or ""))
    if resp.get("result") is True:
        return CommandResult(True, reason)
    if reason == UNSIGNED_REFUSED or is_protocol_error(reason):
        raise CommandProtocolRequired(protocol_help or f"the car refused an unsigned command ({reason})")
    return CommandResult(reason in BENIGN_REASONS, reason or "refused")


class TeslaVehicle(ABC):
    """One car through a Tesla API: the Vehicle protocol (clients/vehicle.py) as both backends keep it. A backend
    says how to list the account's cars, read vehicle_data, send wake_up and a command; this class picks the car,
    trusts a young summary, refuses to read a car that is not online and bounds the wake. Counts billed calls in
    `calls`; never puts a token or the VIN in an error."""

    api_name = "Tesla API"  # in errors: "Fleet API", "Owner API"

    def __init__(self, *, vin: str, clock: Clock, sleep: Callable[[float], None]) -> None:
        self.vin = vin
        self.clock, self.sleep = clock, sleep
        self.calls = CallCounter()
        self.scrub = Scrubber()
        self.scrub.add(vin)
        self._last_summary: tuple[datetime, VehicleSummary] | None = None

    # ------------------------------------------------------------------ what a backend says
    @abstractmethod
    def _list_cars(self) -> list[dict[str, Any]]:
        """The account's cars (never wakes one; on the Fleet API billed as data), each with its vin, display_name and
        state."""

    @abstractmethod
    def _no_car(self) -> VehicleError:
        """The error when the account has no such car."""

    def _picked(self, item: dict[str, Any]) -> None:  # noqa: B027 - a hook; a backend that needs nothing skips it
        """The car was found in the list: keep what the backend needs of it (its id, its signing)."""

    @abstractmethod
    def _knows_the_car(self) -> bool:
        """The car's path id is known, so a remembered summary can be used without listing again."""

    @abstractmethod
    def _vehicle_data(self) -> dict[str, Any]:
        """The billed vehicle_data reply, {"response": {...}}."""

    @abstractmethod
    def _wake_up(self) -> dict[str, Any]:
        """The billed wake_up reply, {"response": {"state": ...}}."""

    @abstractmethod
    def execute(self, command: Command) -> CommandResult:
        """Billed; sends one command named as in charge_logic.models.Command. Benign replies count as ok."""

    # ------------------------------------------------------------------ the Vehicle protocol
    def summary(self) -> VehicleSummary:
        cars = self._list_cars()
        self.calls.summaries += 1
        item = pick_vehicle(cars, self.vin)
        if item is None:
            raise self._no_car()
        if not self.vin:
            self.vin = str(item["vin"])
            self.scrub.add(self.vin)
        summary = summary_from_json(item)
        self._last_summary = (self.clock(), summary)
        self._picked(item)
        return summary

    def snapshot(self) -> VehicleSnapshot:
        summary = self._fresh_summary()
        if summary.state != "online":
            raise VehicleAsleep(f"the car ({summary.vin_short}) is {summary.state}; not read")
        data = self._vehicle_data().get("response")
        if not isinstance(data, dict):
            raise VehicleError(f"{self.api_name} vehicle_data reply had no vehicle data")
        return snapshot_from_vehicle_data(data, self.clock)

    def wake(self, timeout_s: float = WAKE_MAX_S) -> bool:
        """Wake once (billed) and poll the list until online; bounded by timeout_s (at most 60 s: teslapy's own
        sync_wake_up would sleep that long with time.sleep)."""
        timeout_s = max(0.0, min(timeout_s, WAKE_MAX_S))
        if self._fresh_summary(max_age_s=0).state == "online":
            return True
        started, waited, interval = time.monotonic(), 0.0, 2.0
        if (self._wake_up().get("response") or {}).get("state") == "online":
            return True
        while waited + (time.monotonic() - started) < timeout_s:
            pause = min(interval, timeout_s - waited - (time.monotonic() - started))
            if pause <= 0:
                break
            self.sleep(pause)
            waited += pause
            interval = min(interval * 1.5, 8.0)
            if self.summary().state == "online":
                return True
        return False

    # ------------------------------------------------------------------ several cars of one account
    def list_cars(self) -> list[dict[str, Any]]:
        """The account's cars (free): clients/tesla_account.py lists once a tick for every car."""
        return self._list_cars()

    def no_car(self) -> VehicleError:
        return self._no_car()

    def point_at(self, vin: str, item: dict[str, Any] | None,
                 summary: tuple[datetime, VehicleSummary] | None) -> None:
        """The next calls are for the car `vin` (clients/tesla_account.py): its list entry and summary of this tick;
        without an entry the car is looked up in the list first, so no call ever goes to the car pointed at before."""
        self.vin = vin
        self.scrub.add(vin)
        self._last_summary = summary
        if item is not None:
            self._picked(item)
        else:
            self.summary()

    # ------------------------------------------------------------------ plumbing
    def _fresh_summary(self, max_age_s: float = SUMMARY_FRESH_S) -> VehicleSummary:
        if self._last_summary is not None and self._knows_the_car():
            at, summary = self._last_summary
            if 0 <= (self.clock() - at).total_seconds() < max_age_s:
                return summary
        return self.summary()

    def _count(self, billed: str) -> None:
        setattr(self.calls, billed, getattr(self.calls, billed) + 1)
