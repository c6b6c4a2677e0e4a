"""The hindsight diagnostic (scripts/hindsight_bound.py) must see the future but never the session it plans, or its
bound would be the truth itself."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from charge_logic.household import PastSession

OSLO = ZoneInfo("Europe/Oslo")


def load_script():
    path = Path(__file__).resolve().parent.parent / "scripts" / "hindsight_bound.py"
    spec = importlib.util.spec_from_file_location("hindsight_bound", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evenings(stays):
    return [PastSession("home", datetime(2020, 1, 1 + i, 17, tzinfo=OSLO),
                        datetime(2020, 1, 1 + i, 17, tzinfo=OSLO) + timedelta(hours=h), 10.0)
            for i, h in enumerate(stays)]


def test_hindsight_sees_later_evenings_but_never_the_one_it_plans():
    stays = [1.0 + i / 10 for i in range(20)]  # each evening's stay is its fingerprint
    sessions = evenings(stays)
    model = load_script().HindsightModel(sessions)
    for planned in (0, 7, 19):
        found, _ = model.nearest_readings("home", sessions[planned].arrival, [{}], k=50, min_sessions=1)[0]
        assert sorted(found.round(6)) == sorted(round(s, 6) for j, s in enumerate(stays) if j != planned)


def test_hindsight_knows_everything_from_the_start():
    sessions = evenings([12.0] * 12)
    model = load_script().HindsightModel(sessions[:10])
    model.add(sessions[11])  # the replay feeds ended sessions: already known, nothing changes
    assert len(model) == 10
