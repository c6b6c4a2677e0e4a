"""A month (or more) of the real daemon against the fakes with injected faults, as a table to quote.

    python scripts/soak.py [--days 30] [--seed 7] [--fault-rate 0.05] [--state-dir DIR]

The same engine as tests/test_soak.py (tests/soak_harness.py). Exit code 1 when something the soak checks went wrong;
the problems are printed under the table. --state-dir keeps the files for a look (default: a temp dir in /dev/shm).
The seed fixes the household and the fault draws; which request a draw lands on can shift with timing (the Fleet
client bounds its wake polling by the wall clock), so two runs of one seed are alike, not identical.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.soak_harness import run_soak  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--fault-rate", type=float, default=0.05, help="share of requests answered with a fault")
    p.add_argument("--state-dir", type=Path, help="keep the state dir here")
    p.add_argument("-v", "--verbose", action="store_true", help="show the daemon's warnings")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL, format="%(message)s")
    report = run_soak(args.state_dir, days=args.days, seed=args.seed, fault_rate=args.fault_rate)
    print(report.table())
    problems = report.problems()
    for line in problems:
        print("PROBLEM:", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
