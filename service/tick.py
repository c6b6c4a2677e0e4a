"""What one car's tick hands on: to the site between gathering and acting (CarTick), and to the caller (TickResult);
and the few words a source's failure is told in. Apart from service/coordinator.py so that service/site.py, which
runs the cars, needs nothing of the Coordinator itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from charge_logic.models import Decision, ForecastPoint, Trip, VehicleSnapshot
from service.backoff import retry_text
from service.sources import SourceStatus
from service.state_schema import FIRST_CAR, car_section
from service.vehicle_link import SendReport


@dataclass
class TickResult:
    at: datetime
    vehicle: VehicleSnapshot | None
    decision: Decision
    report: SendReport
    state: dict[str, Any] = field(default_factory=dict)  # the whole state.json the tick wrote (v2, every car)
    car_id: str = FIRST_CAR

    @property
    def car(self) -> dict[str, Any]:
        """This car's entry of state.json's `vehicles`."""
        return car_section(self.state, self.car_id) or {}


@dataclass
class CarTick:
    """One car's tick between gathering and acting: what the site shares the circuit from."""

    now: datetime
    forecast: Sequence[ForecastPoint]
    trips: Sequence[Trip]
    snap: VehicleSnapshot | None
    notes: list[str]
    decision: Decision


def failing(st: SourceStatus) -> str:
    return f" ({st.last_error})" if not st.ok and st.last_error else ""


def next_try(st: SourceStatus, now: datetime, zone: Any) -> str:
    return f"; next try {retry_text(st.retry_at, now, zone)}" if st.retry_at else ""


def ago(now: datetime, t: datetime | None) -> str:
    if t is None:
        return "an unknown time ago"
    hours = (now - t).total_seconds() / 3600
    return f"{hours:.1f} h ago"
