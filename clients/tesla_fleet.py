"""Backend `fleet`: the Tesla Fleet API over requests, directly or through Tesla's tesla-http-proxy.

Paths, per Tesla's Fleet API docs (developer.tesla.com/docs/fleet-api/endpoints/vehicle-endpoints) and the proxy's
README (github.com/teslamotors/vehicle-command): GET /api/1/vehicles (the list: never wakes the car; counted as a
billed data request, not documented free), GET /api/1/vehicles/{vin}/vehicle_data (billed; 408 when asleep), POST
/api/1/vehicles/{vin}/wake_up (billed), POST /api/1/vehicles/{vin}/command/{name} (billed; the proxy signs it; the
proxy wants the VIN, not the id). Errors come as {"response": null, "error": "...", "error_description": ""}
(pkg/proxy/proxy.go, writeJSONError); a 429 carries Retry-After (developer.tesla.com/docs/fleet-api/support/faq).
Tokens: third-party OAuth tokens exchanged and refreshed at TESLA_TOKEN_URL/oauth2/v3/token
(fleet-auth.prd.vn.cloud.tesla.com, the host Tesla dedicates to token exchange; the authorize page stays at
TESLA_AUTH_URL) with grant_type=refresh_token and client_id
(developer.tesla.com/docs/fleet-api/authentication/third-party-tokens); Tesla rotates the refresh token. Billing:
every reply below 500 is billed (developer.tesla.com/docs/fleet-api/billing-and-limits), so each is counted, and the
replies that need the owner to act (402, 412, 451, 401 mobile_access_disabled) stop the calls for a day."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from charge_logic.models import Command
from clients.http_text import readable, retry_after_s, with_retry_after
from clients.private_files import read_json, write_json
from clients.tesla_common import (
    AUTH_HINT,
    COMMANDS,
    VEHICLE_DATA_ENDPOINTS,
    Clock,
    Scrubber,
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

log = logging.getLogger(__name__)

TOKEN_FILE = "tesla_fleet_token.json"
SETUP_PAUSE_S = 86400.0  # a refusal only the owner can fix is asked again a day later, not every tick
PROXY_HELP = ("the car takes only signed commands: run tesla-http-proxy and set "
              "TESLA_FLEET_BASE_URL=https://localhost:4443 and TESLA_FLEET_CA_CERT=<its tls-cert.pem> (docs/tesla.md); "
              "commands are not sent meanwhile")
# Hosts that are Tesla's own Fleet API, not a tesla-http-proxy in front of it (developer.tesla.com/docs/fleet-api/
# getting-started/regions-countries).
TESLA_HOST_SUFFIXES = (".tesla.com", ".tesla.cn")
TIMEOUT = (5.0, 20.0)  # connect, read (seconds)
MAX_RETRY_AFTER_S = 30.0  # wait out a 429 this long at most, once; longer waits become an error for this tick


def token_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / TOKEN_FILE


def save_token(path: Path, token: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Keep only what is needed to call and refresh, with an absolute expiry; 0600."""
    now = time.time() if now is None else now
    saved = {"access_token": token["access_token"], "refresh_token": token.get("refresh_token", ""),
             "expires_at": now + float(token.get("expires_in") or 3600)}
    write_json(path, saved)
    return saved


def token_request(session: requests.Session, token_url: str, data: dict[str, str],
                  timeout: tuple[float, float] = TIMEOUT, scrub: Callable[[object], str] | None = None
                  ) -> dict[str, Any]:
    """POST to Tesla's OAuth token endpoint; raises VehicleAuthError when Tesla refuses the grant. The refusal is
    quoted scrubbed: an OAuth server may echo the refresh token, the e-mail or the VIN back."""
    scrub = scrub or Scrubber()
    scrub_add = getattr(scrub, "add", None)
    if scrub_add:
        scrub_add(*(v for k, v in data.items() if k in ("refresh_token", "code", "code_verifier", "client_secret")))
    url = token_url.rstrip("/") + "/oauth2/v3/token"
    try:
        resp = session.post(url, data=data, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise VehicleError(f"cannot reach Tesla sign-in at {urlsplit(url).netloc} ({type(exc).__name__}); "
                           "check TESLA_TOKEN_URL and the network") from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code in (400, 401, 403):
        what = scrub(error_text(body)) if isinstance(body, dict) else f"HTTP {resp.status_code}"
        raise VehicleAuthError(f"Tesla refused the token request ({what}): {AUTH_HINT}")
    if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        raise VehicleError(f"Tesla sign-in answered HTTP {resp.status_code} without a token; try again later")
    return body


class FleetVehicle(TeslaVehicle):
    """One car through the Fleet API: the REST paths, the OAuth token and its refresh, the proxy's signing and the
    Fleet API's errors; the rest is TeslaVehicle's."""

    api_name = "Fleet API"

    def __init__(self, base_url: str, *, token_file: Path, client_id: str, token_url: str, vin: str = "",
                 ca_cert: str = "", clock: Clock = utc_now, sleep: Callable[[float], None] = time.sleep,
                 timeout: tuple[float, float] = TIMEOUT, max_retry_after_s: float = MAX_RETRY_AFTER_S,
                 direct: bool | None = None) -> None:
        super().__init__(vin=vin, clock=clock, sleep=sleep)
        self.base_url = base_url.rstrip("/")
        self.token_file = Path(token_file)
        self.client_id = client_id
        self.token_url = token_url
        self.signing_required = False  # the vehicle list says command_signing: required
        # base_url is Tesla's own host (unsigned commands) rather than tesla-http-proxy; None: told by the host name
        self.direct = direct
        self.timeout = timeout
        self.max_retry_after_s = max_retry_after_s
        self.session = requests.Session()
        # Passed on every request: a Session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment
        # (github.com/psf/requests/issues/4650), which docker images often set.
        self.verify: str | bool = True
        if ca_cert:
            if not Path(ca_cert).is_file():
                raise VehicleError(f"TESLA_FLEET_CA_CERT={ca_cert} is not a file: give the proxy's tls-cert.pem")
            self.verify = ca_cert
        self.scrub.add(client_id)
        self._token: dict[str, Any] | None = None
        self._load_token()

    @classmethod
    def from_settings(cls, settings: Any, **kw: Any) -> FleetVehicle:
        return cls(settings.tesla_fleet_base_url, token_file=token_path(settings.state_dir),
                   client_id=settings.tesla_client_id, token_url=settings.tesla_token_url, vin=settings.tesla_vin,
                   ca_cert=settings.tesla_fleet_ca_cert, **kw)

    # ------------------------------------------------------------------ what TeslaVehicle asks
    def _list_cars(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/1/vehicles", what="the vehicle list", billed="listed").get("response")
                    or [])

    def _no_car(self) -> VehicleError:
        which = f"the car with VIN {short_vin(self.vin)}" if self.vin else "any car"
        return VehicleError(f"the Tesla account has no access to {which}: check TESLA_VIN and the app's vehicle "
                            "scopes")

    def _picked(self, item: dict[str, Any]) -> None:
        signing = item.get("command_signing") == "required"  # "off" | "allowed" | "required"
        if signing and not self.signing_required and self._direct():
            log.warning("%s", PROXY_HELP)
        self.signing_required = signing

    def _knows_the_car(self) -> bool:
        return bool(self.vin)

    def _vehicle_data(self) -> dict[str, Any]:
        return self._call("GET", f"/api/1/vehicles/{self.vin}/vehicle_data", what="vehicle data", billed="data",
                          params={"endpoints": VEHICLE_DATA_ENDPOINTS})

    def _wake_up(self) -> dict[str, Any]:
        return self._call("POST", f"/api/1/vehicles/{self.vin}/wake_up", what="wake_up", billed="wakes")

    def execute(self, command: Command) -> CommandResult:
        if command.name not in COMMANDS:
            raise VehicleError(f"unknown car command {command.name!r}; known: {', '.join(COMMANDS)}")
        if not self.vin:
            self.summary()
        if self.signing_required and self._direct():  # refused for sure: not paid for
            raise CommandProtocolRequired(PROXY_HELP)
        body = self._call("POST", f"/api/1/vehicles/{self.vin}/command/{command.name}", what=command.name,
                          billed="commands", json=dict(command.args))
        return command_result(body, PROXY_HELP)

    # ------------------------------------------------------------------ plumbing
    def _direct(self) -> bool:
        """TESLA_FLEET_BASE_URL is Tesla's own host (unsigned commands), not tesla-http-proxy."""
        if self.direct is not None:
            return self.direct
        return (urlsplit(self.base_url).hostname or "").endswith(TESLA_HOST_SUFFIXES)

    def _load_token(self) -> None:
        """Fail at start-up, not at the first tick, when nobody has signed in."""
        if self._token is None:
            saved = read_json(self.token_file)
            if not isinstance(saved, dict) or not saved.get("access_token"):
                raise VehicleAuthError(f"no Fleet API token in {self.token_file}: {AUTH_HINT}")
            self._token = saved
            self.scrub.add(saved.get("access_token"), saved.get("refresh_token"))

    def _access_token(self, force_refresh: bool = False) -> str:
        self._load_token()
        assert self._token is not None
        if force_refresh or float(self._token.get("expires_at") or 0) - 60 < time.time():
            self._refresh()
        return str(self._token["access_token"])

    def _refresh(self) -> None:
        assert self._token is not None
        refresh = self._token.get("refresh_token")
        if not refresh:
            raise VehicleAuthError(f"the Fleet API token expired and has no refresh token: {AUTH_HINT}")
        if not self.client_id:
            raise VehicleAuthError("TESLA_CLIENT_ID is empty: set it to the Fleet API app's client id")
        body = token_request(self.session, self.token_url, {"grant_type": "refresh_token",
                                                           "client_id": self.client_id,
                                                           "refresh_token": str(refresh)}, self.timeout,
                             self.scrub)
        body.setdefault("refresh_token", refresh)
        self._token = save_token(self.token_file, body)
        self.scrub.add(self._token["access_token"], self._token["refresh_token"])

    def _call(self, method: str, path: str, *, what: str, billed: str | None = None, **kw: Any) -> dict[str, Any]:
        refreshed = rate_waited = False
        while True:
            token = self._access_token()
            try:
                resp = self.session.request(method, self.base_url + path, timeout=self.timeout, verify=self.verify,
                                            headers={"Authorization": f"Bearer {token}"}, **kw)
            except requests.exceptions.SSLError as exc:
                if "hostname mismatch" in str(exc).lower():
                    raise VehicleError(f"the TLS certificate at {self._host()} is not made out to that host name: "
                                       "make the proxy's certificate with -addext \"subjectAltName = DNS:<host>\" "
                                       "(docs/tesla.md)") from None
                raise VehicleError(f"TLS to {self._host()} failed for {what}: for tesla-http-proxy set "
                                   "TESLA_FLEET_CA_CERT to its tls-cert.pem") from None
            except requests.Timeout:
                raise VehicleError(f"Fleet API at {self._host()} did not answer {what} within "
                                   f"{self.timeout[1]:g} s") from None
            except requests.RequestException as exc:
                raise VehicleError(f"cannot reach the Fleet API at {self._host()} for {what} "
                                   f"({type(exc).__name__}): check TESLA_FLEET_BASE_URL and that the proxy "
                                   "is running") from None
            status = resp.status_code
            try:
                body = resp.json()
            except ValueError:
                body = None
            text = self.scrub(error_text(body) if isinstance(body, dict) else readable(resp.text, 120))
            if billed and status < 500:  # Tesla bills every reply below 500, refusals too
                self._count(billed)
            if status == 401 and not refreshed and "mobile_access_disabled" not in text:
                refreshed = True
                self._access_token(force_refresh=True)
                continue
            if status == 429 and not rate_waited:
                wait = retry_after_s(resp.headers)
                if wait is not None and wait <= self.max_retry_after_s:
                    rate_waited = True
                    self.sleep(wait)
                    continue
            if status == 200 and isinstance(body, dict):
                return body
            error = self._error(status, text, what, resp.headers.get("Retry-After"), not isinstance(body, dict))
            pause = SETUP_PAUSE_S if isinstance(error, VehicleSetupError) else retry_after_s(resp.headers)
            raise with_retry_after(error, pause)

    def _error(self, status: int, text: str, what: str, retry_after: str | None, not_json: bool) -> VehicleError:
        if status == 200 and not_json:
            return VehicleError(f"Fleet API at {self._host()} sent a non-JSON reply to {what}: is "
                                "TESLA_FLEET_BASE_URL the API or tesla-http-proxy?")
        if status == 401 and "mobile_access_disabled" in text:
            return VehicleSetupError(f"the car has remote access turned off ({what} refused, 401 "
                                     "mobile_access_disabled): in the car, Controls > Safety > Allow Mobile Access")
        if status == 401:
            return VehicleAuthError(f"Tesla refused the Fleet API token for {what}: {AUTH_HINT}")
        if status == 402:
            return VehicleSetupError(f"Tesla refused {what} with 402 Payment Required: the Fleet API app has no "
                                     "payment method or reached its billing limit; add one or raise the limit at "
                                     "developer.tesla.com (dashboard, Billing)")
        if status == 412:
            return VehicleSetupError(f"Tesla refused {what} with 412: the Fleet API app is not registered in this "
                                     f"region ({self._host()}); register it once with POST /api/1/partner_accounts "
                                     "on the region's host (docs/tesla.md, step 3)")
        if status == 451:
            return VehicleSetupError(f"Tesla refused {what} with 451: the account's region or privacy settings do "
                                     "not allow this app; set TESLA_FLEET_BASE_URL and TESLA_FLEET_AUDIENCE to the "
                                     "account's region (eu: fleet-api.prd.eu.vn.cloud.tesla.com, cn: "
                                     "fleet-api.prd.cn.vn.cloud.tesla.cn) and allow the app in the Tesla app")
        if status == 403 and is_protocol_error(text):
            return CommandProtocolRequired(f"{PROXY_HELP} ({what} refused)")
        if status == 403 and "missing scopes" in text.lower():
            return VehicleAuthError(f"Tesla refused {what} (403 {text}): the sign-in lacks a scope the scheduler "
                                    "needs (vehicle_device_data, vehicle_location, vehicle_charging_cmds): run "
                                    "`python scheduler.py auth tesla` again and allow them all")
        if status == 403:
            return VehicleAuthError(f"Tesla refused {what} (403 {text}): check the app's scopes and the car's "
                                    f"virtual key, then {AUTH_HINT}")
        if status == 408 or is_asleep_error(text):
            return VehicleAsleep(f"the car is asleep or offline ({what} answered {status})")
        if status == 429:
            return VehicleError(f"Fleet API rate limit on {what}: retry after {retry_after or '?'} s")
        region = re.search(r"use base URL: (https://[-a-z0-9.]+)", text)
        if status == 421 and region:  # the wording tesla-http-proxy also parses (pkg/proxy/proxy.go, baseDomainRE)
            return VehicleError(f"the Tesla account lives in another region: set TESLA_FLEET_BASE_URL and "
                                f"TESLA_FLEET_AUDIENCE to {region.group(1)} (or use tesla-http-proxy), then "
                                f"{AUTH_HINT}")
        return VehicleError(f"Fleet API error {status} on {what}: {text or 'no details'}")

    def _host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url
