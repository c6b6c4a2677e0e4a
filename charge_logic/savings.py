"""What a plan saves against charging at once: the money (and CO₂) of the same kWh taken in the plan's windows versus
from now at the same power — "waiting until 00:00 saves $2.10 and 6 kg CO₂ against charging now" — and what the
month's plug-ins really saved: the energy each took, in the hours it took it, against the same energy taken at once
from its plug-in at the charger's full power; each month counting the hours that fell in it, as a utility bill does.

Pure: `now`, the windows, the measured energy and the hourly series come in as values. An hour the series does not
cover makes the figure unknown (None) rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVar

from charge_logic.models import ForecastPoint

HOUR_S = 3600.0


@dataclass(frozen=True)
class Savings:
    """The plan's bill and the bill of charging at once, for the same kWh; None where a series does not cover them."""

    kwh: float  # what both take (a plug-in's share of a month: what it took in the month's hours)
    plan_cost: float | None  # $
    now_cost: float | None
    plan_kg: float | None  # kg CO₂
    now_kg: float | None

    @property
    def saved_usd(self) -> float | None:
        return None if self.plan_cost is None or self.now_cost is None else self.now_cost - self.plan_cost

    @property
    def saved_kg(self) -> float | None:
        return None if self.plan_kg is None or self.now_kg is None else self.now_kg - self.plan_kg


Window = tuple[datetime, datetime, float]  # start, end, kW


def _spans(windows: Sequence[Window], now: datetime, kwh: float) -> list[tuple[float, float, float]]:
    """(start, end, kW) in epoch seconds, from now on, cut where the plan has delivered `kwh`."""
    out, left, t0 = [], kwh, now.timestamp()
    for start, end, kw in sorted(windows):
        a, b = max(start.timestamp(), t0), end.timestamp()
        if b <= a or kw <= 0 or left <= 1e-9:
            continue
        b = min(b, a + left / kw * HOUR_S)
        out.append((a, b, kw))
        left -= kw * (b - a) / HOUR_S
    return out


def _bill(spans: Sequence[tuple[float, float, float]], series: Sequence[ForecastPoint]) -> float | None:
    """Σ kWh × value of its hour; None when a charged hour has no value."""
    return _bill_hours(spans, {epoch_hour(p.start): p.load_mw for p in series
                               if p.load_mw is not None and math.isfinite(p.load_mw)})


def _bill_hours(spans: Sequence[tuple[float, float, float]], by_hour: Mapping[int, float]) -> float | None:
    if not by_hour:
        return None
    total = 0.0
    for a, b, kw in spans:
        t = a
        while t < b - 1e-9:
            h = math.floor(t / HOUR_S)
            seg = min(b, (h + 1) * HOUR_S)
            value = by_hour.get(h)
            if value is None:
                return None
            total += kw * (seg - t) / HOUR_S * value
            t = seg
    return total


def plan_savings(now: datetime, windows: Sequence[Window], kwh: float, price: Sequence[ForecastPoint],
                 co2: Sequence[ForecastPoint] = ()) -> Savings:
    """The plan's windows (open-ended: the car stops when it has taken `kwh`) against full power from `now` at the
    plan's own highest kW, for the kWh the plan delivers. `price` in $/kWh, `co2` in kg/kWh, hourly."""
    planned = _spans(windows, now, kwh)
    got = sum(kw * (b - a) / HOUR_S for a, b, kw in planned)
    kw_now = max((kw for _, _, kw in windows), default=0.0)
    at_once = _spans([(now, now + timedelta(hours=got / kw_now + 1), kw_now)], now, got) if got > 0 else []
    return Savings(got, _bill(planned, price), _bill(at_once, price), _bill(planned, co2) if co2 else None,
                   _bill(at_once, co2) if co2 else None)


def savings_text(s: Savings, start: datetime) -> str | None:
    """'waiting until 00:00 saves $2.10 and 6 kg CO₂ against charging now' (the start in the owner's zone); None when
    there is nothing known to say."""
    parts = []
    if s.saved_usd is not None:
        parts.append(f"${s.saved_usd:.2f}" if s.saved_usd >= 0 else f"costs ${-s.saved_usd:.2f} more")
    if s.saved_kg is not None:
        parts.append(f"{s.saved_kg:.0f} kg CO₂" if s.saved_kg >= 0 else f"{-s.saved_kg:.0f} kg more CO₂")
    if not parts or s.kwh <= 0:
        return None
    saves = [p for p in parts if not p.startswith("costs") and "more" not in p]
    worse = [p for p in parts if p not in saves]
    text = f"waiting until {start:%H:%M}"
    if saves:
        text += " saves " + " and ".join(saves)
    if worse:
        text += (" but " if saves else " ") + " and ".join(worse)
    return text + f" against charging now ({s.kwh:.1f} kWh)"


# ---------------------------------------------------------------------- the month, measured
HourValues = Mapping[int, float]  # an hourly series by epoch hour (UTC hours since 1970): $/kWh or kg/kWh


def epoch_hour(t: datetime) -> int:
    """The hour `t` falls in, as a key that no zone or daylight-saving change makes ambiguous."""
    return math.floor(t.timestamp() / HOUR_S)


def hour_start(h: int) -> datetime:
    return datetime.fromtimestamp(h * HOUR_S, UTC)


def spread(kwh_by_hour: Mapping[int, float], start: datetime, end: datetime, kwh: float) -> dict[int, float]:
    """`kwh_by_hour` with `kwh` added evenly over [start, end] (all of it in start's hour when end <= start)."""
    out = dict(kwh_by_hour)
    a, b = start.timestamp(), end.timestamp()
    if kwh <= 0:
        return out
    if b <= a:
        h = epoch_hour(start)
        out[h] = out.get(h, 0.0) + kwh
        return out
    t = a
    while t < b - 1e-9:
        h = math.floor(t / HOUR_S)
        seg = min(b, (h + 1) * HOUR_S)
        out[h] = out.get(h, 0.0) + kwh * (seg - t) / (b - a)
        t = seg
    return out


def taken_span(before: datetime, now: datetime, kwh: float, kw: float, *, was_charging: bool,
               charging: bool) -> tuple[datetime, datetime]:
    """When, between two readings, the car most likely took `kwh`: over the whole gap while it charged at both;
    at the end of the gap (at `kw`) when it started in between, at the start when it stopped in between; over the
    whole gap when neither reading saw it charge. Why: a plan that starts at 00:00 between readings at 23:55 and 00:09
    took that energy after midnight, at the off-peak price, not a third of it before."""
    if was_charging == charging or kw <= 0:
        return before, now
    need = timedelta(hours=kwh / kw)
    if charging:  # started in between
        return max(before, now - need), now
    return before, min(now, before + need)  # stopped in between


@dataclass(frozen=True)
class PlugIn:
    """One measured plug-in: when it began, the charger's full power (what charging at once would have drawn) and
    the wall kWh it took in each hour; `unplaced_kwh`: energy it took in hours no reading says (a plug-in rebuilt
    from the session log alone): it counts, but has no price."""

    arrival: datetime
    kw: float
    taken: Mapping[int, float] = field(default_factory=dict)
    unplaced_kwh: float = 0.0

    @property
    def kwh(self) -> float:
        return sum(self.taken.values()) + self.unplaced_kwh


def plug_in_savings(p: PlugIn, price: HourValues, co2: HourValues | None = None) -> Savings:
    """What the plug-in's energy cost in the hours it was taken against the same kWh from its arrival at `kw`; each
    figure None when an hour it needs has no value."""
    co2 = co2 or {}
    got = p.kwh
    if got <= 0 or p.kw <= 0:  # nothing taken, or no charger power known: no counterfactual, nothing saved
        return Savings(max(got, 0.0), 0.0 if price else None, 0.0 if price else None, 0.0 if co2 else None,
                       0.0 if co2 else None)
    start = p.arrival.astimezone(UTC)  # in real hours: a zone's wall clock adds one on the autumn's clock change
    at_once = spread({}, start, start + timedelta(hours=got / p.kw), got)
    return Savings(got, _billed(p.taken, price, p.unplaced_kwh), _billed(at_once, price, 0.0),
                   _billed(p.taken, co2, p.unplaced_kwh), _billed(at_once, co2, 0.0))


def _billed(kwh_by_hour: Mapping[int, float], by_hour: HourValues, unplaced: float) -> float | None:
    """Σ kWh × value of its hour; None when an hour that took energy has no value, or some energy has no hour."""
    taken = {h: kwh for h, kwh in kwh_by_hour.items() if kwh > 0}
    if not by_hour or unplaced > 0 or any(h not in by_hour for h in taken):
        return None
    return sum(kwh * by_hour[h] for h, kwh in taken.items())


def _share(measured: float | None, saved: float | None, share: float) -> tuple[float | None, float | None]:
    """A share's (cost, at-once cost): what its energy cost, and that plus its share of the whole saving."""
    return (None, None) if measured is None or saved is None else (measured, measured + saved * share)


K = TypeVar("K", bound=Hashable)
SLIVER_KWH = 1e-6  # a share smaller than this (a float's rounding at an hour's edge) is no share


def plug_in_shares(p: PlugIn, key: Callable[[int], K], price: HourValues,
                   co2: HourValues | None = None) -> dict[K, Savings]:
    """The plug-in split by `key` of the epoch hour (the local month): each share the energy taken in its hours and
    what that cost, as the bill counts it, and the plug-in's whole saving in proportion to that energy (its at-once
    figure is the share's cost plus that). Why: a plug-in that charges over midnight of the 1st is billed partly in
    each month, and the shares add up to the whole plug-in exactly; splitting the at-once counterfactual by its own
    hours instead would show the new month a "cost" for the very night that saved money. Energy with no known hour
    (`unplaced_kwh`) goes to the arrival's share and leaves every share's money unknown, as the whole plug-in's is."""
    got = p.kwh
    if got <= 1e-9:
        return {}
    co2 = co2 or {}
    whole = plug_in_savings(p, price, co2)
    arrival = key(epoch_hour(p.arrival))
    out: dict[K, Savings] = {}
    for k in dict.fromkeys([arrival, *(key(h) for h in sorted(p.taken))]):
        mine = {h: v for h, v in p.taken.items() if key(h) == k}
        kwh = sum(v for v in mine.values() if v > 0) + (p.unplaced_kwh if k == arrival else 0.0)
        if kwh <= SLIVER_KWH:
            continue
        cost, now_cost = _share(_billed(mine, price, p.unplaced_kwh), whole.saved_usd, kwh / got)
        kg, now_kg = _share(_billed(mine, co2, p.unplaced_kwh), whole.saved_kg, kwh / got)
        out[k] = Savings(kwh, cost, now_cost, kg, now_kg)
    return out


@dataclass(frozen=True)
class MonthSavings:
    """The month's shares of plug-ins (by the local month of the hours the energy was taken in, and of the hours
    charging at once would have taken it in) against charging each at once. The money sums the shares every hour of
    which has a price, CO₂ those every hour of which has a CO₂ value; `unpriced`: plug-ins whose share took energy in
    hours no price covers (yet)."""

    month: str  # "2026-12", local
    sessions: int  # plug-ins that took energy in the month (or would have, charged at once)
    kwh: float  # what they took in the month's hours
    cost_usd: float | None
    now_cost_usd: float | None
    co2_kg: float | None
    now_co2_kg: float | None
    unpriced: int = 0

    @property
    def saved_usd(self) -> float | None:
        return None if self.cost_usd is None or self.now_cost_usd is None else self.now_cost_usd - self.cost_usd

    @property
    def saved_co2_kg(self) -> float | None:
        return None if self.co2_kg is None or self.now_co2_kg is None else self.now_co2_kg - self.co2_kg


def month_key(t: datetime, zone: tzinfo) -> str:
    return t.astimezone(zone).strftime("%Y-%m")


def month_savings(now: datetime, zone: tzinfo, plug_ins: Sequence[tuple[PlugIn, HourValues, HourValues]], *,
                  price_known: bool = False, co2_known: bool = False) -> MonthSavings:
    """The current local calendar month's shares of the plug-ins (each with the price and CO₂ of its hours), added
    up: the energy and its cost in the month of each hour it was taken, as the owner's bill counts them, and each
    plug-in's saving in proportion to that energy (plug_in_shares). A plug-in that charges over midnight of the 1st
    counts in both months, and the two months' savings add up to its whole saving; energy no hour is known for stays
    in the month of the arrival. The money is None (unknown, not 0) when no share of the month had a price
    and none is known now (`price_known`: OBJECTIVE=load with no tariff or price); the CO₂ likewise."""
    month = month_key(now, zone)

    def month_of(h: int) -> str:
        return month_key(hour_start(h), zone)

    sessions = unpriced = 0
    kwh = 0.0
    cost = now_cost = kg = now_kg = 0.0
    priced = with_co2 = 0
    for p, price, co2 in plug_ins:
        s = plug_in_shares(p, month_of, price, co2).get(month)
        if s is None:
            continue
        sessions += 1
        kwh += s.kwh
        if s.plan_cost is not None and s.now_cost is not None:
            priced += 1
            cost, now_cost = cost + s.plan_cost, now_cost + s.now_cost
        else:
            unpriced += 1
        if s.plan_kg is not None and s.now_kg is not None:
            with_co2 += 1
            kg, now_kg = kg + s.plan_kg, now_kg + s.now_kg
    has_price = priced > 0 or price_known
    has_co2 = with_co2 > 0 or co2_known
    return MonthSavings(month, sessions, kwh, cost if has_price else None, now_cost if has_price else None,
                        kg if has_co2 else None, now_kg if has_co2 else None, unpriced)
