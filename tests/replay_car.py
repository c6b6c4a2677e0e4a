"""A car that plays recorded plug-in sessions for the real daemon, as the backtest's replay plays them for its policies.

Why: tests/test_one_path_daemon.py drives the real `Coordinator` and the backtest's `planner` over the same sessions
and asserts they decide alike; that holds only if the daemon's car takes energy and reports its state exactly as the
backtest's does. So the physics is the replay's own (`backtest.replay.Car`: 240 V × amps at the wall, nothing in hours
with no actual load, until the session's energy is taken), the awake model is BENCHMARK.md's (15 minutes after
plug-in, while charging, 15 minutes after it stops or after a wake) and the report is the backtest's snapshot
(`backtest.planner_policy.snapshot`: a 200 kWh battery from ARRIVAL_SOC, its limit, Complete once full), with the one
thing that snapshot does not say filled in for the daemon's commands: whether the car is charging right now.

Like the benchmark's car it holds a plan, windows (start, end, amps) it runs by itself (`hold`: the test hands it the
daemon's plan whenever the benchmark's rule would push it); the daemon's Fleet commands are accepted and counted but
do not move the energy, which follows the plan held. The plug follows the sessions and is set by the test (`at`),
which also moves the clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from backtest.data import Grid, Session
from backtest.planner_policy import ARRIVAL_SOC, snapshot
from backtest.replay import AWAKE_S, MAX_AMPS, Car, PushedPlan
from backtest.view import History, SessionView
from charge_logic.config import RuleConfig
from charge_logic.models import CHARGING, COMPLETE, DISCONNECTED, STOPPED, Command, VehicleSnapshot
from clients.vehicle import CallCounter, CommandResult, VehicleAsleep, VehicleError, VehicleSummary


class ReplayCar:
    """A `clients.vehicle.Vehicle` that plugs in and out as `sessions` say (the times of the clock set by `at`)."""

    def __init__(self, sessions: Sequence[Session], grid: Grid, config: RuleConfig, zone: ZoneInfo) -> None:
        self.sessions = sorted(sessions, key=lambda s: s.arrival)
        self.grid, self.config, self.zone = grid, config, zone
        self.calls = CallCounter()
        self.t = self.sessions[0].arrival if self.sessions else 0.0
        self.next = 0  # the next session to plug in
        self.session: Session | None = None
        self.car: Car | None = None
        self.amps = MAX_AMPS
        self.limit = config.base_charge_limit
        self.awake_until = -1e18

    # ------------------------------------------------------------------ the test's hands
    def at(self, t: float) -> None:
        """Move the clock to `t` (epoch s): the car charges as it was told until then, is unplugged at its session's
        departure and plugged in at the next one's arrival."""
        while True:
            s = self.session
            if s is not None and s.departure <= t:
                self._run(s.departure)
                self.session, self.car = None, None
                self.awake_until = s.departure + AWAKE_S  # unplugging wakes the car
                continue
            if s is None and self.next < len(self.sessions) and self.sessions[self.next].arrival <= t:
                s = self.session = self.sessions[self.next]
                self.next += 1
                self.car = Car(s.delivered_energy_kwh, s.arrival)  # holds no plan until one is pushed
                self.awake_until = s.arrival + AWAKE_S
                continue
            break
        self._run(t)
        self.t = t

    @property
    def delivered(self) -> float:
        return self.car.delivered if self.car is not None else 0.0

    @property
    def full(self) -> bool:
        return self.car is not None and self.car.full

    # ------------------------------------------------------------------ physics
    def _run(self, t: float) -> None:
        if self.car is not None:
            self.car.advance(t, self.grid)

    def hold(self, plan: PushedPlan) -> None:
        """The plan pushed now: the car runs it from here on."""
        assert self.car is not None
        self._run(self.t)
        self.car.plan = tuple(sorted(plan))

    @property
    def charging(self) -> bool:
        return self.car is not None and not self.car.full and any(
            a <= self.t < b and amps > 0 for a, b, amps in self.car.plan)

    def _awake(self) -> bool:
        if self.t < self.awake_until:
            return True
        if self.car is None:
            return False
        if self.charging:
            return True
        return self.t - self.car.last_charge < AWAKE_S

    # ------------------------------------------------------------------ the Vehicle interface
    def summary(self) -> VehicleSummary:
        self.calls.summaries += 1
        return VehicleSummary("…0001", "replay", "online" if self._awake() else "asleep")

    def snapshot(self) -> VehicleSnapshot:
        self.calls.data += 1
        if not self._awake():
            raise VehicleAsleep("the replayed car is asleep")
        now = datetime.fromtimestamp(self.t, self.zone)
        if self.session is None or self.car is None:
            return VehicleSnapshot("…0001", "replay", "online", read_at=now, battery_level=int(ARRIVAL_SOC),
                                   charge_limit_soc=self.limit, charging_state=DISCONNECTED,
                                   conn_charge_cable="<invalid>", charge_current_request=self.amps,
                                   charge_current_request_max=MAX_AMPS)
        s = self.session
        view = SessionView(self.t, self.zone, s.arrival, s.station_id, None, None, self.car.delivered, self.car.full,
                           self.t, (), self.t, (), History([], 0))
        snap = snapshot(view, self.config, ARRIVAL_SOC)  # what the backtest's planner is told the car reports
        state = COMPLETE if self.car.full else CHARGING if self.charging else STOPPED
        return dataclasses.replace(snap, charging_state=state, charge_limit_soc=self.limit,
                                   charge_current_request=self.amps,
                                   charger_actual_current=self.amps if state == CHARGING else 0)

    def wake(self, timeout_s: float = 30.0) -> bool:
        self.calls.wakes += 1
        self.awake_until = self.t + AWAKE_S
        return True

    def execute(self, command: Command) -> CommandResult:
        self.calls.commands += 1
        if not self._awake():
            raise VehicleAsleep("the replayed car is asleep")
        name, args = command.name, command.args
        if name == "set_charging_amps":
            self.amps = max(0, min(int(args["charging_amps"]), MAX_AMPS))
        elif name == "set_charge_limit":
            self.limit = int(args["percent"])
        elif name in ("charge_start", "charge_stop"):
            if self.session is None:
                return CommandResult(False, "disconnected")
        else:
            raise VehicleError(f"the replayed car has no charge schedules: {name} is not expected")
        return CommandResult(True)
