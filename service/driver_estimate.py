"""The driver's word on this plug-in (`scheduler.py leave 17:30 --kwh 20`), kept in STATE_DIR/estimate.json.

Why: a workplace app asks its drivers when they leave and how much they want; at home nobody is asked, but an owner
who knows tonight is unusual can say so. The planner takes it as a hint, weighed against how such estimates turned
out (charge_logic.household_planner), never as a promise. It applies to the plug-in it was said for: said at most
12 h before that plug-in began, with a departure after it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from charge_logic.models import DriverEstimate
from clients.private_files import read_json, write_json_atomic

FILE = "estimate.json"
SAID_BEFORE = timedelta(hours=12)


def save(state_dir: Path, estimate: DriverEstimate, now: datetime) -> None:
    write_json_atomic(state_dir / FILE, {
        "said_at": now.isoformat(),
        "departure": estimate.departure.isoformat() if estimate.departure else None,
        "energy_kwh": estimate.energy_kwh})


def clear(state_dir: Path) -> bool:
    path = state_dir / FILE
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def for_plug_in(state_dir: Path, arrival: datetime | None) -> DriverEstimate | None:
    """The estimate said for the plug-in that began at `arrival`, if any (an unreadable file counts as none)."""
    if arrival is None:
        return None
    raw = read_json(state_dir / FILE)
    try:
        said = datetime.fromisoformat(raw["said_at"])
        departure = datetime.fromisoformat(raw["departure"]) if raw.get("departure") else None
        energy = None if raw.get("energy_kwh") is None else float(raw["energy_kwh"])
    except (ValueError, KeyError, TypeError):  # none, or not one we wrote
        return None
    if said < arrival - SAID_BEFORE or (departure is not None and departure <= arrival):
        return None
    return DriverEstimate(departure, energy)
