"""The household model's fast nearest-session search picks exactly what a full partition of each row picks.

`charge_logic.household._nearest_first` replaced `np.argpartition` + a stable argsort over every row (the planner's
choice depends on which past sessions are "nearest" and in what order, ties included), so it is checked against that
reference on rows with and without ties, NaNs and infinities, and on a model queried as the planner queries it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from charge_logic import household
from charge_logic.household import HouseholdModel, PastSession, _nearest_first
from charge_logic.household_planner import READINGS


def reference(dist: np.ndarray, k: int) -> np.ndarray:
    """What the model did before: np.argpartition on the whole rows, then a stable sort of the k picked."""
    m = dist.shape[1]
    idx = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < m else np.tile(np.arange(m), (len(dist), 1))
    return np.take_along_axis(idx, np.argsort(np.take_along_axis(dist, idx, axis=1), axis=1, kind="stable"), axis=1)


def rows(seed: int, m: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dist = rng.random((32, m)) * 6.0
    if kind == "minutes":  # distances on a coarse grid: many exact ties, as plug-ins logged to the minute give
        dist = np.round(dist * 60.0) / 60.0
    elif kind == "nan":
        dist[rng.random(dist.shape) < 0.3] = np.nan
    elif kind == "inf":
        dist[:, : m // 2] = np.inf
    elif kind == "sorted":  # a row already in order, and one in reverse: a sample of either is lopsided
        dist[0], dist[1] = np.arange(m, dtype=float), np.arange(m, 0, -1, dtype=float)
    elif kind == "zeros":
        dist[:, ::3] = 0.0
        dist[:, 1::7] = -0.0
    return dist


@pytest.mark.parametrize("kind", ["random", "minutes", "nan", "inf", "sorted", "zeros"])
@pytest.mark.parametrize("m,k", [(4300, 120), (1200, 120), (500, 120), (120, 120), (60, 120), (4000, 1), (9000, 60)])
def test_same_sessions_in_the_same_order_as_a_full_partition(kind: str, m: int, k: int) -> None:
    for seed in range(3):
        dist = rows(seed, m, kind)
        kk = min(k, m)
        assert np.array_equal(_nearest_first(dist, kk), reference(dist, kk)), (kind, m, k, seed)


def test_the_model_answers_as_with_a_full_partition(monkeypatch: pytest.MonkeyPatch) -> None:
    zone = ZoneInfo("Europe/Oslo")
    rng = np.random.default_rng(7)
    model = HouseholdModel(other_station=10.0, other_weekday=0.0, per_year=0.5)
    start = datetime(2023, 1, 1, tzinfo=zone)
    for i in range(6000):  # plug-ins on whole quarter hours at 40 stations: equal distances abound
        arrival = start + timedelta(hours=6 * i // 5, minutes=15 * int(rng.integers(0, 4)))
        stay = timedelta(minutes=15 * int(rng.integers(1, 60)))
        model.add(PastSession(f"s{i % 40}", arrival, arrival + stay, float(rng.integers(1, 40))),
                  arrival + timedelta(hours=int(rng.integers(1, 12))), float(rng.integers(5, 30)))
    queries = [(f"s{j}", start + timedelta(days=301, hours=j, minutes=15 * (j % 4)), est, req)
               for j in range(0, 40, 7) for est, req in ((4.0, 10.0), (None, None))]
    fast = [model.nearest_readings(st, at, list(READINGS), estimated_stay_h=est, requested_energy_kwh=req, k=120)
            for st, at, est, req in queries]
    monkeypatch.setattr(household, "_nearest_first", reference)
    for (st, at, est, req), got in zip(queries, fast, strict=True):
        want = model.nearest_readings(st, at, list(READINGS), estimated_stay_h=est, requested_energy_kwh=req, k=120)
        assert len(got) == len(want) == len(READINGS)
        for (stay, energy), (stay0, energy0) in zip(got, want, strict=True):
            assert len(stay) == 120
            assert stay.tobytes() == stay0.tobytes() and energy.tobytes() == energy0.tobytes(), (st, at)
