"""Learning the household: when it leaves and how much the car takes, from its finished charging sessions.

Used when the calendar names no departure. A query returns scenarios — the (stay, energy) pairs of the past sessions
most like this plug-in (same station, similar plug-in hour, weekday or weekend, similar driver estimates when there
are any) — so the planner can weigh the risk of an early departure against the load it saves. Pure: sessions come in
as values; nothing is read from disk or the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from charge_logic.power import wall_kwh

DAY_S = 86400.0


@dataclass(frozen=True)
class PastSession:
    """A finished session: plugged in at `arrival`, unplugged at `departure` (aware, local), `energy_kwh` taken."""

    station_id: str
    arrival: datetime
    departure: datetime
    energy_kwh: float


def wanted_kwh(taken: float, *, full: bool, limit: float | None, soc_start: float | None,
               battery_kwh: float) -> float:
    """What a plug-in would have taken charging at once, as the daemon learns it from what the car reported: what it
    took when it was seen full, else up to its limit from the SoC it came with, at the wall (at least what it took).
    One rule for the daemon's session log and the backtest's `planner`, so both learn the same."""
    if full or limit is None or soc_start is None:
        return taken
    return max(taken, wall_kwh(limit - soc_start, battery_kwh))  # at the wall, as planned


@dataclass(frozen=True)
class Scenario:
    """One way this plug-in may go: the car leaves `stay_h` hours after plug-in having needed `energy_kwh`."""

    stay_h: float
    energy_kwh: float
    weight: float = 1.0


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _hour(t: datetime) -> float:
    return t.hour + t.minute / 60.0


class _Column:
    """A growing float column (amortized appends, numpy views for queries)."""

    def __init__(self) -> None:
        self.data = np.empty(64)
        self.n = 0

    def append(self, value: float) -> None:
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.empty(len(self.data))])
        self.data[self.n] = value
        self.n += 1

    def view(self) -> np.ndarray:
        return self.data[: self.n]


class HouseholdModel:
    """What past sessions say about the next one. Feed it sessions as they finish (`add`), ask it at plug-in.

    Distance between a past session and this plug-in, in "hours of plug-in time" units: circular plug-in-hour
    difference / 2 h, +1 for weekday vs weekend, +`other_weekday` for another day of the week, +`other_station` for
    another station (another household's habits), +`per_year` per year of age, and when the driver typed estimates:
    their difference / 2 h and / 10 kWh.
    """

    FIELDS = ("hour", "weekend", "weekday", "stay", "energy", "station", "arrival", "est_stay", "requested",
              "prev_stay")

    def __init__(self, other_station: float = 1.0, other_weekday: float = 0.0, per_year: float = 0.5) -> None:
        self.other_station, self.other_weekday, self.per_year = other_station, other_weekday, per_year
        self._cols = {f: _Column() for f in self.FIELDS}
        self._stations: dict[str, int] = {}
        self._last: dict[str, tuple[float, float]] = {}  # station → (departure, log stay) of its last ended session

    def __len__(self) -> int:
        return self._cols["hour"].n

    def add(self, session: PastSession, estimated_departure: datetime | None = None,
            requested_energy_kwh: float | None = None) -> None:
        stay = (session.departure - session.arrival).total_seconds() / 3600.0
        if stay <= 0:
            return
        station = self._stations.setdefault(session.station_id, len(self._stations))
        prev = self._previous(session.station_id, session.arrival.timestamp())
        self._last[session.station_id] = (session.departure.timestamp(), math.log(stay))
        est = math.nan
        if estimated_departure is not None:
            est = (estimated_departure - session.arrival).total_seconds() / 3600.0
        row = {
            "hour": _hour(session.arrival),
            "weekend": float(session.arrival.weekday() >= 5),
            "weekday": float(session.arrival.weekday()),
            "stay": stay,
            "energy": max(0.0, session.energy_kwh),
            "station": float(station),
            "arrival": session.arrival.timestamp(),
            "est_stay": est,
            "requested": math.nan if requested_energy_kwh is None else requested_energy_kwh,
            "prev_stay": prev,
        }
        for name, value in row.items():
            self._cols[name].append(value)

    def _previous(self, station_id: str, arrival: float) -> float:
        """Log stay of the station's session before one plugged in at `arrival` (nan: none, or it overlaps)."""
        last = self._last.get(station_id)
        return last[1] if last is not None and last[0] <= arrival else math.nan

    def nearest(self, station_id: str, arrival: datetime, *, estimated_stay_h: float | None = None,
                requested_energy_kwh: float | None = None, k: int = 60, min_sessions: int = 10,
                recent: int = 4000, other_station: float | None = None, other_weekday: float | None = None,
                per_year: float | None = None, previous: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(stay hours, energy kWh) of the k most similar of the last `recent` sessions and all of this station's
        own, nearest first; empty arrays when fewer than `min_sessions` are known. `other_station`, `other_weekday`,
        `per_year` override the model's distance for this query. `previous`: weight of how long the station's
        previous session lasted (per e-fold of its ratio; the car that stayed only two hours last time may be out
        again soon)."""
        reading = {k: v for k, v in (("other_station", other_station), ("other_weekday", other_weekday),
                                     ("per_year", per_year), ("previous", previous)) if v is not None}
        return self.nearest_readings(station_id, arrival, [reading], estimated_stay_h=estimated_stay_h,
                                     requested_energy_kwh=requested_energy_kwh, k=k, min_sessions=min_sessions,
                                     recent=recent)[0]

    def nearest_readings(self, station_id: str, arrival: datetime, readings: list[dict[str, float]], *,
                         estimated_stay_h: float | None = None, requested_energy_kwh: float | None = None,
                         k: int = 60, min_sessions: int = 10, recent: int = 4000
                         ) -> list[tuple[np.ndarray, np.ndarray]]:
        """`nearest` for several readings of the distance at once (each a dict of its keyword overrides; also
        `estimate`: how much the driver's departure estimate counts, × its usual /2 h)."""
        n = len(self)
        if n < min_sessions:
            return [(np.zeros(0), np.zeros(0)) for _ in readings]
        # the last `recent` sessions of every station, and all of this one's own: a household's habits are its own,
        # and with many charge points learned together the last `recent` may hold few of them
        own = self._stations.get(station_id, -1)
        station = self._cols["station"].view()
        if n > recent:
            keep = np.flatnonzero((np.arange(n) >= n - recent) | (station == own))
            c = {f: col.view()[keep] for f, col in self._cols.items() if f not in ("stay", "energy")}
        else:  # all of them: the columns themselves, no copy
            keep = None
            c = {f: col.view() for f, col in self._cols.items() if f not in ("stay", "energy")}
        dh = np.abs(c["hour"] - _hour(arrival))
        base = np.minimum(dh, 24.0 - dh) / 2.0
        base += np.abs(c["weekend"] - float(arrival.weekday() >= 5))
        estimate = np.zeros(len(base))
        if estimated_stay_h is not None:
            d = np.abs(c["est_stay"] - estimated_stay_h) / 2.0
            estimate = np.where(np.isnan(d), 2.0, d)
        if requested_energy_kwh is not None:
            d = np.abs(c["requested"] - requested_energy_kwh) / 10.0
            base += np.where(np.isnan(d), 1.0, d)
        other_station = (c["station"] != own).astype(float)
        other_weekday = (c["weekday"] != arrival.weekday()).astype(float)
        age = np.maximum(0.0, arrival.timestamp() - c["arrival"]) / (365.0 * DAY_S)
        d = np.abs(c["prev_stay"] - self._previous(station_id, arrival.timestamp()))
        previous = np.where(np.isnan(d), 1.0, d)
        m = len(base)
        k = min(k, m)
        features = np.stack([other_station, other_weekday, age, previous, estimate])
        coef = np.array([[_or(r.get("other_station"), self.other_station),
                          _or(r.get("other_weekday"), self.other_weekday), _or(r.get("per_year"), self.per_year),
                          r.get("previous") or 0.0, r.get("estimate", 1.0)] for r in readings])
        dist = base[None, :] + coef @ features  # one row per reading
        idx = _nearest_first(dist, k)
        if keep is not None:
            idx = keep[idx]
        stay, energy = self._cols["stay"].view()[idx], self._cols["energy"].view()[idx]
        return list(zip(stay, energy, strict=True))

    def scenarios(self, station_id: str, arrival: datetime, *, estimated_departure: datetime | None = None,
                  requested_energy_kwh: float | None = None, k: int = 60, min_sessions: int = 10) -> list[Scenario]:
        """The k most similar past sessions as scenarios; [] when fewer than `min_sessions` are known."""
        est = None
        if estimated_departure is not None:
            est = (estimated_departure - arrival).total_seconds() / 3600.0
        stay, energy = self.nearest(station_id, arrival, estimated_stay_h=est,
                                    requested_energy_kwh=requested_energy_kwh, k=k, min_sessions=min_sessions)
        return [Scenario(float(a), float(b)) for a, b in zip(stay, energy, strict=True)]


def _nearest_first(dist: np.ndarray, k: int) -> np.ndarray:
    """Per row of `dist`, the columns of its k smallest values, nearest first: exactly what
    `np.argpartition(dist, k - 1, axis=1)[:, :k]` reordered by a stable argsort of their values gives, ties included.

    Asked at every plug-in for every reading over thousands of sessions, a full partition of each row is most of the
    query's time. A row's k + 1 smallest lie at or below a threshold read off a sample of the row; when they are all
    distinct, they are the only possible answer and are sorted among the few candidates. A row with a tie among them
    (whose order is the partition's own), or whose threshold caught too few, is partitioned whole, as before."""
    rows, m = dist.shape
    step = m // (2 * (k + 1))
    if k >= m or k < 1 or step < 2:  # few sessions: the whole rows, as ever
        idx = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (rows, 1))
        return np.take_along_axis(idx, np.argsort(np.take_along_axis(dist, idx, axis=1), axis=1, kind="stable"),
                                  axis=1)
    done = np.zeros(rows, dtype=bool)
    out = np.empty((rows, k), dtype=np.intp)
    q = -(-3 * (k + 1) // step)  # about three times k + 1 of a row lie at or below its sample's q-th smallest
    cut = np.partition(dist[:, ::step], q, axis=1)[:, q]
    flat = np.flatnonzero(dist <= cut[:, None])  # row by row, columns ascending; never NaN (the partition's largest)
    bounds = np.searchsorted(flat, np.arange(rows + 1) * m)
    count = np.diff(bounds)
    width = int(count.max())
    if width <= 16 * (k + 1):
        r = flat // m
        pos = np.arange(len(flat)) - bounds[r]
        vals = np.full((rows, width), np.inf)
        cols = np.zeros((rows, width), dtype=np.intp)
        vals[r, pos], cols[r, pos] = dist.ravel()[flat], flat - r * m
        # any sort will do: a row is taken only if its k + 1 smallest are distinct, so their order is theirs alone
        order = np.argsort(vals, axis=1)[:, :k + 1]
        v = np.take_along_axis(vals, order, axis=1)
        done = (count > k) & np.all(v[:, 1:] > v[:, :-1], axis=1)
        out[done] = np.take_along_axis(cols, order[:, :k], axis=1)[done]
    for i in np.flatnonzero(~done):
        part = np.argpartition(dist[i], k - 1)[:k]
        out[i] = part[np.argsort(dist[i][part], kind="stable")]
    return out


def crps(samples: np.ndarray, weight: np.ndarray, actual: float) -> float | np.ndarray:
    """Continuous ranked probability score of `actual` under the weighted samples (lower is better): how far, on
    average, the forecast distribution lies from what happened, its spread counted in its favour. `samples` may be
    2-D (one forecast a row, the same weights): one score a row."""
    x = np.asarray(samples, dtype=float)
    if x.shape[-1] == 0:
        return math.nan
    order = np.argsort(x, axis=-1)
    x = np.take_along_axis(x, order, axis=-1)
    w = np.asarray(weight, dtype=float)[order] / float(np.sum(weight))
    below = np.cumsum(w, axis=-1) - w  # weight of the samples before each (sorted)
    wx_below = np.cumsum(w * x, axis=-1) - w * x
    spread = 2.0 * np.sum(w * (x * below - wx_below), axis=-1)  # Σ_ij w_i w_j |x_i − x_j|
    score = np.sum(w * np.abs(x - actual), axis=-1) - 0.5 * spread
    return float(score) if x.ndim == 1 else score


def learn(sessions: list[PastSession]) -> HouseholdModel:
    model = HouseholdModel()
    for s in sorted(sessions, key=lambda s: s.departure):
        model.add(s)
    return model
