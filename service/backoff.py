"""When a failing source may be asked again: exponential backoff from the tick interval, with jitter, honouring a
server's Retry-After.

Why: a source that is down (or rate limiting) gains nothing from being asked every tick, and a paid or budgeted API
loses requests to it. The first retry waits about one tick, then 2, 4, 8 ... ticks up to a cap of a few hours; ±20 %
jitter (from an injected random.Random, so tests are deterministic) keeps many daemons from retrying in step. A
Retry-After from the server is a floor. No clock is read here: the time always comes in as `now`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from charge_logic.localtime import clock_text

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
        return when

    def succeeded(self) -> None:
        self.failures, self.retry_at = 0, None
