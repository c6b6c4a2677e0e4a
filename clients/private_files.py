"""Writing the files a client keeps (tokens, caches): whole or not at all, and readable by the owner only."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any, mode: int = 0o600) -> None:
    """Write to a temp file beside `path` (created 0600), fsync, then rename over it. One line of JSON: the C encoder
    only serves unindented output, and state.json with a week of history is written every tick (5x faster)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, default=_default))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
