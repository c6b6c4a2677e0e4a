"""How much the battery holds, learned from the car's own charges: the kWh it counted in against the SoC it gained.

Why: BATTERY_KWH is a guess (a Model 3 RWD holds ~57 kWh, a Model S ~95, and a pack loses some with age). The planner
turns SoC into kWh and kWh into hours with it: too small a guess and it leaves too little time to reach the limit.
Pure: the charges come in as values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

OUTLIER = 0.25  # a charge this far off the median counted from a stale or reset counter
PLAUSIBLE_KWH = (10.0, 250.0)  # BATTERY_KWH's own range: outside it, the car's counter was stale or reset mid-charge


@dataclass(frozen=True)
class Charge:
    """One plug-in at home: the car gained `soc_gained` % while counting `kwh_added` into the battery."""

    soc_gained: float
    kwh_added: float


@dataclass(frozen=True)
class LearnedCapacity:
    kwh: float | None  # None: not enough charges yet; keep the setting
    charges: int
    reason: str


def learn_capacity(charges: Sequence[Charge], setting_kwh: float, *, min_soc_gained: float = 10.0,
                   min_charges: int = 3, last: int = 20) -> LearnedCapacity:
    """kWh per 100 % over the last `last` charges that gained at least `min_soc_gained` %: their kWh over their SoC
    gained, once those more than `OUTLIER` off the median are left out.

    A small gain is left out (the SoC's whole-percent steps would swamp it); the median finds a charge whose counter
    was stale from the plug-in before; summing the rest averages the whole-percent steps away."""
    lo, hi = PLAUSIBLE_KWH
    kept = [c for c in charges if c.soc_gained >= min_soc_gained and c.kwh_added > 0 and lo <= _rate(c) <= hi][-last:]
    if len(kept) < min_charges:
        return LearnedCapacity(None, len(kept),
                               f"battery {setting_kwh:.0f} kWh from the settings (learned once {min_charges} charges "
                               f"at home have each added {min_soc_gained:.0f} % or more; {len(kept)} so far)")
    ordered = sorted(_rate(c) for c in kept)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    used = [c for c in kept if abs(_rate(c) / median - 1) <= OUTLIER]
    kwh = sum(c.kwh_added for c in used) / sum(c.soc_gained for c in used) * 100
    return LearnedCapacity(round(kwh, 1), len(used),
                           f"battery {kwh:.0f} kWh learned from the car's last {len(used)} charges at home (the "
                           f"setting says {setting_kwh:.0f})")


def _rate(c: Charge) -> float:
    return c.kwh_added / c.soc_gained * 100
