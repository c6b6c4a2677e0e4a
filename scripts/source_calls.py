"""How many outside calls the grid, calendar and Maps sources make in a month of 14-minute ticks.

Runs the real providers (settings, clients, caches, budgets) against the fake servers with an injected clock over
November 2026 and prints the counts. Usage: python scripts/source_calls.py [--days 30] [--interval 14]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.grid_source import make_forecast_provider  # noqa: E402
from service.settings import load_settings  # noqa: E402
from service.trip_source import make_trip_provider  # noqa: E402
from tests.fakes import gridstatus as gs  # noqa: E402
from tests.fakes import maps as fm  # noqa: E402
from tests.fakes.gridstatus import FakeGridStatus  # noqa: E402
from tests.fakes.ical import FakeICal  # noqa: E402
from tests.fakes.maps import FakeMaps  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--interval", type=float, default=14, help="minutes between ticks")
    args = ap.parse_args()
    ics = ROOT / "tests" / "data" / "calendar.ics"
    with tempfile.TemporaryDirectory() as state, FakeGridStatus() as grid, FakeICal(ics) as ical, FakeMaps() as maps:
        settings = load_settings({
            "STATE_DIR": state, "TIME_ZONE": "America/New_York", "GRID_STATUS_API_KEY": gs.KEY,
            "GRIDSTATUS_BASE_URL": grid.url, "ICAL_URL": ical.secret_url, "GOOGLE_MAPS_API_KEY": fm.KEY,
            "ROUTES_BASE_URL": maps.url, "TESLA_HOME_ADDRESS": "1 Home Rd, Springfield MA"}, env_file=None)
        forecast, trips = make_forecast_provider(settings), make_trip_provider(settings)
        assert forecast is not None and trips is not None
        t = datetime(2026, 10, 19, tzinfo=UTC)
        end = t + timedelta(days=args.days)
        ticks, destinations = 0, set()
        while t < end:
            forecast.get(t)
            destinations |= {x.event.location for x in trips.get(t) if x.route is not None}
            t += timedelta(minutes=args.interval)
            ticks += 1
        print(f"{ticks} ticks of {args.interval:g} min over {args.days:g} days")
        print(f"GridStatus requests: {len(grid.log)} (budget {settings.gridstatus_requests_per_month}/month, "
              f"fetch every {settings.grid_fetch_hours:g} h)")
        print(f"calendar reads (iCal): {len(ical.log)}")
        print(f"Maps calls: {len(maps.calls())} for {len(destinations)} distinct destinations "
              f"(budget {settings.maps_calls_per_month}/month)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
