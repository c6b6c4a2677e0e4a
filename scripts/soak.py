"""A month (or more) of the real daemon against the fakes with injected faults, as a table to quote.

    python scripts/soak.py [--days 30] [--seed 7] [--fault-rate 0.05] [--backends fleet,ical,routes]
                           [--restart-every-days 10] [--firmware legacy|2026] [--outage-hours H] [--state-dir DIR]

The same engine as tests/test_soak.py (tests/soak_harness.py). --backends picks what the daemon runs with, as a user
would in .env: TESLA_BACKEND (fleet or teslapy, also read as owner), the calendar (ical: ICAL_URL; google: the Google
Calendar API) and MAPS_API (routes or legacy); e.g. --backends owner,google,legacy. Exit code 1 when something the
soak checks went wrong; the problems are printed under the table. --firmware 2026 runs a car on firmware 2024.26+
(the plan as its own charge schedule, two schedules of the owner's beside it) and prints, under OVER BUDGET, issue 15's
budgets it missed (billed commands a plug-in session, Fleet API dollars a car-month); --outage-hours stops the
daemon that long from an evening the car is plugged in and waits to charge (tests/test_soak_2026.py: 24).
--state-dir keeps the files for a look (default: a temp dir in /dev/shm). The seed fixes the household and the
fault draws; which request a draw lands on can shift with timing (the Fleet client bounds its wake polling by the
wall clock), so two runs of one seed are alike, not identical.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.tesla_car import FIRMWARE_2026, LEGACY_FIRMWARE
from tests.soak_harness import Backends, run_soak

FIRMWARES = {"legacy": LEGACY_FIRMWARE, "2026": FIRMWARE_2026}


def _backends(text: str) -> Backends:
    try:
        return Backends.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--fault-rate", type=float, default=0.05, help="share of requests answered with a fault")
    p.add_argument("--backends", type=_backends, default=Backends(), metavar="TESLA,CALENDAR,MAPS",
                   help="the backends to run: TESLA_BACKEND fleet|teslapy (or owner), calendar ical|google, MAPS_API "
                        "routes|legacy (default fleet,ical,routes; the test's second run is owner,google,legacy)")
    p.add_argument("--restart-every-days", type=int, default=10, metavar="N",
                   help="restart the daemon (new clients, state read back from disk) every N days (default 10)")
    p.add_argument("--firmware", choices=sorted(FIRMWARES), default="legacy",
                   help="the car's firmware: legacy (before 2024.26: scheduled departure) or 2026 (charge schedules)")
    p.add_argument("--outage-hours", type=float, default=0.0, metavar="H",
                   help="stop the daemon H hours from an evening (21:00+) after day 12 the car is plugged in and "
                        "waits to charge")
    p.add_argument("--state-dir", type=Path, help="keep the state dir here")
    p.add_argument("-v", "--verbose", action="store_true", help="show the daemon's warnings")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL, format="%(message)s")
    report = run_soak(args.state_dir, days=args.days, seed=args.seed, fault_rate=args.fault_rate,
                      restart_every_days=args.restart_every_days, backends=args.backends,
                      firmware=FIRMWARES[args.firmware], outage_hours=args.outage_hours)
    print(report.table())
    problems = report.problems()
    for line in problems:
        print("PROBLEM:", line)
    misses = report.over_budget() if report.takes_schedules else []
    for line in misses:
        print("OVER BUDGET:", line)
    return 1 if problems or misses else 0


if __name__ == "__main__":
    sys.exit(main())
