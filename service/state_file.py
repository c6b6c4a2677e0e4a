"""The state dir: state.json replaced atomically, small JSON side files, and one scheduler per dir.

Why atomic: the dashboard reads state.json at any moment; a temp file in the same folder renamed over the old one
means a reader sees either the old whole file or the new whole file, never half of one. A file that cannot be read
at start is moved aside (never deleted) so the owner can look at it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

from clients.private_files import write_json_atomic  # noqa: F401 - re-exported for the service
from service.state_schema import SCHEMA_VERSION  # noqa: F401 - the one version (v2: several cars), re-exported

log = logging.getLogger(__name__)

HISTORY_DAYS = 7


DEMO_MARKER = "DEMO"  # written by --demo into its state folder; a live run refuses a folder that has it
DEMO_FILES = (DEMO_MARKER, "demo_car.json")  # demo_car.json: a demo run from before the marker


class StateDirLocked(RuntimeError):
    """Another scheduler already runs on this state dir."""


def ensure_private_dir(path: Path) -> Path:
    """The state dir, 0700, its files readable by the owner only: a token copied in from another machine (or left by
    an older version) is often 0644."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    for child in path.iterdir():
        try:
            mode = child.lstat().st_mode
            if stat.S_ISREG(mode) and mode & 0o077:
                os.chmod(child, stat.S_IMODE(mode) & 0o700)
                log.warning("%s was readable by others; made it private (0600)", child.name)
        except OSError:
            continue
    return path


def unusable_state_dir(path: Path) -> str | None:
    """Why `path` cannot be the state dir (a file, no permission, a read-only disk), in one line; None if it can.
    Creates it, 0700, as ensure_private_dir does."""
    try:
        ensure_private_dir(path)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            why = "it is a file, not a folder" if path.is_file() else f"a part of the path is a file ({why})"
        return f"the state folder {path} cannot be used: {why}; set STATE_DIR (or --state-dir) to a folder " \
               "this user can write"
    return None


def _state_mode(path: Path) -> str | None:
    try:
        data = json.loads((path / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return data.get("mode") if isinstance(data, dict) else None


def holds_demo_state(path: Path) -> bool:
    """The demo wrote here: its marker, its simulated car, or a state.json in demo mode."""
    return any((path / name).exists() for name in DEMO_FILES) or _state_mode(path) == "demo"


def holds_live_state(path: Path) -> bool:
    """A live scheduler wrote here (a state.json not in demo mode) and the demo never did."""
    return not holds_demo_state(path) and _state_mode(path) not in (None, "demo")


def mark_demo_dir(path: Path) -> None:
    """Say in the folder itself that it is the demo's, so a live run never inherits it."""
    marker = path / DEMO_MARKER
    if not marker.exists():
        marker.write_text("This folder holds the state of `python scheduler.py --demo`: a simulated car and its "
                          "history.\nA live scheduler refuses it; delete the folder to start afresh.\n")
        os.chmod(marker, 0o600)


def read_json_or_move_aside(path: Path, now: datetime) -> Any | None:
    """The file's JSON, or None when it is missing; a corrupt file is renamed `*.corrupt-<time>` and None returned."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        move_aside(path, now, f"could not be read ({exc})")
        return None


def move_aside(path: Path, now: datetime, why: str) -> str:
    """Rename a file that cannot be used to `*.corrupt-<time>` (kept for a look, never read again); its new name."""
    aside = path.with_name(f"{path.name}.corrupt-{now.strftime('%Y%m%dT%H%M%S')}")
    os.replace(path, aside)
    log.warning("%s %s; moved it to %s and started afresh", path.name, why, aside.name)
    return aside.name


class StateDirLock:
    """An flock on STATE_DIR/scheduler.lock: the kernel drops it when the process dies, so a crash never leaves it."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / "scheduler.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateDirLocked(f"another scheduler is already running on {self.path.parent} "
                                 "(stop it, or use another --state-dir)") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def trim_history(history: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Keep the last HISTORY_DAYS days of ticks."""
    cutoff = now.timestamp() - HISTORY_DAYS * 86400
    kept = []
    for row in history:
        try:
            if datetime.fromisoformat(row["at"]).timestamp() >= cutoff:
                kept.append(row)
        except (KeyError, TypeError, ValueError):
            continue
    return kept
