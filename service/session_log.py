"""The household's plug-in sessions, learned from what the car reports, kept in STATE_DIR/sessions.json.

Why: at home nobody types in when they will leave or how much they need; the planner learns both from the finished
sessions (arrival, departure, energy) this file keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from charge_logic.battery import Charge
from charge_logic.consumption import Drive
from charge_logic.household import wanted_kwh
from charge_logic.models import COMPLETE, VehicleSnapshot
from charge_logic.power import counted_wall_kwh
from clients.private_files import write_json_atomic
from service.state_file import read_json_or_move_aside

MAX_SESSIONS = 4000  # years of plug-ins: the planner asks the last 4,000 (charge_logic.household)


@dataclass
class Session:
    arrival: str
    departure: str | None = None
    soc_start: float | None = None
    soc_end: float | None = None
    delivered_kwh: float = 0.0
    odometer_start: float | None = None  # km, read with soc_start
    odometer_end: float | None = None  # km, read with soc_end
    energy_added_kwh: float | None = None  # the car's own kWh count (charge_energy_added) from soc_start to soc_end
    counter_kwh: float | None = None  # that count at the last reading
    limit: int | None = None  # the car's charge limit, as last read while plugged in
    full: bool = False  # the car stopped taking energy by itself (Complete) before it left

    def taken_kwh(self) -> float:
        """What this plug-in took at the wall: the car's own count where it sends one, else the SoC it gained (both
        what reached the battery), over CHARGE_EFFICIENCY, so that it compares with what the plan's kW give."""
        return counted_wall_kwh(self.delivered_kwh if self.energy_added_kwh is None else self.energy_added_kwh)

    def wanted_kwh(self, battery_kwh: float) -> float:
        """What charging at once would have given it: what it took when it was full, else up to its limit from the SoC
        it came with (at least what it took). A car that left short of its limit wanted more than it got; the
        planner learns from this."""
        return wanted_kwh(self.taken_kwh(), full=self.full, limit=self.limit, soc_start=self.soc_start,
                          battery_kwh=battery_kwh)

    @property
    def arrival_at(self) -> datetime:
        return datetime.fromisoformat(self.arrival)

    @property
    def departure_at(self) -> datetime | None:
        return datetime.fromisoformat(self.departure) if self.departure else None


class SessionLog:
    def __init__(self, state_dir: Path, battery_kwh: float, now: datetime):
        self.path = state_dir / "sessions.json"
        self.battery_kwh = battery_kwh
        raw: Any = read_json_or_move_aside(self.path, now) or {}
        try:
            self.sessions = [Session(**s) for s in raw.get("sessions", [])]
        except (TypeError, AttributeError):
            self.sessions = []
        self._saved: tuple[int, str | None, Session | None] | None = None

    @property
    def open(self) -> Session | None:
        return self.sessions[-1] if self.sessions and self.sessions[-1].departure is None else None

    def finished(self) -> list[Session]:
        return [s for s in self.sessions if s.departure is not None]

    def drives(self) -> list[Drive]:
        """What the car used between one plug-in and the next: the battery it left with against the one it came
        back with, over the km in between."""
        out = []
        for before, after in zip(self.sessions, self.sessions[1:], strict=False):
            if before.soc_end is None or before.odometer_end is None or after.soc_start is None \
                    or after.odometer_start is None:
                continue
            out.append(Drive(km=after.odometer_start - before.odometer_end, soc_used=before.soc_end - after.soc_start))
        return out

    def charges(self) -> list[Charge]:
        """What each finished plug-in added, in SoC and in the car's own kWh count: how big the battery is."""
        return [Charge(s.soc_end - s.soc_start, s.energy_added_kwh) for s in self.finished()
                if s.soc_start is not None and s.soc_end is not None and s.energy_added_kwh is not None]

    def observe(self, now: datetime, snap: VehicleSnapshot | None) -> None:
        """Open a session when the car is seen plugged in, add what it charged, close it when it is unplugged."""
        if snap is None or snap.read_at is None or snap.plugged_in is None:
            return
        soc = snap.battery_level
        current = self.open
        odo = snap.odometer_km
        counter = snap.charge_energy_added if soc is not None else None
        if snap.plugged_in and current is None:
            self.sessions.append(Session(arrival=now.isoformat(), soc_start=soc, soc_end=soc,
                                         odometer_start=odo if soc is not None else None,
                                         odometer_end=odo if soc is not None else None,
                                         energy_added_kwh=0.0 if counter is not None else None, counter_kwh=counter,
                                         limit=snap.charge_limit_soc))
        elif snap.plugged_in and current is not None and soc is not None:
            if current.soc_end is not None and soc > current.soc_end:
                current.delivered_kwh = round(current.delivered_kwh + (soc - current.soc_end) / 100 * self.battery_kwh,
                                              2)
            current.soc_end = soc
            if counter is not None:
                # counted between the same readings as the SoC; a count lower than the last one was reset (the
                # car may show the plug-in before's total until it starts charging): all of it is new
                last = current.counter_kwh
                if current.energy_added_kwh is None or last is None:
                    current.energy_added_kwh = 0.0
                else:
                    current.energy_added_kwh = round(current.energy_added_kwh + (counter - last if counter >= last
                                                                                 else counter), 2)
                current.counter_kwh = counter
            current.odometer_end = odo  # the pair (soc_end, odometer_end) comes from one reading
            if snap.charge_limit_soc is not None:
                current.limit = snap.charge_limit_soc
            if snap.charging_state == COMPLETE:
                current.full = True
            if current.soc_start is None:
                current.soc_start, current.odometer_start = soc, odo
        elif not snap.plugged_in and current is not None:
            current.departure = now.isoformat()
        del self.sessions[:-MAX_SESSIONS]
        # only the last session changes (the others have ended): its copy and the count say whether anything did
        now_held = (len(self.sessions), self.sessions[0].arrival if self.sessions else None,
                    replace(self.sessions[-1]) if self.sessions else None)
        if now_held != self._saved:  # most ticks change nothing: no disk write (an SD card lasts longer)
            write_json_atomic(self.path, {"sessions": [vars(s) for s in self.sessions]})
            self._saved = now_held
