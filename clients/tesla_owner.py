"""Backend `teslapy`: Tesla's Owner API through the teslapy package (reads for every car; commands only for
pre-2021 Model S/X, the others answer 403 "Vehicle Command Protocol required").

Why these choices: teslapy reads its API base from the module global `teslapy.BASE_URL` and, without a token,
blocks on input() in its default authenticator; the daemon must never do that, so it refuses to start a sign-in
(VehicleAuthError) and `python scheduler.py auth tesla` does it once. The token cache is teslapy's format
({email: {"url": sso_base, "sso": token}}) but written 0600 by us (teslapy's own dumper makes it 0640).
We call teslapy's `Tesla.api()` with endpoint names rather than building `teslapy.Vehicle` objects, because the
latter fetch the order list on every construction (an extra call per tick). Cars are listed from
/api/1/products, as teslapy's vehicle_list() does: the Owner API's /api/1/vehicles answers 412 "Endpoint is only
available on fleetapi" since January 2024 (github.com/tdorssers/TeslaPy/issues/156).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import teslapy
from oauthlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    OAuth2Error,
    UnauthorizedClientError,
)

from charge_logic.models import Command
from clients.http_text import readable, retry_after_s, with_retry_after
from clients.private_files import read_json, write_json
from clients.tesla_common import (
    AUTH_HINT,
    VEHICLE_DATA_ENDPOINTS,
    Clock,
    TeslaVehicle,
    command_result,
    error_text,
    is_asleep_error,
    is_protocol_error,
    short_vin,
    utc_now,
)
from clients.vehicle import (
    CommandProtocolRequired,
    CommandResult,
    VehicleAsleep,
    VehicleAuthError,
    VehicleError,
    VehicleSetupError,
)

TOKEN_FILE = "tesla_owner_token.json"
TIMEOUT = 20  # seconds, teslapy's per-request timeout
# Fleet command name -> teslapy endpoint name (teslapy/endpoints.json); the Owner API takes the same JSON bodies.
ENDPOINTS = {
    "set_charging_amps": "CHARGING_AMPS",
    "set_charge_limit": "CHANGE_CHARGE_LIMIT",
    "set_scheduled_departure": "SCHEDULED_DEPARTURE",
    "set_scheduled_charging": "SCHEDULED_CHARGING",
    "charge_start": "START_CHARGE",
    "charge_stop": "STOP_CHARGE",
}
# Since mid-2026 the Owner API refuses many tokens with a 403 that points to the Fleet API ("... see
# developer.tesla.com/docs/fleet-api"): no sign-in fixes that, only the Fleet backend does.
OWNER_API_CLOSED_MARKER = "developer.tesla.com/docs/fleet-api"
OWNER_API_CLOSED_HELP = ("Tesla's Owner API no longer serves this account (403 \"see "
                         "developer.tesla.com/docs/fleet-api\"): switch to TESLA_BACKEND=fleet (a Fleet API app, "
                         "then `python scheduler.py auth tesla`; docs/tesla.md); signing in again with teslapy does "
                         "not help")
PROTOCOL_HELP = ("this car refuses unsigned Owner API commands (403 Vehicle Command Protocol required): switch to "
                 "TESLA_BACKEND=fleet with tesla-http-proxy — register a Fleet API app, pair its virtual key, run "
                 "the proxy, set TESLA_FLEET_BASE_URL, TESLA_FLEET_CA_CERT and TESLA_CLIENT_ID, then run "
                 "`python scheduler.py auth tesla` (docs/tesla.md)")


def token_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / TOKEN_FILE


def set_base_url(owner_base_url: str) -> None:
    """teslapy joins every API path onto this module global; empty keeps teslapy's default."""
    if owner_base_url:
        teslapy.BASE_URL = owner_base_url.rstrip("/") + "/"


class _NoInteractiveSignIn(Exception):
    pass


def _refuse_sign_in(url: str) -> str:
    raise _NoInteractiveSignIn()


def open_session(email: str, cache: Path, *, sso_base_url: str, authenticator: Callable[[str], str] | None = None,
                 timeout: float = TIMEOUT) -> teslapy.Tesla:
    """A teslapy session whose token cache lives in `cache`, private; used by the daemon and by `auth tesla`."""

    def load() -> dict[str, Any]:
        data = read_json(cache)
        return data if isinstance(data, dict) else {}

    def dump(data: dict[str, Any]) -> None:
        write_json(cache, data)

    return teslapy.Tesla(email, cache_loader=load, cache_dumper=dump, timeout=timeout,
                         authenticator=authenticator or _refuse_sign_in,
                         sso_base_url=sso_base_url.rstrip("/") + "/")


class OwnerVehicle(TeslaVehicle):
    """One car through the Owner API (teslapy): the endpoint names, teslapy's token cache and the Owner API's errors;
    the rest is TeslaVehicle's. Counts billed-equivalent calls in `calls` (the Owner API itself is free)."""

    api_name = "Owner API"

    def __init__(self, email: str, *, cache_file: Path, vin: str = "", base_url: str = "",
                 sso_base_url: str = "https://auth.tesla.com", clock: Clock = utc_now,
                 sleep: Callable[[float], None] = time.sleep, timeout: float = TIMEOUT) -> None:
        if not email:
            raise VehicleAuthError(f"TESLA_ACCOUNT_EMAIL is empty: set it, then {AUTH_HINT}")
        super().__init__(vin=vin, clock=clock, sleep=sleep)
        set_base_url(base_url)
        self.cache_file = Path(cache_file)
        self.scrub.add(email)
        self.tesla = open_session(email, self.cache_file, sso_base_url=sso_base_url, timeout=timeout)
        if not self.tesla.authorized:
            raise VehicleAuthError(f"no Tesla Owner API token in {self.cache_file}: {AUTH_HINT}")
        self.scrub.add(*(str(v) for k, v in (self.tesla.token or {}).items() if "token" in k))
        self._id: str | None = None

    @classmethod
    def from_settings(cls, settings: Any, **kw: Any) -> OwnerVehicle:
        return cls(settings.tesla_account_email, cache_file=token_path(settings.state_dir), vin=settings.tesla_vin,
                   base_url=settings.tesla_owner_base_url, sso_base_url=settings.tesla_auth_url, **kw)

    # ------------------------------------------------------------------ what TeslaVehicle asks
    def _list_cars(self) -> list[dict[str, Any]]:
        body = self._api("PRODUCT_LIST", what="the product list", path_vars=None)
        return [p for p in body.get("response") or [] if isinstance(p, dict) and "vehicle_id" in p]

    def _no_car(self) -> VehicleError:
        which = f"car with VIN {short_vin(self.vin)}" if self.vin else "car"
        return VehicleError(f"the Tesla account has no {which}: check TESLA_VIN")

    def _picked(self, item: dict[str, Any]) -> None:
        self._id = str(item.get("id_s") or item.get("id"))

    def _knows_the_car(self) -> bool:
        return bool(self._id)

    def _vehicle_data(self) -> dict[str, Any]:
        return self._api("VEHICLE_DATA", what="vehicle data", billed="data", endpoints=VEHICLE_DATA_ENDPOINTS)

    def _wake_up(self) -> dict[str, Any]:
        return self._api("WAKE_UP", what="wake_up", billed="wakes")

    def execute(self, command: Command) -> CommandResult:
        endpoint = ENDPOINTS.get(command.name)
        if endpoint is None:
            raise VehicleError(f"unknown car command {command.name!r}; known: {', '.join(ENDPOINTS)}")
        body = self._api(endpoint, what=command.name, billed="commands", **dict(command.args))
        return command_result(body, PROTOCOL_HELP)

    # ------------------------------------------------------------------ plumbing
    def _api(self, name: str, *, what: str, billed: str | None = None, path_vars: Any = "car",
             **kw: Any) -> dict[str, Any]:
        if not self.tesla.authorized:
            raise VehicleAuthError(f"no Tesla Owner API token in {self.cache_file}: {AUTH_HINT}")
        if path_vars == "car":
            if self._id is None:
                self.summary()
            path_vars = {"vehicle_id": self._id}
        refreshed = False
        while True:
            try:
                body = self.tesla.api(name, path_vars, **kw)
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                text = self.scrub(_reply_text(exc.response))
                if status == 401 and not refreshed:
                    refreshed = True
                    self._refresh()
                    continue
                if billed and (status == 408 or is_asleep_error(text)):
                    self._count(billed)
                headers = exc.response.headers if exc.response is not None else None
                error = self._error(status, text, what)
                pause = 86400.0 if isinstance(error, VehicleSetupError) else retry_after_s(headers)
                raise with_retry_after(error, pause) from None
            except (OAuth2Error, _NoInteractiveSignIn, ValueError) as exc:
                if isinstance(exc, ValueError) and not isinstance(exc, requests.JSONDecodeError):
                    raise VehicleError(f"teslapy refused {what}: {self.scrub(exc)}") from None
                if isinstance(exc, requests.JSONDecodeError):
                    raise VehicleError(f"Owner API sent a non-JSON reply to {what}: check TESLA_OWNER_BASE_URL") \
                        from None
                raise _sign_in_error(exc) from None
            except requests.Timeout:
                raise VehicleError(f"Owner API did not answer {what} in time") from None
            except requests.RequestException as exc:
                raise VehicleError(f"cannot reach the Owner API for {what} ({type(exc).__name__}): check "
                                   "TESLA_OWNER_BASE_URL and the network") from None
            if billed:
                self._count(billed)
            if not isinstance(body, dict):
                raise VehicleError(f"Owner API sent an unexpected reply to {what}")
            return body

    def _refresh(self) -> None:
        try:
            self.tesla.refresh_token()
        except (OAuth2Error, ValueError) as exc:
            raise _sign_in_error(exc) from None
        except requests.HTTPError:
            raise VehicleAuthError(f"Tesla refused the saved Owner API token: {AUTH_HINT}") from None
        except requests.RequestException as exc:
            raise VehicleError(f"cannot reach Tesla sign-in ({type(exc).__name__})") from None
        self.scrub.add(*(str(v) for k, v in (self.tesla.token or {}).items() if "token" in k))

    @staticmethod
    def _error(status: int, text: str, what: str) -> VehicleError:
        if status == 401:
            return VehicleAuthError(f"Tesla refused the Owner API token for {what}: {AUTH_HINT}")
        if status == 403 and is_protocol_error(text):
            return CommandProtocolRequired(PROTOCOL_HELP)
        if status == 403 and OWNER_API_CLOSED_MARKER in text.lower():
            return VehicleSetupError(OWNER_API_CLOSED_HELP)
        if status == 408 or is_asleep_error(text):
            return VehicleAsleep(f"the car is asleep or offline ({what} answered {status})")
        if status == 429:
            return VehicleError(f"Owner API rate limit on {what}: try again later")
        return VehicleError(f"Owner API error {status} on {what}: {text or 'no details'}")


def _reply_text(resp: requests.Response | None) -> str:
    if resp is None:
        return ""
    try:
        body = resp.json()
    except ValueError:
        return readable(resp.text, 120)
    return error_text(body) if isinstance(body, dict) else readable(resp.text, 120)


def _sign_in_error(exc: Exception) -> VehicleError:
    """A refused grant needs a new sign-in; a sign-in server that answered with no token (an outage: HTML, a 5xx,
    an error oauthlib does not know) will likely answer next time, and sending the owner to sign in again would
    be the wrong advice."""
    if isinstance(exc, (InvalidGrantError, InvalidClientError, UnauthorizedClientError, _NoInteractiveSignIn)) or (
            isinstance(exc, ValueError) and not isinstance(exc, OAuth2Error)):
        return VehicleAuthError(f"Tesla refused the saved Owner API token: {AUTH_HINT}")
    return VehicleError(f"Tesla sign-in answered without a new token ({type(exc).__name__}); will retry (if this "
                        f"lasts for days: {AUTH_HINT})")
