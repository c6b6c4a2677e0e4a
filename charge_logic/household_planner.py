"""Planning a plug-in when no calendar names the departure: from the household's past sessions, with a price on a
car left short that is learned from how the plans really ended.

At plug-in the planner either starts charging (when a must-have or everything is best done now) or schedules the start
for the lowest-signal hours: one window, one command. While the car charges it takes a fresh look at each must-have's
end, now knowing the car is still here and still wants energy: the past sessions that had left by now or were full
with less are dropped. If the look says the rest can wait, the car is told once (one more command). Between looks the
plan the car holds stands, so a tick that changes nothing sends nothing.

Each choice weighs the signal it saves against the price of leaving the car short (`choose(fail_cost=…)`): one price
for all plug-ins, so the tolerated risk goes where waiting moves the most energy. The price is steered by the cars
really left short (up when one was, slowly down when not, toward the owner's target, SHORT_RISK_PCT); it also comes down
as soon as the ended sessions show that a lower price would have kept its cars ready: each plug-in notes the plan every
price of a ladder would have pushed, and once the car has left, whether that plan would have left it short. A plan's
risk is counted with each similar session's departure widened into a log-normal bump (`StayKernel`), its width learned
online from how ended sessions really left, so a plan cannot look riskless by waiting into a gap between a few past
departures. Which distance finds "similar" sessions (`READINGS`) is chosen the same way, by how well each foretold the
stays of ended sessions.

Pure: no clock, no I/O. `HouseholdPlanner` holds the household model (a cache, rebuilt from the session log) and a
`LearnedRisk` (the state the daemon keeps in STATE_DIR/planner.json: `to_json` / `LearnedRisk.from_json`); every
input, `now` included, comes in as a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from charge_logic.household import HouseholdModel, PastSession, crps
from charge_logic.planner import READY_SHARE, SLOT_MIN, StayKernel, choose

STATE_VERSION = 1
HOME = "home"  # the station id of the daemon's own charge point
SLOT_S = SLOT_MIN * 60.0
WINDOW_S = 24 * 3600.0  # a "charge from" window: the car stops by itself when full or unplugged
# Which sessions are alike? Does the station say whose car it is (a household's own charge point) or not (a shared
# garage); does the day of the week matter beyond weekday/weekend; do habits age fast; does a short last stay mean a
# busy day; how much does the driver's estimate say? Each reading forecasts every plug-in; once its session has ended
# each is scored on when the car really left (CRPS of log stay), and the best so far is used (a tie keeps the first).
READINGS: tuple[dict[str, float], ...] = tuple(
    {"other_station": st, "other_weekday": wd, "per_year": py, "previous": pv, "estimate": es}
    for st in (10.0, 0.0) for wd in (0.0, 1.0) for py in (0.5, 2.0) for pv in (0.0, 1.0) for es in (1.0, 4.0))
SIGMAS = (0.1, 0.05, 0.15, 0.2, 0.3, 0.45)  # bump widths tried, log hours (the first until SIGMA_WARM are scored)
SIGMA_WARM = 50
# a rung is vouched for when its would-be shorts + this × √(shorts + 1) (two standard deviations of a count) are within
# the target: one in 1/(1 − target) sessions
LADDER_MARGIN = 2.0
LADDER_RUNGS = 33  # each 2^(1/4) below the one above, from the cautious first price down to 1/256 of it


@dataclass(frozen=True)
class Tuning:
    """How the planner learns. The defaults are the product's; a diagnostic may fix the price (gain 0)."""

    target_short: float = 0.008  # share of plug-ins the price aims to leave short (SHORT_RISK_PCT / 100)
    first_price: float = 100.0  # kWh at the mean signal a car left short is worth, before anything is learned
    gain: float = 0.2  # how far one ended session moves the log price
    k: int = 30  # the k-th most similar session weighs exp(-1) of the nearest (a soft k)
    pool: int = 120  # similar sessions asked for at plug-in
    min_left: int = 15  # fewer similar sessions still possible than this: charge at once
    max_looks: int = 6
    look_every: int = 4  # slots between looks while a must-have runs
    max_risk: float = 0.5  # no plan may leave more than this share of the needs short, whatever the price
    bumps: bool = True  # count risk under the stay kernels (False: on the points)
    ladder: bool = True  # learn the price from would-be plans too

    def rungs(self) -> np.ndarray:
        return self.first_price * 2.0 ** (-np.arange(LADDER_RUNGS) / 4.0) if self.ladder else np.zeros(0)


@dataclass
class PlugIn:
    """What the planner noted of an open plug-in (epoch seconds), until the car has left and its session is learned."""

    station: str
    arrival: float
    estimated_departure: float | None
    requested_kwh: float | None
    stay: list[float]  # hours, the similar sessions of the reading in use, nearest first
    energy: list[float]  # kWh each of them took (capped at what the car lacked at plug-in)
    sigma: float  # bump width in use
    reading_stays: list[list[float]]  # every reading's similar stays, scored when the session ends
    kernel: bool  # scored for the bump width when the session ends
    looks: int = 0
    look_at: float | None = None
    plan: list[list[float]] = field(default_factory=list)  # windows the car holds: [start, end, kW]
    last_t: float = 0.0  # the last tick the car was seen plugged in
    last_delivered: float = 0.0  # kWh it had taken by then
    read_t: float | None = None  # when a reading that showed it charging gave last_delivered (a tick may reuse it)
    would_t0: float | None = None  # when the would-be plans were noted
    would: list[list[float] | None] = field(default_factory=list)  # [must, start] per ladder rung (None: at once)
    pushed: list[float] | None = None  # the plan pushed at plug-in, as [must, start]
    would_risk: list[float] = field(default_factory=list)  # the modelled chance each rung's plan leaves it short
    pushed_risk: float = 0.0  # the same for the plan pushed


@dataclass
class LearnedRisk:
    """The state the planner learns, as the daemon keeps it (versioned JSON)."""

    log_scale: float = 0.0
    would_short: list[float] = field(default_factory=list)
    would_n: int = 0
    real_short: int = 0
    pushed_short: int = 0
    reading_score: list[float] = field(default_factory=lambda: [0.0] * len(READINGS))
    sigma_score: list[float] = field(default_factory=lambda: [0.0] * len(SIGMAS))
    sigma_n: int = 0
    learned_until: float | None = None  # departure (epoch s) of the last session learned
    learned: int = 0  # sessions learned
    would_expect: list[float] = field(default_factory=list)  # per rung, the shorts the model expected of its plans
    pushed_expect: float = 0.0  # the shorts the model expected of the plans pushed
    open: dict[str, PlugIn] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view (it shares this state's lists: serialise it before the state changes again)."""
        out: dict[str, Any] = {"version": STATE_VERSION, **vars(self)}
        out["open"] = {k: vars(n) for k, n in self.open.items()}
        return out

    @classmethod
    def from_json(cls, raw: Any) -> LearnedRisk:
        """The saved state; ValueError naming what is wrong when it is not one (the caller rebuilds)."""
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"version {raw.get('version')!r}, this planner reads {STATE_VERSION}")
        try:
            data = {k: v for k, v in raw.items() if k != "version"}
            data["open"] = {k: PlugIn(**v) for k, v in data.get("open", {}).items()}
            state = cls(**data)
        except TypeError as exc:
            raise ValueError(f"unexpected fields ({exc})") from None
        if len(state.reading_score) != len(READINGS) or len(state.sigma_score) != len(SIGMAS):
            raise ValueError("scores of another set of readings")
        numbers = [state.log_scale, *state.would_short, *state.reading_score, *state.sigma_score]
        if not all(isinstance(x, int | float) and math.isfinite(x) for x in numbers):
            raise ValueError("a learned figure is not a finite number")
        return state


@dataclass(frozen=True)
class HouseholdChoice:
    """The plan the car should hold: charge from `start` (epoch s; the plug-in's first tick when charging now), and
    why, when it was decided at this tick (no reasons: the plan the car holds stands)."""

    start: float
    reasons: tuple[str, ...]

    def windows(self) -> list[tuple[float, float]]:
        return [(self.start, self.start + WINDOW_S)]


def session_key(station: str, arrival: float) -> str:
    return f"{station}@{arrival:.0f}"


def _left_short(got: float, deliverable: float) -> bool:
    """BENCHMARK.md's "ready" is at least 98 % of what charging at once would have delivered."""
    return got < READY_SHARE * deliverable - 1e-6


def _would_short(plan: list[float] | None, t0: float, kw: float, energy: float, departure: float,
                 deliverable: float) -> bool:
    """Would charging slots [0, must) and from `start` on (None: all at once) from `t0` have left this car short?"""
    if plan is None:
        return False
    must, start = plan
    hours = (max(0.0, min(departure, t0 + must * SLOT_S) - t0) + max(0.0, departure - (t0 + start * SLOT_S))) / 3600
    return _left_short(min(energy, kw * hours), deliverable)


class HouseholdPlanner:
    """The household model and the learned risk, together; `plan` is asked every tick of a plug-in."""

    def __init__(self, state: LearnedRisk | None = None, tuning: Tuning | None = None) -> None:
        self.tuning = tuning or Tuning()
        self.model = HouseholdModel(other_station=10.0, other_weekday=0.0, per_year=0.5)
        self.state = state or LearnedRisk()
        self.ladder = self.tuning.rungs()
        self._price: tuple[tuple[float, ...], float] | None = None
        self._reason: tuple[tuple[float, ...], str] | None = None
        # each open plug-in's reading_stays as the array they were listed from (by key), so that scoring them when
        # the session ends does not parse the lists back; a note loaded from the saved state has none
        self._stays: dict[str, tuple[list[list[float]], np.ndarray]] = {}
        if len(self.state.would_short) != len(self.ladder):
            self.state.would_short = [0.0] * len(self.ladder)
            self.state.would_n = 0
        if len(self.state.would_expect) != len(self.ladder):
            self.state.would_expect = [0.0] * len(self.ladder)
            self.state.pushed_expect = 0.0

    # ------------------------------------------------------------------ learning
    def remember(self, sessions: Sequence[PastSession]) -> None:
        """Sessions learned before (a restart): into the model only, in the order they ended."""
        for s in sorted(sessions, key=lambda s: s.departure):
            self.model.add(s)

    def pending(self, sessions: Sequence[PastSession]) -> list[PastSession]:
        """Those of the household's ended sessions not learned yet."""
        until = self.state.learned_until
        return [s for s in sessions if until is None or s.departure.timestamp() > until]

    def resume(self, sessions: Sequence[PastSession]) -> None:
        """After a restart: the sessions the saved state had learned go back into the model (its cache); the others
        are learned at the next tick."""
        until = self.state.learned_until
        if until is not None:
            self.remember([s for s in sessions if s.departure.timestamp() <= until])

    def drop_stale(self, before: float) -> None:
        """Notes of plug-ins that began before `before` and never ended in the log (it was lost or cut)."""
        for key in [k for k, n in self.state.open.items() if n.arrival < before]:
            del self.state.open[key]
            self._stays.pop(key, None)

    def learn(self, ended: Sequence[PastSession], delivered: dict[str, float] | None = None) -> None:
        """Sessions that ended since the last call, in the order they ended: score what was noted of each, steer
        the price, then add it to the model. `delivered`: kWh the car had really taken when it left, by session key,
        where the caller counted it (else the plan held after the last look is followed to the departure)."""
        st = self.state
        for past in ended:
            key = session_key(past.station_id, past.arrival.timestamp())
            notes = st.open.pop(key, None)
            actual = math.log(max((past.departure - past.arrival).total_seconds() / 3600.0, 1e-3))
            est_dt = req = None
            listed = self._stays.pop(key, None)
            if notes is not None:
                self._score_readings(notes, actual, listed[1] if listed and listed[0] is notes.reading_stays else None)
                if notes.estimated_departure is not None:
                    est_dt = datetime.fromtimestamp(notes.estimated_departure, past.arrival.tzinfo)
                req = notes.requested_kwh
                self._score(notes, past, None if delivered is None else delivered.get(key))
            self.model.add(past, est_dt, req)
            st.learned += 1
            st.learned_until = max(st.learned_until or -math.inf, past.departure.timestamp())

    def _score_readings(self, notes: PlugIn, actual: float, array: np.ndarray | None = None) -> None:
        """`array`: notes.reading_stays as the array they were listed from, when the planner still has it."""
        st = self.state
        stays = notes.reading_stays
        if stays and len(stays[0]) and all(len(x) == len(stays[0]) for x in stays):
            w = np.exp(-np.arange(len(stays[0])) / self.tuning.k)
            x = np.array(stays) if array is None else array
            st.reading_score = list(np.asarray(st.reading_score) + crps(np.log(np.maximum(x, 1e-3)), w, actual))
        if notes.kernel and notes.stay:
            log_stay = np.log(np.maximum(np.array(notes.stay), 1e-3))
            w = np.exp(-np.arange(len(log_stay)) / self.tuning.k)
            w = w / w.sum()
            sig = np.array(SIGMAS)
            z = (actual - log_stay[None, :]) / sig[:, None]
            dens = (np.exp(-0.5 * z * z) @ w) / (sig * math.sqrt(2 * math.pi))
            st.sigma_score = list(np.asarray(st.sigma_score) - np.log(np.maximum(dens, 1e-300)))
            st.sigma_n += 1

    def _score(self, notes: PlugIn, past: PastSession, delivered: float | None) -> None:
        """Was the car of this ended session ready? Steer the price toward the target."""
        st, t = self.state, self.tuning
        dep = judged_until = past.departure.timestamp()
        got = notes.last_delivered
        kw = max((w[2] for w in notes.plan), default=0.0)  # the charger's full power, as planned with
        if delivered is not None:
            # the caller counted what the car had taken when it was last seen plugged in: judge it on what charging
            # at once would have given by then, since whatever came after that tick nobody saw (a car that charged
            # at once until it left would otherwise look short by up to a tick's charge)
            got = delivered
            seen = notes.last_t if notes.read_t is None else min(notes.read_t, notes.last_t)
            judged_until = min(dep, max(seen, past.arrival.timestamp()))
        else:
            for a, b, window_kw in notes.plan:  # what the plan delivered after the last look, until the car left
                lo, hi = max(a, notes.last_t), min(b, dep)
                if hi > lo:
                    got += window_kw * (hi - lo) / 3600.0
        got = min(got, past.energy_kwh)
        deliverable = min(past.energy_kwh, kw * (dep - past.arrival.timestamp()) / 3600.0)
        failed = _left_short(got, min(deliverable, kw * (judged_until - past.arrival.timestamp()) / 3600.0))
        st.log_scale += t.gain * (float(failed) - t.target_short)
        st.log_scale = min(math.log(1e4), max(math.log(1e-4), st.log_scale))
        if notes.would_t0 is not None and len(notes.would) == len(self.ladder):
            t0 = notes.would_t0
            st.would_short = [s + _would_short(p, t0, kw, past.energy_kwh, dep, deliverable)
                              for s, p in zip(st.would_short, notes.would, strict=True)]
            st.pushed_short += _would_short(notes.pushed, t0, kw, past.energy_kwh, dep, deliverable)
            risk = notes.would_risk if len(notes.would_risk) == len(self.ladder) else \
                [0.0 if p is None else 1.0 for p in notes.would]  # not modelled: a plan that waits is not vouched for
            st.would_expect = [e + r for e, r in zip(st.would_expect, risk, strict=True)]
            st.pushed_expect += notes.pushed_risk
            st.real_short += failed
            st.would_n += 1

    @property
    def price(self) -> float:
        """kWh at the mean signal that a car left short is worth now (it changes only as sessions are learned)."""
        st = self.state
        key = (st.learned, st.log_scale, st.would_n, st.real_short, st.pushed_short)
        if self._price is None or self._price[0] != key:
            self._price = (key, self._priced())
        return self._price[1]

    def _priced(self) -> float:
        st, t = self.state, self.tuning
        steered = t.first_price * math.exp(st.log_scale)
        if not st.would_n or not len(self.ladder):
            return steered
        scale = (st.real_short + 1.0) / (st.pushed_short + 1.0)
        shorts = np.asarray(st.would_short)
        allowed = t.target_short * st.would_n
        counted = scale * (shorts + LADDER_MARGIN * np.sqrt(shorts + 1.0)) <= allowed
        # Before the counts can vouch for a rung (about 2 / target plug-ins), the model's own risk of each rung's
        # plans can: its expected shorts, scaled by how the model's risk of the pushed plans compared with the cars
        # really left short, within the target, and no more shorts counted than the target allows.
        calibration = (st.real_short + 1.0) / (st.pushed_expect + 1.0)
        modelled = (calibration * np.asarray(st.would_expect) <= allowed) & (scale * shorts <= allowed)
        ok = np.cumprod(counted | modelled).astype(bool)
        if not ok.any():
            return steered
        rung = float(self.ladder[ok][-1])
        # behind as soon as the cars really left short exceed the target: ready is what the owner notices (a
        # noise margin here, the mirror of the rungs' vouching, took more at the workplace but left two-car sites at
        # 0.9900 ready: docs/benchmark.md)
        behind = st.real_short > t.target_short * st.would_n
        return max(steered, rung) if behind else min(steered, rung)

    def price_reason(self) -> str:
        """Said at every tick a plan is held: made again only when what it says has changed."""
        st, price = self.state, self.price
        key = (price, st.learned, st.real_short, st.would_n, self.tuning.target_short)
        if self._reason is not None and self._reason[0] == key:
            return self._reason[1]
        if not st.learned:
            text = f"risk price {price:.3g} (nothing learned yet: cautious)"
        else:
            text = (f"risk price {price:.3g}, learned from {st.learned} ended plug-ins ({st.real_short} of the "
                    f"{st.would_n} planned left short, target {100 * self.tuning.target_short:.1f} %)")
        self._reason = (key, text)
        return text

    # ------------------------------------------------------------------ planning
    def plan(self, *, station: str, arrival: datetime, now: float, delivered: float, full: bool,
             signal: Callable[[], np.ndarray], kw: float, lacks_kwh: float | None = None,
             estimated_departure: float | None = None, requested_kwh: float | None = None,
             read_at: float | None = None) -> HouseholdChoice:
        """This tick's plan for the plug-in at `arrival` (aware, local: its hour and weekday matter). `signal`: the
        objective per slot from `now` (filled); `lacks_kwh`: what the car lacks to its limit at this tick, when it
        says. `signal` is asked only when a decision is due (most ticks keep the plan the car holds). A household
        not known well enough yet (too few similar sessions) charges at once. `read_at`: when the car reported
        `delivered`, if it was charging then (it may have taken more since; a car seen not charging is taken to be so
        until `now`); a look that came due after it waits for a fresher reading."""
        key = session_key(station, arrival.timestamp())
        notes = self.state.open.get(key)
        if notes is None:
            notes = self._note(station, arrival, now, delivered, lacks_kwh, estimated_departure, requested_kwh)
            notes.read_t = read_at
            return self._decide(notes, now, delivered, signal, kw, first=True)
        notes.last_t, notes.last_delivered, notes.read_t = now, delivered, read_at
        if full or notes.look_at is None or now < notes.look_at:
            return self._held(notes)
        if read_at is not None and read_at < notes.look_at:
            # the last reading that showed it charging is older than the look: nothing says the car is still here and
            # still wants energy (a car that filled up and fell asleep keeps its last "charging" reading), so the look
            # waits for a fresh one rather than move the plan of a car that may be full
            return self._held(notes)
        return self._decide(notes, now, delivered, signal, kw, first=False)

    def _note(self, station: str, arrival: datetime, now: float, delivered: float, lacks_kwh: float | None,
              est: float | None, req: float | None) -> PlugIn:
        t = self.tuning
        a = arrival.timestamp()
        est_h = None if est is None else (est - a) / 3600.0
        found = self.model.nearest_readings(station, arrival, list(READINGS), estimated_stay_h=est_h,
                                            requested_energy_kwh=req, k=t.pool)
        stay, energy = found[int(np.argmin(self.state.reading_score))]
        if lacks_kwh is not None:  # what the car says it lacks caps what a similar session took
            energy = np.minimum(energy, delivered + lacks_kwh)
        sigma = SIGMAS[0 if self.state.sigma_n < SIGMA_WARM else int(np.argmin(self.state.sigma_score))]
        stays = [np.asarray(f[0], float) for f in found]
        listed = [x.tolist() for x in stays]
        notes = PlugIn(station, a, est, req, np.asarray(stay, float).tolist(), np.asarray(energy, float).tolist(),
                       sigma, listed, kernel=t.bumps and len(stay) > 0, last_t=now, last_delivered=delivered)
        key = session_key(station, a)
        self.state.open[key] = notes
        if stays and all(len(x) == len(stays[0]) for x in stays):
            self._stays[key] = (listed, np.array(stays))
        return notes

    def _held(self, notes: PlugIn) -> HouseholdChoice:
        return HouseholdChoice(notes.plan[0][0] if notes.plan else notes.last_t, ())

    def _decide(self, notes: PlugIn, now: float, delivered: float, signal: Callable[[], np.ndarray], kw: float,
                first: bool) -> HouseholdChoice:
        t = self.tuning
        notes.look_at = None
        elapsed_h = (now - notes.arrival) / 3600.0
        stay0, energy0 = np.array(notes.stay), np.array(notes.energy)
        w0 = np.exp(-np.arange(len(stay0)) / t.k)
        wants = energy0 > delivered + 1e-6
        alive = (stay0 > elapsed_h) & wants
        if first:
            notes.plan = [[now, now + WINDOW_S, kw]]
        if int(alive.sum()) < t.min_left:
            # no plan is weighed, so no price could have mattered: the plug-in stays out of the would-be ledger. Noted
            # as "every rung charges at once, never short", a new household's first plug-ins would vouch for every
            # rung, the lowest included, and its first weighed plans would take up to `max_risk` each.
            why = (f"only {int(alive.sum())} similar past plug-ins are still possible (fewer than {t.min_left}): "
                   "charging at once")
            return HouseholdChoice(now, (why,)) if first else self._held(notes)
        weight, stay, energy = w0[alive], stay0[alive], energy0[alive] - delivered
        stay_slots = (notes.arrival + stay * 3600.0 - now) / SLOT_S
        kernel = None
        if t.bumps:
            kernel = StayKernel((energy0[wants] - delivered) / (kw * SLOT_S / 3600.0),
                                np.log(np.maximum(stay0[wants], 1e-3)), np.full(int(wants.sum()), notes.sigma),
                                w0[wants], elapsed_h)
        price = self.price
        c = choose(now, signal(), stay_slots, energy, weight, kw, max_fail=t.max_risk, fail_cost=price,
                   kernel=kernel, prices=self.ladder.tolist() if first else ())
        if first and len(self.ladder):
            notes.would_t0 = now
            notes.would = [None if m >= c.n_slots else [m, s] for m, s in c.alternatives]
            notes.pushed = None if c.now_only else [c.must, c.start]
            notes.would_risk = [0.0 if m >= c.n_slots else r
                                for (m, _), r in zip(c.alternatives, c.alternative_risk, strict=True)]
            notes.pushed_risk = 0.0 if c.now_only else 1.0 - c.ready
        since = f" (plugged in {elapsed_h:.1f} h ago)" if elapsed_h >= 0.05 else ""
        hedge = (f"departure hedged over {int(alive.sum())} similar past plug-ins{since}, {self.price_reason()}: "
                 f"ready if it leaves as {100 * c.ready:.0f} % of them did")
        if c.now_only or c.must > 0:
            if not c.now_only and notes.looks < t.max_looks:
                notes.looks += 1
                # look again soon (the car charges, so it is awake): the early-departure risk fades as it stays
                notes.look_at = now + min(c.must, t.look_every) * SLOT_S
            if first:
                look = min(c.must, t.look_every) * SLOT_MIN
                why = "charging at once: no later start is worth the risk" if c.now_only else \
                    f"must-have now, in case the car leaves early; looking again in {look:.0f} min"
                return HouseholdChoice(now, (why, hedge))
            return self._held(notes)
        start = now + c.start * SLOT_S
        notes.plan = [[start, start + WINDOW_S, kw]]
        return HouseholdChoice(start, (hedge,))
