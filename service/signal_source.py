"""The series the planner minimises this tick (OBJECTIVE): the tariff, a price or CO₂ forecast, or grid load, with the
others as tie-breaks (charge_logic.objective) — and what to do when a source is down.

Why here: the planner and the seed rules take one series (the `forecast` they were always given); which series that is
depends on what the owner set and on what answers now. Cost is the price source's series when it answers (ComEd's
hourly price is what an hourly-pricing customer pays for supply: a tariff set too is added as the delivery part; a
wholesale LMP only breaks the tariff's ties), else the tariff alone (known ahead, never down), else grid load; CO₂
falls back to cost, then to load. Each fallback is said once a tick in the reasons and in state.json's `signal`
(docs/state-file.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from charge_logic.localtime import clock_text
from charge_logic.models import ForecastPoint
from charge_logic.objective import KINDS, Objective, SignalKind, planning_series
from charge_logic.tariff import Tariff, TariffError, parse_tou
from clients import openei
from service.backoff import Backoff, retry_after_of
from service.client_io import ClientIO
from service.series_source import AHEAD, BEHIND, PolledSeries, SeriesPoint
from service.settings import Settings, SettingsError
from service.sources import SourceStatus
from service.tick import ago, failing, next_try

log = logging.getLogger(__name__)


class TariffSource:
    """The owner's tariff: parsed at start (TARIFF_FILE, TARIFF_TOU), or fetched once from OpenEI by its label and
    kept (clients/openei.py); a failed fetch is tried again after the backoff, the objective falling back meanwhile."""

    def __init__(self, tariff: Tariff | None = None, load: Callable[[datetime], Tariff] | None = None,
                 status: SourceStatus | None = None, backoff: Backoff | None = None) -> None:
        self.tariff, self.load = tariff, load
        self.status = status or SourceStatus("tariff")
        self.backoff = backoff or Backoff()

    def get(self, now: datetime) -> Tariff | None:
        if self.tariff is not None or self.load is None or not self.backoff.ready(now):
            return self.tariff
        try:
            self.tariff = self.load(now)
        except (openei.OpenEIError, TariffError) as exc:
            log.warning("tariff: %s", exc)
            self.status.failed(exc, now)
            self.status.retry_at = self.backoff.failed(now, retry_after_s=retry_after_of(exc))
            return None
        self.backoff.succeeded()
        self.status.retry_at = None
        self.status.succeeded(now, data_at=now, forget_error=True)
        return self.tariff

    def points(self, now: datetime, zone: tzinfo) -> list[SeriesPoint]:
        tariff = self.get(now)
        if tariff is None:
            return []
        start = (now - BEHIND).replace(minute=0, second=0, microsecond=0)
        return [SeriesPoint(t.astimezone(UTC), p, True) for t, p in tariff.hourly(start, now + AHEAD, zone)]


@dataclass
class BuiltSignal:
    """What the planner is given this tick, and what state.json's `signal` says of it."""

    objective: Objective
    kind: SignalKind
    source: str  # state-file contract: gridstatus | demo | tariff | gridstatus_lmp | comed | pjm_mer | watttime
    label: str | None
    points: list[ForecastPoint]
    known: dict[datetime, bool] = field(default_factory=dict)
    fallback: str | None = None
    notes: list[str] = field(default_factory=list)
    # what the owner pays ($/kWh: the tariff, or the price source with the tariff added where it is only the supply
    # part) and the CO₂ series (kg/kWh), whatever the objective: what state.json's `savings` is counted in
    price: list[SeriesPoint] = field(default_factory=list)
    co2: list[SeriesPoint] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"objective": self.objective.value, "name": self.kind.name, "unit": self.kind.unit,
                "source": self.source, "label": self.label, "fallback": self.fallback,
                "points": [{"start": p.start.isoformat(), "value": round(p.load_mw, 6),
                            "known": self.known.get(p.start, False)} for p in self.points]}


def _fp(series: Sequence[SeriesPoint]) -> list[ForecastPoint]:
    return [ForecastPoint(p.start, p.value) for p in series]


class SignalSource:
    """Builds the tick's signal from the sources the settings name; `statuses` joins the health table."""

    def __init__(self, objective: Objective, zone: ZoneInfo, *, tariff: TariffSource | None = None,
                 price: PolledSeries | None = None, co2: PolledSeries | None = None,
                 price_adds_tariff: bool = False) -> None:
        self.objective, self.zone = objective, zone
        self.tariff, self.price, self.co2 = tariff, price, co2
        self.price_adds_tariff = price_adds_tariff  # the price is the supply part only (ComEd): add the tariff

    @property
    def statuses(self) -> list[SourceStatus]:
        out = [s.status for s in (self.price, self.co2) if s is not None]
        if self.tariff is not None and self.tariff.load is not None:
            out.insert(0, self.tariff.status)
        return out

    def plans_without_load(self) -> bool:
        """Whether a missing grid load forecast still leaves a series to plan on (a tariff in hand)."""
        return self.objective is not Objective.LOAD and self.tariff is not None and self.tariff.tariff is not None

    def build(self, now: datetime, load: Sequence[ForecastPoint], load_source: str = "gridstatus",
              load_label: str | None = None) -> BuiltSignal:
        """This tick's signal. Never raises for a source failure: a source that fails is left out and said."""
        tariff = self.tariff.points(now, self.zone) if self.tariff is not None else []
        tariff_name = self.tariff.tariff.name if self.tariff is not None and self.tariff.tariff else None
        price = self._get(self.price, now)
        co2 = self._get(self.co2, now)
        load = list(load)
        want, fallback = self.objective, None
        if want is Objective.CO2 and not co2:
            want = Objective.COST if tariff or price else Objective.LOAD
            fallback = f"{self._why(self.co2, 'CO2_SOURCE')}: planning on {KINDS[want].name} instead"
        if want is Objective.COST and not price and self.price is not None:
            if tariff:
                fallback = fallback or f"{self._why(self.price, 'PRICE_SOURCE')}: planning on the tariff alone"
            else:
                want = Objective.LOAD
                fallback = fallback or f"{self._why(self.price, 'PRICE_SOURCE')}: planning on grid load"
        if want is Objective.COST and not price and not tariff:
            want = Objective.LOAD
            fallback = fallback or f"{self._why_tariff()}: planning on grid load"
        out = self._compose(want, tariff, tariff_name, price, co2, load, load_source, load_label, now)
        out.objective = self.objective
        out.fallback = fallback
        if fallback:
            out.notes.insert(0, f"{_sentence(fallback)}.")
        for source, points in ((self.price, price), (self.co2, co2)):
            if source is not None and points and source.status.stale:
                out.notes.insert(0, self._stale(source, now))
        return out

    def _stale(self, source: PolledSeries, now: datetime) -> str:
        """'ComEd hourly pricing is stale (from 3.1 h ago) (ComEd error 503: ...); using it until it is renewed; next
        try at 15:19.'"""
        st = source.status
        return (f"{source.label or source.name} is stale (from {ago(now, st.data_at)}){failing(st)}; using it until it "
                f"is renewed{next_try(st, now, self.zone)}.")

    def _compose(self, want: Objective, tariff: list[SeriesPoint], tariff_name: str | None,
                 price: list[SeriesPoint], co2: list[SeriesPoint], load: list[ForecastPoint], load_source: str,
                 load_label: str | None, now: datetime) -> BuiltSignal:
        kind = KINDS[want]
        known: dict[datetime, bool] = {}
        cost: list[SeriesPoint] = []
        cost_source, cost_label = "tariff", tariff_name
        if price and self.price is not None:
            cost_source, cost_label = self.price.name, self.price.label
            if tariff and self.price_adds_tariff:
                by_hour = {p.start: p.value for p in tariff}
                cost = [SeriesPoint(p.start, p.value + by_hour[p.start], p.known) for p in price if p.start in by_hour]
                cost_label = f"{self.price.label} + {tariff_name}"
            elif tariff:  # a wholesale price the owner does not pay: it only breaks the tariff's ties
                cost, cost_source, cost_label = tariff, "tariff", tariff_name
            else:
                cost = price
        elif tariff:
            cost = tariff
        wholesale = [] if cost_source != "tariff" or not price else _fp(price)
        if want is Objective.CO2:
            primary, source, label = co2, (self.co2.name if self.co2 else ""), (self.co2.label if self.co2 else None)
        elif want is Objective.COST:
            primary, source, label = cost, cost_source, cost_label
        else:
            primary, source, label = [], load_source, load_label
        known = {p.start: p.known for p in primary}
        points = planning_series(want, load, _fp(cost), _fp(co2), wholesale)
        paid = [] if self.price_adds_tariff and not price else cost  # the tariff alone is not the bill of a ComEd
        out = BuiltSignal(want, kind, source, label, points, known, price=paid, co2=co2)  # customer
        if want is not Objective.LOAD and points:
            out.notes.append(self._describe(out, now, has_load=bool(load)))
        return out

    def _describe(self, s: BuiltSignal, now: datetime, *, has_load: bool) -> str:
        """'Planning on price (PG&E EV2-A, known ahead; ties by grid load): lowest 0.12 $/kWh from 00:00 to 07:00,
        0.38 $/kWh now.' — the off-peak hours of the next day, as the planner sees them."""
        day = [p for p in s.points if now - timedelta(hours=1) < p.start <= now + timedelta(hours=24)]
        if not day:
            return f"Planning on {s.kind.name} ({s.label or s.source})."
        current = next((p for p in day if p.start <= now < p.start + timedelta(hours=1)), day[0])
        lowest = min(p.load_mw for p in day)
        eps = 1e-6 * max(1.0, abs(lowest))
        first = next(i for i, p in enumerate(day) if p.load_mw <= lowest + _tie(day) + eps)
        last = first
        while last + 1 < len(day) and day[last + 1].load_mw <= lowest + _tie(day) + eps:
            last += 1
        a, b = day[first].start, day[last].start + timedelta(hours=1)
        where = "known ahead" if all(s.known.get(p.start, False) for p in day) else "forecast"
        ties = "; ties by grid load" if has_load else "; no grid load forecast to break its ties"
        span = "off-peak" if s.source == "tariff" else "lowest"
        return (f"Planning on {s.kind.name} ({s.label or s.source}, {where}{ties}): {span} "
                f"{_num(day[first].load_mw)} {s.kind.unit} from {clock_text(a, now, self.zone)} to "
                f"{clock_text(b, now, self.zone)}, {_num(current.load_mw)} {s.kind.unit} now.")

    @staticmethod
    def _get(source: PolledSeries | None, now: datetime) -> list[SeriesPoint]:
        if source is None:
            return []
        try:
            return source.get(now)
        except Exception as exc:  # a provider bug must not stop the loop
            log.exception("%s failed", source.name)
            source.status.failed(exc, now)
            return []

    @staticmethod
    def _why(source: PolledSeries | None, setting: str) -> str:
        if source is None:
            return f"no {setting} is set"
        st = source.status
        what = f" ({st.last_error})" if st.last_error else ""
        return f"{source.label or source.name} gives no usable series now{what}"

    def _why_tariff(self) -> str:
        if self.tariff is None:
            return "no tariff or price source is set"
        err = self.tariff.status.last_error
        return f"the tariff is not available{f' ({err})' if err else ''}"


def _tie(day: Sequence[ForecastPoint]) -> float:
    """How far above the lowest value an hour still reads as the same price (the tie-breaks' share)."""
    values = [p.load_mw for p in day]
    return 2e-3 * ((max(values) - min(values)) or 1.0)


def _num(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) < 10 else f"{x:.0f}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_tariff_source(settings: Settings, *, session: requests.Session | None = None,
                       io: ClientIO = ClientIO(), interval_min: float = 14.0) -> TariffSource | None:
    """TARIFF_FILE / TARIFF_TOU parsed now (settings checked they parse), TARIFF_LABEL fetched on the first tick."""
    try:
        if settings.tariff_file:
            return TariffSource(openei.tariff_from_file(settings.tariff_file))
        if settings.tariff_tou:
            return TariffSource(parse_tou(settings.tariff_tou))
    except TariffError as exc:
        raise SettingsError(str(exc)) from None
    if not settings.tariff_label:
        return None
    client = openei.OpenEIClient(settings.openei_api_key, settings.openei_base_url, session=session,
                                 timeout=io.timeout(20.0))
    cache = Path(settings.state_dir) / "tariff.json"

    def load(now: datetime) -> Tariff:
        return openei.fetch_tariff(client, settings.tariff_label, cache, now)

    return TariffSource(load=load, status=SourceStatus("openei"), backoff=Backoff(timedelta(minutes=interval_min)))


def make_signal_source(settings: Settings, *, session: requests.Session | None = None, io: ClientIO = ClientIO(),
                       interval_min: float = 14.0) -> SignalSource:
    """The daemon's signal source from the settings (the price and CO₂ clients: service/price_source.py)."""
    from service.price_source import make_co2_source, make_price_source

    tariff = make_tariff_source(settings, session=session, io=io, interval_min=interval_min)
    price = make_price_source(settings, session=session, io=io, interval_min=interval_min)
    co2 = make_co2_source(settings, session=session, io=io, interval_min=interval_min)
    return SignalSource(settings.chosen_objective, settings.zone, tariff=tariff, price=price, co2=co2,
                        price_adds_tariff=settings.price_source == "comed")
