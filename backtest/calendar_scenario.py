"""`backtest --scenario calendar`: a year of a commuting household, generated from its calendar, replayed through the
same calendar → trip → plan path the daemon uses (charge_logic.vehicle_plan.plan_for_vehicle), every tick.

The household: weekday work (start varying by half hours), a gym evening now and then, Saturday groceries, Sunday
family visits, a few long Saturday trips. It plugs in a little after coming home and leaves around the calendar's
departure (up to one buffer earlier or later). The car takes what brings it back to the charge limit the trip needs;
that is the session's energy, and the real grid load scores it, as for the real sessions. The planner here knows
what the daemon knows — the calendar, the routes, the car's SoC — and still not the actual departure or energy.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backtest.data import Grid, Session
from backtest.planner_policy import DaemonPlanner, DaemonSeed, calendar_trips
from backtest.policies import make_policies
from backtest.replay import MAX_AMPS, MIN_AMPS, Result, replay
from charge_logic.config import RuleConfig
from charge_logic.models import CalendarEvent, Route, Trip
from charge_logic.power import wall_kwh
from charge_logic.trip_energy import trip_need

PLACES = {
    "Office": Route(28.0, 35.0),
    "Gym": Route(6.0, 12.0),
    "Grocery store": Route(8.0, 15.0),
    "Family": Route(60.0, 55.0),
    "Cabin": Route(190.0, 150.0),
}


def household_calendar(first_day: datetime, days: int, zone: ZoneInfo, rng: random.Random) -> list[CalendarEvent]:
    long_trip_days = set(rng.sample([d for d in range(days) if (first_day + timedelta(days=d)).weekday() == 5],
                                    k=min(6, days // 60)))
    events = []

    def add(day: datetime, summary: str, place: str, start_h: float, hours: float) -> None:
        start = datetime.combine(day.date(), datetime.min.time(), tzinfo=zone) + timedelta(hours=start_h)
        start = start.astimezone(UTC).astimezone(zone)  # a wall time in a DST gap moves, as calendars do
        events.append(CalendarEvent(f"{summary}-{day:%Y%m%d}", summary, start, start + timedelta(hours=hours),
                                    location=place))

    for d in range(days):
        day = first_day + timedelta(days=d)
        wd = day.weekday()
        if wd < 5:
            add(day, "Work", "Office", rng.choice((7.5, 8.0, 8.5, 9.0)), 8.5)
            if rng.random() < 0.2:
                add(day, "Gym", "Gym", 19.0, 1.0)
        elif wd == 5:
            if d in long_trip_days:
                add(day, "Cabin trip", "Cabin", 8.0, 10.0)
            else:
                add(day, "Groceries", "Grocery store", 10.0, 1.0)
        elif rng.random() < 0.5:
            add(day, "Family dinner", "Family", 13.0, 4.0)
    return events


def generate(grid: Grid, zone: ZoneInfo, seed: int, config: RuleConfig, days: int = 365
             ) -> tuple[list[CalendarEvent], list[Session], dict[float, float]]:
    """The household's calendar, its sessions (the truth) and the SoC at each plug-in, over the grid's last year."""
    rng = random.Random(seed)
    last = datetime.fromtimestamp(grid.end, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    first = (last - timedelta(days=days)).replace(tzinfo=None)
    first = datetime.combine(first.date(), datetime.min.time())
    events = household_calendar(first, days, zone, rng)
    routed = [(e, PLACES[e.location or ""]) for e in events]  # every generated event is at one of the places
    trips = [Trip(e, r) for e, r in routed]
    buffer = timedelta(minutes=config.departure_buffer_min)
    soc = float(config.base_charge_limit)
    sessions: list[Session] = []
    arrival_soc: dict[float, float] = {}
    home_since: datetime | None = None
    for i, (trip, route) in enumerate(zip(trips, (r for _, r in routed), strict=True)):
        planned = trip.event.start - timedelta(minutes=route.drive_minutes) - buffer
        leave = planned + timedelta(minutes=rng.uniform(-config.departure_buffer_min, config.departure_buffer_min))
        if home_since is not None and leave > home_since:
            need = trip_need(home_since, trips, config, zone)
            energy = max(0.0, wall_kwh(need.charge_limit - soc, config.battery_kwh))  # at the wall
            arrival_soc[home_since.timestamp()] = soc
            sessions.append(Session(len(sessions), f"cal-{i}", "home", home_since.timestamp(), leave.timestamp(),
                                    None, None, energy))
            soc = max(soc, float(need.charge_limit))
        soc -= 100.0 * 2 * route.distance_km * config.consumption_wh_per_km / 1000.0 / config.battery_kwh
        soc = max(soc, float(config.reserve_soc))  # a trip beyond the battery tops up on the way
        back = trip.event.end + timedelta(minutes=route.drive_minutes + rng.uniform(0, 20))
        home_since = back + timedelta(minutes=rng.uniform(0, 15))
    sessions = [s for s in sessions if grid.hour0 <= s.arrival and s.departure <= grid.end]
    sessions = [Session(j, *(getattr(s, f) for f in Session.__dataclass_fields__ if f != "index"))
                for j, s in enumerate(sessions)]
    return events, sessions, arrival_soc


def run_calendar(grid: Grid, zone: ZoneInfo, *, seed: int = 1, tick_min: float = 15.0, names=None,
                 progress: bool = True, config: RuleConfig | None = None, days: int = 365,
                 short_risk_pct: float = RuleConfig.short_risk_pct) -> Result:
    """The household replayed; `planner` is the daemon's path, re-planning every tick from the calendar as it
    stands then and the car's SoC."""
    config = config or RuleConfig(max_amps=MAX_AMPS, min_amps=MIN_AMPS, short_risk_pct=short_risk_pct)
    events, sessions, arrival_soc = generate(grid, zone, seed, config, days)
    trips = calendar_trips([Trip(e, PLACES.get(e.location or "")) for e in events],
                           timedelta(hours=config.events_horizon_hours))
    daemon = {"planner": DaemonPlanner, "seed": DaemonSeed}  # the daemon's policies see the calendar and the SoC
    policies = [daemon[p.name](config, trips=trips, arrival_soc=arrival_soc) if p.name in daemon else p
                for p in make_policies(names, short_risk_pct)]
    return replay(grid, sessions, policies, zone, tick_min=tick_min, progress=progress, label="calendar")
