"""Errors shared by the two Google distance clients (Routes API and the legacy Distance Matrix)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Leg:
    distance_m: float
    duration_s: float


class MapsError(Exception):
    """One line naming what to fix; never the key."""


class MapsKeyError(MapsError):
    """The key is refused for this API (wrong key, API not enabled, restrictions, billing)."""


class PlaceNotFoundError(MapsError):
    """Google could not find the place or a driving route to it: caching this is right."""


class MapsUnavailableError(MapsError):
    """Timeouts, 5xx, quota per second: a later try may work."""
