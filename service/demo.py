"""The embedded demo: two simulated cars of two drivers, each with a sample calendar of their own, on one 48 A
circuit, and a real week of PJM forecast shifted to today (`--demo-cars 1`: the first car alone, as before).

No credentials, no network: `python scheduler.py --demo` runs the whole daemon on these. The demo's clock runs
`speed` times faster than the wall clock so that a few one-minute ticks show the cars charge and the decision move.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from charge_logic.models import ForecastPoint, Route
from clients.ical_calendar import ICalCalendar
from clients.maps_errors import Leg, PlaceNotFoundError
from clients.vehicle_sim import SimVehicle
from service.distances import DistanceService
from service.settings import CarSettings, Settings
from service.sources import SourceStatus
from service.trip_source import CalendarTripProvider

DATA = Path(__file__).with_name("demo_data")
DEMO_ZONE = "America/New_York"
DEMO_HOME = "2400 Fairmount Ave, Philadelphia, PA 19130"
WEEK_HOURS = 168
DEMO_CIRCUIT_AMPS = 48  # two 32 A chargers on one 48 A circuit: they cannot both charge at full power


@dataclass(frozen=True)
class DemoCar:
    id: str
    name: str  # the owner's name for it
    display_name: str  # the car's own
    vin: str
    calendar: str  # in demo_data
    departure: str  # the driver's DEFAULT_DEPARTURE
    consumption_wh_per_km: float
    soc: float  # where a fresh demo starts


DEMO_CARS = (
    DemoCar("car1", "Alex's Model 3", "Demo Model 3", "5YJ3SIMULATED04321", "calendar.ics", "08:00", 150.0, 45.0),
    DemoCar("car2", "Sam's Model Y", "Demo Model Y", "7SAYSIMULATED08765", "calendar_second_driver.ics", "06:30",
            175.0, 38.0),
)

# Fixed one-way drives from the demo home (Fairmount, Philadelphia) to the calendar's places.
DEMO_ROUTES = {
    "1701 John F Kennedy Blvd, Philadelphia, PA 19103": Route(4.1, 14.0),
    "Philadelphia Rock Gyms, 3400 Fisher Ln, Oaks, PA 19456": Route(38.5, 36.0),
    "Princeton University, Princeton, NJ 08544": Route(72.0, 65.0),
    "Central Market, 23 N Market St, Lancaster, PA 17603": Route(112.0, 95.0),
    "Lankenau Medical Center, 100 E Lancaster Ave, Wynnewood, PA 19096": Route(11.5, 22.0),
    "Upper Merion Area Community Center, 431 W Valley Forge Rd, King of Prussia, PA 19406": Route(30.0, 35.0),
    "Boardwalk, Ocean City, NJ 08226": Route(105.0, 90.0),
}


class DemoClock:
    """Wall time sped up `speed` times from the moment the demo starts."""

    def __init__(self, speed: float = 10.0, start: datetime | None = None):
        self.speed = speed
        self.start = start or datetime.now(UTC)
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


class DemoForecast:
    """The shipped PJM week, repeated: hour h of any week takes the same weekday and hour of the real week."""

    def __init__(self) -> None:
        lines = [ln for ln in (DATA / "pjm_week.csv").read_text().splitlines() if not ln.startswith("#")]
        rows = list(csv.DictReader(lines))
        self.loads = [float(r["load_forecast_mw"] or r["load_mw"]) for r in rows]  # from a Monday 00:00 in New York
        self.status = SourceStatus("grid")

    def get(self, now: datetime) -> list[ForecastPoint]:
        hour0 = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
        points = []
        for k in range(78):
            t = hour0 + timedelta(hours=k)
            # align on local weekday and hour, so Monday evening's peak stays on Monday evening
            local = t.astimezone(ZoneInfo(DEMO_ZONE))
            idx = (local.weekday() * 24 + local.hour) % WEEK_HOURS
            points.append(ForecastPoint(t, self.loads[idx]))
        self.status.succeeded(now, data_at=now)
        return points


class DemoDrives:
    """A DriveClient with the fixed drives above, so the demo's trips go through the daemon's own distance path."""

    name = "demo"

    def drive(self, origin: str, destination: str) -> Leg:
        route = DEMO_ROUTES.get(destination)
        if route is None:
            raise PlaceNotFoundError(f"the demo knows no drive to {destination}")
        return Leg(route.distance_km * 1000, route.drive_minutes * 60)


def demo_trips(zone: ZoneInfo, state_dir: Path, hours: float = 48.0,
               calendar: str = "calendar.ics") -> CalendarTripProvider:
    """The sample calendar read by the real iCal client, with the fixed drives."""
    distances = DistanceService(DemoDrives(), DEMO_HOME, state_dir)
    return CalendarTripProvider(ICalCalendar(str(DATA / calendar), zone), distances, state_dir, hours=hours)


def demo_vehicle(clock: DemoClock, zone: ZoneInfo, state_dir: Path, car: DemoCar = DEMO_CARS[0]) -> SimVehicle:
    """The simulated car, kept in state_dir/demo_car.json so that successive --once runs carry on."""
    sim = SimVehicle(clock, zone, path=state_dir / "demo_car.json", display_name=car.display_name, vin=car.vin)
    if not (state_dir / "demo_car.json").exists():
        sim.s.soc = car.soc
    return sim


def demo_settings(settings: Settings, cars: int) -> tuple[Settings, tuple[CarSettings, ...]]:
    """The demo's site and cars: the first `cars` of DEMO_CARS, on the 48 A circuit when there are several; the first
    keeps the demo folder's own files, as a single-car demo always did."""
    chosen = DEMO_CARS[:cars]
    env: list[tuple[str, str]] = []
    for car in chosen:
        key = car.id.upper()
        env += [(f"{key}_VIN", car.vin), (f"{key}_NAME", car.name), (f"{key}_DEFAULT_DEPARTURE", car.departure),
                (f"{key}_CONSUMPTION_WH_PER_KM", f"{car.consumption_wh_per_km:g}")]
    site = replace(settings, car_ids=",".join(c.id for c in chosen), car_env=tuple(env),
                   circuit_max_amps=DEMO_CIRCUIT_AMPS if cars > 1 else 0)
    return site, site.cars()


def demo_car(car_id: str) -> DemoCar:
    return next(c for c in DEMO_CARS if c.id == car_id)

