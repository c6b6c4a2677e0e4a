"""The daemon's tick for the site: one or several cars (service/coordinator.py, one Coordinator a car) on one circuit.

Why a level above the car: the grid forecast is the site's, fetched once a tick for every car; the cars of one Tesla
account are listed once a tick (clients/tesla_account.py), not once a car; and cars on one circuit cannot each
follow their own plan when together they would draw more than CIRCUIT_MAX_AMPS. Each car is gathered and planned on
its own (its driver's calendar, its learning, its charger), then `charge_logic.site.share_circuit` shares the
circuit, and each car is sent only its own changed commands, from its share when the site had to cut its plan. A car
that fails never holds up another: its entry keeps what was last known and says why. The tick ends with one
state.json (v2, service/state_schema.py, docs/state-file.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from charge_logic.forecast_stats import forecast_stats
from charge_logic.localtime import next_local
from charge_logic.models import ChargeWindow, ForecastPoint, Mode
from charge_logic.power import wall_kw, wall_kwh
from charge_logic.savings import epoch_hour, plan_savings
from charge_logic.site import CarNeed, CarShare, SitePlan, share_circuit
from service.savings_store import SavingsStore, TariffPrices
from service.session_log import SessionLog
from service.settings import Settings
from service.signal_source import BuiltSignal, SignalSource, make_signal_source
from service.sources import ForecastProvider, SourceStatus
from service.state_file import write_json_atomic
from service.state_schema import SCHEMA_VERSION, load_signal
from service.tick import CarTick, TickResult, failing, next_try
from service.tick import ago as _ago
from service.vehicle_link import ARRIVALS_KEPT, VehicleLink

log = logging.getLogger(__name__)

READY_SLACK_PCT = 1.0  # a plan that reaches the needed SoC within this many points counts as ready


class Car(Protocol):
    """One car of the site: a service.coordinator.Coordinator."""

    car_id: str
    name: str
    settings: Settings
    rules: Any
    history: list[dict[str, Any]]
    session_log: SessionLog
    link: VehicleLink

    def gather(self, now: datetime, forecast: Sequence[ForecastPoint], site_notes: Sequence[str]) -> CarTick: ...

    def act(self, t: CarTick, share: CarShare | None = None, ready: bool | None = None) -> TickResult: ...

    def statuses(self) -> list[SourceStatus]: ...


class Cycle(Protocol):
    def new_cycle(self) -> None:
        """A new tick: the account's vehicle list is asked again, once, for every car."""


@dataclass
class SiteResult:
    at: datetime
    cars: list[TickResult | None]  # in settings order; None: that car's tick failed (logged, its entry says why)
    plan: SitePlan | None
    state: dict[str, Any] = field(default_factory=dict)


class Site:
    def __init__(self, settings: Settings, cars: Sequence[Car], forecast: ForecastProvider | None, *,
                 mode: str = "live", interval_min: float = 14.0, state_path: Path | None = None,
                 account: Cycle | None = None, signal: SignalSource | None = None):
        if not cars:
            raise ValueError("a site has at least one car")
        self.settings = settings
        self.zone = settings.zone
        self.cars = list(cars)
        self.forecast_source = forecast
        self.mode = mode
        self.interval_min = interval_min
        self.state_path = state_path or Path(settings.state_dir) / "state.json"
        self.account = account
        # what the plan minimises (OBJECTIVE): the tariff, a price or CO₂ forecast, or grid load
        self.signal_source = signal or make_signal_source(settings, interval_min=interval_min)
        self.signal: BuiltSignal | None = None
        self.max_amps = settings.circuit_max_amps or None
        self._entries: dict[str, dict[str, Any]] = {}  # each car's last whole entry, kept for a tick that fails
        self._savings_stores: dict[str, SavingsStore] = {}  # each car's measured month (its savings.json)
        self.departures: list[datetime | None] = []  # when each car is wanted, as the site plan took it

    # ------------------------------------------------------------------ gathering
    def _forecast(self, now: datetime, notes: list[str]) -> list[ForecastPoint]:
        if self.forecast_source is None:
            notes.append("No grid forecast is configured (GRID_STATUS_API_KEY): charging is not shifted by load.")
            return []
        try:
            points = self.forecast_source.get(now)
        except Exception as exc:  # a provider bug must not stop the loop
            log.exception("forecast source failed")
            self.forecast_source.status.failed(exc, now)
            points = []
        st = self.forecast_source.status
        hours = self.settings.forecast_stale_hours
        if st.stale and points:
            notes.append(f"The grid forecast is stale (from {_ago(now, st.data_at)}){self._failing(st)}; using it "
                         f"until it is renewed{self._next_try(st, now)}.")
        elif not points and st.data_at is not None and (now - st.data_at).total_seconds() > hours * 3600:
            notes.append(f"The grid forecast is missing: the last one is from {_ago(now, st.data_at)}, older than "
                         f"FORECAST_STALE_HOURS ({hours:g} h){self._failing(st)}; {self._without_load()}"
                         f"{self._next_try(st, now)}.")
        elif not points:
            notes.append(f"No usable grid forecast right now{self._failing(st)}: {self._without_load()}"
                         f"{self._next_try(st, now)}.")
        return points

    def _signal(self, now: datetime, load: list[ForecastPoint], notes: list[str]) -> list[ForecastPoint]:
        """The series every car's planner and rules take this tick (service/signal_source.py), each car's objective
        set to it."""
        self.signal = self.signal_source.build(now, load, "demo" if self.mode == "demo" else "gridstatus",
                                               self.settings.grid_iso)
        notes.extend(self.signal.notes)
        for car in self.cars:
            car.rules = replace(car.rules, objective=self.signal.kind.objective)
        return self.signal.points

    def _without_load(self) -> str:
        if self.signal_source.plans_without_load():
            return "the tariff alone sets the plan"
        return "charging simply finishes by the departure, in the car's off-peak window"

    def _failing(self, st: SourceStatus) -> str:
        return failing(st)

    def _next_try(self, st: SourceStatus, now: datetime) -> str:
        return next_try(st, now, self.zone)

    # ------------------------------------------------------------------ the tick
    def tick(self, now: datetime) -> SiteResult:
        notes: list[str] = []
        load = self._forecast(now, notes)  # the grid load forecast: state.json's `forecast`, a tie-break
        forecast = self._signal(now, load, notes)  # what the planners and the rules minimise
        if self.account is not None:
            self.account.new_cycle()
        self._plan_lists(now)
        alone = len(self.cars) == 1  # one car: a failure is the tick's, as it always was
        ticks: list[CarTick | None] = []
        for car in self.cars:
            try:
                ticks.append(car.gather(now, forecast, notes))
            except Exception:
                if alone:
                    raise
                log.exception("%s: the tick failed; the other cars go on", car.car_id)
                ticks.append(None)
        plan, binding = self._share(now, ticks, forecast)
        results: list[TickResult | None] = []
        for i, (car, t) in enumerate(zip(self.cars, ticks, strict=True)):
            if t is None:
                results.append(None)
                continue
            own = plan.cars[i] if plan is not None else None
            share = own if binding else None  # the circuit is short: every car follows its share of it
            try:
                result = car.act(t, share, _ready(t, own))
                result.state["savings"] = self._savings(now, car, t, share)
                _listed(result.state, car.link, self.zone)
                if result.state.get("departure") is None and self.departures[i] is not None:
                    result.state["departure"] = _iso(self.departures[i])  # the driver's default departure
                results.append(result)
            except Exception:
                if alone:
                    raise
                log.exception("%s: the tick failed; the other cars go on", car.car_id)
                results.append(None)
        state = self._state(now, load, results, plan)
        write_json_atomic(self.state_path, state)
        for r in results:
            if r is not None:
                r.state = state
        return SiteResult(now, results, plan, state)

    def _plan_lists(self, now: datetime) -> None:
        """Each car's arrival and departure hours from its own session log, and whether the account is listed this tick
        (service/vehicle_link.py, list_due): one list answers for every car of the account, so when one car needs it
        the others read their summary from it too."""
        links = []
        for car in self.cars:
            link = car.link
            # the hours come from the last ARRIVALS_KEPT plug-ins not seen late: the log's tail, not its years
            sessions = car.session_log.sessions[-(ARRIVALS_KEPT + len(link.seen_late) + 1):]
            link.learn_hours([s.arrival_at for s in sessions],
                             [d for d in (s.departure_at for s in sessions) if d is not None])
            links.append(link)
        if self.account is None or len(links) < 2:
            return
        due = [link.list_due(now) for link in links]
        if any(why is not None for why in due):
            for link, why in zip(links, due, strict=True):
                if why is None:
                    link.also_list = "another car of the account is listed this tick"

    def _share(self, now: datetime, ticks: Sequence[CarTick | None],
               forecast: Sequence[ForecastPoint]) -> tuple[SitePlan | None, bool]:
        """The cars' plans shared on the circuit (without CIRCUIT_MAX_AMPS: only added up, for the load), and whether
        the circuit binds: the cars' own windows would draw more than it takes at some moment.

        A plan's windows are the hours a car may charge; it stops at its limit. So each car's windows are first cut
        where they would have brought what it lacks to its limit: the site then reserves the circuit only for that."""
        labels = _labels(self.cars, ticks)
        self.departures = []
        needs: list[CarNeed] = []
        own: list[ChargeWindow] = []
        for car, t, label in zip(self.cars, ticks, labels, strict=True):
            if t is None:
                needs.append(CarNeed(label, (), 0.0, None, 0.24, car.settings.min_amps, car.settings.max_amps))
                self.departures.append(None)
                continue
            d = t.decision
            kw_per_amp = wall_kw(t.snap, 1)
            windows = _trim(d.windows, _lacks_kwh(car, t), kw_per_amp, now)
            own.extend(windows)
            # no trip ahead: the driver's DEFAULT_DEPARTURE is when this car is wanted
            departure = d.departure or next_local(now, car.settings.default_departure, self.zone)
            self.departures.append(departure)
            needs.append(CarNeed(label, windows, _energy(windows, departure, kw_per_amp, now), departure,
                                 kw_per_amp, car.settings.min_amps, car.settings.max_amps))
        binding = self.max_amps is not None and _peak(own, now) > self.max_amps
        try:
            plan = share_circuit(now.astimezone(self.zone), needs, self.max_amps, forecast)
        except ValueError:
            log.exception("the site plan failed; each car follows its own plan")
            return None, False
        ids = dict(zip(labels, (c.car_id for c in self.cars), strict=True))
        load = tuple((t.astimezone(self.zone), a) for t, a in plan.load)
        return SitePlan(tuple(_with_ids(c, ids, self.zone) for c in plan.cars), plan.max_amps, load), binding

    def _savings(self, now: datetime, car: Car, t: CarTick, share: CarShare | None) -> dict[str, Any] | None:
        """The car's `savings`: tonight's plan against charging the same kWh at once (planned), and this month's
        plug-ins against charging each at once (measured); None when neither is known (no price nor CO₂)."""
        night = self._night(now, car, t, share)
        try:
            month = self._month(now, car, t)
        except Exception:  # a bug in the count must not stop the car's tick
            log.exception("%s: the month's savings could not be counted", car.car_id)
            month = None
        return None if night is None and month is None else {"night": night, "month": month}

    def _night(self, now: datetime, car: Car, t: CarTick, share: CarShare | None) -> dict[str, Any] | None:
        """Tonight's bill (what the owner pays: the tariff or price, whatever the objective) and CO₂ (CO2_SOURCE) of
        the plan against charging the same kWh at once; None where the series do not cover the plan or the car does
        not say what it lacks."""
        if self.signal is None or not (self.signal.price or self.signal.co2):
            return None
        lacks = _lacks_kwh(car, t)
        kw_per_amp = wall_kw(t.snap, 1)
        planned = share.windows if share is not None else t.decision.windows
        windows = [(w.start, w.end, w.amps * kw_per_amp) for w in planned if w.amps > 0]
        if not windows or not lacks:
            return None
        price = [ForecastPoint(p.start, p.value) for p in self.signal.price]
        co2 = [ForecastPoint(p.start, p.value) for p in self.signal.co2]
        s = plan_savings(now, windows, lacks, price, co2)
        cost_known, co2_known = s.plan_cost is not None and s.now_cost is not None, s.plan_kg is not None \
            and s.now_kg is not None
        if not cost_known and not co2_known:
            return None
        return {"cost_usd": _money(s.plan_cost) if cost_known else None,
                "now_cost_usd": _money(s.now_cost) if cost_known else None,
                "co2_kg": _money(s.plan_kg) if co2_known else None,
                "now_co2_kg": _money(s.now_kg) if co2_known else None}

    def _month(self, now: datetime, car: Car, t: CarTick) -> dict[str, Any] | None:
        """This month's plug-ins, measured (service/savings_store.py, in the car's own folder): what the energy cost
        against the same energy at once from each plug-in, at the charger's MAX_AMPS."""
        store = self._savings_stores.get(car.car_id)
        if store is None:
            store = self._savings_stores[car.car_id] = SavingsStore(Path(car.settings.state_dir))
        price = self.signal.price if self.signal is not None else []
        co2 = self.signal.co2 if self.signal is not None else []
        m = store.tick(now, self.zone, car.session_log, t.snap, car.settings.max_amps, car.history, price, co2,
                       self._tariff_prices())
        if m is None:
            return None
        return {"month": m.month, "sessions": m.sessions, "kwh": round(m.kwh, 1), "cost_usd": _money(m.cost_usd),
                "now_cost_usd": _money(m.now_cost_usd), "saved_usd": _money(m.saved_usd), "co2_kg": _money(m.co2_kg),
                "now_co2_kg": _money(m.now_co2_kg), "saved_co2_kg": _money(m.saved_co2_kg), "unpriced": m.unpriced,
                "note": store.rebuilt_note(now, self.zone)}

    def _tariff_prices(self) -> TariffPrices | None:
        """The tariff's price for any hour, where the tariff alone is what the owner pays (not under an hourly price
        it is added to): a plug-in's hours the ticks missed still get their price."""
        source = self.signal_source.tariff
        tariff = source.tariff if source is not None else None
        if tariff is None or self.signal_source.price_adds_tariff:
            return None
        zone = self.zone

        def prices(start: datetime, end: datetime) -> dict[int, float]:
            return {epoch_hour(t): p for t, p in tariff.hourly(start, end, zone)}
        return prices

    # ------------------------------------------------------------------ the state file
    def _state(self, now: datetime, forecast: Sequence[ForecastPoint], results: Sequence[TickResult | None],
               plan: SitePlan | None) -> dict[str, Any]:
        stats = forecast_stats(now, forecast, self.settings.forecast_days)  # the very figures the amps bands used
        mean, std = (stats.mean_mw, stats.std_mw) if stats else (None, None)
        forecast_json = {
            "source": "demo" if self.mode == "demo" else "gridstatus", "iso": self.settings.grid_iso,
            "fetched_at": _iso(self.forecast_source.status.data_at) if self.forecast_source else None,
            "stale": bool(self.forecast_source and self.forecast_source.status.stale),
            "mean_mw": _round(mean), "std_mw": _round(std),
            "points": [{"start": _iso(p.start), "load_mw": p.load_mw} for p in forecast]}
        sources: dict[str, Any] = {}
        if self.forecast_source is not None:
            sources[self.forecast_source.status.name] = self.forecast_source.status.to_json(now)
        vehicles = []
        for i, (car, r) in enumerate(zip(self.cars, results, strict=True)):
            for st in car.statuses():  # the first car's as in a single-car file; the others' named after the car
                sources[st.name if i == 0 else f"{st.name}:{car.car_id}"] = st.to_json(now)
            vehicles.append(self._entry(now, car, r))
        for st in self.signal_source.statuses:
            sources[st.name] = st.to_json(now)
        load = plan.load if plan is not None else ()
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": now.astimezone(self.zone).isoformat(),
            "mode": self.mode,
            "interval_min": self.interval_min,
            "time_zone": self.settings.time_zone,
            "forecast": forecast_json,
            "signal": self.signal.to_json() if self.signal else load_signal(forecast_json),
            "circuit": {"max_amps": self.max_amps, "load": [{"at": _iso(t), "amps": a} for t, a in load],
                        "peak_amps": max((a for _, a in load), default=0)},
            "vehicles": vehicles,
            "health": {"sources": sources, "tesla": _account_usage(vehicles)},
        }

    def _entry(self, now: datetime, car: Car, result: TickResult | None) -> dict[str, Any]:
        """The car's entry; for a car whose tick failed, its last one, saying so."""
        if result is not None:
            self._entries[car.car_id] = result.state
            return result.state
        why = (f"This tick failed for {car.name or car.car_id} at {now.astimezone(self.zone):%H:%M} (see the log); "
               "nothing was sent to it, and the other cars went on.")
        last = self._entries.get(car.car_id)
        if last is None:
            return {"id": car.car_id, "name": car.name or None, "vin": None, "vehicle": None, "events": [],
                    "decision": {"at": _iso(now), "mode": Mode.NO_VEHICLE_DATA.value, "charge_now": None,
                                 "amps": None, "charge_limit": None, "departure": None, "off_peak_end": None,
                                 "needed_soc": None, "reasons": [why], "commands": [], "sent": [], "woke": False},
                    "plan": {"windows": [], "departure": None, "needed_soc": None, "expected_soc": []},
                    "planner": None, "history": car.history, "departure": None, "ready": None, "waits_for": None,
                    "savings": None, "tesla": None}
        decision = dict(last.get("decision") or {})
        decision.update(reasons=[why, *(decision.get("reasons") or [])], commands=[], sent=[], woke=False)
        return {**last, "decision": decision}


def _labels(cars: Sequence[Car], ticks: Sequence[CarTick | None]) -> list[str]:
    """Each car's name in the site plan's reasons: the owner's name for it, else the car's own, else its id; made
    unique with the id when two cars share one."""
    names = []
    for car, t in zip(cars, ticks, strict=True):
        own = t.snap.display_name if t is not None and t.snap is not None else ""
        names.append(car.name or own or car.car_id)
    return [n if names.count(n) == 1 else f"{n} ({c.car_id})" for n, c in zip(names, cars, strict=True)]


def _with_ids(share: CarShare, ids: dict[str, str], zone: Any) -> CarShare:
    """The share with the cars it waits for named by id (the reasons keep their names), its times in home's zone."""
    windows = tuple(ChargeWindow(w.start.astimezone(zone), w.end.astimezone(zone), w.amps) for w in share.windows)
    return CarShare(share.name, windows, share.energy_by_departure_kwh, share.ready, share.reasons,
                    tuple(ids.get(n, n) for n in share.waits_for))


def _energy(windows: Sequence[ChargeWindow], departure: datetime | None, kw_per_amp: float, now: datetime) -> float:
    """kWh the car's own plan gives from now until its departure: what the circuit's share should still give it."""
    total = 0.0
    for w in windows:
        start, end = max(w.start, now), min(w.end, departure) if departure is not None else w.end
        if end > start:
            total += w.amps * kw_per_amp * (end - start).total_seconds() / 3600
    return total


def _lacks_kwh(car: Car, t: CarTick) -> float | None:
    """Wall kWh from the car's SoC to its limit (None: not known, the whole plan counts)."""
    snap, d = t.snap, t.decision
    limit = d.charge_limit if d.charge_limit is not None else snap.charge_limit_soc if snap is not None else None
    if snap is None or snap.battery_level is None or limit is None:
        return None
    return wall_kwh(max(0.0, float(limit) - snap.battery_level), car.rules.battery_kwh)


def _trim(windows: Sequence[ChargeWindow], lacks_kwh: float | None, kw_per_amp: float,
          now: datetime) -> tuple[ChargeWindow, ...]:
    """The windows from now on, in time order, ending where they have brought `lacks_kwh`."""
    out: list[ChargeWindow] = []
    left = math.inf if lacks_kwh is None else lacks_kwh
    for w in sorted(windows, key=lambda w: w.start):
        start = max(w.start, now)
        if w.amps <= 0 or w.end <= start or left <= 1e-6:
            continue
        hours = (w.end - start).total_seconds() / 3600
        kwh = w.amps * kw_per_amp * hours
        end = w.end if kwh <= left else start + timedelta(hours=left / (w.amps * kw_per_amp))
        end = min(w.end, end.replace(microsecond=0) + timedelta(seconds=1))  # whole seconds, never short
        out.append(ChargeWindow(start, end, w.amps))
        left -= min(kwh, left)
    return tuple(out)


def _peak(windows: Sequence[ChargeWindow], now: datetime) -> int:
    """The most amps the windows draw together at any moment from now on."""
    edges = {now} | {w.start for w in windows if w.start > now}
    return max((sum(w.amps for w in windows if w.start <= t < w.end) for t in edges), default=0)


def _ready(t: CarTick, share: CarShare | None) -> bool | None:
    """Whether the car is ready for its departure: the circuit gives it what its plan needs, and the plan reaches the
    SoC the departure needs (None: no departure or need known, or no charge data)."""
    if share is not None and not share.ready:
        return False
    d = t.decision
    if d.needed_soc is None:
        return share.ready if share is not None else None
    if d.expected_soc and d.departure is not None:
        reached = max((soc for at, soc in d.expected_soc if at <= d.departure), default=d.expected_soc[0][1])
        return reached >= d.needed_soc - READY_SLACK_PCT
    if t.snap is not None and t.snap.battery_level is not None:
        return t.snap.battery_level >= d.needed_soc - READY_SLACK_PCT
    return None


def _listed(entry: dict[str, Any], link: VehicleLink, zone: Any) -> None:
    """The car's `tesla.listed_at`: when the account was last listed for it (a car shown asleep since then may have
    woken), and `list_why`, why this tick listed it (None: it was not)."""
    tesla = entry.get("tesla")
    if isinstance(tesla, dict):
        tesla["listed_at"] = _iso(link.looked_at.astimezone(zone)) if link.looked_at else None
        tesla["list_why"] = link.list_why if link.listed else None


def _account_usage(vehicles: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The account's month and day: every car's billed calls (vehicle lists too) and budgets added up; when the
    account was last listed."""
    cars = [v["tesla"] for v in vehicles if isinstance(v.get("tesla"), dict)]
    if not cars:
        return None
    total: dict[str, Any] = {"month": cars[0].get("month")}
    for key in ("data", "list", "commands", "wakes", "wakes_today", "commands_today", "budget_wakes_day",
                "budget_commands_day"):
        total[key] = sum(int(c.get(key) or 0) for c in cars)
    total["est_cost_usd"] = round(sum(float(c.get("est_cost_usd") or 0) for c in cars), 4)
    listed = [str(c["listed_at"]) for c in cars if c.get("listed_at")]
    total["listed_at"] = max(listed, key=datetime.fromisoformat) if listed else None
    return {k: total[k] for k in ("month", "data", "list", "commands", "wakes", "est_cost_usd", "wakes_today",
                                  "commands_today", "budget_wakes_day", "budget_commands_day", "listed_at")}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _money(x: float | None) -> float | None:
    """Dollars to the cent (kg CO₂ to 10 g)."""
    return None if x is None else round(x, 2)
