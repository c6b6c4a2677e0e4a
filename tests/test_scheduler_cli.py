"""scheduler.py as an owner runs it: the demo, the state file, the loop and its clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE_KEYS = {"schema_version", "generated_at", "forecast", "signal", "circuit", "vehicles", "health"}
CAR_KEYS = {"id", "name", "vin", "vehicle", "events", "decision", "plan", "planner", "history", "departure", "ready",
            "waits_for", "savings", "tesla"}


def run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


def test_demo_once_writes_a_complete_state_file(tmp_path: Path) -> None:
    proc = run("--demo", "--once", "-v", "--state-dir", str(tmp_path / "s"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    state = json.loads((tmp_path / "s" / "state.json").read_text())
    assert set(state) >= STATE_KEYS and state["schema_version"] == 2
    assert [car["id"] for car in state["vehicles"]] == ["car1", "car2"]  # the demo's two cars
    for car in state["vehicles"]:
        assert set(car) >= CAR_KEYS
        assert car["vehicle"]["plugged_in"] is True
        assert any(e["distance_km"] for e in car["events"])
        assert car["decision"]["reasons"] and car["history"]
    assert state["vehicles"][0]["vehicle"]["vin"] == "…4321"
    assert len(state["forecast"]["points"]) >= 72
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o700
    # -v prints one readable line a tick: the car, the decision, the reasons
    lines = [ln for ln in proc.stderr.splitlines() if "| car " in ln]
    assert [ln.split(" INFO ")[1][:6] for ln in lines] == ["car1: ", "car2: "], lines  # one line a car
    assert all("plugged in" in ln for ln in lines)


def test_the_loop_rewrites_the_state_each_interval_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "s" / "state.json"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py"), "--demo", "-i", "0.02", "--state-dir",
                             str(tmp_path / "s")], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 40
        while len(seen) < 3 and time.monotonic() < deadline:
            if state.exists():
                seen.add(json.loads(state.read_text())["generated_at"])  # always whole JSON for a reader
            time.sleep(0.1)
        assert len(seen) >= 3, "the state file was not rewritten each interval"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 2.0
        assert set(json.loads(state.read_text())) >= STATE_KEYS
    finally:
        proc.kill()


def test_a_second_scheduler_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py"), "--demo", "-i", "5", "--state-dir",
                             str(tmp_path / "s")], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "s" / "state.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        second = run("--demo", "--once", "--state-dir", str(tmp_path / "s"), cwd=tmp_path)
        assert second.returncode == 2 and "another scheduler is already running" in second.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_help_lists_the_flags_the_readme_uses(tmp_path: Path) -> None:
    out = run("--help", cwd=tmp_path).stdout
    for flag in ("-v, --verbose", "-i MINUTES, --interval MINUTES", "--once", "--demo", "--state-dir DIR"):
        assert flag in out


def test_a_subcommand_that_cannot_be_imported_is_an_error_not_a_missing_command(monkeypatch) -> None:
    import argparse

    import pytest

    import cli

    monkeypatch.setattr(cli, "MODULES", (*cli.MODULES, "cli.no_such_subcommand"))
    with pytest.raises(ModuleNotFoundError, match="cli.no_such_subcommand"):
        cli.register_all(argparse.ArgumentParser().add_subparsers())
