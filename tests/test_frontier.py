"""`python -m backtest.frontier`: the owner's SHORT_RISK_PCT dial as a table, from the replays' own JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtest import frontier
from backtest.frontier import Run
from backtest.report import GRIDS, TARIFFS
from charge_logic.config import RuleConfig


def _write(out: Path, run: Run, capture: float, ready: float, cost_capture: float | None = None) -> None:
    planner = {"capture": capture, "ready_rate": ready, "commands_per_session": 1.07}
    if cost_capture is not None:
        planner["cost_capture"] = cost_capture
    (out / run.name).write_text(json.dumps({"sessions": 10, "policies": {"planner": planner}}))


def test_each_setting_is_a_row_with_every_grid_its_mean_and_its_lowest_ready(tmp_path: Path) -> None:
    default = RuleConfig.short_risk_pct
    for i, grid in enumerate(GRIDS):
        _write(tmp_path, Run("home_norway", grid, default), 0.10 + 0.02 * i, 0.993 - 0.001 * i)
        _write(tmp_path, Run("home_norway", grid, 1.5), 0.30, 0.985 if grid == "ERCO" else 0.991)
    text = frontier.report(tmp_path, (default, 1.5))
    home = text.split("## Norwegian homes")[1].split("##")[0]
    rows = [line for line in home.splitlines() if line.startswith("| ") and "SHORT_RISK_PCT" not in line]
    assert len(rows) == 2
    assert rows[0].startswith(f"| **{default:g}** (default) |")
    assert "0.100 / 0.9930" in rows[0] and "0.160 / 0.9900" in rows[0]
    assert "| 0.130 | 0.9900 |" in rows[0]  # mean of 0.10, 0.12, 0.14, 0.16; lowest ready
    assert rows[1].endswith("| 0.300 | 0.9850 (below 0.99) |")  # a setting that leaves too many short says so


def test_a_missing_replay_is_a_dash_and_a_file_with_none_has_no_rows(tmp_path: Path) -> None:
    _write(tmp_path, Run("acn_caltech", "PJM", 1.0), 0.35, 0.992)
    text = frontier.report(tmp_path, (1.0,))
    caltech = text.split("## Caltech")[1].split("##")[0]
    assert "| 1 | 0.350 / 0.9920 | – | – | – | 0.350 | 0.9920 |" in caltech
    home = text.split("## Norwegian homes")[1].split("##")[0]
    assert "| 1 |" not in home


def test_the_money_row_at_home_gives_the_cost_capture(tmp_path: Path) -> None:
    rate, grid, _ = TARIFFS[0]
    _write(tmp_path, Run("home_norway", grid, 1.0, rate), 0.2, 0.9904, cost_capture=0.316)
    text = frontier.report(tmp_path, (1.0,))
    assert "| 1 | 0.316 | 0.9904 | 0.200 | 1.07 |" in text.split("## Money at home")[1]


def test_a_missing_data_folder_runs_nothing_and_writes_nothing(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "frontier.md"
    results.write_text("what was published\n")
    with pytest.raises(SystemExit) as stop:
        frontier.main([str(tmp_path / "no-data"), str(results)])
    assert stop.value.code == 2
    assert "no-data/grid/PJM.csv" in capsys.readouterr().err
    assert results.read_text() == "what was published\n"


def test_a_setting_the_daemon_refuses_is_refused_before_anything_runs(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        frontier.main([str(_data(tmp_path)), str(tmp_path / "f.md"), "--pct", "25"])
    assert "between 0.1 and 20" in capsys.readouterr().err
    assert not (tmp_path / "f.md").exists()


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for name in [f"grid/{g}.csv" for g in GRIDS] + ["sessions/acn_caltech.csv", "sessions/home_norway.csv"]:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("")
    return data


def test_the_doc_is_replaced_only_when_every_replay_succeeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The replays themselves are the backtest's (tests/test_backtest*.py); here one of them fails, then none."""
    results = tmp_path / "docs" / "frontier.md"
    results.parent.mkdir()
    results.write_text("what was published\n")
    runs = tmp_path / "runs"

    def replay(run: Run, data: Path, out: Path) -> tuple[Run, str]:
        if run.grid == "ERCO" and fail:
            return run, "error: grid file ERCO.csv: row 3 is not a number"
        _write(out, run, 0.2, 0.992, cost_capture=0.27)
        return run, ""

    monkeypatch.setattr(frontier, "_run", replay)
    fail = True
    assert frontier.main([str(_data(tmp_path)), str(results), "--pct", "0.8", "--runs", str(runs)]) == 1
    assert "ERCO.csv: row 3" in capsys.readouterr().err
    assert results.read_text() == "what was published\n"
    fail = False
    assert frontier.main([str(_data(tmp_path)), str(results), "--pct", "0.8", "--runs", str(runs)]) == 0
    assert "| **0.8** (default) | 0.200 / 0.9920 |" in results.read_text()
    assert results.stat().st_mode & 0o777 == 0o644  # a doc to publish, readable by all
    assert [p.name for p in results.parent.iterdir()] == ["frontier.md"]  # no temp file left beside it
