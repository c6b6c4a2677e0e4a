"""One circuit, several cars: share the circuit's amps between the cars' own plans.

Each car is planned on its own first (its driver's trips, its household's habits, its charger). Two cars on one wall
circuit or panel cannot both draw 32 A from a 48 A circuit, so the site plan takes each car's windows in turn, the
car that leaves first (then the one that needs more) first, and gives it what the circuit still has at every moment.
A car that would then miss its departure takes the circuit's spare amps before it leaves, in the hours of the lowest
forecast signal first (the earliest where none is known), just as much as it lacks. Its reasons name the cars it
waits for, so the owner sees why. Pure: `now`, the plans and the forecast come in as values; no clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from charge_logic.config import RuleConfig
from charge_logic.models import COMPLETE, ChargeWindow, ForecastPoint, VehicleSnapshot
from charge_logic.power import charger_of, wall_kwh
from charge_logic.vehicle_plan import VehiclePlan

EPS_KWH = 1e-6


@dataclass(frozen=True)
class CarNeed:
    """One car's own plan and what it must have by its departure (`departure` None: no deadline known)."""

    name: str
    windows: tuple[ChargeWindow, ...]
    energy_kwh: float
    departure: datetime | None
    kw_per_amp: float  # volts × phases / 1000 at this car's charger
    min_amps: int = 5
    max_amps: int = 32


@dataclass(frozen=True)
class CarShare:
    """What the circuit gives one car: its windows, the kWh they bring by its departure, and why."""

    name: str
    windows: tuple[ChargeWindow, ...]
    energy_by_departure_kwh: float
    ready: bool
    reasons: tuple[str, ...]
    waits_for: tuple[str, ...] = ()  # the cars whose charge goes first where this car's plan was cut


@dataclass(frozen=True)
class SitePlan:
    cars: tuple[CarShare, ...]
    max_amps: int | None
    load: tuple[tuple[datetime, int], ...]  # the circuit's planned amps, a step at each time (the last is 0)

    @property
    def peak_amps(self) -> int:
        return max((a for _, a in self.load), default=0)


@dataclass
class _Span:
    """A stretch of time in which no car's plan, departure or forecast hour changes."""

    start: datetime
    end: datetime
    free: float  # amps the circuit still has
    amps: list[int]  # per car
    signal: float  # the forecast over it (inf: unknown)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    def split(self, at: datetime) -> _Span:
        """Cut at `at`: this keeps the first part, the second is returned."""
        rest = _Span(at, self.end, self.free, list(self.amps), self.signal)
        self.end = at
        return rest


def share_circuit(now: datetime, cars: Sequence[CarNeed], max_amps: int | None,
                  forecast: Sequence[ForecastPoint] = ()) -> SitePlan:
    """The site plan: at no moment do the cars' planned amps add up to more than `max_amps` (None: no shared
    circuit, each car keeps its own plan)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if max_amps is not None and max_amps <= 0:
        raise ValueError("the circuit's max amps must be above 0")
    spans = _spans(now, cars, max_amps, forecast)
    order = sorted(range(len(cars)), key=lambda i: _rank(cars[i]))
    waits_for: list[set[str]] = [set() for _ in cars]
    for i in order:  # 1. each car's own windows, in turn, with what the circuit still has
        _follow_own_plan(i, cars, spans, waits_for[i])
    for i in order:  # 2. a car that would miss its departure takes the spare amps before it leaves
        spans = _top_up(i, cars[i], spans)
    shares = tuple(_share(i, car, spans, waits_for[i], now, max_amps) for i, car in enumerate(cars))
    return SitePlan(shares, max_amps, _load(spans))


def _deadline(car: CarNeed) -> float:
    return car.departure.timestamp() if car.departure is not None else math.inf


def _rank(car: CarNeed) -> tuple[float, float, float, str]:
    """Who goes first: the earlier departure, then the larger need; with no departure, the earlier own plan."""
    if car.departure is not None:
        return car.departure.timestamp(), -car.energy_kwh, 0.0, car.name
    first = min((w.start.timestamp() for w in car.windows if w.amps > 0), default=math.inf)
    return math.inf, first, -car.energy_kwh, car.name


def car_need(name: str, plan: VehiclePlan, vehicle: VehicleSnapshot, config: RuleConfig,
             departure: datetime | None) -> CarNeed:
    """One car's need for the site plan from what the daemon has at a tick: its own plan (`plan_for_vehicle`), what
    that plan brings it to (at the wall), its charger, and its departure when one is known (the calendar's). A car
    that has stopped taking energy (Complete) draws nothing, so its windows leave the circuit to the others."""
    charger = charger_of(vehicle, config)
    soc = vehicle.battery_level
    target = plan.expected_soc[-1][1] if plan.expected_soc else soc
    energy = wall_kwh(max(0.0, target - soc), config.battery_kwh) if soc is not None and target is not None else 0.0
    windows = () if vehicle.charging_state == COMPLETE else tuple(w for w in plan.windows if w.amps > 0)
    return CarNeed(name, windows, energy, departure, charger.kw(1), charger.min_amps, charger.max_amps)


def _spans(now: datetime, cars: Sequence[CarNeed], max_amps: int | None,
           forecast: Sequence[ForecastPoint]) -> list[_Span]:
    """Cut from now to the last window end or departure at every window edge, departure and whole hour."""
    edges = {t for car in cars for w in car.windows for t in (w.start, w.end)}
    edges |= {car.departure for car in cars if car.departure is not None}
    edges = {t for t in edges if t > now}
    if not edges:
        return []
    last = max(edges, key=lambda t: t.timestamp())
    hour = datetime.fromtimestamp(math.floor(now.timestamp() / 3600) * 3600, UTC) + timedelta(hours=1)
    while hour < last:
        edges.add(hour)
        hour += timedelta(hours=1)
    cuts = sorted(edges | {now}, key=lambda t: t.timestamp())
    by_hour = {int(p.start.timestamp() // 3600): p.load_mw for p in forecast if math.isfinite(p.load_mw)}
    free = math.inf if max_amps is None else float(max_amps)
    return [_Span(a, b, free, [0] * len(cars), by_hour.get(int(a.timestamp() // 3600), math.inf))
            for a, b in zip(cuts, cuts[1:], strict=False)]


def _fit(amps: float, car: CarNeed) -> int:
    """Whole amps the car can draw: below its charger's minimum it cannot charge at all."""
    whole = int(math.floor(min(amps, car.max_amps) + 1e-9))
    return whole if whole >= car.min_amps else 0


def _follow_own_plan(i: int, cars: Sequence[CarNeed], spans: list[_Span], waits_for: set[str]) -> None:
    car = cars[i]
    for s in spans:
        want = max((w.amps for w in car.windows if w.start <= s.start and s.end <= w.end), default=0)
        if want <= 0:
            continue
        got = _fit(min(want, s.free), car)
        if got < want:
            waits_for.update(cars[j].name for j, a in enumerate(s.amps) if a and j != i)
        s.amps[i], s.free = got, s.free - got


def _energy(car: CarNeed, i: int, spans: list[_Span]) -> float:
    """kWh car `i` gets before its departure (in the whole plan when it has none)."""
    dep = car.departure
    return sum(s.amps[i] * car.kw_per_amp * s.hours for s in spans if dep is None or s.end <= dep)


def _top_up(i: int, car: CarNeed, spans: list[_Span]) -> list[_Span]:
    """Spare amps before the departure, lowest signal first, until the car has what it needs; the last span used is
    cut where the need is met."""
    dep = car.departure
    if dep is None or car.energy_kwh - _energy(car, i, spans) <= EPS_KWH:
        return spans
    lack = car.energy_kwh - _energy(car, i, spans)
    before = sorted((s for s in spans if s.end <= dep), key=lambda s: (s.signal, s.start.timestamp()))
    extra: list[_Span] = []
    for s in before:
        room = _fit(min(car.max_amps, s.amps[i] + s.free), car) - s.amps[i]
        if room <= 0:
            continue
        kwh = room * car.kw_per_amp * s.hours
        if kwh > lack + EPS_KWH:  # only as long as it takes
            extra.append(s.split(s.start + timedelta(hours=lack / (room * car.kw_per_amp))))
            kwh = lack
        s.amps[i] += room
        s.free -= room
        lack -= kwh
        if lack <= EPS_KWH:
            break
    return sorted(spans + extra, key=lambda s: s.start.timestamp())


def _windows(i: int, spans: list[_Span]) -> tuple[ChargeWindow, ...]:
    out: list[ChargeWindow] = []
    for s in spans:
        g = s.amps[i]
        if not g:
            continue
        if out and out[-1].end == s.start and out[-1].amps == g:
            out[-1] = ChargeWindow(out[-1].start, s.end, g)
        else:
            out.append(ChargeWindow(s.start, s.end, g))
    return tuple(out)


def _share(i: int, car: CarNeed, spans: list[_Span], waits_for: set[str], now: datetime,
           max_amps: int | None) -> CarShare:
    got = _energy(car, i, spans)
    ready = car.departure is None or got >= car.energy_kwh - 1e-3
    reasons = []
    if waits_for:
        reasons.append(f"{car.name} shares the {max_amps} A circuit with {', '.join(sorted(waits_for))}, who "
                       "leaves first or needs more: it charges with the amps left")
    if not ready and car.departure is not None:
        reasons.append(f"{car.name} gets {got:.1f} of {car.energy_kwh:.1f} kWh by "
                       f"{car.departure.astimezone(now.tzinfo):%a %H:%M}: the circuit has no more room before then")
    return CarShare(car.name, _windows(i, spans), round(got, 3), ready, tuple(reasons), tuple(sorted(waits_for)))


def _load(spans: list[_Span]) -> tuple[tuple[datetime, int], ...]:
    steps: list[tuple[datetime, int]] = []
    for s in spans:
        total = sum(s.amps)
        if not steps or steps[-1][1] != total:
            steps.append((s.start, total))
    if spans and steps[-1][1]:
        steps.append((spans[-1].end, 0))
    return tuple(steps)
