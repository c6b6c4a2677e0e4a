"""How the daemon's clients meet the world: the real clock, sleeps and timeouts, or a simulation's.

Why one value: the soak must run the daemon exactly as scripts/scheduler.py builds it (the same factories, backoffs
and budgets), only faster; it hands its clock, a sleep that records instead of waiting, and short timeouts here, and
the factories pass them on. The daemon passes the defaults (None: each client's own).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ClientIO:
    clock: Callable[[], datetime] | None = None
    sleep: Callable[[float], None] | None = None
    timeout_s: float | None = None  # every client's read timeout

    def vehicle_kw(self, backend: str) -> dict[str, Any]:
        """The car backend's keyword arguments (the Fleet client takes a (connect, read) pair)."""
        kw: dict[str, Any] = {}
        if self.clock is not None:
            kw["clock"] = self.clock
        if self.sleep is not None and backend != "sim":
            kw["sleep"] = self.sleep
        if self.timeout_s is not None and backend != "sim":
            kw["timeout"] = (1.0, self.timeout_s) if backend == "fleet" else self.timeout_s
        return kw

    def timeout(self, default: float) -> float:
        return default if self.timeout_s is None else self.timeout_s

    def sleeper(self) -> Callable[[float], None]:
        return self.sleep or time.sleep
