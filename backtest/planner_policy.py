"""`planner` in the backtest: the daemon's own decision path, fed with what the car would report at each tick.

Every tick of a session builds the `VehicleSnapshot` the car would send (plugged in, the energy it has taken since
plug-in, its state of charge from that, Complete once full), hands the household planner the sessions that ended
since (as the daemon's session log does), and calls `charge_logic.vehicle_plan.plan_for_vehicle`, the function the
daemon's coordinator calls. A plan that differs from the one the car holds is pushed (the replay counts its
commands and wakes); one that does not is not, as the daemon sends only what changes something.

The sessions files carry no state of charge: the simulated car reports a battery big enough for any session, from
`ARRIVAL_SOC`, so what it lacks to its limit never caps the plan and the planner plans on what similar sessions took,
as BENCHMARK.md requires (it may not know a session's energy). The calendar scenario hands in its calendar and the
car's real SoC at plug-in instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backtest.replay import MAX_AMPS, MIN_AMPS, VOLTS, Policy, PushedPlan
from backtest.view import SessionView
from charge_logic.config import RuleConfig
from charge_logic.household import PastSession, wanted_kwh
from charge_logic.household_planner import HouseholdPlanner, Tuning, session_key
from charge_logic.models import CHARGING, COMPLETE, DriverEstimate, ForecastPoint, Trip, VehicleSnapshot
from charge_logic.objective import Objective, planning_series
from charge_logic.power import CHARGE_EFFICIENCY, battery_pct, counted_wall_kwh
from charge_logic.rules import decide
from charge_logic.vehicle_plan import VehiclePlan, plan_for_vehicle

ARRIVAL_SOC = 20.0
SESSIONS_BATTERY_KWH = 200.0  # more than any session takes: the files say nothing of the battery
FAR_S = 14 * 86400.0  # a "charge now at N A" runs until the car is full or gone


def sessions_config(short_risk_pct: float = RuleConfig.short_risk_pct,
                    objective: Objective = Objective.LOAD) -> RuleConfig:
    """The daemon's settings for a car of the sessions files: the benchmark's charger, the default rules, and the
    owner's OBJECTIVE."""
    return RuleConfig(max_amps=MAX_AMPS, min_amps=MIN_AMPS, battery_kwh=SESSIONS_BATTERY_KWH,
                      short_risk_pct=short_risk_pct, objective=objective)


def snapshot(view: SessionView, config: RuleConfig, arrival_soc: float, now: datetime | None = None) -> VehicleSnapshot:
    """What the car would report now: plugged in, its SoC from the energy taken since plug-in, and its own count of
    it, which (as a Tesla's `charge_energy_added`) is what reached the battery. `now`: view.now as local time, when
    the caller has it."""
    now = datetime.fromtimestamp(view.now, view.zone) if now is None else now
    counted = round(view.delivered_kwh * CHARGE_EFFICIENCY, 3)
    soc = arrival_soc + battery_pct(view.delivered_kwh, config.battery_kwh)
    return VehicleSnapshot("…0001", "replay", "online", read_at=now, battery_level=int(soc),
                           charge_limit_soc=config.base_charge_limit,
                           charging_state=COMPLETE if view.full else CHARGING if view.delivered_kwh else "Stopped",
                           charge_current_request_max=MAX_AMPS, charger_voltage=int(VOLTS), charger_phases=1,
                           conn_charge_cable="IEC", charge_energy_added=counted)


def forecast_points(view: SessionView) -> list[ForecastPoint]:
    return [ForecastPoint(datetime.fromtimestamp(view.forecast_start + 3600.0 * j, UTC), v)
            for j, v in enumerate(view.forecast) if v is not None]


def price_points(view: SessionView) -> list[ForecastPoint]:
    """The price ahead ($/kWh in `load_mw`, as charge_logic.objective.Signal holds any series)."""
    return [ForecastPoint(datetime.fromtimestamp(view.forecast_start + 3600.0 * j, UTC), v)
            for j, v in enumerate(view.price) if v is not None]


def signal_points(view: SessionView, objective: Objective) -> list[ForecastPoint]:
    """What the daemon plans on for `objective`: charge_logic.objective.planning_series of what the view knows."""
    return planning_series(objective, forecast_points(view), price_points(view))


class _Forecasts:
    """The objective's series as points, made once an hour: the sessions of one tick share it."""

    def __init__(self, objective: Objective = Objective.LOAD) -> None:
        self.objective = objective
        self.start: float | None = None
        self.points: list[ForecastPoint] = []

    def __call__(self, view: SessionView) -> list[ForecastPoint]:
        if view.forecast_start != self.start:
            self.start, self.points = view.forecast_start, signal_points(view, self.objective)
        return self.points


class _Daemon(Policy):
    """What both daemon policies share: the car's snapshot, the forecast and the calendar as the daemon sees them."""

    def __init__(self, config: RuleConfig | None = None, *,
                 trips: Callable[[datetime], Sequence[Trip]] | None = None,
                 arrival_soc: dict[float, float] | None = None) -> None:
        self.config = config or sessions_config()
        self.trips = trips
        self.arrival_soc = arrival_soc
        self.forecast = _Forecasts(self.config.objective)

    def inputs(self, view: SessionView) -> tuple[datetime, VehicleSnapshot, list[ForecastPoint], Sequence[Trip]]:
        now = datetime.fromtimestamp(view.now, view.zone)
        soc = ARRIVAL_SOC if self.arrival_soc is None else self.arrival_soc[view.arrival]
        trips = self.trips(now) if self.trips is not None else ()
        return now, snapshot(view, self.config, soc, now), self.forecast(view), trips


@dataclass
class Seen:
    """A plug-in as the daemon's session log (service/session_log.py) records it from the car's readings at its ticks:
    the SoC it came with, its limit, whether it was ever seen full, and the kWh its counter added up."""

    soc_start: float | None
    limit: int | None
    counter: float | None
    counted: float = 0.0  # what the car's counter added up (the battery's side)
    full: bool = False

    @property
    def taken(self) -> float:
        """At the wall, as the session log gives it (service.session_log.Session.taken_kwh)."""
        return counted_wall_kwh(self.counted)

    def observe(self, car: VehicleSnapshot) -> None:
        counter = car.charge_energy_added
        if counter is not None and self.counter is not None:
            self.counted = round(self.counted + (counter - self.counter if counter >= self.counter else counter), 2)
        self.counter = counter
        if car.charge_limit_soc is not None:
            self.limit = car.charge_limit_soc
        self.full = self.full or car.charging_state == COMPLETE


class DaemonPlanner(_Daemon):
    """The daemon's planner (POLICY=planner). It learns each ended plug-in as the daemon does, from what the car
    reported at the ticks (`Seen`): a car never seen full is taken to have wanted up to its limit
    (charge_logic.household.wanted_kwh), and whether it was left short is judged on what it had taken when last seen,
    never on the file's energy, which the daemon does not know."""

    name = "planner"

    def __init__(self, config: RuleConfig | None = None, *, household: HouseholdPlanner | None = None,
                 trips: Callable[[datetime], Sequence[Trip]] | None = None,
                 arrival_soc: dict[float, float] | None = None, per_station: bool = False) -> None:
        super().__init__(config, trips=trips, arrival_soc=arrival_soc)
        self.household = household or self._new_household()
        self.seen = 0  # sessions of the history handed to the household planner
        self.plug_ins: dict[tuple[str, float], Seen] = {}  # open plug-ins, by station and arrival
        # per_station: each charge point learns from its own sessions only, as one household's daemon does (it never
        # sees another household's plug-ins); else one planner learns from every session of the file
        self.per_station = per_station
        self.stations: dict[str, HouseholdPlanner] = {}

    def learned(self, history: Sequence[PastSession]) -> tuple[list[PastSession], dict[str, float]]:
        """The ended sessions as the daemon would learn them, and the kWh each car had taken by its last tick."""
        ended: list[PastSession] = []
        taken: dict[str, float] = {}
        for s in history:
            seen = self.plug_ins.pop((s.station_id, s.arrival.timestamp()))
            energy = wanted_kwh(seen.taken, full=seen.full, limit=seen.limit, soc_start=seen.soc_start,
                                battery_kwh=self.config.battery_kwh)
            ended.append(PastSession(s.station_id, s.arrival, s.departure, energy))
            taken[session_key(s.station_id, s.arrival.timestamp())] = seen.taken
        return ended, taken

    def _new_household(self) -> HouseholdPlanner:
        return HouseholdPlanner(tuning=Tuning(target_short=self.config.short_risk_pct / 100))

    def household_of(self, station: str) -> HouseholdPlanner:
        if not self.per_station:
            return self.household
        if station not in self.stations:
            self.stations[station] = self._new_household()
        return self.stations[station]

    def on_tick(self, view: SessionView, memo: dict) -> PushedPlan | None:
        history = view.history
        if len(history) > self.seen:
            ended, taken = self.learned(history[self.seen:len(history)])
            if self.per_station:
                for past in ended:
                    self.household_of(past.station_id).learn([past], taken)
            else:
                self.household.learn(ended, taken)
            self.seen = len(history)
        now, car, forecast, trips = self.inputs(view)
        seen = self.plug_ins.get((view.station_id, view.arrival))
        if seen is None:
            seen = self.plug_ins[(view.station_id, view.arrival)] = Seen(car.battery_level, car.charge_limit_soc,
                                                                         car.charge_energy_added)
        seen.observe(car)
        if "plugged_at" not in memo:  # what the car and the driver said at plug-in, the same at every tick
            memo["plugged_at"], memo["estimate"] = datetime.fromtimestamp(view.arrival, view.zone), _estimate(view)
        plan: VehiclePlan = plan_for_vehicle(now, car, forecast, trips, self.config, view.zone,
                                             plugged_at=memo["plugged_at"],
                                             household=self.household_of(view.station_id), station=view.station_id,
                                             estimate=memo["estimate"], held=memo.get("windows", ()))
        memo["windows"] = plan.windows
        memo["reasons"] = plan.reasons
        memo["plan"] = plan  # the whole plan, for the site plan of the two-car replay (backtest.cars)
        windows = tuple((w.start.timestamp(), w.end.timestamp(), w.amps) for w in plan.windows if w.amps > 0)
        # what the car is told: charge now or from when, at what amps (a window's end only stops a car that is full
        # or gone by then anyway); a plan the car already holds, as it stands now, is not sent again
        if not windows or _told(windows, view.now) == _told(memo.get("sent", ()), view.now):
            return None
        memo["sent"] = windows
        return windows


class DaemonSeed(_Daemon):
    """The daemon's original rules (POLICY=seed: charge_logic.rules.decide with no planner): the amps from where this
    hour's forecast sits in the forecast's mean ± σ, a trip the battery cannot make charged at once; sent when they
    change."""

    name = "seed"

    def idle(self, memo: dict, full: bool) -> bool:
        return full  # a full car is left alone

    def on_tick(self, view: SessionView, memo: dict) -> PushedPlan | None:
        if view.full:
            return None
        now, car, forecast, trips = self.inputs(view)
        d = decide(now, car, forecast, trips, self.config, zone=view.zone, at_home=True)
        amps = 0 if d.charge_now is False else d.amps if d.amps is not None else memo.get("amps", MAX_AMPS)
        memo["reasons"] = d.reasons
        if memo.get("amps") == amps:
            return None
        memo["amps"] = amps
        return ((view.now, view.now + FAR_S, amps),)


def _told(windows: PushedPlan, now: float) -> tuple[tuple[float | None, int], ...]:
    return tuple((None if a <= now else a, amps) for a, b, amps in windows if b > now)


def _estimate(view: SessionView) -> DriverEstimate | None:
    """The driver's typed estimates, where the file has them (the workplace's app), as the daemon's `leave`."""
    if view.estimated_departure is None and view.requested_energy_kwh is None:
        return None
    at = None if view.estimated_departure is None else datetime.fromtimestamp(view.estimated_departure, view.zone)
    return DriverEstimate(at, view.requested_energy_kwh)


def calendar_trips(trips: Sequence[Trip], horizon: timedelta) -> Callable[[datetime], list[Trip]]:
    """The calendar as the daemon reads it at `now`: the events ahead within the look-ahead."""
    ordered = sorted(trips, key=lambda t: t.event.start)

    def at(now: datetime) -> list[Trip]:
        return [t for t in ordered if now < t.event.start <= now + horizon]
    return at
