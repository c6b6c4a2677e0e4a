"""`scheduler.py health`: exit 0 when the daemon is alive and its data fresh, else 1 with the reason on one line.

Docker's HEALTHCHECK runs it; it reads only state.json, so it works while the daemon holds its lock.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("health", help="exit 0 if the last tick is recent and every source is fresh, else 1")
    p.add_argument("--state-dir", dest="health_state_dir", metavar="DIR", help="state dir (default STATE_DIR)")
    p.set_defaults(func=run)


def check(state: dict[str, Any], now: datetime, limits_h: dict[str, float]) -> str | None:
    """The reason the scheduler is unhealthy, or None."""
    try:
        generated = datetime.fromisoformat(state["generated_at"])
        interval = float(state.get("interval_min") or 14)
    except (KeyError, TypeError, ValueError):
        return "state.json has no valid generated_at"
    age_min = (now - generated).total_seconds() / 60
    if age_min > 3 * interval + 2:
        return f"the last tick was {age_min:.0f} min ago (interval {interval:g} min): the scheduler has stopped"
    sources = (state.get("health") or {}).get("sources") or {}
    for name, limit_h in limits_h.items():
        src = sources.get(name)
        if not src:
            continue
        age = src.get("data_age_min")
        retry = f"; next try {src['retry_at']}" if src.get("retry_at") else ""  # the source's backoff
        if age is None and src.get("last_error"):
            return f"{name}: no data yet; last error: {src['last_error']}{retry}"
        if age is not None and age > limit_h * 60:
            err = f"; last error: {src['last_error']}" if src.get("last_error") else ""
            return f"{name}: data is {age / 60:.1f} h old, over its {limit_h:g} h limit{err}{retry}"
    return None


def run(args: argparse.Namespace) -> int:
    s = args.settings
    state_dir = Path(args.health_state_dir or s.state_dir)
    path = state_dir / "state.json"
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        print(f"unhealthy: {path} does not exist yet (is the scheduler running?)")
        return 1
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {path} cannot be read: {exc}")
        return 1
    reason = check(state, datetime.now(UTC), {"grid": s.forecast_stale_hours,
                                                        "calendar": s.calendar_stale_hours,
                                                        "vehicle": s.vehicle_stale_hours})
    if reason:
        print(f"unhealthy: {reason}")
        return 1
    print("healthy")
    return 0
