"""What a kWh costs in each hour of the grid file: a tariff (URDB JSON or the hand-written TOU form) read at each
hour's local wall-clock time, or an hourly price series (`interval_start_utc,price` in $/kWh). Errors name the file,
the line and what to fix (BENCHMARK.md, "Money").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from backtest.data import HOUR, DataError, Grid, _number, _without_comments, hour_index
from charge_logic.tariff import TariffError, parse_tou
from clients.openei import tariff_from_file

TARIFF_AHEAD_H = 48  # a tariff is known ahead: the replay hands it further than the 36 h forecast
PRICE_AHEAD_H = 36  # a published price series only as far as a day-ahead market forecasts it, like the load


@dataclass(frozen=True)
class Prices:
    """$/kWh per grid hour (index as Grid.load; None: unknown), what they are, and how far ahead a policy sees them."""

    values: tuple[float | None, ...]
    name: str
    ahead_h: int


def tariff_prices(path: str, grid: Grid, zone: ZoneInfo) -> Prices:
    """A URDB rate file (.json) or the hand-written TOU form (any other file: its first non-comment line)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".json":
            tariff = tariff_from_file(p, "--tariff")
        else:
            try:
                lines = [x.strip() for x in p.read_text(encoding="utf-8").splitlines()]
            except OSError as exc:
                raise DataError(f"--tariff {path}: cannot be read ({type(exc).__name__})") from None
            text = next((x for x in lines if x and not x.startswith("#")), "")
            tariff = parse_tou(text, f"--tariff {p.name}")
    except TariffError as exc:
        raise DataError(str(exc)) from None
    start = datetime.fromtimestamp(grid.hour0, UTC)
    end = datetime.fromtimestamp(grid.end, UTC)
    values = tuple(v for _, v in tariff.hourly(start, end, zone))
    return Prices(values, tariff.name, TARIFF_AHEAD_H)


def price_series(path: str, grid: Grid) -> Prices:
    """`interval_start_utc,price` ($/kWh, hourly) on the grid's hours; hours the file lacks are unknown."""
    rows: dict[int, float | None] = {}
    if not Path(path).is_file():
        raise DataError(f"--price {path}: no such file")
    with open(path, newline="") as fh:
        numbers: list[int] = []
        reader = csv.DictReader(_without_comments(fh, numbers))
        have = reader.fieldnames or []
        missing = [c for c in ("interval_start_utc", "price") if c not in have]
        if missing:
            raise DataError(f"--price {path}: missing column(s) {', '.join(missing)}; the header must have "
                            "interval_start_utc,price ($/kWh)")
        for row in reader:
            line = numbers[reader.line_num - 1]
            hour = hour_index((row["interval_start_utc"] or "").strip(), path, line)
            value = _number(row["price"] or "", path, line, "price")
            if value is not None and abs(value) > 10:
                raise DataError(f"{path}:{line}: price {value:g} is not in $/kWh (a $/MWh price divided by 1000 is)")
            rows[hour] = value
    if not rows:
        raise DataError(f"--price {path}: no rows")
    first = int(grid.hour0 // HOUR)
    values = tuple(rows.get(first + h) for h in range(len(grid.load)))
    if all(v is None for v in values):
        raise DataError(f"--price {path}: no hour of it falls within the grid file's hours")
    return Prices(values, Path(path).name, PRICE_AHEAD_H)
