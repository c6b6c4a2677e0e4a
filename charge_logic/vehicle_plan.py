"""The daemon's planner for one car at one tick, and the backtest's `planner`: the calendar's departure when there is
one (charge_logic.trip_energy), else the household's learned habits and risk price (charge_logic.household_planner),
else the default departure; the windows come from charge_logic.planner. Pure: `now` and every input are values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from charge_logic.config import RuleConfig
from charge_logic.household_planner import HOME, HouseholdPlanner
from charge_logic.localtime import next_local
from charge_logic.models import CHARGING, COMPLETE, ChargeWindow, DriverEstimate, ForecastPoint, Trip, VehicleSnapshot
from charge_logic.objective import KINDS, Objective
from charge_logic.planner import SLOT_MIN, Need, forecast_signal, plan_charging
from charge_logic.power import Charger, battery_pct, charger_of, counted_wall_kwh, wall_kwh
from charge_logic.savings import plan_savings, savings_text
from charge_logic.trip_energy import trip_need


class VehiclePlan(NamedTuple):
    """What the daemon's planner says for one car at one tick."""

    windows: tuple[ChargeWindow, ...]
    expected_soc: tuple[tuple[datetime, float], ...]
    needed_soc: float | None
    reasons: tuple[str, ...]


def plan_for_vehicle(now: datetime, vehicle: VehicleSnapshot, forecast: Sequence[ForecastPoint],
                     trips: Sequence[Trip], config: RuleConfig, zone: ZoneInfo,
                     plugged_at: datetime | None = None, *, household: HouseholdPlanner | None = None,
                     station: str = HOME,
                     estimate: DriverEstimate | None = None, held: Sequence[ChargeWindow] = (),
                     co2: Sequence[ForecastPoint] = ()) -> VehiclePlan:
    """The daemon's entry point, and the backtest's `planner`: the plan for this car now.

    The departure is the calendar's (first trip − drive − buffer) when there is one; the must-have part — what the
    trip needs — is planned in an hour before it, the rest up to the limit by one buffer before it, in the best
    hours. With no trip, the household's past sessions say when it usually leaves and how much the car takes, and
    `household` (charge_logic.household_planner: the model and the learned risk price, updated here) plans the plug-in
    at `station` (the charge point; past sessions at others count less) and holds its plan between looks; `estimate`,
    the driver's word on this plug-in, finds the past plug-ins whose estimates were alike (nothing in it is taken as
    a promise). With no household (a caller that learns nothing), `config.default_departure`. `held`: the windows
    the car was last given; a calendar plan keeps them while they still serve and a new one would save less than its
    command costs. `forecast` is the series of `config.objective` (charge_logic.objective.planning_series: the load
    forecast, or the price in $/kWh, or CO₂); with the cost objective the reasons say what waiting saves against
    charging at once, in money and, given the `co2` series (kg/kWh), in CO₂.
    """
    need = trip_need(now, trips, config, zone)
    soc = vehicle.battery_level
    if soc is None:
        return VehiclePlan((), (), need.needed_soc, need.reasons + ("battery level unknown (car asleep): no plan yet",))
    battery = config.battery_kwh
    limit = need.charge_limit
    if vehicle.charge_limit_soc_max:
        limit = min(limit, vehicle.charge_limit_soc_max)
    charger = charger_of(vehicle, config)
    to_limit = max(0.0, wall_kwh(limit - soc, battery))  # energy is planned at the wall (charge_logic.power)
    to_need = max(0.0, wall_kwh(min(need.needed_soc, limit) - soc, battery))
    reasons = list(need.reasons)
    if to_limit <= 1e-6:
        return VehiclePlan((), ((now, float(soc)),), need.needed_soc,
                           tuple(reasons + [f"at {soc} %: already at the limit"]))
    needs: list[Need] = []
    if need.departure is not None:
        # Hedge: the trip's own energy (the must-have) is planned in an hour before the departure, the rest up to the
        # limit by one buffer before it — a driver leaving a little early still finds the car ready.
        buffer = timedelta(minutes=config.departure_buffer_min)
        needs.append(Need(need.departure - buffer, to_limit))
        if to_need > 0:
            needs.append(Need(need.departure - max(buffer, timedelta(hours=1)), to_need))
    else:
        arrival = plugged_at if plugged_at is not None and plugged_at <= now else now
        if household is not None:
            planned = _household_plan(now, vehicle, forecast, household, station, arrival, zone, charger, to_limit,
                                      soc, battery, estimate)
            saved = _saving(now, planned.windows, charger, to_limit, forecast, co2, config, zone)
            return planned._replace(needed_soc=need.needed_soc, reasons=tuple(reasons) + planned.reasons + saved)
        dep = next_local(now, config.default_departure, zone)
        needs.append(Need(dep, to_limit))
        reasons.append(f"no trip ahead and no household learned: default departure {dep.astimezone(zone):%a %H:%M}")
    kind = KINDS[Objective(config.objective)]
    plan = plan_charging(now.astimezone(zone), forecast, needs, charger, soc=float(soc), battery_kwh=battery,
                         held=held, objective=kind.name, unit=kind.unit)
    saved = _saving(now, plan.windows, charger, to_limit, forecast, co2, config, zone)
    return VehiclePlan(plan.windows, plan.expected_soc, need.needed_soc, tuple(reasons) + plan.reasons + saved)


def _saving(now: datetime, windows: Sequence[ChargeWindow], charger: Charger, kwh: float,
            forecast: Sequence[ForecastPoint], co2: Sequence[ForecastPoint], config: RuleConfig,
            zone: ZoneInfo) -> tuple[str, ...]:
    """With the cost objective, a plan that waits says what waiting saves against charging now (the forecast is
    the price then); nothing when it charges at once or the price does not cover the plan."""
    if Objective(config.objective) is not Objective.COST or not windows:
        return ()
    first = min(w.start for w in windows if w.amps > 0) if any(w.amps > 0 for w in windows) else None
    if first is None or first <= now:
        return ()
    spans = [(w.start, w.end, charger.kw(w.amps)) for w in windows if w.amps > 0]
    text = savings_text(plan_savings(now, spans, kwh, forecast, co2), first.astimezone(zone))
    return (text,) if text else ()


def _household_plan(now: datetime, vehicle: VehicleSnapshot, forecast: Sequence[ForecastPoint],
                    household: HouseholdPlanner, station: str, arrival: datetime, zone: ZoneInfo, charger: Charger,
                    to_limit: float, soc: float, battery: float, estimate: DriverEstimate | None
                    ) -> VehiclePlan:
    t0 = now.timestamp()

    def signal() -> np.ndarray:
        values, _ = forecast_signal(t0, forecast)
        return values if len(values) else np.zeros(int(36 * 60 / SLOT_MIN))  # no forecast: all hours alike

    kw = charger.kw(charger.max_amps)
    delivered = counted_wall_kwh(max(0.0, vehicle.charge_energy_added or 0.0))  # at the wall, as planned
    charging = vehicle.charging_state == CHARGING  # a car read while not charging stays so until it is read again
    choice = household.plan(station=station, arrival=arrival.astimezone(zone), now=t0, delivered=delivered,
                            full=vehicle.charging_state == COMPLETE, signal=signal, kw=kw, lacks_kwh=to_limit,
                            estimated_departure=estimate.departure.timestamp() if estimate and estimate.departure
                            else None, requested_kwh=estimate.energy_kwh if estimate else None,
                            read_at=vehicle.read_at.timestamp() if vehicle.read_at and charging else None)
    tz = zone

    def at(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(tz)

    (a, b), = choice.windows()
    windows = (ChargeWindow(at(a), at(b), charger.max_amps),)
    since = f", plugged in {(now - arrival).total_seconds() / 3600:.1f} h ago" if arrival < now else ""
    why = choice.reasons or (f"following the plan made at plug-in{since}; {household.price_reason()}",)
    begin = max(a, t0)
    done = begin + to_limit / kw * 3600.0
    expected: tuple[tuple[datetime, float], ...] = ((now, float(soc)),) if begin <= t0 else \
        ((now, float(soc)), (at(begin), float(soc)))
    expected += ((at(done), round(min(100.0, float(soc) + battery_pct(to_limit, battery)), 1)),)
    return VehiclePlan(windows, expected, None,
                       tuple(f"no trip ahead: {r}" if i == 0 else r for i, r in enumerate(why)))
