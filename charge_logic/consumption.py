"""How much this car uses per km, learned from its own drives: the battery it used between one plug-in and the next,
over the km the odometer counted.

Why: the setting is a guess (a Model 3 in summer uses 140 Wh/km, a Model X in a Norwegian winter 300); a trip's
charge limit is only as good as it. Pure: the drives come in as values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PLAUSIBLE_WH_PER_KM = (60.0, 500.0)  # outside this a "drive" hid a charge elsewhere, or a misread odometer
LOW_OUTLIER = 0.7  # a drive this far under the car's typical use hid a charge on the way


@dataclass(frozen=True)
class Drive:
    """Between two readings with no charging at home in between: `km` on the odometer, `soc_used` % of the battery."""

    km: float
    soc_used: float


@dataclass(frozen=True)
class LearnedConsumption:
    wh_per_km: float | None  # None: not enough drives yet; keep the setting
    drives: int
    km: float
    reason: str


def learn_consumption(drives: Sequence[Drive], battery_kwh: float, setting_wh_per_km: float, *,
                      min_km: float = 100.0, min_drive_km: float = 5.0, last: int = 30) -> LearnedConsumption:
    """Energy over distance of the last `last` plausible drives, once they add up to `min_km`.

    A drive on which the car charged away from home shows too little use per km and is left out, as is a short hop
    (the SoC's whole-percent steps would swamp it)."""
    lo, hi = PLAUSIBLE_WH_PER_KM

    def rate(d: Drive) -> float:
        return d.soc_used / 100 * battery_kwh * 1000 / d.km

    kept = [d for d in drives if d.km >= min_drive_km and d.soc_used > 0 and lo <= rate(d) <= hi][-last:]
    if kept:  # a partial charge on the way looks like a frugal drive: under-costing a trip leaves the driver short
        typical = sorted(rate(d) for d in kept)[(len(kept) - 1) // 2]
        kept = [d for d in kept if rate(d) >= LOW_OUTLIER * typical]
    km = sum(d.km for d in kept)
    if km < min_km or battery_kwh <= 0:
        return LearnedConsumption(None, len(kept), km,
                                  f"consumption {setting_wh_per_km:.0f} Wh/km from the settings (learned once the "
                                  f"car's own drives add up to {min_km:.0f} km; {km:.0f} km so far)")
    wh = sum(d.soc_used for d in kept) / 100 * battery_kwh * 1000 / km
    return LearnedConsumption(round(wh, 1), len(kept), km,
                              f"consumption {wh:.0f} Wh/km learned from the car's last {len(kept)} drives "
                              f"({km:.0f} km; the setting says {setting_wh_per_km:.0f})")
