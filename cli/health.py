"""`scheduler.py health`: exit 0 when the daemon is alive and its data fresh, else 1 with the reasons on one line.

Docker's HEALTHCHECK runs it; it reads only state.json, so it works while the daemon holds its lock. The age of the
last tick is measured as the dashboard measures it: by the wall clock, from the file's own write time when the
state is the demo's (whose `generated_at` runs on its faster clock), so the two never disagree on "stopped".
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("health", help="exit 0 if the last tick is recent and every source is fresh, else 1",
                       description="Reads STATE_DIR/state.json (with --demo, the demo's) and exits 0 when the last "
                                   "tick is recent and every source's data is within its limit "
                                   "(FORECAST_STALE_HOURS, CALENDAR_STALE_HOURS, VEHICLE_STALE_HOURS), else 1 "
                                   "with every reason on one line. Calls no outside service.")
    p.set_defaults(func=run)


def tick_age_min(state: dict[str, Any], now: datetime, written_at: float | None = None) -> float | None:
    """Minutes since the last tick by the wall clock: the file's write time for a demo, else generated_at."""
    if state.get("mode") == "demo" and written_at is not None:
        return (now.timestamp() - written_at) / 60
    try:
        return (now - datetime.fromisoformat(state["generated_at"])).total_seconds() / 60
    except (KeyError, TypeError, ValueError):
        return None


def check(state: dict[str, Any], now: datetime, limits_h: dict[str, float],
          written_at: float | None = None) -> str | None:
    """Why the scheduler is unhealthy (every failing source, joined by " | "), or None."""
    age_min = tick_age_min(state, now, written_at)
    if age_min is None:
        return "state.json has no valid generated_at"
    try:
        interval = float(state.get("interval_min") or 14)
    except (TypeError, ValueError):
        interval = 14.0
    reasons = []
    if age_min > 3 * interval + 2:
        reasons.append(f"the last tick was {age_min:.0f} min ago (interval {interval:g} min): "
                       "the scheduler has stopped")
    sources = (state.get("health") or {}).get("sources") or {}
    for name, src in sources.items():  # several cars: "vehicle:car2" is car2's, checked as "vehicle"
        limit_h = limits_h.get(name.split(":")[0])
        if limit_h is None or not isinstance(src, dict) or not src:
            continue
        age = src.get("data_age_min")
        error = str(src.get("last_error") or "").rstrip().removesuffix(".")  # a sentence's stop would read ".;"
        retry = f"; next try {src['retry_at']}" if src.get("retry_at") else ""  # the source's backoff
        if age is None and error:
            reasons.append(f"{name}: no data yet; last error: {error}{retry}")
        elif age is not None and age > limit_h * 60:
            err = f"; last error: {error}" if error else ""
            reasons.append(f"{name}: data is {age / 60:.1f} h old, over its {limit_h:g} h limit{err}{retry}")
    return " | ".join(reasons) or None


def run(args: argparse.Namespace) -> int:
    s = args.settings
    path = Path(s.state_dir) / "state.json"
    try:
        written_at = path.stat().st_mtime
        state = json.loads(path.read_text())
    except FileNotFoundError:
        print(f"unhealthy: {path} does not exist yet (is the scheduler running?)")
        return 1
    except (OSError, ValueError) as exc:
        print(f"unhealthy: {path} cannot be read: {exc}")
        return 1
    if not isinstance(state, dict):
        print(f"unhealthy: {path} holds no JSON object")
        return 1
    reason = check(state, datetime.now(UTC), {"grid": s.forecast_stale_hours, "calendar": s.calendar_stale_hours,
                                             "vehicle": s.vehicle_stale_hours}, written_at)
    if reason:
        print(f"unhealthy: {reason}")
        return 1
    print("healthy")
    return 0
