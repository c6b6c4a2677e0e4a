"""The one vehicle interface every backend (teslapy, fleet, sim) implements.

Why an interface: the coordinator decides *whether* to spend a billed call; a backend only knows *how*. Each backend
counts its billed calls in `calls` so the state file can show the month's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from charge_logic.models import Command, VehicleSnapshot

# Tesla Fleet API prices (USD), 2026.
PRICE_DATA = 0.002
PRICE_COMMAND = 0.001
PRICE_WAKE = 0.02

# Replies that mean "the car is already where you wanted it".
BENIGN_REASONS = ("already_set", "not_charging", "is_charging", "complete")


class VehicleError(Exception):
    """A call to the car failed; the message says what to do, and never holds a token or the full VIN."""


class VehicleAsleep(VehicleError):
    """The car is asleep or offline (a 408); not an error for the loop."""


class VehicleAuthError(VehicleError):
    """No token, or the token was refused: run `python scheduler.py auth tesla`."""


class VehicleSetupError(VehicleError):
    """Tesla refuses until the owner fixes something (billing, app registration, region, the car's remote access);
    asking again before that only adds to the bill."""


class CommandProtocolRequired(VehicleError):
    """The car refuses unsigned Owner API commands: switch to TESLA_BACKEND=fleet with tesla-http-proxy."""


@dataclass
class CallCounter:
    """Billed calls made by this process (the coordinator adds them into the month's totals)."""

    data: int = 0
    commands: int = 0
    wakes: int = 0
    summaries: int = 0  # the cars' summaries read (one a tick), counted for the record
    # Fleet API vehicle-list requests answered below 500. Tesla bills every such reply and names each endpoint's
    # pricing category on its own page, where the list's is not shown (developer.tesla.com/docs/fleet-api/
    # billing-and-limits): billed as a data request until Tesla documents it free. The Owner API's list is free.
    listed: int = 0

    def cost_usd(self) -> float:
        return (self.data + self.listed) * PRICE_DATA + self.commands * PRICE_COMMAND + self.wakes * PRICE_WAKE


@dataclass(frozen=True)
class VehicleSummary:
    """The free, non-waking view: is the car online at all."""

    vin_short: str
    display_name: str
    state: str  # "online" | "asleep" | "offline"


@dataclass
class CommandResult:
    ok: bool
    reason: str = ""


class Vehicle(Protocol):
    calls: CallCounter

    def summary(self) -> VehicleSummary:
        """Free; never wakes the car."""

    def snapshot(self) -> VehicleSnapshot:
        """Billed data request; raises VehicleAsleep when the car is not online."""

    def wake(self, timeout_s: float = 30.0) -> bool:
        """Billed; True when the car came online within timeout_s."""

    def execute(self, command: Command) -> CommandResult:
        """Billed; sends one command named as in charge_logic.models.Command. Benign replies count as ok."""
