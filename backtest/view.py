"""What a policy may see at one moment of a session (BENCHMARK.md), and nothing else.

The view is built from allowed values only: it holds no reference to the session record, the grid's actual loads
ahead, or any session that has not yet ended. The history it exposes is a window on a list the replay appends to
only when a session really ends, capped at the length it had when the view was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from charge_logic.household import PastSession

FORECAST_HOURS = 36
RECENT_LOAD_HOURS = 168


class History(Sequence):
    """The sessions (of any station) that ended before now, oldest departure first."""

    __slots__ = ("_items", "_n")

    def __init__(self, items: list[PastSession], n: int) -> None:
        self._items = items
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._items[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("history index out of range")
        return self._items[i]


@dataclass(frozen=True, slots=True)
class SessionView:
    """A policy's whole knowledge at `now` (UTC epoch seconds; `zone` gives local time)."""

    now: float
    zone: ZoneInfo
    arrival: float
    station_id: str
    estimated_departure: float | None  # the driver's estimate, None at home
    requested_energy_kwh: float | None  # the driver's estimate, None at home
    delivered_kwh: float
    full: bool  # the car stopped accepting energy
    forecast_start: float  # start of the first hour whose forecast is given: the first hour starting at or after now
    forecast: tuple[float | None, ...]  # load_forecast_mw for hours starting in [now, now + 36 h)
    recent_load_end: float  # actual load_mw of the hours ending at or before this time
    recent_load: tuple[float | None, ...]  # the last week of actual load, oldest first
    history: History
    # $/kWh for the hours from forecast_start, as far as the price is known ahead (a tariff further than the load
    # forecast, a published price as far); empty without a tariff or price
    price: tuple[float | None, ...] = ()

    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.zone)
