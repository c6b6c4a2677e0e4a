"""How long one decide() takes on a realistic tick: ~100 hourly forecast points, a few trips, a plugged-in car.

Run: python bench/decision_bench.py [--number N] [--repeat R]. Prints the median time per call over R runs of N
calls each, for the seed rules and for following a planner's windows. The target is well under 5 ms a call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from charge_logic.config import RuleConfig
from charge_logic.models import (
    CalendarEvent,
    ChargeWindow,
    ForecastPoint,
    Route,
    Trip,
    VehicleSnapshot,
)
from charge_logic.rules import decide

ZONE = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 27, 22, 7, tzinfo=ZONE)


def inputs():
    hour = NOW.astimezone(UTC).replace(minute=0)
    # a daily load curve, 85-105 GW, from 6 h back to 96 h ahead
    forecast = [ForecastPoint(hour + timedelta(hours=h), 95_000 + 10_000 * ((h % 24) - 12) / 12)
                for h in range(-6, 96)]
    day = NOW.replace(hour=0, minute=0) + timedelta(days=1)
    trips = [
        Trip(CalendarEvent("1", "Dentist", day.replace(hour=9), day.replace(hour=10)), Route(12.3, 21.0)),
        Trip(CalendarEvent("2", "Climbing gym", day.replace(hour=17), day.replace(hour=19)), Route(31.0, 35.0)),
        Trip(CalendarEvent("3", "Conference", day + timedelta(days=1), day + timedelta(days=2), all_day=True),
             Route(220.0, 150.0)),
        Trip(CalendarEvent("4", "Dinner", day.replace(hour=20), day.replace(hour=22)), None, "no address"),
    ]
    car = VehicleSnapshot(
        vin_short="…4321", display_name="Model 3", state="online", read_at=NOW, battery_level=45,
        charge_limit_soc=80, charge_limit_soc_min=50, charge_limit_soc_max=100, charging_state="Stopped",
        charge_current_request=16, charge_current_request_max=32, charger_voltage=2, charger_phases=1,
        conn_charge_cable="SAE", fast_charger_present=False, scheduled_charging_mode="DepartBy",
        off_peak_charging_enabled=True, off_peak_charging_times="all_week", scheduled_departure_time_minutes=480,
        off_peak_hours_end_time=480, preconditioning_enabled=True, preconditioning_times="weekdays")
    windows = [ChargeWindow(NOW + timedelta(hours=h), NOW + timedelta(hours=h + 1), 24) for h in (3, 4, 6, 7)]
    return forecast, trips, car, windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the median is reported")
    opts = parser.parse_args()
    forecast, trips, car, windows = inputs()
    config = RuleConfig()
    cases = {
        "seed rules": lambda: decide(NOW, car, forecast, trips, config, zone=ZONE),
        "planner windows": lambda: decide(NOW, car, forecast, trips, config, zone=ZONE, windows=windows),
    }
    print(f"decide() with {len(forecast)} forecast points, {len(trips)} trips; "
          f"{opts.repeat} runs × {opts.number} calls")
    for name, call in cases.items():
        call()  # warm up
        runs = timeit.repeat(call, number=opts.number, repeat=opts.repeat)
        per_call = [r / opts.number for r in runs]
        print(f"  {name:16s} median {statistics.median(per_call) * 1e6:8.1f} µs/call "
              f"(best {min(per_call) * 1e6:.1f}, worst {max(per_call) * 1e6:.1f})")


if __name__ == "__main__":
    main()
