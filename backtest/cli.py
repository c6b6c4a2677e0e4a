"""`backtest`: replay real sessions (or a generated calendar household) and print BENCHMARK.md's metrics."""

from __future__ import annotations

import argparse
import json
import sys
import time
from zoneinfo import ZoneInfo

from backtest.data import DataError, Grid, load_grid, load_sessions, only_stations, zone_of
from backtest.metrics import format_table, metrics
from backtest.policies import POLICIES, make_policies
from backtest.prices import Prices, price_series, tariff_prices
from charge_logic.config import RuleConfig
from charge_logic.objective import Objective


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--grid", required=True, help="grid CSV: interval_start_utc,load_mw,load_forecast_mw")
    p.add_argument("--sessions", help="sessions CSV (as data/sessions/); not with --scenario calendar")
    p.add_argument("--tz", required=True, help="the grid's IANA time zone, e.g. America/New_York")
    p.add_argument("--policy", action="append", choices=POLICIES,
                   help="policies to run (repeat); default the five of BENCHMARK.md")
    p.add_argument("--short-risk-pct", type=float, default=RuleConfig.short_risk_pct, metavar="PCT",
                   help="the planner's SHORT_RISK_PCT, as the daemon's setting: the share of plug-ins its learned "
                        f"risk price aims to leave short, 0.1 to 20 (default {RuleConfig.short_risk_pct:g})")
    p.add_argument("--stations", metavar="REGEX",
                   help="replay only the sessions whose station_id matches REGEX (e.g. '^BER_' for one garage of the "
                        "home file): a site on its own, as a daemon new to it would meet it")
    p.add_argument("--learn", choices=("all", "station"), default="all",
                   help="what the planner learns from: every session of the file that has ended (all, BENCHMARK.md's "
                        "rule), or only its own charge point's (station: what one household's daemon sees)")
    p.add_argument("--tick-min", type=float, default=15.0, help="minutes between the policy's looks (default 15)")
    p.add_argument("--json", metavar="OUT", help="also write the metrics as JSON to OUT")
    p.add_argument("--scenario", choices=("calendar",), help="replay a generated commuting household instead")
    p.add_argument("--seed", type=int, default=1, help="random seed of the generated scenario")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--cars", type=int, default=1, metavar="N",
                   help="1 (default), or 2: two-car sites on one circuit. The charge points (station_id) are ranked "
                        "by first arrival and paired in turn, each pair a site over the whole days both are in use; "
                        "each car runs the daemon's planner on its own history, charge_logic.site shares the circuit "
                        "(policies immediate, oracle, planner; metrics per car and for the site)")
    p.add_argument("--circuit-amps", type=int, metavar="A",
                   help="with --cars 2: the circuit both cars share, in amps (at least one car's minimum, 5)")
    p.add_argument("--objective", choices=[o.value for o in (Objective.LOAD, Objective.COST)], default="load",
                   help="what seed, cheapest, the planner and the oracle minimise: grid load (default) or cost "
                        "(the --tariff or --price; ties broken by the load forecast)")
    p.add_argument("--tariff", metavar="FILE",
                   help="a URDB rate (.json, as OpenEI's API returns it) or a file holding the hand-written TOU form "
                        "(e.g. '0.12, 16-21 0.38 weekdays'), read at each hour's local time: adds cost_per_kwh and "
                        "cost_capture to every policy")
    p.add_argument("--price", metavar="FILE",
                   help="an hourly price series instead: CSV interval_start_utc,price ($/kWh); known 36 h ahead")




def keep_freed_memory() -> None:
    """Let the C allocator keep what numpy frees for the next array instead of handing it back to the system.

    A replay makes and frees the same arrays of a few hundred kB hundreds of thousands of times (the planner's
    candidate plans, the household model's distances); glibc's defaults return them to the kernel and fault them in
    again, some 4 million page faults over Caltech, a fifth of the planner's CPU time. Only the allocator's thresholds
    change, never a value; where the C library has no mallopt (not glibc) nothing is done."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's own ceiling for its sliding threshold: larger arrays still map
    mallopt(m_trim_threshold, 256 << 20)


def run(args: argparse.Namespace) -> int:
    keep_freed_memory()
    if getattr(args, "cars", 1) != 1 or getattr(args, "circuit_amps", None) is not None:
        from backtest.cars import run_cars

        return run_cars(args)
    started = time.perf_counter()
    try:
        if not 0.1 <= args.short_risk_pct <= 20.0:
            raise DataError(f"--short-risk-pct must be between 0.1 and 20 (as SHORT_RISK_PCT), "
                            f"not {args.short_risk_pct:g}")
        zone = zone_of(args.tz)
        grid = load_grid(args.grid)
        prices = _prices(args, grid, zone)
        objective = Objective(getattr(args, "objective", None) or "load")
        if args.scenario == "calendar":
            from backtest.calendar_scenario import run_calendar

            result = run_calendar(grid, zone, seed=args.seed, tick_min=args.tick_min, names=args.policy,
                                  progress=not args.quiet, short_risk_pct=args.short_risk_pct)
            title = f"calendar household (seed {args.seed}) × {args.grid}"
        else:
            if not args.sessions:
                raise DataError("--sessions FILE is required (or --scenario calendar)")
            from backtest.replay import replay

            sessions, skipped = load_sessions(args.sessions, zone, grid)
            if args.stations:
                sessions = only_stations(sessions, args.stations)
            policies = make_policies(args.policy, args.short_risk_pct, objective, per_station=args.learn == "station")
            result = replay(grid, sessions, policies, zone,
                            tick_min=args.tick_min, skipped=skipped, progress=not args.quiet, prices=prices)
            title = f"{args.sessions} × {args.grid} ({args.tz})"
            if prices is not None:
                title += f", {prices.name}, objective {objective.value}"
    except (DataError, OSError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    table = metrics(result)
    runtime = time.perf_counter() - started
    print(format_table(table, f"{title}: {result.sessions} sessions, {result.skipped} skipped, {runtime:.1f} s"))
    if args.json:
        with open(args.json, "w") as fh:
            extra = {} if prices is None else {"prices": prices.name, "objective": objective.value}
            json.dump({"sessions": result.sessions, "skipped": result.skipped, "runtime_s": runtime, **extra,
                       "policies": table}, fh, indent=2)
    return 0


def _prices(args: argparse.Namespace, grid: Grid, zone: ZoneInfo) -> Prices | None:
    """The --tariff or --price given (not both); --objective cost needs one."""
    tariff, price = getattr(args, "tariff", None), getattr(args, "price", None)
    if tariff and price:
        raise DataError("give --tariff FILE or --price FILE, not both")
    if getattr(args, "objective", "load") == "cost" and not (tariff or price):
        raise DataError("--objective cost needs --tariff FILE (a URDB rate) or --price FILE (interval_start_utc,price)")
    if (tariff or price) and args.scenario == "calendar":
        raise DataError("--tariff/--price score the sessions replay; the calendar scenario does not take them yet")
    if tariff:
        return tariff_prices(tariff, grid, zone)
    if price:
        return price_series(price, grid)
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m backtest", description=__doc__)
    add_arguments(p)
    return run(p.parse_args(argv))
