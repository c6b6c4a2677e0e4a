"""`python scheduler.py auth tesla`: the one interactive Tesla sign-in; the daemon never asks for input.

teslapy: teslapy's own PKCE flow (client "ownerapi"), the redirected `tesla://auth/callback?...` URL pasted back.
fleet: the OAuth authorization-code flow for a developer app (developer.tesla.com/docs/fleet-api/authentication/
third-party-tokens): open the authorize URL, sign in, paste the redirected URL (or just its code); the code is
exchanged at TESLA_TOKEN_URL/oauth2/v3/token (fleet-auth.prd.vn.cloud.tesla.com). Either way the token lands in
STATE_DIR, readable by its owner only. The daemon's side of the tokens (reading, refreshing, saving) stays in
clients/tesla_fleet.py and clients/tesla_owner.py, which never prompt.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from clients import tesla_fleet
from clients.tesla_common import Scrubber
from clients.vehicle import Vehicle, VehicleError
from service.settings import Settings, SettingsError, load_settings

# vehicle_location (added 2024-11): without it vehicle_data carries no position, and "at home" cannot be told.
FLEET_SCOPES = "openid offline_access vehicle_device_data vehicle_location vehicle_cmds vehicle_charging_cmds"


def run(args: Any, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """0 signed in, 1 sign-in failed, 2 settings are wrong."""
    out = stdout or sys.stdout
    try:
        settings = getattr(args, "settings", None) or load_settings()  # scheduler.py's, with --env-file/--state-dir
    except SettingsError as exc:
        print(f"error: {exc}", file=out)
        return 2
    backend = settings.tesla_backend
    if backend == "sim":
        print("TESLA_BACKEND=sim is the simulated car: nothing to sign in to.", file=out)
        return 0
    try:
        if backend == "teslapy":
            return _owner(settings, stdin or sys.stdin, out)
        return _fleet(settings, stdin or sys.stdin, out)
    except VehicleError as exc:
        print(f"error: {exc}", file=out)
        return 1


def _ask(prompt: str, stdin: TextIO, out: TextIO) -> str:
    print(prompt, end="", file=out, flush=True)
    line = stdin.readline()
    if not line:
        raise VehicleError("no answer on standard input: run `python scheduler.py auth tesla` in a terminal")
    return line.strip()


def _owner(settings: Settings, stdin: TextIO, out: TextIO) -> int:
    from clients import tesla_owner  # teslapy, imported only when used: it sets OAUTHLIB_INSECURE_TRANSPORT globally

    if not settings.tesla_account_email:
        print("error: TESLA_ACCOUNT_EMAIL is empty: set it to your Tesla account e-mail in .env", file=out)
        return 2
    tesla_owner.set_base_url(settings.tesla_owner_base_url)
    cache = tesla_owner.token_path(settings.state_dir)

    shown: list[str] = []

    def authenticator(url: str) -> str:
        shown.append(url)
        print("1. Open this address in a browser and sign in to Tesla:", file=out)
        print(url, file=out)
        print("2. Tesla then shows 'Page Not Found'; copy that page's whole address (tesla://auth/callback?...).",
              file=out)
        return _ask("3. Paste it here: ", stdin, out)

    tesla = tesla_owner.open_session(settings.tesla_account_email, cache, sso_base_url=settings.tesla_auth_url,
                                     authenticator=authenticator)
    if tesla.authorized:
        print(f"Already signed in (token in {cache}); delete that file to sign in again.", file=out)
        return 0
    try:
        tesla.fetch_token()
    except VehicleError:
        raise
    except Exception as exc:  # oauthlib and requests raise many kinds; the user needs one line
        scrub = Scrubber()
        scrub.add(settings.tesla_account_email)
        if not shown:  # teslapy asks Tesla before it has an address to show: offline, or TESLA_AUTH_URL wrong
            print(f"error: could not reach Tesla's sign-in at {settings.tesla_auth_url} ({type(exc).__name__}); "
                  "check the network (and TESLA_AUTH_URL), then run it again", file=out)
            return 1
        print(f"error: sign-in failed ({type(exc).__name__}: {scrub(exc)}); run it again and paste the address "
              "straight after signing in", file=out)
        return 1
    print(f"Signed in. Token saved to {cache} (readable by you only).", file=out)
    _show_car(lambda: tesla_owner.OwnerVehicle.from_settings(settings), out)
    return 0


def _fleet(settings: Settings, stdin: TextIO, out: TextIO) -> int:
    missing = [n for n, v in (("TESLA_CLIENT_ID", settings.tesla_client_id),
                              ("TESLA_CLIENT_SECRET", settings.tesla_client_secret)) if not v]
    if missing:
        print(f"error: {' and '.join(missing)} empty: copy them from your app at developer.tesla.com", file=out)
        return 2
    state = secrets.token_urlsafe(16)
    query = {"response_type": "code", "client_id": settings.tesla_client_id,
             "redirect_uri": settings.tesla_redirect_uri, "scope": FLEET_SCOPES, "state": state,
             "prompt_missing_scopes": "true"}
    url = settings.tesla_auth_url.rstrip("/") + "/oauth2/v3/authorize?" + urlencode(query)
    print("1. Open this address in a browser and sign in to Tesla, allowing the app's access:", file=out)
    print(url, file=out)
    print(f"2. The browser then goes to {settings.tesla_redirect_uri}?code=... (the page may not load).", file=out)
    answer = _ask("3. Paste that whole address (or just the code) here: ", stdin, out)
    code = answer
    if "?" in answer or answer.startswith("http"):
        params = parse_qs(urlsplit(answer).query)
        if "error" in params:
            print(f"error: Tesla said {params['error'][0]}: sign in again and allow the access asked", file=out)
            return 1
        if params.get("state", [state])[0] != state:
            print("error: that address is from another sign-in (state differs); use the newest one", file=out)
            return 1
        code = params.get("code", [""])[0]
    if not code:
        print("error: no code in what was pasted; paste the address the browser ended on", file=out)
        return 1
    token = tesla_fleet.token_request(requests.Session(), settings.tesla_token_url, {
        "grant_type": "authorization_code", "client_id": settings.tesla_client_id,
        "client_secret": settings.tesla_client_secret, "code": code,
        "audience": settings.tesla_fleet_audience, "redirect_uri": settings.tesla_redirect_uri})
    path = tesla_fleet.token_path(settings.state_dir)
    tesla_fleet.save_token(path, token)
    print(f"Signed in. Token saved to {path} (readable by you only).", file=out)
    _show_car(lambda: tesla_fleet.FleetVehicle.from_settings(settings), out)
    return 0


def _show_car(make: Callable[[], Vehicle], out: TextIO) -> None:
    """Prove the token works with the free vehicle list; a failure here does not undo the sign-in."""
    try:
        summary = make().summary()
    except VehicleError as exc:
        print(f"warning: signed in, but listing the car failed: {exc}", file=out)
        return
    print(f"Found {summary.display_name} ({summary.vin_short}), now {summary.state}.", file=out)
