"""The planner's learned state (charge_logic.household_planner.LearnedRisk) in STATE_DIR/planner.json.

Why a file of its own: the risk price takes weeks of plug-ins to learn and a restart must resume it; a file that
cannot be read is moved aside and the planner rebuilt from the session log (its price starts cautious again), and
nothing else in STATE_DIR is touched. Written atomically, private, and only when it changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from charge_logic.household_planner import LearnedRisk
from clients.private_files import write_json_atomic
from service.state_file import move_aside, read_json_or_move_aside

FILE = "planner.json"


class PlannerStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE
        self._saved: str | None = None

    def load(self, now: datetime) -> tuple[LearnedRisk | None, str | None]:
        """The saved state (None when there is none or it is unusable) and, when it was unusable, why."""
        if not self.path.exists():
            return None, None
        raw = read_json_or_move_aside(self.path, now)
        if raw is None:
            return None, "it is not JSON (moved aside)"
        try:
            state = LearnedRisk.from_json(raw)
        except ValueError as exc:
            aside = move_aside(self.path, now, f"is not a planner state ({exc})")
            return None, f"{exc} (moved aside to {aside})"
        self._saved = json.dumps(state.to_json(), sort_keys=True)
        return state, None

    def save(self, state: LearnedRisk) -> None:
        text = json.dumps(state.to_json(), sort_keys=True)
        if text != self._saved:  # most ticks learn nothing: no write
            write_json_atomic(self.path, state.to_json())
            self._saved = text
