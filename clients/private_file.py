"""Writing a private file (a token, a cache with event places) so it is never readable by others, even briefly."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: str | Path, text: str, *, durable: bool = True) -> None:
    """Atomically replace `path` with `text`, mode 0600 from the first byte (a token never sits world-readable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:  # tokens: yes; caches that are rebuilt by the next fetch: not worth an fsync each
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
