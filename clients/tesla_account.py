"""Several cars of one Tesla account through one backend (Owner or Fleet API): one vehicle-list call a tick for all.

Why: the list (GET /api/1/vehicles, or the Owner API's product list) is how each car's summary is read without
waking it (on the Fleet API a billed data request: the car whose summary lists the account that tick counts it);
asked once a car it would be N calls a tick for the same answer, and N sign-ins would race to refresh one token
(Tesla's refresh tokens are single-use). So the account keeps one backend, its token and session, and lists once a
tick (`new_cycle`); each car is an `AccountCar`, a Vehicle (clients/vehicle.py) of its own with its own call counts
(its own budgets), that reads its summary from that list and points the backend at its VIN for the billed calls
(vehicle data, wake, commands). A car's wake still polls the list until the car is online, as one car's does. Not
thread-safe: the daemon's tick runs the cars one after another."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from charge_logic.models import Command, VehicleSnapshot
from clients.tesla_common import TeslaVehicle, pick_vehicle, summary_from_json
from clients.vehicle import CallCounter, CommandResult, VehicleError, VehicleSummary


class TeslaAccount:
    def __init__(self, backend: TeslaVehicle) -> None:
        self.backend = backend
        self._listed: list[dict[str, Any]] | VehicleError | None = None
        self.list_calls = 0  # vehicle-list calls made for the cars' summaries (one a tick)

    def new_cycle(self) -> None:
        """A new tick: the next summary lists the account's cars again, once for all of them."""
        self._listed = None

    def listed(self) -> list[dict[str, Any]]:
        """The account's cars as listed this tick (a failed list fails every car's summary alike, not asked twice)."""
        if self._listed is None:
            self.list_calls += 1
            try:
                self._listed = self.backend.list_cars()
            except VehicleError as exc:
                self._listed = exc
        if isinstance(self._listed, VehicleError):
            raise self._listed
        return self._listed

    def car(self, vin: str) -> AccountCar:
        return AccountCar(self, vin)


class AccountCar:
    """One car of the account: a Vehicle whose calls are counted as its own."""

    def __init__(self, account: TeslaAccount, vin: str) -> None:
        if not vin:
            raise VehicleError("a car of several needs its VIN (CARn_VIN)")
        self.account, self.vin = account, vin
        self.calls = CallCounter()
        self._item: dict[str, Any] | None = None
        self._summary: tuple[datetime, VehicleSummary] | None = None

    def summary(self) -> VehicleSummary:
        backend = self.account.backend
        before = backend.calls.listed
        try:
            listed = self.account.listed()
        finally:  # the car whose summary lists the account this tick pays for the list (billed on the Fleet API)
            self.calls.listed += backend.calls.listed - before
        item = pick_vehicle(listed, self.vin)
        self.calls.summaries += 1
        if item is None:
            with self._as_this_car():
                raise backend.no_car()
        self._item = item
        summary = summary_from_json(item)
        self._summary = (backend.clock(), summary)
        return summary

    def snapshot(self) -> VehicleSnapshot:
        snap: VehicleSnapshot = self._call(self.account.backend.snapshot)
        return snap

    def wake(self, timeout_s: float = 30.0) -> bool:
        return bool(self._call(lambda: self.account.backend.wake(timeout_s)))

    def execute(self, command: Command) -> CommandResult:
        result: CommandResult = self._call(lambda: self.account.backend.execute(command))
        return result

    def _call(self, fn: Callable[[], Any]) -> Any:
        backend = self.account.backend
        with self._as_this_car():
            before = dataclasses.replace(backend.calls)
            try:
                return fn()
            finally:
                after = backend.calls
                for f in ("data", "commands", "wakes", "summaries", "listed"):
                    setattr(self.calls, f, getattr(self.calls, f) + getattr(after, f) - getattr(before, f))

    def _as_this_car(self) -> _Pointed:
        return _Pointed(self)


class _Pointed:
    """Points the account's backend at one car for a call: its VIN, its list entry and its summary of this tick."""

    def __init__(self, car: AccountCar) -> None:
        self.car = car

    def __enter__(self) -> None:
        self.car.account.backend.point_at(self.car.vin, self.car._item, self.car._summary)

    def __exit__(self, *exc: object) -> None:
        return None
