"""When a failing source may be asked again: exponential backoff from the tick interval, with jitter, honouring a
server's Retry-After.

Why: a source that is down (or rate limiting) gains nothing from being asked every tick, and a paid or budgeted API
loses requests to it. The first retry waits about one tick, then 2, 4, 8 ... ticks up to a cap of a few hours; ±20 %
jitter (from an injected random.Random, so tests are deterministic) keeps many daemons from retrying in step. A
Retry-After from the server is a floor. No clock is read here: the time always comes in as `now`. A wait the server
asked for (Retry-After) is `keep`-t in STATE_DIR/backoff.json, so a daemon restarted, or crash-looping in docker, does
not ask again at once: Tesla bills a rate-limited call all the same. The waits chosen here are not kept: an owner who
fixed a key and restarted wants it tried at once (a spent monthly budget is kept by the budget's own file).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from charge_logic.localtime import clock_text
from clients.private_files import read_json, write_json

MAX_DELAY = timedelta(hours=4)
MAX_RETRY_AFTER = timedelta(days=1)  # a server asking for longer is believed only this far
JITTER = 0.2


def retry_after_of(exc: BaseException) -> float | None:
    """The server's Retry-After in seconds, when the client's typed error carries one (`retry_after_s`)."""
    value = getattr(exc, "retry_after_s", None)
    return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def retry_text(at: datetime, now: datetime, zone: tzinfo) -> str:
    """'at 14:28', 'at tomorrow 02:10' or, a month's budget away, 'on Sun 01 Nov 20:00' (home time)."""
    if at - now > timedelta(days=6):
        return f"on {at.astimezone(zone):%a %d %b %H:%M}"
    return f"at {clock_text(at, now, zone)}"  # type: ignore[arg-type]


@dataclass
class Backoff:
    """One source's retry clock. `failed()` after each failure, `succeeded()` after a success."""

    base: timedelta = timedelta(minutes=14)
    cap: timedelta = MAX_DELAY
    rng: random.Random = field(default_factory=random.Random)
    jitter: float = JITTER
    failures: int = 0
    retry_at: datetime | None = None
    kept_in: tuple[Path, str] | None = None  # (file, source) this clock is saved under

    def keep(self, path: str | Path, source: str) -> Backoff:
        """Save the server's waits in `path` under `source` from now on, picking up what a run before saved there."""
        self.kept_in = (Path(path), source)
        saved = read_json(path)
        mine = saved.get(source) if isinstance(saved, dict) else None
        if isinstance(mine, dict):
            try:
                at = datetime.fromisoformat(mine["retry_at"]) if mine.get("retry_at") else None
                if at is not None and at.tzinfo is None:
                    raise ValueError("retry_at without a zone")
                self.failures, self.retry_at = max(0, int(mine.get("failures", 0))), at
            except (KeyError, TypeError, ValueError):
                pass  # a clock that cannot be read is a fresh clock
        return self

    def _save(self, imposed: bool) -> None:
        if self.kept_in is None:
            return
        path, source = self.kept_in
        saved = read_json(path)
        saved = saved if isinstance(saved, dict) else {}
        if imposed and self.retry_at is not None:
            saved[source] = {"failures": self.failures, "retry_at": self.retry_at.isoformat()}
        elif source in saved:
            del saved[source]
        else:
            return
        write_json(path, saved)

    def ready(self, now: datetime) -> bool:
        return self.retry_at is None or now >= self.retry_at

    def delay(self) -> timedelta:
        """The wait after the current run of failures (without Retry-After), jitter included."""
        if self.failures <= 0:
            return timedelta(0)
        raw = min(self.cap, self.base * 2 ** min(self.failures - 1, 30))
        return raw * (1 + self.rng.uniform(-self.jitter, self.jitter))

    def failed(self, now: datetime, *, retry_after_s: float | None = None,
               at_least: datetime | None = None) -> datetime:
        """Count a failure; the next try is after the backoff delay, the server's Retry-After and `at_least`
        (a source's own rule, e.g. the month's end for a spent quota), whichever is latest."""
        self.failures += 1
        when = now + self.delay()
        if retry_after_s is not None:
            when = max(when, now + min(timedelta(seconds=retry_after_s), MAX_RETRY_AFTER))
        if at_least is not None:
            when = max(when, at_least)
        self.retry_at = when
        self._save(imposed=retry_after_s is not None)
        return when

    def succeeded(self) -> None:
        if self.failures or self.retry_at is not None:  # most successes follow a success: nothing to write
            self.failures, self.retry_at = 0, None
            self._save(imposed=False)
