"""The values the pure core takes and gives back.

These are the project's own types: clients translate Tesla, Google and GridStatus JSON into them, so the rules never
see a vendor's wire format and tests can build inputs by hand. Every datetime here is timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# Charging states as Tesla reports them in charge_state.charging_state.
CHARGING = "Charging"
STARTING = "Starting"
STOPPED = "Stopped"
COMPLETE = "Complete"
DISCONNECTED = "Disconnected"
NO_POWER = "NoPower"


@dataclass(frozen=True)
class ChargeSchedule:
    """One of the car's own charge schedules (firmware 2024.26+), as vehicle_data's charge_schedule_data lists it
    (teslamotors/vehicle-command, pkg/protocol/protobuf/common.proto, ChargeSchedule). Times are minutes after
    local midnight; days_of_week is a bit mask, Sunday 1, Monday 2 ... Saturday 64 (pkg/proxy/command.go)."""

    id: int
    name: str = ""
    days_of_week: int = 127
    start_enabled: bool = False
    start_time: int | None = None
    end_enabled: bool = False
    end_time: int | None = None
    one_time: bool = False
    enabled: bool = True
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class VehicleSnapshot:
    """What the car last told us. Charge fields are None when only the free summary was read (car asleep)."""

    vin_short: str  # never the full VIN: "…" + last 4
    display_name: str
    state: str  # "online" | "asleep" | "offline"
    read_at: datetime | None = None  # when the charge fields were read; None = never/unknown
    battery_level: int | None = None
    charge_limit_soc: int | None = None
    charge_limit_soc_min: int | None = None
    charge_limit_soc_max: int | None = None
    charging_state: str | None = None
    charge_current_request: int | None = None
    charge_current_request_max: int | None = None
    charger_actual_current: int | None = None
    charger_voltage: int | None = None
    charger_phases: int | None = None
    conn_charge_cable: str | None = None
    charge_port_door_open: bool | None = None
    fast_charger_present: bool | None = None
    scheduled_charging_mode: str | None = None  # "Off" | "StartAt" | "DepartBy"
    scheduled_charging_start_time_minutes: int | None = None
    off_peak_charging_enabled: bool | None = None
    off_peak_charging_times: str | None = None  # "all_week" | "weekdays"
    scheduled_departure_time_minutes: int | None = None  # minutes after local midnight
    off_peak_hours_end_time: int | None = None  # minutes after local midnight
    preconditioning_enabled: bool | None = None
    preconditioning_times: str | None = None
    time_to_full_charge: float | None = None  # hours
    charge_energy_added: float | None = None  # kWh into the battery since this plug-in, as the car counts it
    battery_range_km: float | None = None
    odometer_km: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    car_version: str | None = None  # firmware, "2026.38.4 abc123"
    charge_schedules: tuple[ChargeSchedule, ...] | None = None  # None: the car has none to report (pre-2024.26)

    @property
    def plugged_in(self) -> bool | None:
        """None when unknown (never read); a cable or a non-Disconnected state means plugged in."""
        if self.charging_state is None and self.conn_charge_cable is None:
            return None
        if self.charging_state == DISCONNECTED:
            return False
        if self.conn_charge_cable not in (None, "", "<invalid>"):
            return True
        return self.charging_state is not None and self.charging_state != DISCONNECTED

    @property
    def charging(self) -> bool:
        return self.charging_state in (CHARGING, STARTING)


@dataclass(frozen=True)
class ForecastPoint:
    """One hour of forecast grid load; `start` is the hour's start (aware, usually UTC)."""

    start: datetime
    load_mw: float


@dataclass(frozen=True)
class CalendarEvent:
    """A calendar event, normalized from Google Calendar or iCal."""

    uid: str
    summary: str
    start: datetime
    end: datetime
    all_day: bool = False
    location: str | None = None


@dataclass(frozen=True)
class Route:
    """The drive from home to a place, one way."""

    distance_km: float
    drive_minutes: float


@dataclass(frozen=True)
class Trip:
    """An event with the drive to it; route is None when the distance is unknown (no key, not a place, error)."""

    event: CalendarEvent
    route: Route | None = None
    note: str | None = None  # why the route is missing, for the reasons
    virtual: bool = False  # an online meeting (a URL, "Zoom", "Teams"): nobody drives to it


@dataclass(frozen=True)
class DriverEstimate:
    """What the driver said of this plug-in (`scheduler.py leave`, or a workplace app's typed estimate): when they
    expect to leave and how much they want. A hint the planner weighs against how such estimates turned out."""

    departure: datetime | None = None
    energy_kwh: float | None = None


@dataclass(frozen=True)
class ChargeWindow:
    """Charge at `amps` from start to end (aware datetimes)."""

    start: datetime
    end: datetime
    amps: int


class CommandName(StrEnum):
    """The car commands the rules send, named as in the Tesla Fleet API (a str: JSON and the clients see the name)."""

    SET_CHARGING_AMPS = "set_charging_amps"
    SET_CHARGE_LIMIT = "set_charge_limit"
    SET_SCHEDULED_DEPARTURE = "set_scheduled_departure"
    SET_SCHEDULED_CHARGING = "set_scheduled_charging"
    CHARGE_START = "charge_start"
    CHARGE_STOP = "charge_stop"
    ADD_CHARGE_SCHEDULE = "add_charge_schedule"
    REMOVE_CHARGE_SCHEDULE = "remove_charge_schedule"


class Mode(StrEnum):
    """What a decision does, for the dashboard and the history (a str in state.json)."""

    # guards: no commands
    NO_VEHICLE_DATA = "no_vehicle_data"
    NO_CHARGE_DATA = "no_charge_data"
    SUPERCHARGING = "supercharging"
    NOT_AT_HOME = "not_at_home"
    LOCATION_UNKNOWN = "location_unknown"
    NOT_PLUGGED_IN = "not_plugged_in"
    NO_POWER = "no_power"
    # charging now at full power
    CHARGE_NOW_LOW_SOC = "charge_now_low_soc"
    CHARGE_NOW_FULL = "charge_now_full"
    CHARGE_NOW_TRIP = "charge_now_trip"
    # the seed rules: the car's off-peak schedule charges it by departure
    SCHEDULED = "scheduled"
    # following the planner's windows (inside one / between them)
    PLAN_CHARGING = "plan_charging"
    PLAN_WAITING = "plan_waiting"


@dataclass(frozen=True)
class Command:
    """One car command with its JSON body."""

    name: CommandName
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What the car should do now, why, and the fewest commands that get it there."""

    at: datetime
    mode: Mode
    charge_now: bool | None  # True start, False stop, None leave as is
    amps: int | None
    charge_limit: int | None
    departure: datetime | None  # the scheduled departure the car is given (local aware)
    off_peak_end: datetime | None
    needed_soc: float | None
    reasons: tuple[str, ...]
    commands: tuple[Command, ...]
    windows: tuple[ChargeWindow, ...] = ()
    expected_soc: tuple[tuple[datetime, float], ...] = ()


def trip_order(trip: Trip) -> tuple[datetime, datetime, str, str]:
    """One order for trips whatever order a calendar lists them in: ties and float sums must not depend on it."""
    e = trip.event
    return e.start, e.end, e.summary, e.uid
