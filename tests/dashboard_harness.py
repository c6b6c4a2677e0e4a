"""Run the real dashboard in a subprocess and drive it with Debian's Chromium: shared by the browser tests and the
screenshot and timing scripts. Never downloads a browser; the demo state comes from the scheduler itself."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_state(state_dir: Path, timeout_s: float = 120) -> Path:
    """A real state file: one tick of `python scheduler.py --demo --once`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "scheduler.py", "--demo", "--once", "--state-dir", str(state_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    path = state_dir / "state.json"
    if proc.returncode != 0 or not path.is_file():
        raise RuntimeError(f"scheduler --demo failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return path


@contextlib.contextmanager
def run_app(state_dir: Path, refresh_s: float = 10.0, timeout_s: float = 30) -> Iterator[str]:
    """`python app.py` on a free port; yields its base URL once it answers."""
    port = free_port()
    # not a pipe: an unread pipe fills up and stalls the server
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([sys.executable, "app.py", "--state-dir", str(state_dir), "--host", "127.0.0.1",
                                 "--port", str(port), "--refresh-s", str(refresh_s)],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"app.py exited {proc.returncode}: {log.read()[-3000:]}")
                try:
                    with urllib.request.urlopen(url + "/_dash-layout", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("app.py did not answer in time") from None
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


GRAPH_DRAWN = ".signal-graph .main-svg .trace"  # a car's signal chart, drawn by Plotly
