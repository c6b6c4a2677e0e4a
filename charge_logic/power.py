"""One model of charging power: the planner, the battery path the rules draw, the state file and the dashboard all
use it, so a window's kW, the energy it brings and the SoC it reaches agree everywhere.

Power at the wall is volts × amps × phases. A car that is not drawing current reports a few volts, not the supply's,
so 240 V on one phase stands in for anything under 100 V until it has told us better. Some of the wall energy warms
the battery and the charger: CHARGE_EFFICIENCY of it ends up in the battery (SoC); energy planned and counted is at
the wall, as the benchmark counts it. Above TAPER_FROM % the car takes less power, falling linearly to a quarter.
"""

from __future__ import annotations

from dataclasses import dataclass

from charge_logic.config import RuleConfig
from charge_logic.models import VehicleSnapshot

DEFAULT_VOLTS = 240
CHARGE_EFFICIENCY = 0.9  # share of the wall energy that ends up in the battery on AC charging
TAPER_FROM = 80.0


def supply(vehicle: VehicleSnapshot | None) -> tuple[float, int]:
    """(volts, phases) of the charger as the car reports it, with the stand-ins above."""
    volts = vehicle.charger_voltage if vehicle is not None and vehicle.charger_voltage else 0
    phases = vehicle.charger_phases if vehicle is not None and vehicle.charger_phases else 0
    return float(volts if volts >= 100 else DEFAULT_VOLTS), phases if 1 <= phases <= 3 else 1


def wall_kw(vehicle: VehicleSnapshot | None, amps: int) -> float:
    volts, phases = supply(vehicle)
    return volts * amps * phases / 1000


def battery_pct(wall_kwh: float, battery_kwh: float) -> float:
    """SoC points that this much wall energy adds."""
    return 100.0 * wall_kwh * CHARGE_EFFICIENCY / battery_kwh


def wall_kwh(pct: float, battery_kwh: float) -> float:
    """Wall energy that adds this many SoC points."""
    return pct / 100.0 * battery_kwh / CHARGE_EFFICIENCY


def counted_wall_kwh(counted_kwh: float) -> float:
    """Wall energy behind what the car counts as added (`charge_energy_added`, and the SoC it gained): the car counts
    what reached the battery, the planner and the benchmark what left the wall."""
    return counted_kwh / CHARGE_EFFICIENCY


def taper_factor(soc: float, taper_from: float = TAPER_FROM) -> float:
    """Share of full power the car takes at this SoC: full below `taper_from`, then falling linearly (floor 25 %)."""
    if soc < taper_from or taper_from >= 100:
        return 1.0
    return max(0.25, (100.0 - soc) / (100.0 - taper_from))


@dataclass(frozen=True)
class Charger:
    volts: float = 240.0
    phases: int = 1
    min_amps: int = 5
    max_amps: int = 32

    def kw(self, amps: int) -> float:
        return self.volts * self.phases * amps / 1000.0


def charger_of(vehicle: VehicleSnapshot, config: RuleConfig) -> Charger:
    """The charger the plan may use: the supply as the car reports it, the amps the setting and the car allow."""
    volts, phases = supply(vehicle)
    max_amps = min(config.max_amps, vehicle.charge_current_request_max or config.max_amps)
    return Charger(volts, phases, config.min_amps, max_amps)
