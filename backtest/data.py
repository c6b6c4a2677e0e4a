"""Loading the benchmark's grid and sessions files, with errors that name the file, line and column to fix."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOUR = 3600.0


class DataError(ValueError):
    """A benchmark input file that cannot be used as it is."""


@dataclass(frozen=True)
class Grid:
    """Hourly actual load and day-ahead forecast; index h covers [hour0 + h·3600, hour0 + (h+1)·3600) UTC."""

    hour0: float
    load: tuple[float | None, ...]
    forecast: tuple[float | None, ...]

    @property
    def end(self) -> float:
        return self.hour0 + len(self.load) * HOUR


@dataclass(frozen=True)
class Session:
    """One plug-in session, placed in the grid's zone. Times are UTC epoch seconds."""

    index: int
    session_id: str
    station_id: str
    arrival: float
    departure: float
    estimated_departure: float | None
    requested_energy_kwh: float | None
    delivered_energy_kwh: float


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"--tz {name!r} is not an IANA time zone (e.g. America/New_York)") from exc


def _number(text: str, path: str, line: int, column: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise DataError(f"{path}:{line}: column {column!r} is {text!r}, not a number") from exc
    if math.isnan(value):
        return None
    return value


def _columns(reader: csv.DictReader, path: str, needed: tuple[str, ...]) -> None:
    have = reader.fieldnames or []
    missing = [c for c in needed if c not in have]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; the header must have {', '.join(needed)}")


def _without_comments(fh: Iterable[str], numbers: list[int]) -> Iterator[str]:
    """The file's lines but `#` comments (the demo's grid file opens with its source); `numbers` gets each kept
    line's number in the file, so errors still name the right line."""
    for number, text in enumerate(fh, start=1):
        if not text.lstrip().startswith("#"):
            numbers.append(number)
            yield text


def hour_index(stamp: str, path: str, line: int) -> int:
    """The hour (since the epoch) an `interval_start_utc` stamp starts; DataError naming the line when it is not an
    ISO 8601 time or not the start of an hour (a zone-less stamp is UTC)."""
    try:
        start = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{path}:{line}: interval_start_utc {stamp!r} is not an ISO 8601 time") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    ts = start.timestamp()
    if ts % HOUR:
        raise DataError(f"{path}:{line}: interval_start_utc {stamp!r} is not the start of an hour")
    return int(ts // HOUR)


def load_grid(path: str) -> Grid:
    rows: dict[int, tuple[float | None, float | None]] = {}
    with open(path, newline="") as fh:
        numbers: list[int] = []
        reader = csv.DictReader(_without_comments(fh, numbers))
        _columns(reader, path, ("interval_start_utc", "load_mw", "load_forecast_mw"))
        for row in reader:
            line = numbers[reader.line_num - 1]
            rows[hour_index(row["interval_start_utc"].strip(), path, line)] = (
                _number(row["load_mw"], path, line, "load_mw"),
                _number(row["load_forecast_mw"], path, line, "load_forecast_mw"),
            )
    if not rows:
        raise DataError(f"{path}: no rows")
    first, last = min(rows), max(rows)
    load = tuple(rows.get(h, (None, None))[0] for h in range(first, last + 1))
    forecast = tuple(rows.get(h, (None, None))[1] for h in range(first, last + 1))
    return Grid(hour0=first * HOUR, load=load, forecast=forecast)


def _wall(text: str, zone: ZoneInfo, path: str, line: int, column: str) -> float:
    """The wall-clock time with its offset dropped, read in `zone` (BENCHMARK.md: 08:00 stays 08:00)."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise DataError(f"{path}:{line}: {column} {text!r} is not an ISO 8601 time") from exc
    return stamp.replace(tzinfo=None).replace(tzinfo=zone).timestamp()


def load_sessions(path: str, zone: ZoneInfo, grid: Grid | None = None) -> tuple[list[Session], int]:
    """Sessions sorted by arrival, and how many were skipped (not after arrival in the zone, or outside the grid)."""
    needed = ("session_id", "station_id", "arrival", "departure", "estimated_departure", "requested_energy_kwh",
              "delivered_energy_kwh")
    sessions: list[Session] = []
    skipped = 0
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        _columns(reader, path, needed)
        for line, row in enumerate(reader, start=2):
            arrival = _wall(row["arrival"], zone, path, line, "arrival")
            departure = _wall(row["departure"], zone, path, line, "departure")
            est = row["estimated_departure"].strip()
            estimated = _wall(est, zone, path, line, "estimated_departure") if est else None
            requested = _number(row["requested_energy_kwh"], path, line, "requested_energy_kwh")
            delivered = _number(row["delivered_energy_kwh"], path, line, "delivered_energy_kwh")
            if delivered is None or delivered < 0:
                raise DataError(f"{path}:{line}: delivered_energy_kwh must be a number ≥ 0")
            if departure <= arrival or (grid is not None and (arrival < grid.hour0 or departure > grid.end)):
                skipped += 1
                continue
            sessions.append(Session(0, row["session_id"], row["station_id"].strip(), arrival, departure, estimated,
                                    requested, delivered))
    sessions.sort(key=lambda s: (s.arrival, s.session_id))
    return [Session(i, *(getattr(s, f) for f in Session.__dataclass_fields__ if f != "index"))
            for i, s in enumerate(sessions)], skipped


def only_stations(sessions: list[Session], pattern: str) -> list[Session]:
    """The sessions of the stations whose id matches `pattern` (a regular expression), renumbered; DataError when the
    pattern is not one or matches none."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise DataError(f"--stations {pattern!r} is not a regular expression ({exc})") from None
    kept = [s for s in sessions if rx.search(s.station_id)]
    if not kept:
        raise DataError(f"--stations {pattern!r} matches no station_id of the sessions file")
    return [Session(i, *(getattr(s, f) for f in Session.__dataclass_fields__ if f != "index"))
            for i, s in enumerate(kept)]
