"""What the owner pays for a kWh at any local hour: a US utility rate from OpenEI's Utility Rate Database (URDB), or a
short hand-written time-of-use form. Pure: the rate comes in as parsed JSON or text, prices go out.

URDB's shape (openei.org/services/doc/rest/util_rates, version 7; read the same way by NREL's REopt, urdb.jl):
- the API answers `{"items": [rate, ...]}`; a file may hold that reply or the rate object alone;
- `energyratestructure`: a list of periods, each a list of tiers `{"max": kWh, "unit": "kWh", "rate": $/kWh,
  "adj": $/kWh}` (`max` absent on the last tier; the price of a tier is rate + adj);
- `energyweekdayschedule` / `energyweekendschedule`: 12 months x 24 hours of period indexes, zero-based;
  weekdays are Monday to Friday.
Holidays, demand charges and fixed charges do not change the price of the next kWh and are not read.

The hand-written form (`parse_tou`), e.g. `0.12, 16-21 0.38 weekdays, jun-sep 14-16 0.22`: a base price for every
hour, then windows `[months ]H1-H2 PRICE[ weekdays|weekends]` (H2 exclusive, 22-6 wraps past midnight), later
windows winning over earlier ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class TariffError(ValueError):
    """One line: where (the setting or file) and what is wrong in it."""


@dataclass(frozen=True)
class Tier:
    max_kwh: float | None  # this tier's upper bound of the month's kWh; None for the last
    price: float  # $/kWh, rate + adj


@dataclass(frozen=True)
class Tariff:
    name: str
    periods: tuple[tuple[Tier, ...], ...]
    weekday: tuple[tuple[int, ...], ...]  # 12 x 24 period indexes
    weekend: tuple[tuple[int, ...], ...]

    def period_at(self, local: datetime) -> int:
        """The period in force at a local wall-clock time (the tariff's own zone)."""
        table = self.weekend if local.weekday() >= 5 else self.weekday
        return table[local.month - 1][local.hour]

    def price_at(self, local: datetime, used_kwh: float = 0.0) -> float:
        """$/kWh of the next kWh at a local time, `used_kwh` being what this month has used already (tiers)."""
        for tier in self.periods[self.period_at(local)]:
            if tier.max_kwh is None or used_kwh < tier.max_kwh:
                return tier.price
        return self.periods[self.period_at(local)][-1].price

    def hourly(self, start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, float]]:
        """(hour start, UTC, $/kWh) for every real hour from start's hour to end, read at the local wall-clock time.
        Stepped in UTC: a local clock would skip the autumn's repeated hour."""
        out, t = [], start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while t < end:
            out.append((t, self.price_at(t.astimezone(zone))))
            t += timedelta(hours=1)
        return out


# ---------------------------------------------------------------------- URDB
def parse_urdb(data: Any, where: str = "TARIFF_FILE") -> Tariff:
    """A rate as the URDB API returns it (`{"items": [rate]}`) or the rate alone; TariffError names what is wrong."""
    rate = _the_rate(data, where)
    structure = rate.get("energyratestructure")
    if not isinstance(structure, list) or not structure:
        raise TariffError(f"{where}: the rate has no energyratestructure (its energy prices); a rate fetched without "
                          "detail=full lacks it")
    periods = tuple(_period(p, i, where) for i, p in enumerate(structure))
    weekday = _schedule(rate, "energyweekdayschedule", len(periods), where)
    weekend = _schedule(rate, "energyweekendschedule", len(periods), where)
    name = " ".join(str(rate.get(k) or "").strip() for k in ("utility", "name")).strip() or str(rate.get("label", ""))
    return Tariff(name or "URDB rate", periods, weekday, weekend)


def _the_rate(data: Any, where: str) -> dict[str, Any]:
    if isinstance(data, dict) and "items" in data:
        items = data["items"]
        if not isinstance(items, list) or not items:
            raise TariffError(f'{where}: {{"items": []}} holds no rate: check the rate\'s label')
        if len(items) > 1:
            raise TariffError(f"{where}: the reply holds {len(items)} rates, not one: keep the one you are on")
        data = items[0]
    if not isinstance(data, dict):
        raise TariffError(f'{where}: not a URDB rate (a rate object, or the API\'s {{"items": [rate]}})')
    return data


def _number(raw: Any, what: str, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise TariffError(f"{where}: {what} is {raw!r}, not a number")
    try:
        value = float(raw)
    except ValueError:
        raise TariffError(f"{where}: {what} is {raw!r}, not a number") from None
    if not math.isfinite(value):
        raise TariffError(f"{where}: {what} is {raw!r}, not a number")
    return value


def _period(raw: Any, i: int, where: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise TariffError(f"{where}: energyratestructure period {i} has no tiers")
    tiers = []
    for j, tier in enumerate(raw):
        what = f"energyratestructure period {i} tier {j}"
        if not isinstance(tier, dict) or ("rate" not in tier and "adj" not in tier):
            raise TariffError(f"{where}: {what} has no rate")
        price = _number(tier.get("rate", 0), f"{what} rate", where) + _number(tier.get("adj", 0), f"{what} adj", where)
        top = None if tier.get("max") is None else _number(tier["max"], f"{what} max", where)
        tiers.append(Tier(top, round(price, 6)))
    return tuple(tiers)


def _schedule(rate: dict[str, Any], key: str, n_periods: int, where: str) -> tuple[tuple[int, ...], ...]:
    table = rate.get(key)
    if not isinstance(table, list) or len(table) != 12:
        got = f"{len(table)} months" if isinstance(table, list) else "missing"
        raise TariffError(f"{where}: {key} is {got}, not 12 months x 24 hours")
    out = []
    for m, row in enumerate(table):
        if not isinstance(row, list) or len(row) != 24:
            got = f"{len(row)} hours" if isinstance(row, list) else repr(row)
            raise TariffError(f"{where}: {key} {MONTHS[m]} has {got}, not 24")
        for h, p in enumerate(row):
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < n_periods:
                raise TariffError(f"{where}: {key} {MONTHS[m]} {h:02d}:00 names period {p!r}, but "
                                  f"energyratestructure has periods 0-{n_periods - 1}")
        out.append(tuple(row))
    return tuple(out)


# ---------------------------------------------------------------------- the hand-written form
_WINDOW = re.compile(r"^(?:(?P<m1>[a-z]{3})-(?P<m2>[a-z]{3})\s+)?(?P<h1>\d{1,2})-(?P<h2>\d{1,2})\s+(?P<price>\S+)"
                     r"(?:\s+(?P<days>weekdays|weekends|daily))?$")


def parse_tou(text: str, where: str = "TARIFF_TOU") -> Tariff:
    """`BASE, [months ]H1-H2 PRICE[ weekdays|weekends], ...` into a Tariff (one tier a period)."""
    parts = [p.strip().lower() for p in text.split(",")]
    if not parts or not parts[0]:
        raise TariffError(f"{where} is empty: write a base price in $/kWh, e.g. '0.12, 16-21 0.38 weekdays'")
    base = _price(parts[0], parts[0], where)
    prices = [[[base] * 24 for _ in range(12)] for _ in range(2)]  # [weekday, weekend][month][hour]
    for part in parts[1:]:
        m = _WINDOW.match(part)
        if not m:
            raise TariffError(f"{where}: {part!r} is not '[jun-sep ]H1-H2 PRICE[ weekdays|weekends]'")
        h1, h2 = int(m["h1"]), int(m["h2"])
        for h in (h1, h2):
            if h > 24:
                raise TariffError(f"{where}: {part!r}: hour {h} is not 0-24")
        if h1 % 24 == h2 % 24 and (h1, h2) != (0, 24):  # 0-24 is the whole day
            raise TariffError(f"{where}: {part!r}: the window starts and ends at the same hour")
        months = _months(m["m1"], m["m2"], part, where)
        price = _price(m["price"], part, where)
        days = {"weekdays": (0,), "weekends": (1,)}.get(m["days"] or "daily", (0, 1))
        h1 %= 24
        hours = [h % 24 for h in range(h1, h2 if h2 > h1 else h2 + 24)]
        for d in days:
            for mo in months:
                for h in hours:
                    prices[d][mo][h] = price
    distinct = sorted({p for table in prices for row in table for p in row})
    index = {p: i for i, p in enumerate(distinct)}
    periods = tuple((Tier(None, p),) for p in distinct)
    weekday, weekend = (tuple(tuple(index[p] for p in row) for row in table) for table in prices)
    return Tariff(f"{where} {text.strip()}", periods, weekday, weekend)


def _price(raw: str, part: str, where: str) -> float:
    try:
        value = float(raw.removeprefix("$"))
    except ValueError:
        raise TariffError(f"{where}: {part!r}: {raw!r} is not a price in $/kWh") from None
    if not math.isfinite(value) or not 0 <= value < 10:
        raise TariffError(f"{where}: {part!r}: {raw!r} is not a price in $/kWh (0 to 10)")
    return value


def _months(m1: str | None, m2: str | None, part: str, where: str) -> Sequence[int]:
    if m1 is None or m2 is None:
        return range(12)
    for m in (m1, m2):
        if m not in MONTHS:
            raise TariffError(f"{where}: {part!r}: {m!r} is not a month (jan ... dec)")
    a, b = MONTHS.index(m1), MONTHS.index(m2)
    return [x % 12 for x in range(a, b + 1 if b >= a else b + 13)]
