"""The shape of state.json across versions: v1 (one car) read as v2 (a list of cars, the circuit, the signal).

Why here and pure: the scheduler reads its previous file at start and the dashboard reads every file, and both must
see the same v2 whatever version wrote it (docs/state-file.md). No I/O; a dict in, a new dict out.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 2
FIRST_CAR = "car1"  # the id of the single car of a v1 file and of today's single-car settings
CAR_KEYS = ("vehicle", "events", "decision", "plan", "planner", "history")  # a v1 file's per-car sections


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """A state of any known version as v2; a v2 (or newer, or unversioned) state is returned as it is."""
    if raw.get("schema_version") != 1:
        return raw
    out = {k: v for k, v in raw.items() if k not in CAR_KEYS}
    health = raw.get("health") if isinstance(raw.get("health"), dict) else None
    car: dict[str, Any] = {"id": FIRST_CAR}
    vehicle = raw.get("vehicle") if isinstance(raw.get("vehicle"), dict) else None
    car["name"] = vehicle.get("name") if vehicle else None
    car["vin"] = vehicle.get("vin") if vehicle else None
    car.update({k: raw.get(k) for k in CAR_KEYS})
    plan = raw.get("plan") if isinstance(raw.get("plan"), dict) else None
    car.update({"departure": plan.get("departure") if plan else None, "ready": None, "waits_for": None,
                "savings": None, "tesla": health.get("tesla") if health else None})
    out["schema_version"] = SCHEMA_VERSION
    out["vehicles"] = [car]
    out["circuit"] = {"max_amps": None, "load": [], "peak_amps": 0}
    out["signal"] = load_signal(raw.get("forecast"))
    return out


def load_signal(forecast: Any) -> dict[str, Any] | None:
    """The `signal` section of a state planned on grid load: the forecast's points, in MW."""
    if not isinstance(forecast, dict):
        return None
    raw_points = forecast.get("points")
    points: list[Any] = raw_points if isinstance(raw_points, list) else []
    return {"objective": "load", "name": "grid load", "unit": "MW", "source": forecast.get("source"),
            "label": forecast.get("iso"), "fallback": None,
            "points": [{"start": p.get("start"), "value": p.get("load_mw"), "known": False}
                       for p in points if isinstance(p, dict)]}
