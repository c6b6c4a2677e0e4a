"""Fake Tesla Owner API (what teslapy speaks) with its SSO: cars are named by their numeric id in paths.

Same car and JSON as the Fleet fake; the Owner API differs in naming the car by `id_s` (api/1/vehicles/{id}/...,
teslapy's endpoints.json), in listing cars only under /api/1/products (since January 2024 /api/1/vehicles answers
412 "Endpoint is only available on fleetapi": github.com/tdorssers/TeslaPy/issues/156), and in signing in with
client_id "ownerapi" and PKCE at /oauth2/v3/authorize|token.
"""

from __future__ import annotations

from tests.fakes.http import Reply, Request
from tests.fakes.tesla_car import VIN, FakeCar, FakeTesla

__all__ = ["FakeOwnerApi", "FakeCar", "VIN"]

FLEET_ONLY = "Endpoint is only available on fleetapi. Visit https://developer.tesla.com/docs for more info"


class FakeOwnerApi(FakeTesla):
    id_key = "id_s"

    def __init__(self, car: FakeCar | None = None) -> None:
        super().__init__(car)
        self.route("GET", r"/api/1/vehicles", self._fleet_only)
        self.routes.insert(0, self.routes.pop())  # ahead of the shared list route
        self.route("GET", r"/api/1/products", self._products)
        self._initial_routes = list(self.routes)

    def _fleet_only(self, req: Request) -> Reply:
        return self._guarded(req) or self._error(412, FLEET_ONLY)

    def _products(self, req: Request) -> Reply:
        powerwall = {"energy_site_id": 2252189111, "resource_type": "battery", "site_name": "Home",
                     "id": "STE20260101-00042", "gateway_id": "1152100-00-F--TG0000", "energy_left": 9000.0}
        return self._guarded(req) or Reply(200, {"response": [self.car.summary(self.id_key), powerwall],
                                                 "count": 2})
