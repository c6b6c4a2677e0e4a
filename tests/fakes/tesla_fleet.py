"""Fake Tesla Fleet API (or a local tesla-http-proxy in front of it): cars are named by VIN in paths.

Paths as in Tesla's Fleet API docs and tesla-http-proxy's README (github.com/teslamotors/vehicle-command):
GET /api/1/vehicles, GET /api/1/vehicles/{vin}, GET /api/1/vehicles/{vin}/vehicle_data,
POST /api/1/vehicles/{vin}/wake_up, POST /api/1/vehicles/{vin}/command/{name}; OAuth at /oauth2/v3/token.
"""

from __future__ import annotations

import ssl

from tests.fakes.tesla_car import VIN, FakeCar, FakeTesla

__all__ = ["FakeFleetApi", "FakeCar", "VIN"]


class FakeFleetApi(FakeTesla):
    """Answers as tesla-http-proxy does in front of the Fleet API: a car's refusal is HTTP 200
    {"response": {"result": false, "reason": "car could not execute command: ..."}}."""

    id_key = "vin"
    proxy_default = True

    def serve_tls(self, certfile: str, keyfile: str) -> str:
        """Speak HTTPS like tesla-http-proxy does (call after start); returns the https://localhost base URL."""
        assert self._httpd is not None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        return f"https://localhost:{self._httpd.server_address[1]}"
