"""Reading state.json: re-read only when the file changes, and turn every way it can be wrong into a plain message.

The scheduler writes the file atomically, so a reader sees a whole file or none; a file that is missing, empty, cut
short, not JSON, or lacking sections still reaches the page as a `Problem` that says what is wrong and what to do.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.state_schema import migrate

# The newest version this dashboard draws. Its own, not the scheduler's: a scheduler that writes a newer file gets a
# page saying so rather than a page half drawn (tests/test_dashboard_state.py holds the two equal in this repository).
SCHEMA_VERSION = 2

NULL = type(None)
# Every top-level key the schema (docs/state-file.md) promises; a missing value is null, never absent.
COMMON: dict[str, type | tuple[type, ...]] = {
    "schema_version": int, "generated_at": str, "mode": (str, NULL), "interval_min": (int, float, NULL),
    "time_zone": (str, NULL), "forecast": (dict, NULL), "health": (dict, NULL),
}
# A car's own sections: the top level of a v1 file, each entry of a v2 file's `vehicles`.
CAR: dict[str, type | tuple[type, ...]] = {
    "vehicle": (dict, NULL), "events": (list, NULL), "decision": (dict, NULL), "plan": (dict, NULL),
    "history": (list, NULL),
}
SECTIONS = {**COMMON, **CAR}  # a v1 file (one car)
SECTIONS_V2: dict[str, type | tuple[type, ...]] = {
    **COMMON, "signal": (dict, NULL), "circuit": (dict, NULL), "vehicles": list,
}
CAR_V2: dict[str, type | tuple[type, ...]] = {"id": str, **CAR}
# v2's per-car additions: checked when present, so a car drawn without them still shows the rest
CAR_V2_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "name": (str, NULL), "vin": (str, NULL), "departure": (str, NULL), "ready": (bool, NULL),
    "waits_for": (str, NULL), "savings": (dict, NULL), "tesla": (dict, NULL), "planner": (dict, NULL),
}
KIND_NAMES = {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number",
              bool: "true or false"}
DEFAULT_INTERVAL_MIN = 14.0
STALE_INTERVALS = 3  # generated_at older than this many ticks: the scheduler has stopped


@dataclass(frozen=True)
class Problem:
    """Why there is nothing to show; `title` is one line, `detail` says what is missing and where."""

    title: str
    detail: str


@dataclass(frozen=True)
class Snapshot:
    """One reading of the state file: either `state` (validated) or `problem`."""

    path: Path
    signature: str  # changes whenever the file does (inode, size, mtime)
    state: dict[str, Any] | None
    problem: Problem | None
    zone: ZoneInfo | None = None
    generated_at: datetime | None = None
    mtime: float | None = None  # when the file was written, by the wall clock

    @property
    def demo(self) -> bool:
        return (self.state or {}).get("mode") == "demo"

    def clock(self, wall: datetime) -> datetime:
        """The state's own now: the demo's clock runs faster than the wall's, so a demo is drawn at its own time."""
        if self.demo and self.generated_at is not None:
            return self.generated_at.astimezone(self.zone or wall.tzinfo)
        return wall.astimezone(self.zone) if self.zone else wall

    def age_min(self, wall: datetime) -> float | None:
        """Minutes since the scheduler wrote the file: generated_at, or for a demo the file's mtime."""
        if self.demo and self.mtime is not None:
            return (wall.timestamp() - self.mtime) / 60
        return None if self.generated_at is None else (wall - self.generated_at).total_seconds() / 60

    def interval_min(self) -> float:
        value = (self.state or {}).get("interval_min")
        return float(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_INTERVAL_MIN

    def is_stale(self, wall: datetime) -> bool:
        age = self.age_min(wall)
        return age is not None and age > STALE_INTERVALS * self.interval_min()


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO 8601 string with its offset; None for null, junk or a naive time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def validate(raw: Any) -> tuple[dict[str, Any] | None, Problem | None, ZoneInfo | None, datetime | None]:
    """The state, as v2, if it is whole enough to draw, else the problem naming what is missing or wrong.

    A v1 file (one car) is checked as v1, so the message names the keys the file has, then migrated
    (service.state_schema.migrate, the scheduler's own reading); a v2 file is checked section by section and car by car.
    """
    if not isinstance(raw, dict):
        kind = KIND_NAMES.get(type(raw), type(raw).__name__)
        return None, Problem("The state file is not what the dashboard expects",
                             f"It holds {kind}, not a JSON object."), None, None
    version = raw.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return None, Problem("The state file is newer than this dashboard",
                             f"It has schema_version {version}; this dashboard reads versions 1 to "
                             f"{SCHEMA_VERSION}. Update the dashboard to the scheduler's version."), None, None
    if isinstance(version, int) and not isinstance(version, bool) and version not in (1, SCHEMA_VERSION):
        return None, Problem("The state file has an unknown schema version",
                             f"It has schema_version {version!r}; this dashboard reads versions 1 to "
                             f"{SCHEMA_VERSION}."), None, None
    wrong = _check(raw, SECTIONS if version == 1 else SECTIONS_V2, "")  # unversioned: checked as today's
    if version == SCHEMA_VERSION and isinstance(raw.get("vehicles"), list):
        wrong += _check_cars(raw["vehicles"])
    generated_at = parse_time(raw.get("generated_at"))
    if "generated_at" in raw and isinstance(raw["generated_at"], str) and generated_at is None:
        wrong.append(f"generated_at {raw['generated_at']!r} is not an ISO 8601 time with its UTC offset")
    zone: ZoneInfo | None = None
    try:
        zone = ZoneInfo(raw.get("time_zone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        wrong.append(f"time_zone {raw.get('time_zone')!r} is not an IANA time zone")
    if wrong:
        return None, Problem("The state file is incomplete", " ".join(_sentence(w) for w in wrong)), None, None
    return migrate(raw), None, zone, generated_at


def _check(raw: dict[str, Any], sections: dict[str, type | tuple[type, ...]], where: str,
           optional: dict[str, type | tuple[type, ...]] | None = None) -> list[str]:
    """'lacks …' for the missing keys, then one '… should be …' a key of the wrong kind; `where` names the car."""
    missing = [key for key in sections if key not in raw]
    out = [f"{where or 'it '}lacks " + ", ".join(missing)] if missing else []
    for key, kinds in {**sections, **(optional or {})}.items():
        if key in raw and not _is(raw[key], kinds):
            out.append(f"{where}{key} should be {_kinds(kinds)}")
    return out


def _check_cars(cars: list[Any]) -> list[str]:
    if not cars:
        return ["vehicles is an empty list: the scheduler lists every car of its settings"]
    out: list[str] = []
    seen: set[str] = set()
    for i, car in enumerate(cars):
        if not isinstance(car, dict):
            out.append(f"vehicles[{i}] should be an object")
            continue
        name = car.get("id") if isinstance(car.get("id"), str) else None
        out += _check(car, CAR_V2, f"vehicles[{i}]{f' ({name})' if name else ''} ", CAR_V2_OPTIONAL)
        if name is not None and name in seen:
            out.append(f"vehicles[{i}] repeats the id {name!r}: each car needs its own")
        seen.add(name or "")
    return out


def _is(value: Any, kinds: type | tuple[type, ...]) -> bool:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _kinds(kinds: type | tuple[type, ...]) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    names = [KIND_NAMES[k] for k in kinds if k in KIND_NAMES]
    text = " or ".join(dict.fromkeys(names))
    return text + (" or null" if type(None) in kinds else "")


def read_snapshot(path: Path) -> Snapshot:
    """Read and validate the file once; never raises for anything the file itself can be."""
    try:
        st = path.stat()
    except FileNotFoundError:
        folder = "exists" if path.parent.is_dir() else "does not exist either"
        return Snapshot(path, "missing", None, Problem(
            "No state file yet", f"{path} does not exist (its folder {path.parent} {folder}). The scheduler writes "
            "it after its first tick."))
    except OSError as exc:
        return Snapshot(path, "unreadable", None, Problem("The state file cannot be read", f"{path}: {exc.strerror}."))
    signature = f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        return Snapshot(path, signature, None, Problem("The state file cannot be read", f"{path}: {reason}."))
    if not text.strip():
        return Snapshot(path, signature, None, Problem(
            "The state file is empty", f"{path} has no content yet. The scheduler fills it after each tick."))
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        return Snapshot(path, signature, None, Problem(
            "The state file is damaged", f"{path} is not valid JSON ({msg}{where}); it may have been cut short or "
            "edited by hand. The scheduler rewrites it whole on its next tick."))
    state, problem, zone, generated_at = validate(raw)
    if problem is not None:
        problem = Problem(problem.title, f"{path}: {problem.detail}")
    return Snapshot(path, signature, state, problem, zone, generated_at, st.st_mtime)


def unreadable(snapshot: Snapshot) -> Snapshot:
    """The same file, shown as a problem: for a state that passed the checks but still could not be drawn."""
    return Snapshot(snapshot.path, snapshot.signature, None, Problem(
        "The dashboard could not draw this state file",
        f"{snapshot.path} holds a value this dashboard does not understand (the details are in the dashboard's log). "
        "The scheduler rewrites the file on its next tick."))


class StateReader:
    """Keeps the last reading and re-reads only when the file's inode, size or mtime changed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._last: Snapshot | None = None

    def signature(self) -> str:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "missing"
        except OSError:
            return "unreadable"
        return f"{st.st_ino}-{st.st_size}-{st.st_mtime_ns}"

    def read(self) -> Snapshot:
        with self._lock:
            if self._last is not None and self._last.signature == self.signature() and self._last.signature not in (
                    "missing", "unreadable"):
                return self._last
            self._last = read_snapshot(self.path)
            return self._last


def now_in(zone: ZoneInfo | None) -> datetime:
    """The wall clock, aware; the dashboard may read it (only the pure core may not)."""
    return datetime.now(zone or ZoneInfo("UTC"))


