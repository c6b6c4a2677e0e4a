"""When to charge, and at what amps: the fewest windows that put the energy into the lowest-load hours while the car
stays ready for an early departure.

The unknowns — when the car leaves and how much it will take — come in as needs (departure, energy, weight): one for
a calendar departure, or many learned from the household (charge_logic.household). The planner tries every plan of
the shape "charge for `m` now (the must-have: it covers the early departures), then from `s` until full" on a
15-minute grid (starts on the hour, where the signal changes), keeps those that leave at most `max_fail` of the
needs' weight short of what charging at once would have given them, and picks the lowest expected energy-weighted
forecast signal (grid load now; price or CO₂ later: the objective is just the series passed in). A second window must
earn its command. The daemon asks again every cycle, so a must-have is re-decided once it has run: by then the car
has either left, filled up, or shown it needs more — and the needs can be narrowed to what is still possible.
Pure: `now`, the forecast and the needs are values; nothing here reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from charge_logic.models import ChargeWindow, ForecastPoint
from charge_logic.power import Charger, battery_pct, taper_factor

__all__ = ["Charger", "Need", "Choice", "ChargePlan", "choose", "plan_charging", "slot_signal", "fill_gaps",
           "StayKernel"]

READY_SHARE = 0.98  # a need is met when it gets ≥ 98 % of what charging at once would have delivered (BENCHMARK.md)
MUST_HAVE_SLOTS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24)  # must-have lengths tried, in slots
SLOT_MIN = 15
# The plan the car holds is kept unless a new one lowers the expected signal by more than this share of its mean:
# re-planning every tick must not turn small forecast or SoC steps into stop/start commands (each billed, and a
# sleeping car's first one costs a wake). A round product figure, not fitted to any data.
KEEP_MARGIN = 0.02


@dataclass(frozen=True)
class Need:
    """One way the session may end: the car leaves at `departure` wanting `energy_kwh` more."""

    departure: datetime
    energy_kwh: float
    weight: float = 1.0


@dataclass(frozen=True)
class Choice:
    """The core's answer on the slot grid: charge slots [0, must) and from `start` on (must = n_slots: all now)."""

    must: float
    start: float
    n_slots: int
    ready: float  # weight share of the needs met
    score: float  # expected energy-weighted signal of this plan
    score_now: float  # the same for charging at once
    alternatives: tuple[tuple[float, float], ...] = ()  # (must, start) each of `prices` would choose
    alternative_risk: tuple[float, ...] = ()  # the share of the needs each of those plans leaves short, as modelled

    @property
    def now_only(self) -> bool:
        return self.must >= self.n_slots


@dataclass(frozen=True)
class ChargePlan:
    windows: tuple[ChargeWindow, ...]
    expected_soc: tuple[tuple[datetime, float], ...]  # SoC % over time (empty when the SoC is unknown)
    reasons: tuple[str, ...]
    ready_probability: float  # weight share of the needs this plan meets
    choice: Choice | None = None


def fill_gaps(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Missing values (nan): linear between known neighbours, the nearest known at the ends. Returns the filled
    series and how many inner gaps there were (the stretch before the first known value is not a gap)."""
    arr = np.asarray(values, dtype=float)
    ok = ~np.isnan(arr)
    if not ok.any():
        return np.zeros(len(arr)), len(arr)
    known = np.flatnonzero(ok)
    missing = int((~ok[known[0]: known[-1] + 1]).sum())
    if not ok.all():
        idx = np.arange(len(arr))
        arr = np.interp(idx, idx[ok], arr[ok])
    return arr, missing


def slot_signal(t0: float, hour_starts: np.ndarray, values: np.ndarray, slot_s: float = SLOT_MIN * 60.0
                ) -> tuple[np.ndarray, int]:
    """Hourly values (epoch-second hour starts, nan = missing) on the slot grid from t0, up to the last hour."""
    if len(hour_starts) == 0:
        return np.zeros(0), 0
    end = float(hour_starts.max()) + 3600.0
    n = max(0, int(math.ceil((end - t0) / slot_s - 1e-9)))
    keys = np.floor(hour_starts / 3600.0)
    order = np.argsort(keys)
    keys, vals = keys[order], np.asarray(values, dtype=float)[order]
    mids = np.floor((t0 + (np.arange(n) + 0.5) * slot_s) / 3600.0)
    pos = np.clip(np.searchsorted(keys, mids), 0, len(keys) - 1)
    raw = np.where(keys[pos] == mids, vals[pos], np.nan)
    return fill_gaps(raw)


def forecast_signal(t0: float, forecast: Sequence[ForecastPoint]) -> tuple[np.ndarray, int]:
    """The forecast's usable points on the slot grid from t0 (empty with none), and how many slots were filled."""
    pts = [p for p in forecast if p.load_mw is not None and math.isfinite(p.load_mw)]
    if not pts:
        return np.zeros(0), 0
    return slot_signal(t0, np.array([p.start.timestamp() for p in pts]), np.array([p.load_mw for p in pts]))


def ndtr(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (numpy only: erf by Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    x = np.asarray(x, dtype=float) / math.sqrt(2.0)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return np.asarray(0.5 * (1.0 + np.sign(x) * y), dtype=float)


@dataclass(frozen=True)
class StayKernel:
    """The needs' departures as log-normal bumps instead of points: past session i says "log stay ~ N(log_stay_h[i],
    sigma[i]²)". A handful of similar sessions leaves gaps between their departures, and a plan can put its risky
    stretch right into one: zero risk on paper, not in fact. The bumps close the gaps."""

    e_slots: np.ndarray  # what each need still wants, in full-power slots
    log_stay_h: np.ndarray  # log of each need's stay, hours since plug-in
    sigma: np.ndarray  # each bump's width, in log hours
    weight: np.ndarray
    elapsed_h: float  # hours since plug-in: each bump is cut here, weighted by its chance of the car still being here


def kernel_fail(M: np.ndarray, S: np.ndarray, n_slots: int, kernel: StayKernel, slot_h: float) -> np.ndarray:
    """Weighted fail share of each plan (M, S) (columns (C, 1), slots from now) under the kernel.

    A need fails when the car leaves in (lo, hi): lo = M / 0.98 (before that the must-have covers it), hi = 0.98 e +
    S − M (after that the later window has filled it); both clipped at the forecast's end, as `choose` clips stays.
    """
    k = kernel
    sg = np.maximum(k.sigma, 1e-9)
    surv = 1.0 - ndtr((math.log(max(k.elapsed_h, 1e-6)) - k.log_stay_h) / sg)
    den = float(surv @ k.weight)
    if den <= 1e-12 or M.shape[0] == 0:
        return np.zeros(M.shape[0])

    def cdf(slots: np.ndarray) -> np.ndarray:  # P(leave before `slots` from now), per (row, need)
        return ndtr((np.log(np.maximum(k.elapsed_h + slots * slot_h, 1e-6)) - k.log_stay_h[None, :]) / sg[None, :])

    Mv, Sv = M[:, 0], S[:, 0]
    mu, m_inv = np.unique(Mv, return_inverse=True)  # lo depends on M only: few distinct values
    f_lo = cdf(np.minimum(mu / READY_SHARE, n_slots)[:, None])[m_inv]
    gu, g_inv = np.unique(np.round(Sv - Mv, 6), return_inverse=True)  # hi depends on the gap S − M only
    hi_u = READY_SHARE * k.e_slots[None, :] + gu[:, None]
    # a gap within the 2 % slack: the need is short only if the car leaves while the gap is still to be made up
    small = gu[:, None] < (1 - READY_SHARE) * k.e_slots[None, :]
    hi_u = np.where(small, np.minimum(k.e_slots[None, :], gu[:, None] / (1 - READY_SHARE)), hi_u)
    f_hi = np.where(hi_u >= n_slots, 1.0, cdf(np.minimum(hi_u, n_slots)))[g_inv]
    hi = hi_u[g_inv]
    lo = (Mv / READY_SHARE)[:, None]
    valid = (READY_SHARE * k.e_slots[None, :] > M) & (hi > lo) & (lo < n_slots)
    fail = np.where(valid, np.maximum(f_hi - f_lo, 0.0), 0.0)
    return np.asarray((fail @ k.weight) / den, dtype=float)


def choose(t0: float, signal: np.ndarray, stay_slots: np.ndarray, energy: np.ndarray, weight: np.ndarray,
           full_kw: float, *, per_slot: np.ndarray | None = None, max_fail: float = 0.01,
           window_cost: float = 0.002, slot_s: float = SLOT_MIN * 60.0,
           fail_cost: float | None = None, kernel: StayKernel | None = None,
           prices: Sequence[float] = (), keep: tuple[float, float] | None = None) -> Choice:
    """The plan with the lowest expected signal among those ready for all but `max_fail` of the needs' weight.

    `signal`: the objective per slot from t0 (filled); `stay_slots`: each need's departure in slots from t0;
    `energy`: what each need still wants (kWh); `per_slot`: kWh the car takes in its k-th charged slot (taper);
    `window_cost`: share of the mean signal a second window must save to be worth its command.
    `fail_cost` (a price instead of a per-plan budget): when given, the plan minimises the expected energy moved
    times its signal relative to the mean, plus `fail_cost` (kWh at the mean signal) times the share of needs it
    leaves short — so a fleet of plans spends a common risk budget where it buys the most, not evenly per plug-in.
    `max_fail` still caps every plan's risk. `prices`: other prices to ask at once; `Choice.alternatives` gives the
    (must, start) each would choose (what a caller learns its price from).
    `kernel`: when given (uniform power only), the fail share is counted under log-normal bumps around the
    departures (`StayKernel`), not on the points; the expected signal still comes from the point needs.
    `keep`: the plan the car holds, as (must, start) from t0: kept while it is still allowed and the best plan would
    save less than `KEEP_MARGIN` over it, since moving it costs a command.
    """
    n_slots = len(signal)
    if n_slots == 0:
        n_slots = max(1, int(math.ceil(float(stay_slots.max(initial=0.0)))))
        signal = np.zeros(n_slots)
    stay = np.clip(stay_slots, 0.0, float(n_slots))  # a stay past the forecast counts as ending with it
    slot_kwh = full_kw * slot_s / 3600.0
    uniform = per_slot is None
    idx = np.arange(n_slots + 1, dtype=float)
    q = idx * slot_kwh if per_slot is None else np.concatenate([[0.0], np.cumsum(per_slot[:n_slots])])
    fp = np.concatenate([[0.0], np.cumsum(signal)])

    deliverable = np.minimum(energy, stay * slot_kwh if uniform else np.interp(stay, idx, q))
    first_hour = (math.ceil(t0 / 3600.0) * 3600.0 - t0) / slot_s
    horizon = min(float(n_slots), float(stay.max()))  # nothing starting after the last departure can help
    starts = np.arange(first_hour, horizon, 3600.0 / slot_s)
    cand_m, cand_s = [float(n_slots)], [float(n_slots)]
    for m in MUST_HAVE_SLOTS:
        if m >= horizon:
            break
        later = starts[starts > m + 1e-9]
        cand_m.extend([float(m)] * len(later))
        cand_s.extend(later.tolist())
    kept = -1
    if keep is not None and keep[0] >= n_slots:
        kept = 0  # the car charges at once: the first candidate
    elif keep is not None and keep[1] > keep[0]:
        kept = len(cand_m)
        cand_m.append(max(0.0, float(keep[0])))
        cand_s.append(float(keep[1]))
    M = np.array(cand_m)[:, None]
    S = np.array(cand_s)[:, None]
    d = stay[None, :]
    charged = np.minimum(M, d) + np.maximum(0.0, d - S)
    if uniform:
        got = np.minimum(energy[None, :], charged * slot_kwh)
        used = got / slot_kwh
    else:
        got = np.minimum(energy[None, :], np.interp(charged, idx, q))
        used = np.interp(got, q, idx)
    fails = got < READY_SHARE * deliverable[None, :] - 1e-6
    wsum = float(weight.sum())
    fail_p = (fails @ weight) / wsum
    if kernel is not None and uniform:
        fail_p = kernel_fail(M, S, n_slots, kernel, slot_s / 3600.0)
        fail_p[0] = 0.0  # charging at once never leaves a need short
    first = np.minimum(used, M)
    s_clip = np.minimum(S, n_slots)
    signal_sum = np.interp(first, idx, fp) + np.interp(np.minimum(S + used - first, n_slots), idx, fp) - \
        np.interp(s_clip, idx, fp)
    per = np.where(used > 0, got / np.maximum(used, 1e-12), 0.0)
    e_w = got @ weight
    score = ((signal_sum * per) @ weight) / np.maximum(e_w, 1e-12)
    ok = fail_p <= max_fail + 1e-12
    ok[0] = True  # charging at once is always allowed: it is what "ready" is measured against
    two = (M[:, 0] > 0) & (M[:, 0] < n_slots)
    scale = float(np.mean(np.abs(signal))) if n_slots else 0.0
    sooner = np.where(M[:, 0] >= n_slots, 0.0, S[:, 0] + 1.0)
    if fail_cost is None:
        ranked = np.where(two, score + window_cost * scale, score) + 1e-9 * scale * sooner  # on ties, sooner
    else:  # expected kWh × (signal − signal now) / mean signal, + the price of the needs left short
        e_mean = e_w / wsum
        gain = e_mean * (score - score[0]) / max(scale, 1e-12)
        ranked = gain + np.where(two, window_cost * e_mean, 0.0) + fail_cost * fail_p + 1e-9 * sooner
    best = int(np.argmin(np.where(ok, ranked, np.inf)))
    if kept >= 0 and ok[kept] and best != kept:
        worth = KEEP_MARGIN * (scale if fail_cost is None else e_w / wsum)  # what a change must save
        if ranked[kept] <= ranked[best] + worth:
            best = kept
    alts: tuple[tuple[float, float], ...] = ()
    alt_risk: tuple[float, ...] = ()
    if fail_cost is not None and len(prices):
        # what each other price would choose: the same candidates, only the weight of the risk differs
        base = ranked - fail_cost * fail_p
        pick = np.argmin(np.where(ok[None, :], base[None, :] + np.asarray(prices, float)[:, None] * fail_p[None, :],
                                  np.inf), axis=1)
        alts = tuple((cand_m[j], cand_s[j]) for j in pick)
        alt_risk = tuple(float(fail_p[j]) for j in pick)
    return Choice(cand_m[best], cand_s[best], n_slots, 1.0 - float(fail_p[best]), float(score[best]),
                  float(score[0]), alts, alt_risk)


def _value(v: float) -> str:
    """A signal value as the owner reads it: whole MW, or a price of cents as $0.123."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}"


def _local(t: datetime, like: datetime) -> str:
    return t.astimezone(like.tzinfo).strftime("%a %H:%M")


def _as_slots(held: Sequence[ChargeWindow], t0: float, slot_s: float) -> tuple[float, float] | None:
    """Held windows as `choose`'s (must, start) from t0: a window under way is the must-have, the next one the
    start; a lone window under way is charging at once (inf, inf); None when they are not of that shape."""
    ahead = sorted((w for w in held if w.amps > 0 and w.end.timestamp() > t0), key=lambda w: w.start)
    if not ahead:
        return None
    first = ahead[0]
    if first.start.timestamp() > t0:
        return (0.0, (first.start.timestamp() - t0) / slot_s) if len(ahead) == 1 else None
    if len(ahead) == 1:
        return math.inf, math.inf
    if len(ahead) != 2:
        return None
    return (first.end.timestamp() - t0) / slot_s, (ahead[1].start.timestamp() - t0) / slot_s


def plan_charging(now: datetime, forecast: Sequence[ForecastPoint], needs: Sequence[Need], charger: Charger, *,
                  soc: float | None = None, battery_kwh: float | None = None, taper_from: float = 80.0,
                  max_fail: float = 0.01, objective: str = "grid load", unit: str = "MW", window_cost: float = 0.002,
                  open_end_h: float = 12.0, held: Sequence[ChargeWindow] = ()) -> ChargePlan:
    """Choose the windows. `forecast`: hourly signal points (any order, gaps allowed); `needs`: at least one;
    `held`: the windows the car was last given (kept unless a new plan is worth the command)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    needs = [n for n in needs if n.weight > 0]
    full_kw = charger.kw(charger.max_amps)
    if not needs or full_kw <= 0:
        return ChargePlan((), (), ("nothing to plan: no departure or energy known",), 1.0)
    slot_s = SLOT_MIN * 60.0
    t0 = now.timestamp()
    stay = np.array([(n.departure.timestamp() - t0) / slot_s for n in needs])
    energy = np.array([max(0.0, n.energy_kwh) for n in needs])
    weight = np.array([n.weight for n in needs], dtype=float)
    if float(weight @ energy) <= 1e-9:
        return ChargePlan((), (), ("nothing to charge: the car already has what the trip needs",), 1.0)
    if float(stay.max()) <= 0:  # every departure is due or past: whatever the car gets now helps
        return ChargePlan((ChargeWindow(now, now + timedelta(hours=open_end_h), charger.max_amps),), (),
                    ("time to leave: charging now at full power until the car goes",), 0.0)

    reasons: list[str] = []
    signal, missing = forecast_signal(t0, forecast)
    pts = len(signal) > 0
    if not pts:
        reasons.append(f"no {objective} forecast: charging at once")
    elif missing:
        reasons.append(f"{objective} forecast missing for {missing * SLOT_MIN / 60:.1f} h: filled from the hours "
                       "around the gap")
    per_slot = _taper_slots(soc, battery_kwh, full_kw * slot_s / 3600.0, len(signal), taper_from)
    if per_slot is not None and soc is not None and battery_kwh and \
            soc + battery_pct(float(energy.max()), battery_kwh) > taper_from:
        reasons.append(f"above {taper_from:.0f} % the car takes less power: planned with the taper")
    if pts:
        c = choose(t0, signal, stay, energy, weight, full_kw, per_slot=per_slot, max_fail=max_fail,
                   window_cost=window_cost, keep=_as_slots(held, t0, slot_s))
    else:
        n = max(1, int(math.ceil(float(stay.max()))))
        c = Choice(float(n), 0.0, n, 1.0, math.nan, math.nan)
    slots = _Slots(now, slot_s, c.n_slots, per_slot, full_kw)
    end = datetime.fromtimestamp(math.ceil((t0 + float(stay.max()) * slot_s + open_end_h * 3600) / 60) * 60,
                                 UTC).astimezone(now.tzinfo)
    reasons += _choice_reasons(c, needs, stay, energy, slots, charger.max_amps, objective, unit, bool(pts))
    expected = _expected_soc(c, float(energy.max()), slots, soc, battery_kwh) if soc is not None and battery_kwh \
        else ()
    # a charge already under way keeps the start it had: the car's own schedule is written from it
    since = min((w.start for w in held if w.amps > 0 and w.start <= now < w.end), default=now)
    return ChargePlan(_windows(c, slots, end, charger.max_amps, since), expected, tuple(reasons), c.ready, c)


def _taper_slots(soc: float | None, battery_kwh: float | None, slot_kwh: float, n: int,
                 taper_from: float) -> np.ndarray | None:
    """kWh the car takes in its k-th charged slot, tapering above `taper_from` (None: SoC unknown, full power)."""
    if soc is None or not battery_kwh or not n:
        return None
    per_slot = np.empty(n)
    level = float(soc)
    for j in range(n):
        per_slot[j] = slot_kwh * taper_factor(level, taper_from)
        level = min(100.0, level + battery_pct(per_slot[j], battery_kwh))
    return per_slot if level >= taper_from else None


@dataclass(frozen=True)
class _Slots:
    """The slot grid from now: slot k's time, and the kWh charged in the first k slots (`q`)."""

    now: datetime
    slot_s: float
    n: int
    per_slot: np.ndarray | None
    full_kw: float

    @property
    def idx(self) -> np.ndarray:
        return np.arange(self.n + 1, dtype=float)

    @property
    def q(self) -> np.ndarray:
        if self.per_slot is not None:
            return np.concatenate([[0.0], np.cumsum(self.per_slot[:self.n])])
        return np.arange(self.n + 1) * self.full_kw * self.slot_s / 3600.0

    def at(self, k: float) -> datetime:
        return datetime.fromtimestamp(self.now.timestamp() + k * self.slot_s, UTC).astimezone(self.now.tzinfo)


def _windows(c: Choice, slots: _Slots, end: datetime, amps: int, since: datetime) -> tuple[ChargeWindow, ...]:
    """The choice as windows; one charging now starts `since` (when the charge under way began, else now)."""
    if c.now_only:
        return (ChargeWindow(since, end, amps),)
    if c.must == 0:
        return (ChargeWindow(slots.at(c.start), end, amps),)
    return ChargeWindow(since, slots.at(c.must), amps), ChargeWindow(slots.at(c.start), end, amps)


def _choice_reasons(c: Choice, needs: Sequence[Need], stay: np.ndarray, energy: np.ndarray, slots: _Slots, amps: int,
                    objective: str, unit: str, forecast: bool) -> list[str]:
    """The plan in the owner's words: what runs now and why, what waits for when, and what cannot be met."""
    now, idx, q = slots.now, slots.idx, slots.q
    out: list[str] = []
    if c.now_only:
        out.append(f"charge now at {amps} A" + (": no later start keeps the car ready" if forecast else ""))
    else:
        if c.must:
            early = float(stay.min()) * slots.slot_s / 3600.0
            out.append(f"must-have: {float(np.interp(c.must, idx, q)):.1f} kWh now at {amps} A until "
                       f"{_local(slots.at(c.must), now)}, in case the car leaves early (earliest expected: "
                       f"{early:.1f} h from now)")
        out.append(f"charge from {_local(slots.at(c.start), now)} at {amps} A in the hours of lowest {objective}: "
                   f"{_value(c.score)} {unit} on average while charging, against {_value(c.score_now)} {unit} "
                   f"charging at once ({100 * (c.score_now - c.score) / max(abs(c.score_now), 1e-9):.1f} % lower)")
    if len(needs) > 1:
        earliest = _local(min(n.departure for n in needs), now)
        share = "every departure time" if c.ready >= 0.995 else f"{100 * c.ready:.0f} % of the departure times"
        out.append(f"ready for {share} planned for, the earliest {earliest} in case the car leaves early")
    cap = np.interp(np.clip(stay, 0, slots.n), idx, q)
    short = energy - cap
    if float(short.max()) > 1e-6:
        k = int(np.argmax(short))
        out.append(f"deadline cannot be met: full power from now gives at most {float(cap[k]):.1f} of "
                   f"{float(energy[k]):.1f} kWh by {_local(needs[k].departure, now)}")
    return out


def _expected_soc(c: Choice, e_top: float, slots: _Slots, soc: float, battery_kwh: float
                  ) -> tuple[tuple[datetime, float], ...]:
    """The SoC the plan expects at each of its turns; the last window runs until the car takes no more."""
    idx, q = slots.idx, slots.q

    def charged_by(k: float) -> float:
        ch = k if c.now_only else min(c.must, k) + max(0.0, k - c.start)
        return min(e_top, float(np.interp(ch, idx, q)))

    done_c = float(np.interp(e_top, q, idx))
    done_k = done_c if (c.now_only or done_c <= c.must) else c.start + done_c - c.must
    marks = {0.0, min(done_k, float(slots.n))}
    if not c.now_only:
        marks |= {c.start} | ({c.must} if c.must else set())
    return tuple((slots.at(k), round(min(100.0, float(soc) + battery_pct(charged_by(k), battery_kwh)), 1))
                 for k in sorted(marks))
