"""The state dir: readers never see half a file, a corrupt file is kept aside, one scheduler per dir."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.state_file import (
    StateDirLock,
    StateDirLocked,
    ensure_private_dir,
    read_json_or_move_aside,
    trim_history,
    write_json_atomic,
)

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def test_atomic_write_replaces_the_whole_file_privately(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomic(path, {"a": 1, "at": NOW})
    write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp files left behind


def test_a_value_that_is_not_json_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json_atomic(path, {"good": True})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"good": True}
    assert len(list(tmp_path.iterdir())) == 1


def test_a_corrupt_file_is_moved_aside_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"half": ')
    assert read_json_or_move_aside(path, NOW) is None
    aside = tmp_path / "state.json.corrupt-20261127T180000"
    assert aside.read_text() == '{"half": ' and not path.exists()


def test_one_scheduler_per_state_dir_and_a_dead_one_leaves_no_stale_lock(tmp_path: Path) -> None:
    with StateDirLock(tmp_path), pytest.raises(StateDirLocked, match="another scheduler is already running"):
        StateDirLock(tmp_path).acquire()
    # a process that takes the lock and dies without releasing it
    code = f"from service.state_file import StateDirLock; StateDirLock(__import__('pathlib').Path({str(tmp_path)!r}))" \
           ".acquire(); import os; os._exit(1)"
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], check=False, timeout=30)
    with StateDirLock(tmp_path):
        pass


def test_history_keeps_seven_days() -> None:
    rows = [{"at": "2026-11-19T18:00:00+00:00"}, {"at": "2026-11-21T18:00:00+00:00"}, {"nonsense": 1}]
    assert trim_history(rows, NOW) == [{"at": "2026-11-21T18:00:00+00:00"}]


def test_the_state_dir_and_a_token_copied_into_it_are_made_private(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    token = state / "token.json"
    token.write_text("{}")
    token.chmod(0o644)
    ensure_private_dir(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700 and stat.S_IMODE(token.stat().st_mode) == 0o600
