"""The thresholds of the rules, as one value passed in (the daemon builds it from .env; tests build it by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from charge_logic.objective import Objective


@dataclass(frozen=True)
class RuleConfig:
    min_soc: int = 20  # below this and plugged in: charge now at full power
    full_power_limit: int = 95  # a charge limit set at or above this: charge now at full power
    default_departure: time = time(8, 0)  # departure when the calendar has nothing
    latest_departure: time = time(10, 0)  # a first event later than this does not move the departure later
    base_charge_limit: int = 80  # the everyday limit
    top_charge_limit: int = 90  # the most the trip rules may raise the limit to
    min_charge_limit: int = 50  # never set a limit below this
    high_limit_hours: float = 6.0  # the limit goes above base_charge_limit only this close to departure
    departure_buffer_min: int = 15  # leave this much earlier than drive time says
    forecast_days: float = 3.0  # how far ahead the forecast's mean and sigma are taken
    amps_pct_very_high_load: int = 25  # % of max amps when load > mean + sigma
    amps_pct_high_load: int = 50  # when mean < load <= mean + sigma
    amps_pct_low_load: int = 75  # when mean - sigma <= load <= mean
    amps_pct_very_low_load: int = 100  # when load < mean - sigma
    min_amps: int = 5
    max_amps: int = 32  # the charger's limit; the car's own max caps it further
    battery_kwh: float = 75.0  # usable capacity
    consumption_wh_per_km: float = 170.0
    reserve_soc: int = 10  # SoC to arrive back home with
    events_horizon_hours: float = 36.0  # events further ahead do not shape tonight's charge
    policy: str = "planner"  # "planner" | "seed"
    short_risk_pct: float = 0.8  # the planner's learned risk price aims to leave this % of plug-ins short
    objective: Objective = Objective.LOAD  # what the forecast series passed to the planner and the amps bands is
