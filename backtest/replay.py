"""The replay and cost model of BENCHMARK.md.

All sessions advance together on one clock (ticks every `tick_min` from each arrival, departures in between), so a
session's departure enters the shared history exactly when it happens. A policy sees a SessionView per tick and may
push a plan: a tuple of windows (start, end, amps), UTC epoch seconds. Each window pushed is one command; pushing to a
sleeping car first costs a wake. The car is awake for 15 minutes after plug-in, while it charges and for 15 minutes
after it stops. It takes energy until it has taken the session's delivered_energy_kwh (full) or it leaves; hours with
no actual load deliver nothing, for every policy alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from backtest.data import HOUR, Grid, Session
from backtest.prices import Prices
from backtest.view import FORECAST_HOURS, RECENT_LOAD_HOURS, History, SessionView
from charge_logic.household import PastSession

VOLTS = 240.0
MIN_AMPS, MAX_AMPS = 5, 32
AWAKE_S = 900.0
READY_SHARE = 0.98

Window = tuple[float, float, int]
PushedPlan = tuple[Window, ...]


class Truth:
    """What only the oracle may know: the session's actual departure and energy, the grid's actual load, and the
    price of every hour."""

    __slots__ = ("departure", "energy_kwh", "grid", "price")

    def __init__(self, session: Session, grid: Grid, price: Sequence[float | None] = ()) -> None:
        self.departure = session.departure
        self.energy_kwh = session.delivered_energy_kwh
        self.grid = grid
        self.price = price


class Car:
    """One session's car under one policy: the plan it holds, what it has taken, and the bill."""

    __slots__ = ("plan", "cap", "t", "delivered", "full", "last_charge", "commands", "wakes", "lw", "memo", "cost",
                 "priced")

    def __init__(self, cap: float, t: float) -> None:
        self.plan: PushedPlan = ()
        self.cap = cap
        self.t = t
        self.delivered = 0.0
        self.full = cap <= 0
        self.last_charge = -1e18
        self.commands = 0
        self.wakes = 0
        self.lw = 0.0  # Σ energy × actual load of its hour
        self.cost = 0.0  # Σ energy × price of its hour ($), with a tariff or price
        self.priced = 0.0  # Σ energy in hours whose price is known
        self.memo: dict = {}

    def advance(self, t1: float, grid: Grid, price: Sequence[float | None] = ()) -> None:
        """Follow the plan from self.t to t1; `price`: $/kWh per grid hour (the bill), when given."""
        t0 = self.t
        self.t = t1
        if self.full or t1 <= t0:
            return
        hour0, load = grid.hour0, grid.load
        n_price = len(price)
        for ws, we, amps in self.plan:
            a = ws if ws > t0 else t0
            b = we if we < t1 else t1
            if a >= b or amps <= 0:
                continue
            kw = VOLTS * amps / 1000.0
            while a < b:
                h = int((a - hour0) // HOUR)
                seg = hour0 + (h + 1) * HOUR
                if seg > b:
                    seg = b
                mw = load[h]
                if mw is not None:
                    e = kw * (seg - a) / HOUR
                    room = self.cap - self.delivered
                    usd = price[h] if h < n_price else None
                    if e >= room:
                        self.delivered = self.cap
                        self.lw += room * mw
                        if usd is not None:
                            self.cost += room * usd
                            self.priced += room
                        self.full = True
                        self.last_charge = a + room / kw * HOUR
                        return
                    self.delivered += e
                    self.lw += e * mw
                    if usd is not None:
                        self.cost += e * usd
                        self.priced += e
                    self.last_charge = seg
                a = seg

    def push(self, plan: PushedPlan, now: float, arrival: float) -> None:
        awake = now - arrival < AWAKE_S or now - self.last_charge < AWAKE_S
        if not awake:
            self.wakes += 1
        self.commands += max(1, len(plan))
        self.plan = tuple(sorted(plan))


class Policy:
    """A charging policy: called at each tick of each session with what it may know."""

    name = "policy"
    needs_truth = False

    def on_tick(self, view: SessionView, memo: dict) -> PushedPlan | None:
        raise NotImplementedError

    def idle(self, memo: dict, full: bool) -> bool:
        """True when on_tick would surely return None and change nothing now (a policy that acts once has acted):
        the replay then skips the tick's view for this car. Only a policy whose answer never depends on the tick may
        say so; the daemon's planner follows every tick."""
        return False


@dataclass
class Outcome:
    """Per policy, per session figures (lists indexed like the replayed sessions)."""

    delivered: list[float] = field(default_factory=list)
    lw: list[float] = field(default_factory=list)
    commands: list[int] = field(default_factory=list)
    wakes: list[int] = field(default_factory=list)
    seconds: float = 0.0
    cost: list[float] = field(default_factory=list)  # $ per session, with a tariff or price
    priced: list[float] = field(default_factory=list)  # kWh per session in hours whose price is known


@dataclass
class Result:
    sessions: int
    skipped: int
    runtime_s: float
    deliverable: list[float]
    outcomes: dict[str, Outcome]
    priced: bool = False  # a tariff or price was given: the money metrics mean something


def deliverable_kwh(session: Session, grid: Grid) -> float:
    """What full power from arrival delivers before the actual departure."""
    car = Car(session.delivered_energy_kwh, session.arrival)
    car.plan = ((session.arrival, session.departure, MAX_AMPS),)
    car.advance(session.departure, grid)
    return car.delivered


def to_past(session: Session, zone: ZoneInfo) -> PastSession:
    return PastSession(session.station_id, datetime.fromtimestamp(session.arrival, zone),
                       datetime.fromtimestamp(session.departure, zone), session.delivered_energy_kwh)


class Progress:
    """A progress bar on stderr (only the first and then every whole percent)."""

    def __init__(self, total: int, label: str, stream=sys.stderr, enabled: bool = True) -> None:
        self.total, self.label, self.stream, self.enabled = max(1, total), label, stream, enabled
        self.shown = -1
        self.started = time.perf_counter()

    def update(self, done: int) -> None:
        pct = done * 100 // self.total
        if not self.enabled or pct == self.shown:
            return
        self.shown = pct
        bar = "#" * (pct // 4)
        elapsed = time.perf_counter() - self.started
        self.stream.write(f"\r{self.label} [{bar:<25}] {pct:3d}% {elapsed:5.1f}s")
        if pct >= 100:
            self.stream.write("\n")
        self.stream.flush()


def _depart(s: Session, cars: list[Car], policies: Sequence[Policy], outcomes: dict[str, Outcome],
            seconds: list[float], grid: Grid, price: Sequence[float | None]) -> None:
    """Each policy's car follows its plan to the departure; its figures go into the outcome."""
    i = s.index
    for p_i, policy in enumerate(policies):
        c0 = time.perf_counter()
        car = cars[p_i]
        car.advance(s.departure, grid, price)
        out = outcomes[policy.name]
        out.delivered[i], out.lw[i], out.commands[i], out.wakes[i] = car.delivered, car.lw, car.commands, car.wakes
        out.cost[i], out.priced[i] = car.cost, car.priced
        seconds[p_i] += time.perf_counter() - c0


def replay(grid: Grid, sessions: Sequence[Session], policies: Sequence[Policy], zone: ZoneInfo, *,
           tick_min: float = 15.0, skipped: int = 0, progress: bool = True,
           label: str = "replay", on_push: Callable | None = None, prices: Prices | None = None) -> Result:
    """`prices`: a tariff or price series (backtest.prices): every policy's bill is counted, and policies see the
    price of the hours ahead as far as it is known (`SessionView.price`)."""
    started = time.perf_counter()
    price: tuple[float | None, ...] = prices.values if prices is not None else ()
    ahead = prices.ahead_h if prices is not None else 0
    tick = tick_min * 60.0
    if tick <= 0:
        raise ValueError("--tick-min must be > 0")
    # Events: (time, kind, session); kind 0 = tick, 1 = departure; at equal time a tick sees departures strictly
    # before it only.
    events: list[tuple[float, int, int]] = []
    for s in sessions:
        t = s.arrival
        while t < s.departure:
            events.append((t, 0, s.index))
            t += tick
        events.append((s.departure, 1, s.index))
    events.sort()
    by_index = {s.index: s for s in sessions}
    finished: list[PastSession] = []
    cars: dict[int, list[Car]] = {}
    deliverable = [0.0] * len(sessions)
    outcomes = {p.name: Outcome([0.0] * len(sessions), [0.0] * len(sessions), [0] * len(sessions),
                                [0] * len(sessions), cost=[0.0] * len(sessions), priced=[0.0] * len(sessions))
                for p in policies}
    seconds = [0.0] * len(policies)
    bar = Progress(len(events), label, enabled=progress)
    f_cache: tuple[float, tuple, float, tuple, tuple] | None = None
    for done, (t, kind, i) in enumerate(events):
        if done % 2000 == 0:
            bar.update(done)
        s = by_index[i]
        if kind == 1:
            _depart(s, cars.pop(i), policies, outcomes, seconds, grid, price)
            deliverable[i] = deliverable_kwh(s, grid)
            finished.append(to_past(s, zone))
            continue
        if i not in cars:
            cars[i] = [Car(s.delivered_energy_kwh, s.arrival) for _ in policies]
        if f_cache is None or f_cache[0] != t:
            h_next = int(-((grid.hour0 - t) // HOUR))  # first hour starting at or after t
            h_done = int((t - grid.hour0) // HOUR)  # hours before this one have ended
            f_cache = (t, grid.forecast[max(0, h_next): max(0, h_next + FORECAST_HOURS)],
                       grid.hour0 + h_done * HOUR, grid.load[max(0, h_done - RECENT_LOAD_HOURS): max(0, h_done)],
                       price[max(0, h_next): max(0, h_next + ahead)])
        _, forecast, recent_end, recent, price_ahead = f_cache
        history = History(finished, len(finished))
        fstart = grid.hour0 + int(-((grid.hour0 - t) // HOUR)) * HOUR
        for p_i, policy in enumerate(policies):
            c0 = time.perf_counter()
            car = cars[i][p_i]
            car.advance(t, grid, price)
            if policy.idle(car.memo, car.full):
                seconds[p_i] += time.perf_counter() - c0
                continue
            view = SessionView(t, zone, s.arrival, s.station_id, s.estimated_departure, s.requested_energy_kwh,
                               car.delivered, car.full, fstart, forecast, recent_end, recent, history, price_ahead)
            if policy.needs_truth:
                plan = policy.on_tick_with_truth(view, car.memo, Truth(s, grid, price))  # type: ignore[attr-defined]
            else:
                plan = policy.on_tick(view, car.memo)
            if plan is not None:
                car.push(plan, t, s.arrival)
                if on_push is not None:
                    on_push(policy.name, s, t, plan)
            seconds[p_i] += time.perf_counter() - c0
    bar.update(len(events))
    for p_i, policy in enumerate(policies):
        outcomes[policy.name].seconds = seconds[p_i]
    return Result(len(sessions), skipped, time.perf_counter() - started, deliverable, outcomes, prices is not None)
