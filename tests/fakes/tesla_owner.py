"""Fake Tesla Owner API (what teslapy speaks) with its SSO: cars are named by their numeric id in paths.

Same car and JSON as the Fleet fake; the Owner API differs in naming the car by `id_s` (api/1/vehicles/{id}/...,
teslapy's endpoints.json) and in signing in with client_id "ownerapi" and PKCE at /oauth2/v3/authorize|token.
"""

from __future__ import annotations

from tests.fakes.tesla_car import VIN, FakeCar, FakeTesla

__all__ = ["FakeOwnerApi", "FakeCar", "VIN"]


class FakeOwnerApi(FakeTesla):
    id_key = "id_s"
