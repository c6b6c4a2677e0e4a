"""The small JSON files the scheduler keeps (tokens, caches, counters): written whole or not at all, readable by the
owner only, and read back as None when missing or broken. The one place for it: clients, the service and the
state file all use these."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any, mode: int = 0o600) -> None:
    """One line of JSON, written whole or not at all: the C encoder only serves unindented output, and state.json
    with a week of history is written every tick (5x faster)."""
    write_text_atomic(path, json.dumps(data, default=_default), mode)


def write_text_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write to a temp file beside `path` (created 0600), fsync, then rename over it: a reader sees the old file or
    the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, data: Any) -> None:
    """write_json_atomic into `path`'s folder, made if missing (caches hold event places and tokens, and a counter
    must not reset on a torn write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, data)


def read_json(path: str | Path) -> Any:
    """The file's JSON, or None when it is missing or unreadable (a broken cache is just a cold cache)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
