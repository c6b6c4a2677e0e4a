"""One car's tick: gather, decide, act, record. The only place where side effects meet the pure rules.

Modelled on Home Assistant's coordinators: sources are polled here, each failure is caught at its boundary and shown
in `health`, and the tick always ends with a whole state.json, whatever failed. A Coordinator is one car (its link,
its driver's calendar, its session log and learning); service/site.py runs one or several of them on one circuit,
gathers the grid forecast once and writes the one state.json. `Coordinator.tick` is a site of this car alone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from charge_logic.battery import learn_capacity
from charge_logic.charge_schedules import Place, with_charge_schedule
from charge_logic.consumption import learn_consumption
from charge_logic.household import PastSession
from charge_logic.household_planner import HOME, HouseholdPlanner, Tuning, session_key
from charge_logic.models import ChargeWindow, Decision, ForecastPoint, Trip, VehicleSnapshot
from charge_logic.power import wall_kw
from charge_logic.rules import decide
from charge_logic.site import CarShare
from charge_logic.vehicle_plan import plan_for_vehicle
from service import driver_estimate
from service.planner_store import PlannerStore
from service.session_log import SessionLog
from service.settings import Settings
from service.signal_source import SignalSource
from service.sources import ForecastProvider, SourceStatus, TripProvider
from service.state_file import (
    HISTORY_DAYS,
    ensure_private_dir,
    read_json_or_move_aside,
    trim_history,
)
from service.state_schema import FIRST_CAR, car_section, migrate
from service.tick import CarTick, TickResult, failing, next_try
from service.tick import ago as _ago
from service.vehicle_link import SendReport, VehicleLink

log = logging.getLogger(__name__)

Planner = Callable[..., Any]

# A Fleet API token without the vehicle_location scope (added 2024-11) reads the car without its position.
NO_POSITION_HELP = ("The car sends no position: the Tesla sign-in lacks the vehicle_location scope. Run `python "
                    "scheduler.py auth tesla` again and allow Location (or add it to the app's scopes at "
                    "developer.tesla.com first); until then nothing is changed, since the car may not be at home.")


class Coordinator:
    def __init__(self, settings: Settings, link: VehicleLink, forecast: ForecastProvider | None,
                 trips: TripProvider | None, *, mode: str = "live", interval_min: float = 14.0,
                 planner: Planner | None = None, signal: SignalSource | None = None,
                 car_id: str = FIRST_CAR, name: str = "", state_path: Path | None = None, first: bool = True):
        self.settings = settings
        self.car_id, self.name = car_id, name  # its key in CARS and state.json; the owner's name for it
        self.zone = settings.zone
        self.rules = settings.rules()
        self.link = link
        self.forecast_source = forecast
        self.trip_source = trips
        self.mode = mode
        self.interval_min = interval_min
        self.planner = planner or plan_for_vehicle  # used when POLICY=planner
        # what the plan minimises (OBJECTIVE): the tariff, a price or CO₂ forecast, or grid load
        self.signal_source = signal  # what the plan minimises (OBJECTIVE); the site builds it when None
        self.state_dir = ensure_private_dir(Path(settings.state_dir))
        self.state_path = state_path or self.state_dir / "state.json"  # the site's, the one state.json
        whole = read_json_or_move_aside(self.state_path, datetime.now().astimezone())
        previous = car_section(migrate(whole), car_id, first=first) if isinstance(whole, dict) else None
        previous = previous or {}
        history = previous.get("history") if isinstance(previous, dict) else None
        self.history: list[dict[str, Any]] = history if isinstance(history, list) else []
        self._history_checked = False
        self.session_log = SessionLog(self.state_dir, settings.battery_kwh, datetime.now().astimezone())
        self.planned = _windows_of(previous)  # the plan the car was last given, kept unless a new one is worth it
        self.planner_store = PlannerStore(self.state_dir)
        self.household, self.planner_note = self._load_household(datetime.now().astimezone())
        self._site: Any = None  # the site of this car alone, when tick() is called on it

    def _load_household(self, now: datetime) -> tuple[HouseholdPlanner, str | None]:
        """The learned planner as it was before the restart; a file that cannot be used is rebuilt from the session
        log (the model of the household is whole again, the risk price starts cautious) and the dashboard says so."""
        state, why = self.planner_store.load(now)
        household = HouseholdPlanner(state, Tuning(target_short=self.settings.short_risk_pct / 100.0))
        ended = self.sessions()
        if state is not None:
            household.resume(ended)
            return household, None
        household.learn(ended)
        if why is None:
            return household, None
        return household, (f"The planner's learned state ({self.planner_store.path.name}) could not be used: {why}. "
                           f"It was rebuilt from the {len(ended)} plug-ins in the session log; the risk price starts "
                           "cautious again.")

    def _learn_household(self) -> None:
        """Plug-ins that ended since the last tick: what the car really took tells the planner whether it was left
        short."""
        until = self.household.state.learned_until
        finished = []
        for s in reversed(self.session_log.sessions):  # in order: only the newest can be new
            if s.departure is None:
                continue
            if until is not None and datetime.fromisoformat(s.departure).timestamp() <= until:
                break
            finished.append(s)
        finished.reverse()
        ended = self.household.pending(self.sessions(finished))
        if ended:
            taken = {session_key(HOME, s.arrival_at.timestamp()): s.taken_kwh() for s in finished}
            self.household.learn(ended, taken)

    # ------------------------------------------------------------------ gathering
    def _failing(self, st: SourceStatus) -> str:
        return failing(st)

    def _next_try(self, st: SourceStatus, now: datetime) -> str:
        return next_try(st, now, self.zone)

    def _trips(self, now: datetime, notes: list[str]) -> list[Trip]:
        if self.trip_source is None:
            notes.append("No calendar is configured: the default departure and limit apply.")
            return []
        try:
            trips = self.trip_source.get(now)
        except Exception as exc:
            log.exception("calendar source failed")
            self.trip_source.calendar_status.failed(exc, now)
            trips = []
        cal = self.trip_source.calendar_status
        hours = self.settings.calendar_stale_hours
        if cal.stale and cal.data_at is not None and (now - cal.data_at).total_seconds() > hours * 3600:
            notes.append(f"The calendar could not be read for {_ago(now, cal.data_at).removesuffix(' ago')}, longer "
                         f"than CALENDAR_STALE_HOURS ({hours:g} h){self._failing(cal)}: its events are dropped and "
                         f"the default departure ({self.settings.default_departure:%H:%M}) and limit "
                         f"({self.settings.base_charge_limit} %) apply{self._next_try(cal, now)}.")
        elif cal.stale:
            notes.append(f"The calendar could not be read{self._failing(cal)}; using events from "
                         f"{_ago(now, cal.data_at)}{self._next_try(cal, now)}.")
        elif not cal.ok and cal.data_at is None:
            notes.append(f"The calendar could not be read{self._failing(cal)}: the default departure and limit "
                         f"apply{self._next_try(cal, now)}.")
        if cal.warning:
            notes.append(f"The calendar was read, but not all of it: {cal.warning}.")
        for st in self.trip_source.maps_statuses:
            if not st.ok and st.last_error:
                notes.append(f"Google Maps is failing ({st.last_error}): distances known before are used, new places "
                             f"have none{self._next_try(st, now)}.")
        return trips

    def _vehicle_notes(self, now: datetime, snap: VehicleSnapshot | None, notes: list[str]) -> None:
        s = self.settings
        if (s.home_latitude or s.home_longitude) and snap is not None and snap.battery_level is not None \
                and snap.latitude is None:
            notes.append(NO_POSITION_HELP)
        st = self.link.status
        if st.ok or not st.last_error:
            return
        if st.stale and snap is not None:
            notes.append(f"The car could not be read ({st.last_error}); using its data from "
                         f"{_ago(now, snap.read_at or st.data_at)}{self._next_try(st, now)}.")
        else:
            notes.append(f"The car could not be read ({st.last_error}){self._next_try(st, now)}.")

    def _at_home(self, snap: VehicleSnapshot | None) -> bool | None:
        s = self.settings
        if not (s.home_latitude or s.home_longitude):
            return True  # no home set: wherever the car is plugged in counts as home
        if snap is None or snap.latitude is None or snap.longitude is None:
            return None
        return _distance_m(s.home_latitude, s.home_longitude, snap.latitude, snap.longitude) <= s.home_radius_m

    # ------------------------------------------------------------------ the tick
    def decide(self, now: datetime, snap: VehicleSnapshot | None, forecast: Sequence[ForecastPoint],
               trips: Sequence[Trip], notes: Sequence[str], site: CarShare | None = None) -> Decision:
        """The car's decision; `site`: its share of a circuit that cannot give every car its own plan, followed in
        place of that plan (the car's own plan is still what the planner keeps)."""
        windows = None
        # Without a forecast the planner has nothing to shift charging by and would charge at once, often in the
        # evening peak; the car's own off-peak schedule, finishing by the departure, is the better default.
        if snap is not None and snap.plugged_in is False:
            self.planned = ()  # a new plug-in starts from no plan, as the backtest's does
        # only a plugged-in car is planned: planning an unplugged one noted a plug-in in planner.json every tick
        if self.rules.policy == "planner" and snap is not None and snap.plugged_in and forecast:
            session = self.session_log.open
            arrival = session.arrival_at if session else None
            plan = self.planner(now, snap, forecast, trips, self.rules, self.zone, plugged_at=arrival,
                                household=self.household, held=self.planned,
                                estimate=driver_estimate.for_plug_in(self.state_dir, arrival))
            windows = self.planned = plan.windows
            notes = [*notes, *(f"Plan: {r}" for r in plan.reasons)]
        rules = self.rules
        if site is not None:
            windows = site.windows
            notes = [*notes, *(f"Circuit: {r}" for r in site.reasons)]
            # what the rules charge at "full power" (a low SoC, a trip now) is this car's share of the circuit now
            now_amps = max((w.amps for w in site.windows if w.start <= now < w.end), default=0)
            rules = replace(rules, max_amps=max(min(rules.max_amps, now_amps), rules.min_amps))
        decision = decide(now, snap, forecast, trips, rules, zone=self.zone, at_home=self._at_home(snap),
                          windows=windows, notes=notes)
        # teslapy has no add_charge_schedule endpoint: there the scheduled departure is only left out
        enabled = self.settings.tesla_charge_schedules and self.settings.tesla_backend != "teslapy"
        return with_charge_schedule(decision, snap, now=now, zone=self.zone, place=self._schedule_place(snap),
                                    enabled=enabled, planned=windows or ())

    def _schedule_place(self, snap: VehicleSnapshot | None) -> Place | None:
        """Where the car's own charge schedule applies: home, or where the car is when no home is set."""
        s = self.settings
        if s.home_latitude or s.home_longitude:
            return Place(s.home_latitude, s.home_longitude)
        if snap is not None and snap.latitude is not None and snap.longitude is not None:
            return Place(snap.latitude, snap.longitude)
        return None

    def _learn_battery(self, notes: list[str]) -> None:
        """The battery's usable kWh, once the car's own charges say it, in place of BATTERY_KWH for this tick."""
        learned = learn_capacity(self.session_log.charges(), self.settings.battery_kwh)
        self.rules = replace(self.rules, battery_kwh=learned.kwh or self.settings.battery_kwh)
        self.session_log.battery_kwh = self.rules.battery_kwh
        if learned.kwh is not None:
            notes.append(_sentence(learned.reason))

    def _learn_consumption(self, notes: list[str]) -> None:
        """The car's own Wh/km, once its drives say it, in place of CONSUMPTION_WH_PER_KM for this tick."""
        setting = self.settings.consumption_wh_per_km
        learned = learn_consumption(self.session_log.drives(), self.rules.battery_kwh, setting)
        self.rules = replace(self.rules, consumption_wh_per_km=learned.wh_per_km or setting)
        if learned.wh_per_km is not None:
            notes.append(_sentence(learned.reason))

    def sessions(self, finished: list | None = None) -> list[PastSession]:
        """The household's finished plug-in sessions, as the planner learns from them: the energy is what charging
        at once would have given (up to the car's limit), not only what the plan let it take."""
        battery = self.rules.battery_kwh
        return [PastSession(HOME, s.arrival_at.astimezone(self.zone), s.departure_at.astimezone(self.zone),
                            s.wanted_kwh(battery))
                for s in (self.session_log.finished() if finished is None else finished) if s.departure_at is not None]

    def tick(self, now: datetime) -> TickResult:
        """One tick of this car alone, as the site of one car (service/site.py), which writes state.json."""
        if self._site is None:
            from service.site import Site

            self._site = Site(self.settings, [self], self.forecast_source, mode=self.mode,
                              interval_min=self.interval_min, state_path=self.state_path,
                              signal=self.signal_source)
        return self._site.tick(now).cars[0]

    def gather(self, now: datetime, forecast: Sequence[ForecastPoint], site_notes: Sequence[str]) -> CarTick:
        """Read the car and its driver's calendar, learn, and decide on the car's own plan."""
        notes = list(site_notes)
        trips = self._trips(now, notes)
        snap = self.link.read(now)
        self._vehicle_notes(now, snap, notes)
        self.session_log.observe(now, snap)
        self._learn_battery(notes)
        self._learn_consumption(notes)
        self._learn_household()
        decision = self.decide(now, snap, forecast, trips, notes)
        return CarTick(now, forecast, trips, snap, notes, decision)

    def act(self, t: CarTick, share: CarShare | None = None, ready: bool | None = None) -> TickResult:
        """Send the car its own changed commands (its share of the circuit's when the site had to cut its plan) and
        record the tick; the returned result's `state` is this car's entry only, the site puts it in state.json."""
        now, forecast, trips, notes = t.now, t.forecast, t.trips, t.notes
        decision = t.decision if share is None else self.decide(now, t.snap, forecast, trips, notes, site=share)
        report = self.link.send(now, decision,
                                lambda fresh: self.decide(now, fresh, forecast, trips, notes, site=share))
        if report.skipped:
            log.info("%s: commands not sent: %s", self.car_id, report.skipped)
        snap = self.link.last or t.snap
        self.link.save()
        self.household.drop_stale(now.timestamp() - 14 * 86400.0)
        self.planner_store.save(self.household.state)
        state = self._state(now, snap, forecast, trips, report, share, ready)
        return TickResult(now, snap, report.decision, report, state, self.car_id)

    def statuses(self) -> list[SourceStatus]:
        """This car's sources: its link, its calendar and drives."""
        out: list[SourceStatus] = [self.link.status]
        if self.trip_source is not None:
            out.extend(self.trip_source.statuses)
        return out

    # ------------------------------------------------------------------ the state file
    def _state(self, now: datetime, snap: VehicleSnapshot | None, forecast: Sequence[ForecastPoint],
               trips: Sequence[Trip], report: SendReport, share: CarShare | None = None,
               ready: bool | None = None) -> dict[str, Any]:
        """This car's entry of state.json's `vehicles` (docs/state-file.md)."""
        d = report.decision
        self.history.append({
            "at": now.isoformat(), "soc": snap.battery_level if snap else None,
            "plugged_in": snap.plugged_in if snap else None, "charging_state": snap.charging_state if snap else None,
            "amps": d.amps, "limit": d.charge_limit, "mode": d.mode, "charge_now": d.charge_now,
            "sent": sum(1 for s in report.sent if s["ok"]), "woke": report.woke,
            "power_kw": _power_kw(snap)})
        if self._history_checked:  # rows this process appended are whole and in order: drop from the front
            cutoff = now.timestamp() - HISTORY_DAYS * 86400
            while self.history and datetime.fromisoformat(self.history[0]["at"]).timestamp() < cutoff:
                del self.history[0]
        else:  # what was read from disk may hold anything
            self.history = trim_history(self.history, now)
            self._history_checked = True
        u = self.link.usage
        return {
            "id": self.car_id, "name": self.name or (snap.display_name if snap else None),
            "vin": snap.vin_short if snap else None,
            "vehicle": _vehicle_json(snap, self._at_home(snap)),
            "events": [_event_json(t, self.rules) for t in trips],
            "decision": {
                "at": _iso(d.at), "mode": d.mode, "charge_now": d.charge_now, "amps": d.amps,
                "charge_limit": d.charge_limit, "departure": _iso(d.departure), "off_peak_end": _iso(d.off_peak_end),
                "needed_soc": d.needed_soc, "reasons": list(d.reasons) + ([report.skipped] if report.skipped else []),
                "commands": [{"name": c.name, "args": c.args} for c in d.commands],
                "sent": report.sent, "woke": report.woke},
            "plan": {
                "windows": [{"start": _iso(w.start), "end": _iso(w.end), "amps": w.amps,
                             "kw": round(wall_kw(snap, w.amps), 2)} for w in d.windows],
                "departure": _iso(d.departure), "needed_soc": d.needed_soc,
                "expected_soc": [{"at": _iso(t), "soc": round(s, 1)} for t, s in d.expected_soc]},
            "history": self.history,
            "planner": {"risk_price": round(self.household.price, 3), "why": _sentence(self.household.price_reason()),
                        "learned_plug_ins": self.household.state.learned,
                        "target_short_pct": self.settings.short_risk_pct, "note": self.planner_note},
            "departure": _iso(d.departure), "ready": ready,
            "waits_for": share.waits_for[0] if share is not None and share.waits_for else None,
            "savings": None,
            "tesla": {"month": u.month, "data": u.data, "list": u.listed, "commands": u.commands, "wakes": u.wakes,
                      "est_cost_usd": u.cost_usd(), "wakes_today": u.wakes_today,
                      "commands_today": u.commands_today, "budget_wakes_day": self.settings.tesla_wakes_per_day,
                      "budget_commands_day": self.settings.tesla_commands_per_day},
        }


def _windows_of(state: Any) -> tuple[ChargeWindow, ...]:
    """The planned windows of a saved state.json (none when it has none or they are unreadable)."""
    try:
        return tuple(ChargeWindow(datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]), int(w["amps"]))
                     for w in state["plan"]["windows"])
    except (KeyError, TypeError, ValueError):
        return ()


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _power_kw(snap: VehicleSnapshot | None) -> float | None:
    if snap is None or snap.charger_actual_current is None or snap.charger_voltage is None:
        return None
    return round(snap.charger_actual_current * snap.charger_voltage * (snap.charger_phases or 1) / 1000, 2)


def _vehicle_json(snap: VehicleSnapshot | None, at_home: bool | None) -> dict[str, Any] | None:
    if snap is None:
        return None
    return {
        "name": snap.display_name, "vin": snap.vin_short, "state": snap.state, "read_at": _iso(snap.read_at),
        "plugged_in": snap.plugged_in, "at_home": at_home, "battery_level": snap.battery_level,
        "charge_limit_soc": snap.charge_limit_soc, "charging_state": snap.charging_state,
        "charge_current_request": snap.charge_current_request,
        "charge_current_request_max": snap.charge_current_request_max,
        "charger_actual_current": snap.charger_actual_current, "charger_voltage": snap.charger_voltage,
        "charger_phases": snap.charger_phases, "charger_power_kw": _power_kw(snap),
        "scheduled_charging_mode": snap.scheduled_charging_mode,
        "off_peak_charging_enabled": snap.off_peak_charging_enabled,
        "scheduled_departure_time_minutes": snap.scheduled_departure_time_minutes,
        "off_peak_hours_end_time": snap.off_peak_hours_end_time, "time_to_full_charge": snap.time_to_full_charge}


def _event_json(trip: Trip, rules: Any) -> dict[str, Any]:
    e, r = trip.event, trip.route
    energy = round(2 * r.distance_km * rules.consumption_wh_per_km / 1000, 1) if r else None
    return {"summary": e.summary, "start": _iso(e.start), "end": _iso(e.end), "all_day": e.all_day,
            "location": e.location, "distance_km": r.distance_km if r else None,
            "drive_minutes": r.drive_minutes if r else None, "energy_kwh": energy, "note": trip.note}


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(a))


def _sentence(text: str) -> str:
    """A learner's reason opens a sentence among the notes."""
    return text[:1].upper() + text[1:]
