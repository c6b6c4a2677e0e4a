"""The fewest Fleet API commands that bring the car's settings to a target, and what the car looks like after.

Every command costs money and may wake the car, so nothing the car already has is sent again; `apply_commands`
is the same knowledge run forwards, which lets a simulated car and the tests check that a second tick sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from charge_logic.models import CHARGING, COMPLETE, NO_POWER, STOPPED, Command, CommandName, VehicleSnapshot

DEPART_BY = "DepartBy"


@dataclass(frozen=True)
class Target:
    """What the car should be set to; None means leave that setting as it is."""

    charge_now: bool | None = None  # True start, False stop
    amps: int | None = None
    charge_limit: int | None = None
    departure_minutes: int | None = None  # minutes after local midnight
    off_peak_end_minutes: int | None = None


def departure_command(vehicle: VehicleSnapshot, departure_minutes: int, off_peak_end_minutes: int) -> Command:
    """Scheduled departure with off-peak charging on, keeping the owner's preconditioning and weekday choices.
    tesla-http-proxy turns preconditioning on (weekdays) whenever preconditioning_weekdays_only is true, whatever
    preconditioning_enabled says (vehicle-command pkg/proxy/command.go, getPolicy): weekdays-only is sent only with
    preconditioning on, so an owner who had it off keeps it off."""
    preconditioning = bool(vehicle.preconditioning_enabled)
    return Command(CommandName.SET_SCHEDULED_DEPARTURE, {
        "enable": True,
        "departure_time": departure_minutes,
        "preconditioning_enabled": preconditioning,
        "preconditioning_weekdays_only": preconditioning and vehicle.preconditioning_times == "weekdays",
        "off_peak_charging_enabled": True,
        "off_peak_charging_weekdays_only": vehicle.off_peak_charging_times == "weekdays",
        "end_off_peak_time": off_peak_end_minutes,
    })


def commands_for(vehicle: VehicleSnapshot, target: Target) -> tuple[Command, ...]:
    """Limit first (a start below the limit is refused), then amps and departure, start/stop last."""
    out: list[Command] = []
    if target.charge_limit is not None and vehicle.charge_limit_soc != target.charge_limit:
        out.append(Command(CommandName.SET_CHARGE_LIMIT, {"percent": target.charge_limit}))
    if target.amps is not None and vehicle.charge_current_request != target.amps:
        out.append(Command(CommandName.SET_CHARGING_AMPS, {"charging_amps": target.amps}))
    if target.departure_minutes is not None:
        end = target.departure_minutes if target.off_peak_end_minutes is None else target.off_peak_end_minutes
        if (vehicle.scheduled_charging_mode != DEPART_BY or vehicle.off_peak_charging_enabled is not True
                or vehicle.scheduled_departure_time_minutes != target.departure_minutes
                or vehicle.off_peak_hours_end_time != end):
            out.append(departure_command(vehicle, target.departure_minutes, end))
    limit = target.charge_limit if target.charge_limit is not None else vehicle.charge_limit_soc
    # the SoC unknown (a reply with it null), "Complete" at an unchanged limit is the car's word that it is full
    full = vehicle.battery_level is None and vehicle.charging_state == COMPLETE and limit == vehicle.charge_limit_soc
    known = vehicle.charging_state is not None  # a reply with it null: charging or not, a start could be a repeat
    if target.charge_now is True and known and not vehicle.charging and vehicle.charging_state != NO_POWER \
            and not full:
        if vehicle.battery_level is None or limit is None or vehicle.battery_level < limit:
            out.append(Command(CommandName.CHARGE_START))
    elif target.charge_now is False and vehicle.charging:
        out.append(Command(CommandName.CHARGE_STOP))
    return tuple(out)


def _int_arg(command: Command, key: str) -> int:
    value: Any = command.args.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{command.name} needs an integer {key!r}, got {value!r}")
    return value


def apply_commands(snapshot: VehicleSnapshot, commands: Iterable[Command]) -> VehicleSnapshot:
    """The car's settings after it accepted `commands`, as the next vehicle_data would report them."""
    car = snapshot
    for command in commands:
        name = command.name
        if name == "set_charging_amps":
            amps = _int_arg(command, "charging_amps")
            if car.charge_current_request_max:
                amps = min(amps, car.charge_current_request_max)
            car = replace(car, charge_current_request=amps,
                          charger_actual_current=amps if car.charging else car.charger_actual_current)
        elif name == "set_charge_limit":
            percent = _int_arg(command, "percent")
            car = replace(car, charge_limit_soc=percent)
            if car.charging and car.battery_level is not None and car.battery_level >= percent:
                car = replace(car, charging_state=COMPLETE, charger_actual_current=0)
        elif name == "set_scheduled_departure":
            args = command.args
            enable = bool(args.get("enable", True))
            car = replace(
                car,
                scheduled_charging_mode=DEPART_BY if enable else "Off",
                scheduled_departure_time_minutes=_int_arg(command, "departure_time"),
                off_peak_hours_end_time=_int_arg(command, "end_off_peak_time"),
                off_peak_charging_enabled=bool(args.get("off_peak_charging_enabled", False)),
                off_peak_charging_times="weekdays" if args.get("off_peak_charging_weekdays_only") else "all_week",
                preconditioning_enabled=bool(args.get("preconditioning_enabled", False)),
                preconditioning_times="weekdays" if args.get("preconditioning_weekdays_only") else "all_week",
            )
        elif name == "set_scheduled_charging":
            enable = bool(command.args.get("enable", False))
            car = replace(car, scheduled_charging_mode="StartAt" if enable else "Off",
                          scheduled_charging_start_time_minutes=command.args.get("time") if enable else None)
        elif name == "add_charge_schedule":
            from charge_logic.charge_schedules import schedule_from_args

            new = schedule_from_args(command.args)
            kept = tuple(x for x in car.charge_schedules or () if x.id != new.id)
            car = replace(car, charge_schedules=(*kept, new))
        elif name == "remove_charge_schedule":
            gone = _int_arg(command, "id")
            car = replace(car, charge_schedules=tuple(x for x in car.charge_schedules or () if x.id != gone))
        elif name == "charge_start":
            if car.plugged_in and not car.charging and car.charging_state != NO_POWER:
                full = (car.battery_level is not None and car.charge_limit_soc is not None
                        and car.battery_level >= car.charge_limit_soc)
                car = replace(car, charging_state=COMPLETE if full else CHARGING,
                              charger_actual_current=0 if full else car.charge_current_request)
        elif name == "charge_stop":
            if car.charging:
                car = replace(car, charging_state=STOPPED, charger_actual_current=0)
        else:
            raise ValueError(f"unknown car command {name!r}: expected set_charging_amps, set_charge_limit, "
                             "set_scheduled_departure, set_scheduled_charging, charge_start, charge_stop, "
                             "add_charge_schedule or remove_charge_schedule")
    return car
