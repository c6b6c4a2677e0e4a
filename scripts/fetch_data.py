"""Fetch the benchmark's public data, prepare it in the benchmark's format (docs/benchmark.md), and check what it got.

    python scripts/fetch_data.py [--out data] [--only grid|acn|norway] [--source NAME=FILE_OR_URL ...]

Every input is checked before anything is written; each prepared file is written to a temp file and moved into
place only once whole and checked, so a failed run never leaves a half file or truncates a good one. `--source`
takes a local copy in place of a download (e.g. `--source PJM=~/Downloads/PJM.csv`,
`--source acn=acn_caltech.json`, `--source norway="Dataset 1_EV charging reports.csv"`).

Sources (see docs/benchmark.md, "Where the data comes from"):
- grid: U.S. EIA Form 930 hourly demand and day-ahead forecast, cleaned by Ruggles et al. (Scientific Data 7, 155,
  2020; CC BY 4.0), one CSV per balancing authority: `date_time,raw demand (MW),category,cleaned demand (MW),
  forecast demand (MW)`, `date_time` in UTC at the hour's end.
- acn: ACN-Data's Caltech sessions (ev.caltech.edu; Lee, Li & Low, e-Energy 2019), the JSON the site's download
  gives (`{"_items": [{sessionID, stationID, connectionTime, disconnectTime, kWhDelivered, userInputs: [...]}]}`).
- norway: the residential garages' charging reports (Sørensen et al., Data in Brief 36, 107105, 2021; CC BY 4.0),
  `Dataset 1_EV charging reports.csv`: `session_ID;Garage_ID;User_ID;...;Start_plugin;End_plugout;El_kWh;...`
  (semicolons, decimal commas, `dd.mm.yyyy HH:MM` in Europe/Oslo).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRID_URL = ("https://raw.githubusercontent.com/truggles/EIA_Cleaned_Hourly_Electricity_Demand_Data/master/data/"
            "release_2020_Oct/balancing_authorities/{ba}.csv")
ACN_URL = "https://ev.caltech.edu/dataset"  # a free account's download; no direct link: pass --source acn=FILE
NORWAY_URL = "https://doi.org/10.1016/j.dib.2021.107105"  # the article links its data set; pass --source
GRIDS = ("PJM", "ERCO", "CISO", "NYIS")
GRID_FROM, GRID_UNTIL = datetime(2017, 1, 1, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC)
SESSION_COLUMNS = ("session_id", "station_id", "arrival", "departure", "estimated_departure", "requested_energy_kwh",
                   "delivered_energy_kwh")
OSLO = ZoneInfo("Europe/Oslo")


class DataProblem(ValueError):
    """What is wrong with an input, naming the file and the line."""


# ------------------------------------------------------------------------------------------------ reading
def read_source(source: str) -> bytes:
    """A local file, or a download (the only network access; tests pass files)."""
    path = Path(source).expanduser()
    if not source.startswith(("http://", "https://")):
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DataProblem(f"{source}: {exc.strerror}") from None
    try:
        with urllib.request.urlopen(source, timeout=120) as response:
            return response.read()
    except OSError as exc:
        raise DataProblem(f"{source}: could not download ({exc}); download it by hand and pass --source") from None


def _need(header: Iterable[str] | None, needed: Iterable[str], where: str) -> None:
    missing = [c for c in needed if c not in (header or [])]
    if missing:
        raise DataProblem(f"{where}: missing columns {', '.join(missing)} (it has {', '.join(header or [])})")


# ------------------------------------------------------------------------------------------------- grid
def prepare_grid(raw: bytes, where: str) -> list[list[str]]:
    """Ruggles et al.'s file to `interval_start_utc,load_mw,load_forecast_mw`, 2017-01-01 to 2020-06-30."""
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    cleaned, forecast = "cleaned demand (MW)", "forecast demand (MW)"
    _need(reader.fieldnames, ("date_time", cleaned, forecast), where)
    rows = []
    for line, row in enumerate(reader, start=2):
        try:
            end = datetime.fromisoformat(row["date_time"].strip()).replace(tzinfo=UTC)
        except ValueError:
            raise DataProblem(f"{where}:{line}: date_time {row['date_time']!r} is not a time") from None
        start = end - timedelta(hours=1)  # the source marks the hour's end
        if not GRID_FROM <= start < GRID_UNTIL:
            continue
        rows.append([start.strftime("%Y-%m-%dT%H:%M:%SZ"), _mw(row[cleaned], where, line, cleaned, required=True),
                     _mw(row[forecast], where, line, forecast)])
    return rows


def _mw(text: str | None, where: str, line: int, column: str, required: bool = False) -> str:
    text = (text or "").strip()
    if not text or text.lower() in ("nan", "na"):
        if required:
            raise DataProblem(f"{where}:{line}: {column} is empty")
        return ""
    try:
        value = float(text)
    except ValueError:
        raise DataProblem(f"{where}:{line}: {column} {text!r} is not a number") from None
    if value <= 0:  # the operator published none (EIA writes 0 or a negative for a missing forecast)
        if required:
            raise DataProblem(f"{where}:{line}: {column} {text} is not a load")
        return ""
    return f"{value:.0f}"


# ---------------------------------------------------------------------------------------------- sessions
def prepare_acn(raw: bytes, where: str) -> list[list[str]]:
    """ACN-Data's JSON to the sessions format, with the driver's own estimates (its last userInputs entry)."""
    try:
        items = json.loads(raw)["_items"]
    except (ValueError, KeyError, TypeError):
        raise DataProblem(f"{where}: not ACN-Data's JSON (no _items list)") from None
    rows = []
    for n, item in enumerate(items):
        try:
            zone = ZoneInfo(item.get("timezone") or "America/Los_Angeles")
            arrival = parsedate_to_datetime(item["connectionTime"]).astimezone(zone)
            departure = parsedate_to_datetime(item["disconnectTime"]).astimezone(zone)
            delivered = float(item["kWhDelivered"])
            inputs = (item.get("userInputs") or [{}])[-1]
            estimated = (parsedate_to_datetime(inputs["requestedDeparture"]).astimezone(zone)
                         if inputs.get("requestedDeparture") else None)
            requested = inputs.get("kWhRequested")
            rows.append([str(item["sessionID"]), str(item["stationID"]), _local(arrival), _local(departure),
                         _local(estimated) if estimated else "", "" if requested is None else f"{float(requested):g}",
                         f"{delivered:g}"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataProblem(f"{where}: session #{n + 1} ({item.get('sessionID', '?')}): {exc!r}") from None
    return rows


def prepare_norway(raw: bytes, where: str) -> list[list[str]]:
    """The Norwegian charging reports to the sessions format; no driver estimates at home; no plug-out: dropped."""
    text = raw.decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";,")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    _need(reader.fieldnames, ("session_ID", "Garage_ID", "User_ID", "Start_plugin", "End_plugout", "El_kWh"), where)
    rows = []
    for line, row in enumerate(reader, start=2):
        if not (row["End_plugout"] or "").strip():
            continue
        arrival = _oslo(row["Start_plugin"], where, line, "Start_plugin")
        departure = _oslo(row["End_plugout"], where, line, "End_plugout")
        try:
            energy = float(row["El_kWh"].strip().replace(",", "."))
        except ValueError:
            raise DataProblem(f"{where}:{line}: El_kWh {row['El_kWh']!r} is not a number") from None
        rows.append([f"{row['Garage_ID']}_{row['session_ID']}", f"{row['Garage_ID']}_{row['User_ID']}",
                     _local(arrival, "T"), _local(departure, "T"), "", "", f"{energy:g}"])
    return rows


def _oslo(text: str, where: str, line: int, column: str) -> datetime:
    for fmt in ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=OSLO)
        except ValueError:
            continue
    raise DataProblem(f"{where}:{line}: {column} {text!r} is not a time (dd.mm.yyyy HH:MM)")


def _local(dt: datetime, sep: str = " ") -> str:
    return dt.replace(microsecond=0).isoformat(sep)


# ------------------------------------------------------------------------------------------------ checking
def check_grid(rows: list[list[str]], where: str) -> list[str]:
    """What is wrong with a prepared grid, as lines; the backtest's own reader must take it."""
    problems = []
    if len(rows) < 24 * 7:
        problems.append(f"{where}: only {len(rows)} hours (a week at least is needed)")
    stamps = [r[0] for r in rows]
    if stamps != sorted(set(stamps)):
        problems.append(f"{where}: hours are out of order or repeated")
    missing = sum(1 for r in rows if not r[2])
    if rows and missing > 0.05 * len(rows):
        problems.append(f"{where}: {missing} of {len(rows)} hours have no forecast (more than 5 %)")
    return problems


def check_sessions(rows: list[list[str]], where: str) -> list[str]:
    problems = []
    if len(rows) < 100:
        problems.append(f"{where}: only {len(rows)} sessions (100 at least are needed)")
    bad = [r[0] for r in rows
           if datetime.fromisoformat(r[3]) <= datetime.fromisoformat(r[2]) or float(r[6]) < 0]
    if len(bad) > 0.01 * max(1, len(rows)):
        problems.append(f"{where}: {len(bad)} sessions end before they start or deliver negative energy "
                        f"(first: {bad[0]})")
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: session ids repeat")
    return problems


# ----------------------------------------------------------------------------------------------- writing
def write_csv(path: Path, header: Iterable[str], rows: list[list[str]],
              verify: Callable[[Path], None] | None = None) -> None:
    """Whole or not at all: a temp file beside `path`, verified, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(list(header))
            out.writerows(rows)
        if verify:
            verify(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _verify_grid(path: Path) -> None:
    from backtest.data import DataError, load_grid

    try:
        load_grid(str(path))
    except DataError as exc:
        raise DataProblem(f"the backtest would not read the prepared grid: {exc}") from None


def _verify_sessions(path: Path) -> None:
    from backtest.data import DataError, load_sessions

    try:
        load_sessions(str(path), ZoneInfo("UTC"))
    except DataError as exc:
        raise DataProblem(f"the backtest would not read the prepared sessions: {exc}") from None


JOBS = {  # name: (default source, output path under --out, prepare, check, header, verify)
    **{ba: (GRID_URL.format(ba=ba), f"grid/{ba}.csv", prepare_grid, check_grid,
            ("interval_start_utc", "load_mw", "load_forecast_mw"), _verify_grid) for ba in GRIDS},
    "acn": (None, "sessions/acn_caltech.csv", prepare_acn, check_sessions, SESSION_COLUMNS, _verify_sessions),
    "norway": (None, "sessions/home_norway.csv", prepare_norway, check_sessions, SESSION_COLUMNS, _verify_sessions),
}
MANUAL = {"acn": ACN_URL, "norway": NORWAY_URL}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "data", help="where grid/ and sessions/ go (default ./data)")
    p.add_argument("--only", action="append", choices=("grid", "acn", "norway"), help="prepare only these")
    p.add_argument("--source", action="append", default=[], metavar="NAME=FILE_OR_URL",
                   help=f"a local file (or address) for one input: {', '.join(JOBS)}")
    args = p.parse_args(argv)
    sources: dict[str, str] = {}
    for item in args.source:
        name, sep, where = item.partition("=")
        if not sep or name not in JOBS:
            p.error(f"--source {item!r}: use NAME=FILE_OR_URL with NAME one of {', '.join(JOBS)}")
        sources[name] = where
    wanted = [n for n in JOBS if not args.only or (n in GRIDS and "grid" in args.only) or n in args.only]
    prepared: list[tuple[str, list[list[str]]]] = []
    problems: list[str] = []
    for name in wanted:  # read and check every input before writing any output
        default, _, prepare, check, _, _ = JOBS[name]
        source = sources.get(name, default)
        if source is None:
            problems.append(f"{name}: no direct download; get the file from {MANUAL[name]} and pass "
                            f"--source {name}=FILE")
            continue
        try:
            rows = prepare(read_source(source), source)
        except DataProblem as exc:
            problems.append(str(exc))
            continue
        found = check(rows, source)
        problems += found
        if not found:
            prepared.append((name, rows))
    if problems:
        print("nothing written:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    for name, rows in prepared:
        _, out, _, _, header, verify = JOBS[name]
        try:
            write_csv(args.out / out, header, rows, verify)
        except DataProblem as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
        print(f"{args.out / out}: {len(rows)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
