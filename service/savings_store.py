"""Each car's measured plug-ins with a share of this month or the last, in the car's own folder (STATE_DIR/savings.json
for the first car, STATE_DIR/cars/<id>/savings.json for the others): what state.json's `savings.month` adds up (each
month the hours that fell in it: a plug-in that charged over midnight of the 1st counts in both).

Why a file of its own: the month is measured tick by tick (the energy the car took between two readings, in the hours
it took it, and the price and CO₂ of those hours as they were published), and a restart must keep it. Written
atomically, private, and only when it changed. A file that cannot be used is moved aside and the month rebuilt from
what else is kept: the session log's plug-ins (their energy) and the car's last 7 days of readings (when it drew it);
a plug-in those readings do not cover still counts, without a price, and the month says so. Nothing else in the
folder is touched.

The money is summed by charge_logic.savings.month_savings; a price counts only where it is known (a tariff's every
hour, a price series' published hours: ComEd's past hours, a day-ahead LMP), the CO₂ wherever the series gave a
value (a forecast is replaced by the measured rate when one comes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from charge_logic.models import VehicleSnapshot
from charge_logic.power import wall_kw
from charge_logic.savings import (
    MonthSavings,
    PlugIn,
    epoch_hour,
    hour_start,
    month_key,
    month_savings,
    spread,
    taken_span,
)
from clients.private_files import write_json_atomic
from service.series_source import SeriesPoint
from service.session_log import SessionLog
from service.state_file import move_aside, read_json_or_move_aside

FILE = "savings.json"
VERSION = 1
SETTLE = timedelta(hours=7)  # after a plug-in ends, its hours' prices are still taken this long (ComEd publishes an
#                             hour's price after it; a series keeps the last 6 h)
AHEAD_H = 2  # hours past now whose price a plug-in keeps (charging at once may end after the last reading)
REBUILD_GAP = timedelta(hours=1)  # readings further apart than this do not say when the energy between was taken

TariffPrices = Callable[[datetime, datetime], Mapping[int, float]]  # a tariff's $/kWh by epoch hour, for any span


@dataclass
class Record:
    """One plug-in as measured: the wall kWh it took each hour, and the price and CO₂ of its hours (value, known)."""

    arrival: str  # the session log's arrival: the key
    kw: float  # the charger's full power: what charging at once would have drawn
    taken: dict[int, float] = field(default_factory=dict)
    unplaced_kwh: float = 0.0
    price: dict[int, tuple[float, bool]] = field(default_factory=dict)
    co2: dict[int, tuple[float, bool]] = field(default_factory=dict)
    departure: str | None = None
    last_at: str | None = None  # the last reading: when, the session's wall kWh then, and whether it charged
    last_kwh: float = 0.0
    last_charging: bool = False

    @property
    def arrival_at(self) -> datetime:
        return datetime.fromisoformat(self.arrival)

    def plug_in(self) -> PlugIn:
        return PlugIn(self.arrival_at, self.kw, self.taken, self.unplaced_kwh)

    @property
    def last_energy_at(self) -> datetime:
        """The end of the last hour it took energy in, or charging at once would have (the saving needs those hours'
        prices): no later month has a share."""
        ends = [self.arrival_at]
        if self.taken:
            ends.append(hour_start(max(self.taken) + 1))
        if self.kw > 0:
            ends.append(self.arrival_at + timedelta(hours=self.plug_in().kwh / self.kw))
        return max(ends)

    def to_json(self) -> dict[str, Any]:
        return {"arrival": self.arrival, "kw": round(self.kw, 3),
                "taken": {str(h): round(v, 4) for h, v in sorted(self.taken.items())},
                "unplaced_kwh": round(self.unplaced_kwh, 4),
                "price": {str(h): [v, k] for h, (v, k) in sorted(self.price.items())},
                "co2": {str(h): [v, k] for h, (v, k) in sorted(self.co2.items())},
                "departure": self.departure, "last_at": self.last_at, "last_kwh": round(self.last_kwh, 4),
                "last_charging": self.last_charging}

    @staticmethod
    def from_json(raw: Any) -> Record:
        """A record as to_json wrote it; ValueError naming what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("a plug-in is not an object")
        try:
            for key in ("departure", "last_at"):
                if raw.get(key) is not None:
                    datetime.fromisoformat(raw[key])
            datetime.fromisoformat(str(raw["arrival"]))

            def series(key: str) -> dict[int, tuple[float, bool]]:
                return {int(h): (float(v), bool(k)) for h, (v, k) in dict(raw.get(key) or {}).items()}

            return Record(str(raw["arrival"]), float(raw["kw"]),
                          {int(h): float(v) for h, v in dict(raw.get("taken") or {}).items()},
                          float(raw.get("unplaced_kwh") or 0.0), series("price"), series("co2"),
                          raw.get("departure"), raw.get("last_at"), float(raw.get("last_kwh") or 0.0),
                          bool(raw.get("last_charging")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a plug-in cannot be read ({type(exc).__name__}: {exc})") from None


class SavingsStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE
        self.records: list[Record] = []
        self.note: tuple[str, str] | None = None  # (when, why) the month was rebuilt
        self._loaded = False
        self._saved: str | None = None

    # ------------------------------------------------------------------ the file
    def load(self, now: datetime) -> tuple[bool, str | None]:
        """Read the file: (whether there was a usable one, why not when one was there but unusable)."""
        if not self.path.exists():
            return False, None
        raw = read_json_or_move_aside(self.path, now)
        if raw is None:
            return False, f"{FILE} is not JSON (moved aside)"
        try:
            if not isinstance(raw, dict) or raw.get("version") != VERSION:
                raise ValueError(f"not a version-{VERSION} savings file")
            records = [Record.from_json(r) for r in raw.get("plug_ins") or []]
            note = raw.get("rebuilt")
            self.note = (str(note["at"]), str(note["why"])) if isinstance(note, dict) else None
        except (ValueError, KeyError, TypeError) as exc:
            aside = move_aside(self.path, now, f"is not a savings file ({exc})")
            return False, f"{FILE} could not be used ({exc}; moved aside to {aside})"
        self.records = records
        self._saved = json.dumps(self._json(), sort_keys=True)
        return True, None

    def _json(self) -> dict[str, Any]:
        return {"version": VERSION, "plug_ins": [r.to_json() for r in self.records],
                "rebuilt": {"at": self.note[0], "why": self.note[1]} if self.note else None}

    def save(self) -> None:
        data = self._json()
        text = json.dumps(data, sort_keys=True)
        if text != self._saved:  # most ticks of an unplugged car change nothing: no write
            write_json_atomic(self.path, data)
            self._saved = text

    # ------------------------------------------------------------------ a tick
    def tick(self, now: datetime, zone: tzinfo, log: SessionLog, snap: VehicleSnapshot | None, max_amps: int,
             history: Sequence[dict[str, Any]], price: Sequence[SeriesPoint], co2: Sequence[SeriesPoint],
             tariff: TariffPrices | None = None) -> MonthSavings | None:
        """Measure this tick's energy, take the hours' prices, keep the file, and add up the month (None: no price
        nor CO₂ known now or this month)."""
        if not self._loaded:
            self._loaded = True
            usable, why = self.load(now)
            if not usable:
                self._rebuild(now, zone, log, history, snap, max_amps, why)
        self._measure(now, log, snap, max_amps)
        self._take(now, price, co2, tariff)
        self._prune(now, zone)
        self.save()
        return self.month(now, zone, price_known=bool(price), co2_known=bool(co2))

    def month(self, now: datetime, zone: tzinfo, *, price_known: bool, co2_known: bool) -> MonthSavings | None:
        m = month_savings(now, zone, [(r.plug_in(), {h: v for h, (v, known) in r.price.items() if known},
                                       {h: v for h, (v, _) in r.co2.items()}) for r in self.records],
                          price_known=price_known, co2_known=co2_known)
        return None if m.cost_usd is None and m.co2_kg is None else m

    def rebuilt_note(self, now: datetime, zone: tzinfo) -> str | None:
        """Why this month was rebuilt, while it is the month it happened in."""
        if self.note is None or month_key(datetime.fromisoformat(self.note[0]), zone) != month_key(now, zone):
            return None
        return self.note[1]

    def _find(self, arrival: str) -> Record | None:
        return next((r for r in reversed(self.records) if r.arrival == arrival), None)

    def _measure(self, now: datetime, log: SessionLog, snap: VehicleSnapshot | None, max_amps: int) -> None:
        """The energy the open plug-in took since the last reading, placed in the hours it most likely took it."""
        ended = {s.arrival: s.departure for s in log.sessions[-50:] if s.departure}
        for r in self.records:
            if r.departure is None and r.arrival in ended:
                r.departure = ended[r.arrival]
        session = log.open
        if session is None or snap is None:
            return
        charging = bool(snap.plugged_in and snap.charging)
        wall = session.taken_kwh()  # at the wall
        rec = self._find(session.arrival)
        if rec is None:
            rec = Record(session.arrival, wall_kw(snap, max_amps), last_at=now.isoformat(), last_kwh=wall,
                         last_charging=charging)
            rec.unplaced_kwh = wall  # taken before this store saw it (it was rebuilt, or is new on this install)
            self.records.append(rec)
        if snap.charger_voltage and snap.charger_voltage >= 100:  # the supply as the car reports it while it charges
            rec.kw = wall_kw(snap, max_amps)
        delta = wall - rec.last_kwh
        if delta > 1e-6 and rec.last_at is not None:
            a, b = taken_span(datetime.fromisoformat(rec.last_at), now, delta, rec.kw, was_charging=rec.last_charging,
                              charging=charging)
            rec.taken = spread(rec.taken, a, b, delta)
        rec.last_at, rec.last_kwh, rec.last_charging = now.isoformat(), wall, charging  # a count reset adds nothing

    def _take(self, now: datetime, price: Sequence[SeriesPoint], co2: Sequence[SeriesPoint],
              tariff: TariffPrices | None) -> None:
        """Each plug-in not yet settled takes this tick's values of its hours: a published value over a forecast, a
        newer forecast over an older one; on a tariff, every hour it still lacks."""
        last = epoch_hour(now) + AHEAD_H
        for r in self.records:
            if r.departure is not None and now - datetime.fromisoformat(r.departure) > SETTLE:
                continue
            first = epoch_hour(r.arrival_at)
            for series, into in ((price, r.price), (co2, r.co2)):
                for p in series:
                    h = epoch_hour(p.start)
                    if first <= h <= last and (p.known or not into.get(h, (0.0, False))[1]):
                        into[h] = (p.value, p.known)
            if tariff is not None:
                end = r.arrival_at + timedelta(hours=r.plug_in().kwh / r.kw if r.kw > 0 else 0) + timedelta(hours=1)
                hours = set(r.taken) | set(range(first, epoch_hour(end) + 1))
                missing = {h for h in hours if not r.price.get(h, (0.0, False))[1]}
                if missing:
                    known = tariff(hour_start(min(missing)), hour_start(max(missing) + 1))
                    r.price.update({h: (v, True) for h, v in known.items() if h in missing})

    def _prune(self, now: datetime, zone: tzinfo) -> None:
        """Keep the one under way and every plug-in with a share of this month or the last (a month counts the hours
        that fell in it: one that began on the 30th and charged past midnight of the 1st is the new month's too, and
        may still be settling its prices); one that began two months ago counts until its last hour is too old."""
        first = now.astimezone(zone).replace(day=1, hour=12)
        keep = {month_key(now, zone), month_key(first - timedelta(days=2), zone)}
        self.records = [r for r in self.records if r.departure is None or month_key(r.arrival_at, zone) in keep
                        or month_key(r.last_energy_at, zone) in keep]

    # ------------------------------------------------------------------ rebuilding
    def _rebuild(self, now: datetime, zone: tzinfo, log: SessionLog, history: Sequence[dict[str, Any]],
                 snap: VehicleSnapshot | None, max_amps: int, why: str | None) -> None:
        """This month's plug-ins from the session log (those begun last month and still plugged in on the 1st too),
        each placed in its hours by the car's readings where they cover it; said (with `why`) when a file was there
        and could not be used."""
        month = month_key(now, zone)
        readings = _readings(history)
        kw = wall_kw(snap, max_amps)
        self.records, lost = [], []
        for s in log.sessions:
            end = s.departure_at or now
            if month_key(s.arrival_at, zone) != month and month_key(end, zone) != month:
                continue
            wall = s.taken_kwh()
            rec = Record(s.arrival, kw, departure=s.departure, last_at=now.isoformat(), last_kwh=wall)
            placed = _place(s.arrival_at, end, wall, readings) if wall > 1e-6 else {}
            if placed is None:
                rec.unplaced_kwh = wall  # counts in its arrival's month: last month's has no share of this one
                if month_key(s.arrival_at, zone) == month:
                    lost.append(s.arrival_at)
            else:
                rec.taken = placed
            self.records.append(rec)
        if why is None:
            return  # no file yet (a new install): this month as the log and readings have it, nothing to say
        text = f"{why}: this month was rebuilt from the session log and the last 7 days of readings"
        if lost:
            text += (f"; {len(lost)} plug-in{'s' if len(lost) > 1 else ''} from before "
                     f"{max(lost).astimezone(zone):%-d %b %H:%M} could not be re-measured and count without a price")
        self.note = (now.isoformat(), text)


def _readings(history: Sequence[dict[str, Any]]) -> list[tuple[datetime, float]]:
    out = []
    for row in history:
        try:
            out.append((datetime.fromisoformat(row["at"]), float(row.get("power_kw") or 0.0)))
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(out)


def _place(arrival: datetime, end: datetime, kwh: float,
           readings: Sequence[tuple[datetime, float]]) -> dict[int, float] | None:
    """The plug-in's kWh spread over its hours in proportion to the power the readings saw (None: they do not cover
    it from its arrival, or saw no power)."""
    inside = [(t, kw) for t, kw in readings if arrival - timedelta(minutes=1) <= t <= end]
    if not inside or inside[0][0] > arrival + REBUILD_GAP:
        return None
    steps = []
    for (a, p), (b, q) in zip(inside, inside[1:], strict=False):
        if b - a <= REBUILD_GAP:
            steps.append((a, b, p, q, (p + q) / 2 * (b - a).total_seconds()))
    total = sum(step[-1] for step in steps)
    if total <= 0:
        return None
    taken: dict[int, float] = {}
    for a, b, p, q, w in steps:  # placed as a tick places it: at the end of the gap when it started in between, …
        share = kwh * w / total
        start, end = taken_span(a, b, share, max(p, q), was_charging=p > 0, charging=q > 0)
        taken = spread(taken, start, end, share)
    return taken
