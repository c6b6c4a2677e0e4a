"""Building blocks for the rules tests: a plugged-in car, forecasts and trips built by hand, real time zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from charge_logic.config import RuleConfig
from charge_logic.models import CalendarEvent, Decision, ForecastPoint, Route, Trip, VehicleSnapshot

NY = ZoneInfo("America/New_York")
OSLO = ZoneInfo("Europe/Oslo")
CFG = RuleConfig()
SEED = RuleConfig(policy="seed")


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def car(**changes: Any) -> VehicleSnapshot:
    """A car at home on its wall charger, 45 %, waiting for its own off-peak schedule (departure 08:00)."""
    base = VehicleSnapshot(
        vin_short="…4321", display_name="Demo Model 3", state="online", read_at=datetime(2026, 11, 27, tzinfo=UTC),
        battery_level=45, charge_limit_soc=80, charge_limit_soc_min=50, charge_limit_soc_max=100,
        charging_state="Stopped", charge_current_request=16, charge_current_request_max=32, charger_actual_current=0,
        charger_voltage=2, charger_phases=1, conn_charge_cable="SAE", charge_port_door_open=True,
        fast_charger_present=False, scheduled_charging_mode="DepartBy", off_peak_charging_enabled=True,
        off_peak_charging_times="all_week", scheduled_departure_time_minutes=480, off_peak_hours_end_time=480,
        preconditioning_enabled=False, preconditioning_times="all_week")
    return replace(base, **changes)


def forecast(now: datetime, current_mw: float, hours: int = 100) -> list[ForecastPoint]:
    """The hour in progress at `current_mw`; the hours after it alternate 80 and 100 GW (mean ~90, sigma ~10)."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    points = [ForecastPoint(hour, current_mw)]
    points += [ForecastPoint(hour + timedelta(hours=h), 80_000.0 if h % 2 else 100_000.0) for h in range(1, hours)]
    return points


def trip(summary: str, start: datetime, km: float | None = None, minutes: float | None = None, *,
         all_day: bool = False, note: str | None = None, hours: float = 1.0, virtual: bool = False) -> Trip:
    event = CalendarEvent(uid=summary, summary=summary, start=start, end=start + timedelta(hours=hours),
                          all_day=all_day, location=f"{summary} place")
    route = Route(km, minutes) if km is not None and minutes is not None else None
    return Trip(event, route, note if route is None else None, virtual)


def names(decision: Decision) -> list[str]:
    return [c.name for c in decision.commands]


def args(decision: Decision, name: str) -> dict[str, Any] | None:
    return next((c.args for c in decision.commands if c.name == name), None)


def said(decision: Decision, *phrases: str) -> bool:
    """True when one reason holds every phrase (what an owner reads on the dashboard)."""
    return any(all(p in r for p in phrases) for r in decision.reasons)
