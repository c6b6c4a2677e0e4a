"""The embedded demo: a simulated car, a real week of PJM forecast shifted to today, and a sample household calendar.

No credentials, no network: `python scheduler.py --demo` runs the whole daemon on these. The demo's clock runs
`speed` times faster than the wall clock so that a few one-minute ticks show the car charge and the decision move.
"""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from charge_logic.models import CalendarEvent, ForecastPoint, Route, Trip
from clients.vehicle_sim import SimVehicle
from service.sources import SourceStatus

DATA = Path(__file__).with_name("demo_data")
DEMO_ZONE = "America/New_York"
WEEK_HOURS = 168

# Fixed one-way drives from the demo home (Fairmount, Philadelphia) to the calendar's places.
DEMO_ROUTES = {
    "1701 John F Kennedy Blvd, Philadelphia, PA 19103": Route(4.1, 14.0),
    "Philadelphia Rock Gyms, 3400 Fisher Ln, Oaks, PA 19456": Route(38.5, 36.0),
    "Princeton University, Princeton, NJ 08544": Route(72.0, 65.0),
    "Central Market, 23 N Market St, Lancaster, PA 17603": Route(112.0, 95.0),
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

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        lines = [ln for ln in (DATA / "pjm_week.csv").read_text().splitlines() if not ln.startswith("#")]
        rows = list(csv.DictReader(lines))
        self.loads = [float(r["load_forecast_mw"] or r["load_mw"]) for r in rows]
        first = datetime.fromisoformat(rows[0]["interval_start_utc"].replace("Z", "+00:00"))
        self.anchor = first  # a Monday 00:00 in New York
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
        self.status.ok, self.status.last_success, self.status.data_at = True, now, now
        return points


class DemoTrips:
    """The sample calendar's events over the coming hours, with the fixed drives above."""

    def __init__(self, zone: ZoneInfo, hours: float = 48.0):
        self.zone = zone
        self.hours = hours
        self.calendar = Calendar.from_ical((DATA / "calendar.ics").read_bytes())
        self.statuses = [SourceStatus("calendar"), SourceStatus("maps")]

    def get(self, now: datetime) -> list[Trip]:
        trips = []
        for comp in recurring_ical_events.of(self.calendar).between(now, now + timedelta(hours=self.hours)):
            start, end = comp.decoded("DTSTART"), comp.decoded("DTEND")
            all_day = not isinstance(start, datetime)
            if all_day:
                start = datetime.combine(start, datetime.min.time(), self.zone)
                end = datetime.combine(end, datetime.min.time(), self.zone)
            location = str(comp.get("LOCATION", "")) or None
            event = CalendarEvent(str(comp.get("UID")), str(comp.get("SUMMARY", "")), start, end, all_day, location)
            route = DEMO_ROUTES.get(location or "")
            virtual = bool(location) and location.startswith("https://")
            note = None if route else ("no location" if not location else "online meeting" if virtual else None)
            trips.append(Trip(event, route, note, virtual))
        trips.sort(key=lambda t: t.event.start)
        for st in self.statuses:
            st.ok, st.last_success, st.data_at = True, now, now
        return trips


def demo_vehicle(clock: DemoClock, zone: ZoneInfo, state_dir: Path) -> SimVehicle:
    """The simulated car, kept in state_dir/demo_car.json so that successive --once runs carry on."""
    return SimVehicle(clock, zone, path=state_dir / "demo_car.json")
