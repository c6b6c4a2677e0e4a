"""Two cars on one circuit (`backtest --cars 2 --circuit-amps A`): households paired into two-car sites.

The pairing (any sessions file, nothing known of its stations): each charge point (`station_id`) is one car. The
stations are ranked by their first arrival (then their id) and paired in turn, first with second, third with fourth;
an odd last station is left out. Each pair is one site, a household with two cars on one circuit, over the dates both
stations are in use: from the day of the later of their first arrivals to the day of the earlier of their last
departures (whole local days). A session that
starts before its own station's previous one has ended (a file's double booking) is left out too; all of these are
counted as `unpaired`. At home (one charge point a household) this puts two households' real plug-ins side by side
over the same dates; at a workplace it puts two charge points of the garage on one circuit.

Each car of a site runs the daemon's own planner (`DaemonPlanner`: `plan_for_vehicle` with its own household planner,
learning only from that car's ended sessions, as the daemon keeps history per car). At every tick of the site (every
`tick_min` while a car is plugged in, and at each plug-in) both plugged cars are planned, then
`charge_logic.site.share_circuit`, the function the daemon calls, caps their windows to the circuit; a car is sent its
capped windows when they differ from what it holds from now on (each window a command, a wake first if it sleeps,
as BENCHMARK.md's cost model), and follows them until the next tick. A car that becomes full or leaves between ticks
frees its amps at the next tick.

The references, on the same sites: `immediate`, full power from plug-in with the circuit split evenly between the
cars that are charging (as a charger's load sharing does; below a car's minimum the later one waits), and `oracle`,
perfect hindsight with the circuit: the least load-weighted energy among the most energy the circuit lets both cars
take (a flow, filled in the lowest-load hours first, moving a car's earlier choice when the other needs that hour
more). A session's `deliverable_kwh` is what `immediate` gives it: what charging at once on the shared circuit would
have delivered before it left.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from backtest.data import HOUR, DataError, Grid, Session, load_grid, load_sessions, zone_of
from backtest.planner_policy import ARRIVAL_SOC, DaemonPlanner, sessions_config, snapshot
from backtest.replay import MAX_AMPS, MIN_AMPS, READY_SHARE, VOLTS, Car, Progress, PushedPlan, to_past
from backtest.view import FORECAST_HOURS, RECENT_LOAD_HOURS, History, SessionView
from charge_logic.household import PastSession
from charge_logic.site import car_need, share_circuit

CARS = 2
POLICIES = ("immediate", "oracle", "planner")
KW_PER_AMP = VOLTS / 1000.0
EPS = 1e-9
PAIRING = ("stations ranked by first arrival (then id) and paired in turn; each pair one site over the dates both "
           "are in use")


@dataclass(frozen=True)
class Site:
    """Two stations as two cars on one circuit, each with its sessions (by arrival, none overlapping its own)."""

    stations: tuple[str, str]
    sessions: tuple[tuple[Session, ...], tuple[Session, ...]]


def pair_sessions(sessions: Sequence[Session], zone: ZoneInfo) -> tuple[list[Site], int]:
    """The two-car sites of a sessions file, and how many sessions no site holds (the rule: module docstring)."""
    by_station: dict[str, list[Session]] = {}
    for s in sorted(sessions, key=lambda s: (s.arrival, s.session_id)):
        by_station.setdefault(s.station_id, []).append(s)
    ranked = sorted(by_station, key=lambda st: (by_station[st][0].arrival, st))
    sites: list[Site] = []
    kept = 0
    for a, b in zip(ranked[0::2], ranked[1::2], strict=False):
        start = _day(max(by_station[a][0].arrival, by_station[b][0].arrival), zone, 0)
        end = _day(min(max(s.departure for s in by_station[a]), max(s.departure for s in by_station[b])), zone, 1)
        cars = tuple(_own(by_station[st], start, end) for st in (a, b))
        if cars[0] or cars[1]:
            kept += sum(len(c) for c in cars)
            sites.append(Site((a, b), (cars[0], cars[1])))
    return sites, len(sessions) - kept


def _day(t: float, zone: ZoneInfo, after: int) -> float:
    """The local midnight that starts (after=0) or ends (after=1) the day of `t`."""
    day = datetime.fromtimestamp(t, zone).date() + timedelta(days=after)
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def _own(sessions: list[Session], start: float, end: float) -> tuple[Session, ...]:
    out: list[Session] = []
    for s in sessions:
        if start <= s.arrival and s.departure <= end and (not out or s.arrival >= out[-1].departure):
            out.append(s)
    return tuple(out)


@dataclass
class Outcome:
    """One policy's figures: per session (by Session.index) and for the circuit."""

    delivered: dict[int, float] = field(default_factory=dict)
    lw: dict[int, float] = field(default_factory=dict)
    commands: dict[int, int] = field(default_factory=dict)
    wakes: dict[int, int] = field(default_factory=dict)
    peak_amps: float = 0.0
    over_circuit_ticks: int = 0
    seconds: float = 0.0

    def record(self, s: Session, delivered: float, lw: float, commands: int, wakes: int) -> None:
        self.delivered[s.index], self.lw[s.index] = delivered, lw
        self.commands[s.index], self.wakes[s.index] = commands, wakes


@dataclass
class CarsResult:
    sites: list[Site]
    unpaired: int
    skipped: int
    circuit_amps: int
    outcomes: dict[str, Outcome]
    runtime_s: float = 0.0

    def car_sessions(self, car: int | None = None) -> list[Session]:
        return [s for site in self.sites for c in range(CARS) if car is None or c == car for s in site.sessions[c]]


# --- immediate: full power from plug-in, the circuit split evenly -------------------------------------------------


def _even_split(charging: list[int], circuit: int) -> dict[int, int]:
    """Amps per charging car (in plug-in order): an even split, each within the charger; below the charger's minimum
    the later cars wait."""
    amps: dict[int, int] = {}
    for n in range(len(charging), 0, -1):
        each = min(MAX_AMPS, circuit // n)
        if each >= MIN_AMPS:
            amps = {c: each for c in charging[:n]}
            break
    return {c: amps.get(c, 0) for c in charging}


def _immediate_site(site: Site, grid: Grid, circuit: int, out: Outcome) -> None:
    events = sorted((s.arrival, c, s) for c in range(CARS) for s in site.sessions[c])
    k = 0
    plugged: dict[int, list] = {}  # car: [session, delivered, lw, full]
    t = events[0][0] if events else 0.0
    while k < len(events) or plugged:
        if not plugged:
            t = events[k][0]
        while k < len(events) and events[k][0] <= t:
            _, c, s = events[k]
            k += 1
            plugged[c] = [s, 0.0, 0.0, s.delivered_energy_kwh <= 0]
            out.commands[s.index], out.wakes[s.index] = 1, 0  # "charge now", pushed at plug-in (the car is awake)
        h = int((t - grid.hour0) // HOUR)
        nxt = min(grid.hour0 + (h + 1) * HOUR, events[k][0] if k < len(events) else math.inf,
                  min(p[0].departure for p in plugged.values()))
        charging = sorted((c for c, p in plugged.items() if not p[3]), key=lambda c: plugged[c][0].arrival)
        amps = _even_split(charging, circuit)
        out.peak_amps = max(out.peak_amps, sum(amps.values()))
        load = grid.load[h] if 0 <= h < len(grid.load) else None
        if load is not None:  # the first car to become full ends the step: the others' share rises then
            step = nxt
            for c, a in amps.items():
                if a:
                    p = plugged[c]
                    step = min(step, t + (p[0].delivered_energy_kwh - p[1]) / (a * KW_PER_AMP) * HOUR)
            nxt = max(step, t + 1e-6) if step > t else nxt
            for c, a in amps.items():
                p = plugged[c]
                e = min(a * KW_PER_AMP * (nxt - t) / HOUR, p[0].delivered_energy_kwh - p[1])
                p[1] += e
                p[2] += e * load
                if p[1] >= p[0].delivered_energy_kwh - 1e-9:
                    p[3] = True
        t = nxt
        for c in [c for c, p in plugged.items() if p[0].departure <= t]:
            s, got, lw, _ = plugged.pop(c)
            out.delivered[s.index], out.lw[s.index] = got, lw


# --- oracle: perfect hindsight with the circuit --------------------------------------------------------------------


class _Hindsight:
    """The oracle on one site: lowest-load segments first, each filled as far as the circuit, the cars' chargers and
    their energies allow, moving energy a car had in a cheaper segment it shares with the other car when that lets
    more in (an augmenting path). That is the least load-weighted energy among the most energy the circuit allows:
    what the segments can take forms a polymatroid, so filling them greedily by load is optimal."""

    def __init__(self, site: Site, grid: Grid, circuit: int) -> None:
        self.circuit = circuit
        self.sessions = [s for c in range(CARS) for s in site.sessions[c]]
        self.need = {s.index: s.delivered_energy_kwh for s in self.sessions}
        self.segs = _segments(site, grid)  # start, end, load, sessions present
        self.x: dict[tuple[int, int], float] = {}  # kWh of session i in segment j
        self.shared: dict[int, set[int]] = {s.index: set() for s in self.sessions}  # shared segments it has kWh in
        self.total = [0.0] * len(self.segs)

    def cap(self, j: int) -> float:
        return MAX_AMPS * KW_PER_AMP * (self.segs[j][1] - self.segs[j][0]) / HOUR

    def room(self, j: int) -> float:
        return self.circuit * KW_PER_AMP * (self.segs[j][1] - self.segs[j][0]) / HOUR - self.total[j]

    def spare(self, i: int, j: int) -> float:
        return self.cap(j) - self.x.get((i, j), 0.0)

    def path(self, j: int) -> list[tuple[int, int, int]] | None:
        """Hops (from, segment, to), the first into segment j, ending at a session with energy still to take."""
        parent: dict[int, tuple[int, int] | None] = {}
        queue: deque[int] = deque()
        for i in self.segs[j][3]:
            if self.spare(i, j) > EPS:
                parent[i] = None
                queue.append(i)
        while queue:
            u = queue.popleft()
            if self.need[u] > EPS:  # back to where the path entered segment j
                hops = []
                step = parent[u]
                while step is not None:
                    prev, via = step
                    hops.append((prev, via, u))
                    u, step = prev, parent[prev]
                return [(-1, j, u)] + hops[::-1]
            for j2 in self.shared[u]:
                for v in self.segs[j2][3]:
                    if v != u and v not in parent and self.spare(v, j2) > EPS:
                        parent[v] = (u, j2)
                        queue.append(v)
        return None

    def fill(self) -> None:
        for j in sorted(range(len(self.segs)), key=lambda j: (self.segs[j][2], self.segs[j][0])):
            while self.room(j) > EPS:
                hops = self.path(j)
                if hops is None or not self.augment(j, hops):
                    break

    def augment(self, j: int, hops: list[tuple[int, int, int]]) -> bool:
        """Hop (u, j2, v) after the first: v takes u's place in j2 (u has moved on to the segment before)."""
        x = self.x
        first = hops[0][2]
        delta = min(self.room(j), self.spare(first, j), self.need[hops[-1][2]])
        for u, j2, v in hops[1:]:
            delta = min(delta, x[(u, j2)], self.spare(v, j2))
        if delta <= EPS:
            return False
        self.total[j] += delta
        for u, j2, v in hops:
            if u >= 0:
                x[(u, j2)] -= delta
                if x[(u, j2)] <= EPS:
                    self.shared[u].discard(j2)
            x[(v, j2)] = x.get((v, j2), 0.0) + delta
            if len(self.segs[j2][3]) > 1:
                self.shared[v].add(j2)
        self.need[hops[-1][2]] -= delta
        return True

    def record(self, out: Outcome) -> None:
        got = {s.index: 0.0 for s in self.sessions}
        lw = {s.index: 0.0 for s in self.sessions}
        for (i, j), v in self.x.items():
            got[i] += v
            lw[i] += v * self.segs[j][2]
        runs = {s.index: 0 for s in self.sessions}
        before: dict[int, float] = {}
        for j, (a, b, _, members) in enumerate(self.segs):
            amps = sum(self.x.get((i, j), 0.0) for i in members) / (KW_PER_AMP * (b - a) / HOUR)
            out.peak_amps = max(out.peak_amps, amps)
            out.over_circuit_ticks += amps > self.circuit + 1e-6
            for i in members:
                if self.x.get((i, j), 0.0) > EPS:
                    runs[i] += before.get(i) != a  # a new window unless it goes on from the one before
                    before[i] = b
        for s in self.sessions:
            out.record(s, got[s.index], lw[s.index], max(1, runs[s.index]), 0)


def _segments(site: Site, grid: Grid) -> list[tuple[float, float, float, list[int]]]:
    """The site's time cut at every plug-in, departure and hour, where a car is plugged in and the load is known."""
    cuts = {t for c in range(CARS) for s in site.sessions[c] for t in (s.arrival, s.departure)}
    for c in range(CARS):
        for s in site.sessions[c]:
            h = math.floor((s.arrival - grid.hour0) / HOUR) + 1
            while grid.hour0 + h * HOUR < s.departure:
                cuts.add(grid.hour0 + h * HOUR)
                h += 1
    ordered = sorted(cuts)
    starts = [[s.arrival for s in site.sessions[c]] for c in range(CARS)]
    segs = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        h = int((a - grid.hour0) // HOUR)
        load = grid.load[h] if 0 <= h < len(grid.load) else None
        if load is None:
            continue
        members = []
        for c in range(CARS):
            k = bisect_right(starts[c], a) - 1
            if k >= 0 and b <= site.sessions[c][k].departure:
                members.append(site.sessions[c][k].index)
        if members:
            segs.append((a, b, load, members))
    return segs


def _oracle_site(site: Site, grid: Grid, circuit: int, out: Outcome) -> None:
    oracle = _Hindsight(site, grid, circuit)
    oracle.fill()
    oracle.record(out)


# --- planner: each car the daemon's planner, the circuit shared by charge_logic.site ----------------------------------


def _ahead(plan: PushedPlan, now: float) -> tuple[tuple[int, int, int], ...]:
    """What a plan draws from `now` on (to the second), contiguous equal amps as one: two plans alike from now on need
    no command."""
    out: list[list[int]] = []
    for a, b, amps in sorted(plan):
        if b <= now or amps <= 0:
            continue
        a0, b0 = round(max(a, now)), round(b)
        if out and out[-1][1] == a0 and out[-1][2] == amps:
            out[-1][1] = b0
        else:
            out.append([a0, b0, amps])
    return tuple((a, b, amps) for a, b, amps in out)


class _PlannerSite:
    """One site's replay under the daemon's planner."""

    def __init__(self, site: Site, grid: Grid, zone: ZoneInfo, circuit: int, tick_s: float, short_risk_pct: float,
                 out: Outcome) -> None:
        self.site, self.grid, self.zone, self.circuit, self.tick_s, self.out = site, grid, zone, circuit, tick_s, out
        self.config = sessions_config(short_risk_pct)
        self.planners = [DaemonPlanner(self.config) for _ in range(CARS)]
        self.finished: list[list[PastSession]] = [[] for _ in range(CARS)]
        self.ended: list[list[float]] = [[] for _ in range(CARS)]
        self.plugged: dict[int, tuple[Session, Car, dict]] = {}

    def run(self) -> int:
        arrivals = sorted((s.arrival, c, s) for c in range(CARS) for s in self.site.sessions[c])
        k, next_tick, t_prev, ticks = 0, math.inf, -math.inf, 0
        while k < len(arrivals) or self.plugged:
            t_arr = arrivals[k][0] if k < len(arrivals) else math.inf
            t_dep = min((p[0].departure for p in self.plugged.values()), default=math.inf)
            t = min(t_arr, t_dep, next_tick if self.plugged else math.inf)
            self._follow(t_prev, t)
            t_prev = t
            for c in [c for c, p in self.plugged.items() if p[0].departure <= t]:
                s, car, _ = self.plugged.pop(c)
                self.out.record(s, car.delivered, car.lw, car.commands, car.wakes)
                self.finished[c].append(to_past(s, self.zone))
                self.ended[c].append(s.departure)
            arrived = False
            while k < len(arrivals) and arrivals[k][0] <= t:
                _, c, s = arrivals[k]
                k += 1
                self.plugged[c] = (s, Car(s.delivered_energy_kwh, s.arrival), {})
                arrived = True
            if self.plugged and (arrived or t >= next_tick):
                self._tick(t)
                ticks += 1
                next_tick = t + self.tick_s
        return ticks

    def _follow(self, t0: float, t1: float) -> None:
        """Each plugged car follows what it holds to t1; the circuit's draw over [t0, t1) is measured."""
        pieces: list[tuple[float, float, int]] = []
        for _, car, _ in self.plugged.values():
            was_full = car.full
            car.advance(t1, self.grid)
            if was_full:
                continue
            stop = car.last_charge if car.full else t1
            pieces += [(max(a, t0), min(b, stop), amps) for a, b, amps in car.plan
                       if amps > 0 and max(a, t0) < min(b, stop)]
        if not pieces:
            return
        peak = max(sum(amps for a, b, amps in pieces if a <= at < b) for at, _, _ in pieces)
        self.out.peak_amps = max(self.out.peak_amps, peak)
        self.out.over_circuit_ticks += peak > self.circuit

    def _tick(self, t: float) -> None:
        grid = self.grid
        h_next = int(-((grid.hour0 - t) // HOUR))
        h_done = int((t - grid.hour0) // HOUR)
        forecast = grid.forecast[max(0, h_next): max(0, h_next + FORECAST_HOURS)]
        recent = grid.load[max(0, h_done - RECENT_LOAD_HOURS): max(0, h_done)]
        now = datetime.fromtimestamp(t, self.zone)
        needs, order = [], sorted(self.plugged)
        points = None
        for c in order:
            s, car, memo = self.plugged[c]
            # the car's own history: its sessions that ended before now
            history = History(self.finished[c], bisect_left(self.ended[c], t))
            view = SessionView(t, self.zone, s.arrival, s.station_id, s.estimated_departure, s.requested_energy_kwh,
                               car.delivered, car.full, grid.hour0 + h_next * HOUR, forecast,
                               grid.hour0 + h_done * HOUR, recent, history)
            self.planners[c].on_tick(view, memo)
            points = self.planners[c].forecast(view)
            needs.append(car_need(f"car {c + 1}", memo["plan"], snapshot(view, self.config, ARRIVAL_SOC),
                                  self.config, None))
        plan = share_circuit(now, needs, self.circuit, points or ())
        for c, share in zip(order, plan.cars, strict=True):
            s, car, memo = self.plugged[c]
            capped = tuple((w.start.timestamp(), w.end.timestamp(), w.amps) for w in share.windows)
            memo["site_reasons"] = share.reasons
            held = () if car.full else car.plan  # a full car draws nothing, whatever it holds
            if _ahead(capped, t) != _ahead(held, t):
                car.push(capped, t, s.arrival)


# --- the run -------------------------------------------------------------------------------------------------------


def replay_cars(grid: Grid, sites: list[Site], zone: ZoneInfo, circuit: int, *, unpaired: int = 0, skipped: int = 0,
                tick_min: float = 15.0, short_risk_pct: float = 0.8, progress: bool = True) -> CarsResult:
    if tick_min <= 0:
        raise ValueError("--tick-min must be > 0")
    started = time.perf_counter()
    outcomes = {name: Outcome() for name in POLICIES}
    bar = Progress(len(sites), f"{CARS} cars, {circuit} A", enabled=progress)
    for n, site in enumerate(sites):
        bar.update(n)
        for name in POLICIES:
            c0 = time.perf_counter()
            out = outcomes[name]
            if name == "immediate":
                _immediate_site(site, grid, circuit, out)
            elif name == "oracle":
                _oracle_site(site, grid, circuit, out)
            else:
                _PlannerSite(site, grid, zone, circuit, tick_min * 60.0, short_risk_pct, out).run()
            out.seconds += time.perf_counter() - c0
    bar.update(len(sites))
    return CarsResult(sites, unpaired, skipped, circuit, outcomes, time.perf_counter() - started)


def _group(result: CarsResult, sessions: list[Session]) -> dict[str, dict[str, float]]:
    """BENCHMARK.md's metrics over these sessions; deliverable is what `immediate` gave each on the shared circuit."""
    n = max(1, len(sessions))
    imm = result.outcomes["immediate"]
    deliverable = {s.index: imm.delivered.get(s.index, 0.0) for s in sessions}
    total = sum(deliverable.values())

    def lw(name: str) -> float:
        out = result.outcomes[name]
        energy = sum(out.delivered[s.index] for s in sessions)
        return sum(out.lw[s.index] for s in sessions) / energy if energy > 0 else float("nan")

    lw_imm, lw_orc = lw("immediate"), lw("oracle")
    table: dict[str, dict[str, float]] = {}
    for name, out in result.outcomes.items():
        got = {s.index: out.delivered[s.index] for s in sessions}
        gain = lw_imm - lw_orc
        table[name] = {
            "load_weighted_mw": lw(name),
            "capture": (lw_imm - lw(name)) / gain if gain > 0 else float("nan"),
            "deliverable_kwh": total,
            "ready_rate": sum(1 for i, d in deliverable.items() if got[i] >= READY_SHARE * d - 1e-9) / n,
            "shortfall_pct": 100.0 * sum(max(0.0, d - got[i]) for i, d in deliverable.items()) / total
            if total > 0 else 0.0,
            "commands_per_session": sum(out.commands[s.index] for s in sessions) / n,
            "wakes_per_session": sum(out.wakes[s.index] for s in sessions) / n,
        }
    return table


def cars_metrics(result: CarsResult) -> dict:
    """Per policy for the site (every paired session) with the circuit's figures, and per car."""
    site = _group(result, result.car_sessions())
    for name, out in result.outcomes.items():
        site[name].update(peak_amps=round(out.peak_amps, 3), over_circuit_ticks=out.over_circuit_ticks,
                          runtime_s=out.seconds)
    return {"site": site, "per_car": {f"car {c + 1}": _group(result, result.car_sessions(c)) for c in range(CARS)}}


def format_cars(table: dict, title: str) -> str:
    heads = ("", "policy", "load_w_MW", "capture", "ready", "short_%", "cmd/sess", "wake/sess", "peak_A", "over")
    lines = [title, "| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    groups = [("site", table["site"])] + list(table["per_car"].items())
    for group, rows in groups:
        for name, r in rows.items():
            circuit = (f"{r['peak_amps']:.0f}", str(r["over_circuit_ticks"])) if "peak_amps" in r else ("", "")
            cells = (group, name, f"{r['load_weighted_mw']:.1f}", f"{r['capture']:.3f}", f"{r['ready_rate']:.4f}",
                     f"{r['shortfall_pct']:.2f}", f"{r['commands_per_session']:.2f}", f"{r['wakes_per_session']:.3f}",
                     *circuit)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_args(args: argparse.Namespace) -> None:
    """One clear error for a two-car run the backtest cannot do."""
    if args.cars not in (1, CARS):
        raise DataError(f"--cars {args.cars}: the backtest pairs charge points two by two; --cars takes 1 or 2")
    if args.cars == 1:
        if args.circuit_amps is not None:
            raise DataError("--circuit-amps is the circuit two cars share: give it with --cars 2")
        return
    if args.circuit_amps is None:
        raise DataError("--cars 2 needs --circuit-amps A, the circuit both cars share (e.g. 48)")
    if args.circuit_amps < MIN_AMPS:
        raise DataError(f"--circuit-amps {args.circuit_amps} is below one car's minimum of {MIN_AMPS} A: "
                        "no car could ever charge")
    if args.scenario:
        raise DataError("--cars 2 replays a sessions file (--sessions), not --scenario")
    other = sorted(set(args.policy or ()) - set(POLICIES))
    if other:
        raise DataError(f"--cars 2 runs {', '.join(POLICIES)}; not {', '.join(other)}")
    if not args.sessions:
        raise DataError("--sessions FILE is required")


def run_cars(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        check_args(args)
        if not 0.1 <= args.short_risk_pct <= 20.0:
            raise DataError(f"--short-risk-pct must be between 0.1 and 20 (as SHORT_RISK_PCT), "
                            f"not {args.short_risk_pct:g}")
        zone = zone_of(args.tz)
        grid = load_grid(args.grid)
        sessions, skipped = load_sessions(args.sessions, zone, grid)
        sites, unpaired = pair_sessions(sessions, zone)
        if not sites:
            raise DataError(f"{args.sessions}: fewer than two charge points (station_id), nothing to pair")
        result = replay_cars(grid, sites, zone, args.circuit_amps, unpaired=unpaired, skipped=skipped,
                             tick_min=args.tick_min, short_risk_pct=args.short_risk_pct, progress=not args.quiet)
    except (DataError, OSError, ValueError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    table = cars_metrics(result)
    runtime = time.perf_counter() - started
    n = len(result.car_sessions())
    print(format_cars(table, f"{args.sessions} × {args.grid} ({args.tz}), 2 cars on {args.circuit_amps} A: "
                             f"{len(sites)} sites, {n} sessions, {unpaired} unpaired, {skipped} skipped, "
                             f"{runtime:.1f} s"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"sessions": n, "skipped": skipped, "unpaired": unpaired, "sites": len(sites), "cars": CARS,
                       "circuit_amps": args.circuit_amps, "pairing": PAIRING, "runtime_s": runtime,
                       "policies": table["site"], "per_car": table["per_car"],
                       "stations": [list(s.stations) for s in sites]}, fh, indent=2)
    return 0
