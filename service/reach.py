"""What the polled series (grid load, prices, CO₂) share: whether a series reaches far enough ahead to plan on, and
whether it is due to be fetched again. One rule for every source, so they all go stale and come back alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from service.backoff import Backoff


def too_short(now: datetime, starts: Iterable[datetime], min_ahead: timedelta, name: str, why: str = "") -> str | None:
    """Why hourly points starting at `starts` are not used (they end before now + min_ahead: the planner would shift
    charging into hours it cannot see), or None when they reach far enough. `why`: what usually causes it."""
    ends = max((t + timedelta(hours=1) for t in starts), default=None)
    if ends is not None and ends >= now + min_ahead:
        return None
    until = f"ends at {ends.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if ends else "has no hour from now on"
    return f"{name} {until}, less than {min_ahead.total_seconds() / 3600:g} h ahead{why}; not used until it reaches " \
           "further"


def due(now: datetime, backoff: Backoff, fetched_at: datetime | None,
        interval: Callable[[datetime], timedelta]) -> bool:
    """Fetch again: the backoff allows it and the pace set when it was last fetched has passed (or the clock went
    back)."""
    if not backoff.ready(now):
        return False
    if fetched_at is None or now < fetched_at:
        return True
    return now - fetched_at >= interval(fetched_at)
