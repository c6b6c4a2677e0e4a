"""Pick the car backend named by TESLA_BACKEND; imports are lazy so one backend's packages never burden another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clients.vehicle import Vehicle


def make_vehicle(settings: Any, **kw: Any) -> Vehicle:
    """kw (clock=, sleep=) go to the real backends, for simulations and tests."""
    backend = settings.tesla_backend
    if backend == "teslapy":
        from clients.tesla_owner import OwnerVehicle

        return OwnerVehicle.from_settings(settings, **kw)
    if backend == "fleet":
        from clients.tesla_fleet import FleetVehicle

        return FleetVehicle.from_settings(settings, **kw)
    if backend == "sim":
        from clients.tesla_common import utc_now
        from clients.vehicle_sim import SimVehicle

        return SimVehicle(kw.get("clock") or utc_now, settings.zone, path=Path(settings.state_dir) / "sim_car.json")
    raise ValueError(f"TESLA_BACKEND={backend!r} is not known: it takes teslapy, fleet or sim")
