"""One daemon tick with years of household history: CPU time a tick and the process's memory.

Builds the daemon as `scheduler.py --demo` does (its factories: the simulated car, the demo's grid forecast), with the
calendar left out so that every tick plans from the household, and a session log of 4,000 ended plug-ins (about
eleven years of evenings). Then runs three days of 14-minute ticks, the car plugged in each evening at 18:00 and
unplugged at 07:00, and prints the start-up time (reading and learning the history), the CPU time a tick (median,
95th percentile, most) and the peak RSS. Targets: a tick under 50 ms CPU, the daemon under 150 MB.
Run: python bench/tick_bench.py [--sessions N] [--days D]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler import make_coordinator
from service.settings import load_settings


def write_history(state_dir: Path, n: int, end: datetime) -> None:
    rng = random.Random(4)
    sessions = []
    for i in range(n):
        arrival = (end - timedelta(days=n - i)).replace(hour=17, minute=0) + timedelta(minutes=rng.uniform(0, 180))
        stay = rng.choice((12.0, 13.0, 14.0)) if rng.random() > 0.1 else rng.uniform(1.0, 4.0)
        soc = rng.uniform(30, 60)
        sessions.append({"arrival": arrival.isoformat(), "departure": (arrival + timedelta(hours=stay)).isoformat(),
                         "soc_start": round(soc), "soc_end": 80, "delivered_kwh": round((80 - soc) * 0.75, 2),
                         "limit": 80})
    (state_dir / "sessions.json").write_text(json.dumps({"sessions": sessions}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=4000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--cars", type=int, default=1, choices=(1, 2), help="the demo's cars (the history is the first's)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        settings = load_settings({}, env_file=None, state_dir=str(state_dir), time_zone="America/New_York")
        ns = argparse.Namespace(demo=True, demo_speed=1.0, interval=14.0, demo_cars=args.cars)
        started = time.perf_counter()
        site, clock = make_coordinator(ns, settings)
        write_history(state_dir, args.sessions, clock().astimezone(settings.zone))
        site, clock = make_coordinator(ns, settings)  # the daemon starts on that history
        coord = site.cars[0]
        for each in site.cars:
            each.trip_source = None  # no calendar: every tick plans from the household
        startup = time.perf_counter() - started
        car = coord.link.vehicle
        clock.speed = 0.0  # the demo's clock stands still; the bench moves it a tick at a time
        now = clock().astimezone(settings.zone).replace(hour=12, minute=0, second=0, microsecond=0)
        car.s.plugged_in = False
        cpu: list[float] = []
        for _ in range(int(args.days * 24 * 60 / 14)):
            local = now.astimezone(settings.zone)
            plugged = local.hour >= 18 or local.hour < 7
            if plugged != car.s.plugged_in:
                clock.start = now
                car.advance()
                car.s.plugged_in = plugged
                car.s.awake_until = (now + timedelta(minutes=20)).isoformat()
                if plugged:
                    car.s.soc, car.s.energy_added_kwh = 40.0, 0.0
            clock.start = now
            c0 = time.process_time()
            site.tick(now)
            cpu.append((time.process_time() - c0) * 1000)
            now += timedelta(minutes=14)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu.sort()
        print(f"history: {args.sessions} ended plug-ins; learned {coord.household.state.learned}; "
              f"start-up (read and learn them) {startup:.2f} s")
        print(f"{len(cpu)} ticks: CPU per tick median {statistics.median(cpu):.1f} ms, "
              f"95th percentile {cpu[int(0.95 * len(cpu))]:.1f} ms, most {cpu[-1]:.1f} ms")
        print(f"peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
