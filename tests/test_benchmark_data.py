"""The benchmark can be rerun from a clone (issue 20, item 3): its definition is in the repository, the data's
sources are named and a script prepares and checks them, and no script writes before its inputs are checked.
Nothing here downloads: the preparing and checking run on small local files in the sources' own formats."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import fetch_data  # noqa: E402


def test_the_benchmark_definition_is_in_the_repository_and_no_link_leaves_it() -> None:
    doc = (ROOT / "docs" / "benchmark.md").read_text()
    for words in ("capture", "ready_rate", "immediate", "cheapest", "oracle", "interval_start_utc",
                  "delivered_energy_kwh", "Ruggles", "ACN-Data", "Sørensen", "scripts/fetch_data.py",
                  "scripts/backtest_all.sh"):
        assert words in doc, f"docs/benchmark.md does not say {words}"
    assert "](docs/benchmark.md)" in (ROOT / "README.md").read_text()
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if re.match(r"\w+://|mailto:", target):
                continue
            resolved = (md.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{md.name} links {target}, outside the repository"
            assert resolved.exists(), f"{md.name} links {target}, which does not exist"


# --------------------------------------------------------------------------------------- backtest_all.sh
def _results(tmp_path: Path) -> Path:
    results = tmp_path / "docs" / "backtest-results.md"
    results.parent.mkdir()
    results.write_text("# Backtest results\nthe committed figures\n")
    return results


def _backtest_all(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts" / "backtest_all.sh"), *args], capture_output=True,
                          text=True, timeout=120)


def test_backtest_all_with_no_data_folder_leaves_the_results_alone(tmp_path: Path) -> None:
    results = _results(tmp_path)
    done = _backtest_all(str(tmp_path / "no-such-data"), str(results))
    assert done.returncode == 2 and "data folder" in done.stderr and "not found" in done.stderr, done.stderr
    assert results.read_text() == "# Backtest results\nthe committed figures\n"
    assert sorted(p.name for p in results.parent.iterdir()) == ["backtest-results.md"], "a temp file was left"


def test_backtest_all_names_every_missing_or_wrong_input_before_running(tmp_path: Path) -> None:
    results = _results(tmp_path)
    data = tmp_path / "data"
    (data / "grid").mkdir(parents=True)
    (data / "sessions").mkdir()
    for grid in ("PJM", "ERCO", "CISO"):
        (data / "grid" / f"{grid}.csv").write_text("interval_start_utc,load_mw,load_forecast_mw\n")
    (data / "sessions" / "acn_caltech.csv").write_text("id,when\n")
    done = _backtest_all(str(data), str(results))
    assert done.returncode == 2 and "nothing run, nothing written" in done.stderr
    for name in ("NYIS.csv (missing)", "acn_caltech.csv (header is not", "home_norway.csv (missing)"):
        assert name in done.stderr, done.stderr
    assert "PJM" not in done.stderr.split("lacks:")[0] and "Traceback" not in done.stderr
    assert results.read_text().endswith("the committed figures\n")


def test_backtest_all_refuses_a_folder_as_the_results_file(tmp_path: Path) -> None:
    done = _backtest_all(str(tmp_path), str(tmp_path))
    assert done.returncode == 2 and "is a folder" in done.stderr


# ------------------------------------------------------------------------------------------ fetch_data.py
def ruggles_file(path: Path, start: datetime, hours: int, forecast_gap: int = 0) -> Path:
    """A file as Ruggles et al. publish it: the stamp is the hour's end, a missing forecast is empty or 0."""
    lines = ["date_time,raw demand (MW),category,cleaned demand (MW),forecast demand (MW)"]
    for h in range(hours):
        end = start + timedelta(hours=h + 1)
        forecast = "" if h < forecast_gap else str(90000 + h)
        lines.append(f"{end:%Y-%m-%d %H:%M:%S},{80000 + h},OKAY,{80000.0 + h},{forecast}")
    path.write_text("\n".join(lines) + "\n")
    return path


def acn_file(path: Path, n: int) -> Path:
    base = datetime(2019, 5, 1, 15, 18, 45, tzinfo=UTC)
    items = []
    for i in range(n):
        arrive = base + timedelta(days=i)
        items.append({"sessionID": f"s{i}", "stationID": "CA-305", "timezone": "America/Los_Angeles",
                      "connectionTime": f"{arrive:%a, %d %b %Y %H:%M:%S} GMT",
                      "disconnectTime": f"{arrive + timedelta(hours=8):%a, %d %b %Y %H:%M:%S} GMT",
                      "kWhDelivered": 12.5,
                      "userInputs": None if i % 2 else [{"kWhRequested": 20.0, "requestedDeparture":
                                                         f"{arrive + timedelta(hours=6):%a, %d %b %Y %H:%M:%S} GMT"}]})
    path.write_text(json.dumps({"_items": items}))
    return path


def norway_file(path: Path, n: int) -> Path:
    lines = ["session_ID;Garage_ID;User_ID;User_type;Start_plugin;End_plugout;El_kWh"]
    for i in range(n):
        day = datetime(2018, 9, 7) + timedelta(days=i)
        out = "" if i == 3 else f"{day + timedelta(hours=38):%d.%m.%Y %H:%M}"
        lines.append(f"{i};BAR;Plass{i % 5};Private;{day + timedelta(hours=17):%d.%m.%Y %H:%M};{out};6,84")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_fetch_prepares_every_source_from_local_files_in_the_benchmarks_format(tmp_path: Path) -> None:
    from backtest.data import load_grid, load_sessions

    sources = [f"{ba}={ruggles_file(tmp_path / f'{ba}.csv', datetime(2016, 12, 31, 12), 24 * 10)}"
               for ba in fetch_data.GRIDS]
    sources += [f"acn={acn_file(tmp_path / 'acn.json', 120)}", f"norway={norway_file(tmp_path / 'no.csv', 120)}"]
    out = tmp_path / "data"
    assert fetch_data.main(["--out", str(out), *sum([["--source", s] for s in sources], [])]) == 0
    grid = (out / "grid" / "PJM.csv").read_text().splitlines()
    assert grid[0] == "interval_start_utc,load_mw,load_forecast_mw"
    assert grid[1] == "2017-01-01T00:00:00Z,80012,90012", "the hour ending 01:00 starts at 00:00; 2016 is cut"
    assert len(load_grid(str(out / "grid" / "PJM.csv")).load) == 24 * 10 - 12
    acn = (out / "sessions" / "acn_caltech.csv").read_text().splitlines()
    assert acn[0] == ",".join(fetch_data.SESSION_COLUMNS)
    assert acn[1] == "s0,CA-305,2019-05-01 08:18:45-07:00,2019-05-01 16:18:45-07:00,2019-05-01 14:18:45-07:00,20,12.5"
    assert acn[2].endswith(",,,12.5"), "a session with no driver input has empty estimates"
    sessions, _ = load_sessions(str(out / "sessions" / "home_norway.csv"), ZoneInfo("Europe/Oslo"))
    assert len(sessions) == 119, "the session with no plug-out is dropped"
    first = (out / "sessions" / "home_norway.csv").read_text().splitlines()[1]
    assert first == "BAR_0,BAR_Plass0,2018-09-07T17:00:00+02:00,2018-09-08T14:00:00+02:00,,,6.84"


def test_fetch_writes_nothing_when_any_input_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "data"
    (out / "grid").mkdir(parents=True)
    (out / "grid" / "PJM.csv").write_text("the good old file\n")
    broken = tmp_path / "ERCO.csv"
    broken.write_text("date_time,demand\n2019-01-01 01:00:00,5\n")
    sources = ["--source", f"PJM={ruggles_file(tmp_path / 'PJM-new.csv', datetime(2018, 1, 1), 24 * 10)}",
               "--source", f"ERCO={broken}",
               "--source", f"CISO={ruggles_file(tmp_path / 'CISO.csv', datetime(2018, 1, 1), 24 * 10, 24 * 5)}",
               "--source", f"NYIS={ruggles_file(tmp_path / 'NYIS.csv', datetime(2018, 1, 1), 20)}",
               "--source", f"acn={acn_file(tmp_path / 'a.json', 5)}", "--source", f"norway={tmp_path / 'none.csv'}"]
    assert fetch_data.main(["--out", str(out), *sources]) == 1
    err = capsys.readouterr().err
    assert "nothing written" in err
    assert "missing columns cleaned demand (MW), forecast demand (MW)" in err
    assert "hours have no forecast" in err and "only 20 hours" in err and "only 5 sessions" in err
    assert "none.csv: No such file" in err
    assert (out / "grid" / "PJM.csv").read_text() == "the good old file\n", "a good input was written anyway"
    assert sorted(p.name for p in (out / "grid").iterdir()) == ["PJM.csv"]


def test_fetch_without_a_local_copy_of_the_sessions_says_where_to_get_them(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch_data.main(["--out", str(tmp_path), "--only", "acn", "--only", "norway"]) == 1
    err = capsys.readouterr().err
    assert "ev.caltech.edu" in err and "--source acn=FILE" in err and "--source norway=FILE" in err
    assert not any(tmp_path.iterdir())
