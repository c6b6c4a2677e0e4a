"""No secret leaves the places meant for it: `scheduler.py --once -v` run tick after tick against the fakes, with every
source failing in ways that echo the secret back (a 401 quoting the bearer token, a GridStatus or Maps error quoting
the key, a page quoting the secret iCal address, errors naming the full VIN and the account e-mail), and then healthy.

Secrets: the Tesla access and refresh tokens (in the token cache, and every one the fake issues on refresh), the
account e-mail, the full VIN, the Fleet client secret, GRID_STATUS_API_KEY, GOOGLE_MAPS_API_KEY and the iCal secret
address. None may appear in stdout/stderr or any file of the state dir but the token cache; token and cache files are
0600 and the state dir 0700.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.state_schema import FIRST_CAR, car_section
from tests.fakes import gridstatus as gs
from tests.fakes import maps as fm
from tests.fakes.gridstatus import FakeGridStatus
from tests.fakes.http import Reply, Request
from tests.fakes.ical import FakeICal
from tests.fakes.maps import FakeMaps
from tests.fakes.tesla_car import VIN, FakeCar
from tests.fakes.tesla_fleet import FakeFleetApi
from tests.fakes.tesla_owner import FakeOwnerApi

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "jane.owner@example.com"
CLIENT_SECRET = "fleet-client-secret-s3cr3t"
TOKEN_FILES = {"tesla_owner_token.json", "tesla_fleet_token.json", "token.json"}


class Echoing:
    """Mixed into a Tesla fake: the queued faults answer with bodies that quote what the request carried."""

    echo: list[str]

    def dispatch(self, req: Request) -> Reply:
        if self.echo and (req.path.startswith("/api/") or req.path.startswith("/oauth2/")):
            kind = self.echo.pop(0)
            auth = req.headers.get("Authorization", "")
            body = req.body.decode(errors="replace")
            if kind == "401":
                return Reply(401, {"response": None, "error": f"invalid bearer token: {auth}",
                                   "error_description": f"token for {EMAIL} and car {VIN} expired"})
            if kind == "500":
                return Reply(500, {"response": None, "error": f"internal error for vehicle {VIN} ({EMAIL})",
                                   "error_description": f"request was {auth} {body}"})
            if kind == "html":
                return Reply(502, f"<html><body>Bad gateway for {auth} {VIN} {EMAIL}</body></html>",
                             {"Content-Type": "text/html"})
            if kind == "refresh_refused":
                return Reply(401, {"error": "invalid_grant",
                                   "error_description": f"refresh token in {body} was revoked for {EMAIL}"})
        return super().dispatch(req)  # type: ignore[misc]


class EchoFleet(Echoing, FakeFleetApi):
    pass


class EchoOwner(Echoing, FakeOwnerApi):
    pass


class EchoICal(FakeICal):
    errors: list[Reply]

    def _get(self, req: Request) -> Reply:
        if self.errors:
            return self.errors.pop(0)
        return super()._get(req)


def ics_for_tomorrow() -> str:
    start = (datetime.now(UTC) + timedelta(hours=20)).strftime("%Y%m%dT%H%M%SZ")
    end = (datetime.now(UTC) + timedelta(hours=22)).strftime("%Y%m%dT%H%M%SZ")
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:trip\nSUMMARY:Day in Boston\n"
            f"DTSTART:{start}\nDTEND:{end}\nLOCATION:South Station\\, Boston MA\nEND:VEVENT\nEND:VCALENDAR\n")


def run_once(env_file: Path, state: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TESLA_", "GRID", "GOOGLE_", "ICAL_"))}
    return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--once", "-v", "--state-dir", str(state),
                           "--env-file", str(env_file)], capture_output=True, text=True, timeout=90,
                          stdin=subprocess.DEVNULL, cwd=cwd, env=env)


@pytest.mark.parametrize("backend", ["teslapy", "fleet"])
def test_a_faulty_session_leaks_no_secret(tmp_path: Path, backend: str) -> None:
    state = tmp_path / "state"
    ics = tmp_path / "cal.ics"
    ics.write_text(ics_for_tomorrow())
    car = FakeCar(plugged=True, state="online", battery_level=40)
    tesla_fake = EchoOwner(car) if backend == "teslapy" else EchoFleet(car)
    tesla_fake.echo = []
    with tesla_fake as tesla, FakeGridStatus() as grid, EchoICal(ics) as ical, FakeMaps() as maps:
        ical.errors = []
        state.mkdir(mode=0o755)
        grant = tesla.grant()
        if backend == "teslapy":
            grant.update(expires_at=time.time() + 28800)
            (state / "tesla_owner_token.json").write_text(json.dumps({EMAIL: {"url": tesla.url + "/", "sso": grant}}))
            backend_env = f"TESLA_OWNER_BASE_URL={tesla.url}\nMAPS_API=routes\n"
        else:
            (state / "tesla_fleet_token.json").write_text(json.dumps(
                {"access_token": grant["access_token"], "refresh_token": grant["refresh_token"],
                 "expires_at": time.time() + 28800}))
            backend_env = (f"TESLA_FLEET_BASE_URL={tesla.url}\nTESLA_CLIENT_ID={tesla.client_id}\n"
                           f"TESLA_CLIENT_SECRET={CLIENT_SECRET}\nMAPS_API=legacy\nMAPS_BASE_URL={maps.url}\n")
        env_file = tmp_path / "scheduler.env"
        env_file.write_text(
            f"TESLA_BACKEND={backend}\nTESLA_ACCOUNT_EMAIL={EMAIL}\nTESLA_VIN={VIN}\nTESLA_AUTH_URL={tesla.url}\n"
            f"TESLA_TOKEN_URL={tesla.url}\n"
            f"{backend_env}GRID_STATUS_API_KEY={gs.KEY}\nGRIDSTATUS_BASE_URL={grid.url}\n"
            f"ICAL_URL={ical.secret_url}\nGOOGLE_MAPS_API_KEY={fm.KEY}\nROUTES_BASE_URL={maps.url}\n"
            "TESLA_HOME_ADDRESS=1 Home Rd, Springfield MA\nTIME_ZONE=America/New_York\n")
        secret_path = ical.secret_url.split("/calendar/", 1)[1]

        outputs = []
        # tick 1: everything fails, quoting what it was sent
        tesla.echo[:] = ["401", "500", "html"]
        grid.errors = [Reply(401, {"detail": f"Invalid API key {gs.KEY} for {EMAIL}"})]
        maps.errors = [Reply(500, {"error": {"code": 500, "message": f"key {fm.KEY} failed", "status": "INTERNAL"}}),
                       Reply(200, {"status": "UNKNOWN_ERROR", "error_message": f"key={fm.KEY}"})]
        ical.errors = [Reply(404, f"No calendar at {ical.secret_url} for {EMAIL}")]
        outputs.append(run_once(env_file, state, tmp_path))
        # tick 2: all healthy, so every cache and the state file hold real data
        tesla.echo.clear()
        grid.errors, maps.errors, ical.errors = [], [], []
        outputs.append(run_once(env_file, state, tmp_path))
        # tick 3: the token is refused and its refresh revoked, with the refresh token quoted back
        tesla.echo[:] = ["401", "refresh_refused"]
        ical.errors = [Reply(500, f"<html>error reading {secret_path}</html>", {"Content-Type": "text/html"})]
        outputs.append(run_once(env_file, state, tmp_path))
        # tick 4: a 401 whose retry also fails
        tesla.echo[:] = ["401", "401", "401"]
        outputs.append(run_once(env_file, state, tmp_path))

        secrets = {EMAIL, VIN, CLIENT_SECRET, gs.KEY, fm.KEY, ical.secret_url, secret_path,
                   *tesla.tokens.access, *tesla.tokens.refresh, grant["id_token"]}
        requests_made = len(tesla.log) + len(grid.log) + len(ical.log) + len(maps.log)

    for i, proc in enumerate(outputs, 1):
        assert proc.returncode == 0, f"tick {i}: {proc.stderr}"
    logs = "\n".join(p.stdout + p.stderr for p in outputs)
    assert "| car " in logs and "grid forecast" in logs and "calendar" in logs  # the failures were logged
    assert requests_made > 10
    leaks = [(s, "logs") for s in secrets if s in logs]
    files = sorted(p for p in state.rglob("*") if p.is_file())
    assert {"state.json", "vehicle.json", "grid_forecast.json", "distance_cache.json"} <= {p.name for p in files}
    for path in files:
        if path.name in TOKEN_FILES:
            continue
        text = path.read_text(errors="replace")
        leaks += [(s, path.name) for s in secrets if s in text]
    assert leaks == [], f"secrets leaked: {[(s[:12] + '…', where) for s, where in leaks]}"
    state_json = json.loads((state / "state.json").read_text())
    vehicle = car_section(state_json, FIRST_CAR)["vehicle"]
    assert vehicle is None or vehicle["vin"] == "…" + VIN[-4:]

    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}: readable by others"
