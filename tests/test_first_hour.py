"""A new owner's first hour (issue 20): the README's two opening commands, a demo that keeps to its own folder, and
one clear line, never a traceback, for what a newcomer gets wrong first."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTING_PREFIXES = ("TESLA_", "GRID", "GOOGLE_", "ICAL_", "CALENDAR_", "MAPS_", "STATE_DIR", "TIME_ZONE", "HOME_")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update(extra)
    return env


def scheduler(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120,
              **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=clean_env(**env),
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def one_clear_line(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}:\n{out}"
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 or (lines and lines[0].startswith("usage:")), f"not one line:\n{proc.stderr}"
    return lines[-1]


# ----------------------------------------------------------------------------- 1. the README's two commands
def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    first = re.search(r"^```bash\n(.*?)^```", text, re.S | re.M)
    assert first and text.index(first.group(0)) < text.index("\n## "), "the README must open with its commands"
    return [ln for ln in first.group(1).splitlines() if ln.strip()]


def test_the_readme_opens_with_two_commands_and_ci_runs_the_second() -> None:
    commands = readme_commands()
    assert len(commands) == 2, f"the README opens with {commands}, not two commands"
    demo, tests = commands
    assert "demo" in demo and "test" in tests
    for cmd in commands:
        assert not re.search(r"(^|[;&|])\s*(sudo\s+)?(python|pip3?)\s", cmd), (
            f"{cmd!r}: stock Debian has no `python` and refuses `pip install` outside a venv")
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith(("#", "set ",
                                                                                                   "cd "))]
    assert ci == [tests], f".ci/run runs {ci}, the README says {tests!r}: CI must run what the README says"


def _debian_like_path(tmp_path: Path) -> str:
    """A PATH as on stock Debian 12: python3 (3.11+) and git, but no `python`, and a `pip` that is refused."""
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / "python").write_text("#!/bin/sh\necho 'sh: 1: python: not found' >&2\nexit 127\n")
    (shims / "pip").write_text("#!/bin/sh\necho 'error: externally-managed-environment' >&2\nexit 1\n")
    for shim in ("python", "pip"):
        (shims / shim).chmod(0o755)
    (shims / "pip3").symlink_to(shims / "pip")
    system = shutil.which("python3", path="/usr/bin:/bin")
    ok = system and subprocess.run([system, "-c", "import sys, ensurepip; sys.exit(sys.version_info < (3, 11))"],
                                   capture_output=True).returncode == 0
    if not ok:  # no system Python 3.11 with venv here: the interpreter running the tests, outside its venv
        (shims / "python3").symlink_to(Path(sys._base_executable).resolve())  # type: ignore[attr-defined]
    return f"{shims}:/usr/bin:/bin"


@pytest.mark.fresh_clone
def test_the_readme_demo_command_works_in_a_fresh_clone_and_a_fresh_venv(tmp_path: Path) -> None:
    """The README's first command, pasted into a fresh `git clone` of this repository, with no `python` on PATH and
    `pip` refused: it makes .venv, installs requirements.txt into it and runs the demo tick.

    Fresh: the clone (committed files only), the venv (`python3 -m venv`, no --system-site-packages) and the install
    (pip resolves and installs every pinned package from the package index this machine is set up with). Not fresh:
    pip's download cache in $HOME may already hold the wheels (it saves the download, not the install), and the
    system's python3 and apt packages are the CI machine's. About 30 s."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists()
    env = clean_env(PATH=_debian_like_path(tmp_path))
    env.pop("VIRTUAL_ENV", None)
    env.pop("VENV", None)  # scripts/venv.sh's own choice of folder: the README's command makes .venv
    demo = readme_commands()[0]
    first = subprocess.run(["bash", "-c", demo], cwd=clone, env=env, capture_output=True, text=True, timeout=600,
                           stdin=subprocess.DEVNULL)
    assert first.returncode == 0, f"`{demo}` failed in a fresh clone:\n{first.stdout[-3000:]}{first.stderr[-3000:]}"
    assert "Traceback" not in first.stderr
    assert "creating the virtual environment .venv" in first.stderr
    assert (clone / ".venv" / "bin" / "python").is_file()
    cfg = (clone / ".venv" / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg, "the venv must not borrow the system's packages"
    state = json.loads((clone / "state" / "demo" / "state.json").read_text())
    assert state["mode"] == "demo" and all(car["decision"]["reasons"] for car in state["vehicles"])
    assert not (clone / "state" / "state.json").exists(), "the demo wrote into the live scheduler's folder"
    assert "| car " in first.stderr, "the demo printed no tick line"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout
    assert status == "", f"the demo left files git would commit (.gitignore misses them):\n{status}"

    again = subprocess.run(["bash", "-c", demo], cwd=clone, env=env, capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "installing" not in again.stderr and "creating" not in again.stderr, "the second run rebuilt the venv"


def test_test_sh_uses_the_venv_and_never_bare_python_or_pip() -> None:
    for script in ("scripts/test.sh", "scripts/demo.sh", "scripts/venv.sh"):
        code = [ln for ln in (ROOT / script).read_text().splitlines() if not ln.lstrip().startswith("#")]
        for ln in code:
            assert not re.search(r"(^|[;&|(])\s*(sudo\s+)?(python|pip3?)\s", ln), (
                f"{script}: {ln!r} needs `python`/`pip`")


# ------------------------------------------------------------------------------- 2. the demo's own folder
def test_the_demo_keeps_to_its_own_folder_and_a_live_run_refuses_it(tmp_path: Path) -> None:
    live = tmp_path / "state"
    demo = scheduler("--demo", "--once", cwd=tmp_path, STATE_DIR=str(live), TESLA_BACKEND="sim")
    assert demo.returncode == 0, demo.stderr
    assert (live / "demo" / "state.json").is_file() and not (live / "state.json").exists()
    assert not (live / "demo_car.json").exists() and not (live / "sessions.json").exists()

    refused = scheduler("--once", "--state-dir", str(live / "demo"), cwd=tmp_path, TESLA_BACKEND="sim")
    line = one_clear_line(refused)
    assert "holds the demo's state" in line and str(live / "demo") in line
    assert json.loads((live / "demo" / "state.json").read_text())["mode"] == "demo", "the refusal changed it"

    older = tmp_path / "old"  # a folder an older demo wrote into (no marker yet)
    older.mkdir()
    (older / "demo_car.json").write_text("{}")
    assert "holds the demo's state" in one_clear_line(scheduler("--once", "--state-dir", str(older), cwd=tmp_path,
                                                                TESLA_BACKEND="sim"))


def test_the_demo_refuses_a_live_folder(tmp_path: Path) -> None:
    live = tmp_path / "live"
    first = scheduler("--once", "--state-dir", str(live), cwd=tmp_path, TESLA_BACKEND="sim", CALENDAR_SOURCE="none")
    assert first.returncode == 0, first.stderr
    before = (live / "state.json").read_text()
    line = one_clear_line(scheduler("--demo", "--once", "--state-dir", str(live), cwd=tmp_path))
    assert "holds a live scheduler's state" in line
    assert (live / "state.json").read_text() == before and not (live / "demo_car.json").exists()


# ---------------------------------------------------------------------------------- 6. no traceback anywhere
def test_an_unusable_state_dir_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for where in (a_file, a_file / "below"):
        for argv in (["--once"], ["--demo", "--once"], ["events"]):
            line = one_clear_line(scheduler(*argv, cwd=tmp_path, STATE_DIR=str(where), TESLA_BACKEND="sim",
                                            CALENDAR_SOURCE="none"))
            assert "the state folder" in line and f"{where}" in line and "cannot be used" in line, line


def test_env_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    line = one_clear_line(scheduler("--env-file", "prod.env", "--once", cwd=tmp_path))
    assert line == "error: --env-file prod.env: no such file"
    assert "TESLA_ACCOUNT_EMAIL" not in line


@pytest.mark.parametrize("speed", ["0", "-3", "nan"])
def test_demo_speed_must_be_above_zero(tmp_path: Path, speed: str) -> None:
    line = one_clear_line(scheduler("--demo", "--once", "--demo-speed", speed, "--state-dir", str(tmp_path / "d"),
                                    cwd=tmp_path))
    assert "--demo-speed takes a number above 0" in line
    assert not (tmp_path / "d").exists()


def test_a_missing_ical_file_stops_start_up_naming_its_path(tmp_path: Path) -> None:
    path = tmp_path / "calendars" / "family.ics"
    for argv in (["--once"], ["events"]):
        line = one_clear_line(scheduler(*argv, "--state-dir", str(tmp_path / "s"), cwd=tmp_path, TESLA_BACKEND="sim",
                                        CALENDAR_SOURCE="ical", ICAL_URL=str(path)))
        assert f"ICAL_URL={path}: no such file" in line, line


def test_a_secret_ical_address_stays_redacted() -> None:
    from service.settings import load_settings

    address = "https://calendar.google.com/calendar/ical/x/private-abcdef123/basic.ics"
    assert address in load_settings({"ICAL_URL": address}, env_file=None).secrets()
    assert load_settings({"ICAL_URL": "/home/me/cal.ics"}, env_file=None).secrets() == []


def _wait_for(proc: subprocess.Popen, text: str, timeout: float = 60) -> str:
    import selectors

    seen = ""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=0.2):
            seen += os.read(proc.stdout.fileno(), 65536).decode("utf-8", "replace")
    assert text in seen, f"never printed {text!r}:\n{seen}"
    return seen


def test_ctrl_c_at_the_tesla_prompt_cancels_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py"), "auth", "tesla", "--state-dir",
                             str(tmp_path / "s")], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env=clean_env(TESLA_BACKEND="fleet", TESLA_CLIENT_ID="cid", TESLA_CLIENT_SECRET="sec"))
    try:
        _wait_for(proc, "Paste")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=20)
    finally:
        proc.kill()
    err = proc.stderr.read().decode()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert code == 130 and "sign-in cancelled; nothing was saved" in err
    assert not (tmp_path / "s" / "tesla_fleet_token.json").exists()


def test_teslapy_offline_says_it_cannot_reach_tesla(tmp_path: Path) -> None:
    """Nothing listens on the sign-in address: teslapy fails before it has an address to show."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = scheduler("auth", "tesla", "--state-dir", str(tmp_path / "s"), cwd=tmp_path, stdin="",
                     TESLA_BACKEND="teslapy", TESLA_ACCOUNT_EMAIL="owner@example.com",
                     TESLA_AUTH_URL=f"http://127.0.0.1:{port}")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out
    assert f"could not reach Tesla's sign-in at http://127.0.0.1:{port}" in out
    assert "paste the address" not in out and "Open this address" not in out


def test_backtest_reads_the_demos_own_grid_file(tmp_path: Path) -> None:
    proc = scheduler("backtest", "--grid", str(ROOT / "service" / "demo_data" / "pjm_week.csv"), "--scenario",
                     "calendar", "--tz", "America/New_York", "--quiet", "--policy", "seed", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "missing columns" not in proc.stderr and "| seed |" in proc.stdout


def test_grid_errors_still_name_the_files_line_after_comments(tmp_path: Path) -> None:
    from backtest.data import DataError, load_grid

    grid = tmp_path / "g.csv"
    grid.write_text("# source\ninterval_start_utc,load_mw,load_forecast_mw\n# note\n2019-01-01T00:00:00Z,1,2\n"
                    "2019-01-01T00:30:00Z,1,2\n")
    with pytest.raises(DataError, match=r"g\.csv:5: interval_start_utc"):
        load_grid(str(grid))


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(f"{sys.executable} {ROOT / 'scheduler.py'} --demo events --hours 300 | head -1",
                          shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=clean_env())
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


# ------------------------------------------------------------------------------------------------- 9. help
@pytest.mark.parametrize("argv, words", [
    (["auth", "--help"], ["tesla", "google", "never asks for a password"]),
    (["auth", "tesla", "--help"], ["TESLA_ACCOUNT_EMAIL", "TESLA_CLIENT_ID", "TESLA_REDIRECT_URI", "STATE_DIR"]),
    (["auth", "google", "--help"], ["GOOGLE_CREDENTIALS_FILE", "GOOGLE_OAUTH_PORT", "ICAL_URL"]),
    (["health", "--help"], ["FORECAST_STALE_HOURS", "--state-dir"]),
])
def test_help_says_what_each_command_does_and_uses(tmp_path: Path, argv: list[str], words: list[str]) -> None:
    proc = scheduler(*argv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    for word in words:
        assert word in text, f"`{' '.join(argv)}` does not mention {word}:\n{proc.stdout}"


def test_global_options_work_after_the_subcommand(tmp_path: Path) -> None:
    made = scheduler("--demo", "--once", "--state-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    for argv in (["health", "--state-dir", str(tmp_path / "d")], ["--state-dir", str(tmp_path / "d"), "health"],
                 ["health", "--demo", "--state-dir", str(tmp_path / "d")]):
        proc = scheduler(*argv, cwd=tmp_path)
        assert proc.returncode == 0 and proc.stdout.strip() == "healthy", (argv, proc.stdout, proc.stderr)
    ics = tmp_path / "one.ics"
    ics.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nBEGIN:VEVENT\nUID:1\nDTSTAMP:20260101T000000Z\n"
                   "DTSTART:20300101T090000Z\nDTEND:20300101T100000Z\nSUMMARY:Dentist\nEND:VEVENT\nEND:VCALENDAR\n")
    for argv in (["events", "--state-dir", str(tmp_path / "e"), "--env-file", str(tmp_path / "x.env")],):
        (tmp_path / "x.env").write_text(f"CALENDAR_SOURCE=ical\nICAL_URL={ics}\nTIME_ZONE=UTC\n")
        proc = scheduler(*argv, "--from", "2030-01-01T00:00", "--hours", "24", cwd=tmp_path)
        assert proc.returncode == 0 and "Dentist" in proc.stdout, proc.stderr
        assert (tmp_path / "e").is_dir(), "--state-dir after the subcommand was ignored"


def test_demo_events_lists_the_demos_calendar_and_auth_refuses_demo(tmp_path: Path) -> None:
    for argv in (["--demo", "events", "--hours", "200"], ["events", "--demo", "--hours", "200"]):
        proc = scheduler(*argv, "--state-dir", str(tmp_path / "d"), cwd=tmp_path, CALENDAR_SOURCE="none")
        assert proc.returncode == 0, proc.stderr
        assert "km," in proc.stdout and "no calendar configured" not in proc.stderr, proc.stdout
    line = one_clear_line(scheduler("--demo", "auth", "tesla", cwd=tmp_path))
    assert "--demo does not apply to auth" in line


# ------------------------------------------------------------------------------------------ 4. .gitignore
@pytest.mark.parametrize("path, ignored", [
    (".venv/bin/python", True), (".venv", True), ("config/fleet-key.pem", True), ("config/tls-cert.pem", True),
    ("tls.key", True),
    ("keys/private.pem", True), ("state/demo/state.json", True), (".env", True), (".env.local", True),
    ("credentials.json", True), ("state/token.json", True), (".env.example", False), ("scheduler.py", False),
    ("docs/benchmark.md", False),
])
def test_gitignore_keeps_keys_venv_and_state_out_of_commits(path: str, ignored: bool, tmp_path: Path) -> None:
    # The project's .gitignore alone, in an empty repository: git refuses to judge a path through a symlink (a
    # .venv linked from elsewhere), and a developer's own excludes must not make the test pass.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=tmp_path)
    assert (done.returncode == 0) is ignored, f"{path} should {'' if ignored else 'not '}be ignored by git"


# ------------------------------------------------------------------------- 8. reasons read as one sentence list
def test_the_tick_line_never_reads_full_stop_then_semicolon(tmp_path: Path) -> None:
    """A live tick with no grid key and no calendar: its notes are sentences, the line joins them with '; '."""
    proc = scheduler("--once", "-v", "--state-dir", str(tmp_path / "s"), cwd=tmp_path, TESLA_BACKEND="sim",
                     CALENDAR_SOURCE="none")
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stderr.splitlines() if "| car " in ln)
    assert "No calendar is configured" in line and ".;" not in line, line


def test_health_never_reads_full_stop_then_semicolon() -> None:
    from datetime import UTC, datetime, timedelta

    from cli.health import check

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    state = {"generated_at": now.isoformat(), "interval_min": 14, "health": {"sources": {
        "grid": {"data_age_min": None, "last_error": "GridStatus refused the key.",
                 "retry_at": (now + timedelta(hours=1)).isoformat()},
        "vehicle": {"data_age_min": 600.0, "last_error": "The car could not be read."}}}}
    reason = check(state, now, {"grid": 6, "vehicle": 4})
    assert reason and ".;" not in reason and "refused the key; next try" in reason, reason
