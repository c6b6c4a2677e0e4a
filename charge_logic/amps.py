"""How fast to charge: a share of the most the charger and car allow, chosen by how busy the grid will be."""

from __future__ import annotations

import math
from dataclasses import dataclass

from charge_logic.config import RuleConfig
from charge_logic.forecast_stats import ForecastStats
from charge_logic.models import VehicleSnapshot
from charge_logic.objective import KINDS, Objective


@dataclass(frozen=True)
class AmpsChoice:
    amps: int
    reason: str


def max_amps(config: RuleConfig, vehicle: VehicleSnapshot | None) -> int:
    """The wall charger's limit, lowered to the car's own maximum when the car told us one."""
    car_max = vehicle.charge_current_request_max if vehicle is not None else None
    if car_max is not None and car_max > 0:
        return min(config.max_amps, car_max)
    return config.max_amps


def clamp_amps(amps: float, config: RuleConfig, top: int) -> int:
    """Whole amps within [min_amps, top]; when the car's maximum is below min_amps, the car's maximum wins."""
    low = min(config.min_amps, top)
    return max(low, min(top, math.floor(amps + 0.5)))


def max_text(config: RuleConfig, top: int) -> str:
    return f"{top} A" if top >= config.max_amps else f"{top} A (the car's maximum)"


def days_text(days: float) -> str:
    return f"{days:g}-day"


def _scale(objective: Objective, mean: float) -> tuple[float, str, str]:
    """(divisor, unit, format) the objective's values read best in: GW for a big grid, cents of a $ kept as $."""
    if objective is Objective.LOAD:
        return (1000.0, "GW", ".1f") if abs(mean) >= 10_000 else (1.0, "MW", ",.0f")
    return 1.0, KINDS[objective].unit, ".3f" if abs(mean) < 1 else ".2f"


def forecast_amps(stats: ForecastStats | None, config: RuleConfig, top: int) -> AmpsChoice:
    """The seed rule: the busier the grid (or the dearer or dirtier the hour, as config.objective says) this hour
    compared with the coming days, the smaller the share."""
    objective = Objective(config.objective)
    name = "load" if objective is Objective.LOAD else KINDS[objective].name
    if stats is None:
        return AmpsChoice(top, f"No {name} forecast for the coming {days_text(config.forecast_days)} window: "
                               f"charging at the full {max_text(config, top)} to be ready by departure")
    mean, std, load = stats.mean_mw, stats.std_mw, stats.current_mw
    period = f"{days_text(config.forecast_days)} mean"
    k, unit, fmt = _scale(objective, mean)

    def mw(x: float) -> str:
        return f"{x / k:{fmt}}"

    if load > mean + std:
        pct, where = config.amps_pct_very_high_load, f"above the {period} + σ ({mw(mean)} + {mw(std)} {unit})"
    elif load > mean:
        pct, where = config.amps_pct_high_load, f"above the {period} {mw(mean)} {unit}"
    elif load >= mean - std:
        pct, where = config.amps_pct_low_load, f"at or below the {period} {mw(mean)} {unit}"
    else:
        pct, where = config.amps_pct_very_low_load, f"below the {period} − σ ({mw(mean)} − {mw(std)} {unit})"
    amps = clamp_amps(top * pct / 100, config, top)
    hour = "" if stats.covers_now else " (next forecast hour)"
    text = f"Forecast {name} {mw(load)} {unit}{hour} is {where}: {pct} % of {max_text(config, top)} = {amps} A"
    if amps > math.floor(top * pct / 100 + 0.5):
        text += f" (raised to the {amps} A minimum)"
    return AmpsChoice(amps, text)
