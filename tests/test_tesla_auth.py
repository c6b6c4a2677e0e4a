"""`scheduler.py auth tesla` for both backends, the user played by a 'browser' that signs in at the fake."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cli import tesla_sign_in as tesla_auth
from clients.tesla_fleet import FleetVehicle
from clients.tesla_owner import OwnerVehicle
from service.settings import load_settings
from tests.fakes.tesla_car import FakeTesla
from tests.fakes.tesla_fleet import FakeCar, FakeFleetApi
from tests.fakes.tesla_owner import FakeOwnerApi

EMAIL = "owner@example.com"
REDIRECT = "http://localhost:8080/callback"
ROOT = Path(__file__).resolve().parent.parent


class Browser:
    """Stands in for the person: reads the address the command printed, 'signs in' at the fake and pastes back
    where the browser landed (or `answer(url)` decides what to paste)."""

    def __init__(self, out: io.StringIO, fake: FakeTesla, redirect: str, client_id: str, answer=None) -> None:
        self.out, self.fake, self.redirect, self.client_id = out, fake, redirect, client_id
        self.answer = answer
        self.url = ""

    def readline(self) -> str:
        self.url = re.findall(r"^(http\S+/oauth2/v3/authorize\?\S+)$", self.out.getvalue(), re.M)[-1]
        landed = self.fake.redirect_url(self.url, self.redirect, self.client_id)
        return (self.answer(landed) if self.answer else landed) + "\n"


@pytest.fixture
def owner_env(monkeypatch, tmp_path):
    with FakeOwnerApi(FakeCar(state="online")) as fake:
        monkeypatch.chdir(tmp_path)
        for k, v in {"TESLA_BACKEND": "teslapy", "TESLA_ACCOUNT_EMAIL": EMAIL, "STATE_DIR": str(tmp_path),
                     "TESLA_OWNER_BASE_URL": fake.url, "TESLA_AUTH_URL": fake.url}.items():
            monkeypatch.setenv(k, v)
        yield fake


@pytest.fixture
def fleet_env(monkeypatch, tmp_path):
    with FakeFleetApi(FakeCar(state="asleep")) as fake:
        monkeypatch.chdir(tmp_path)
        for k, v in {"TESLA_BACKEND": "fleet", "TESLA_CLIENT_ID": fake.client_id, "STATE_DIR": str(tmp_path),
                     "TESLA_CLIENT_SECRET": fake.client_secret, "TESLA_AUTH_URL": fake.url,
                     "TESLA_TOKEN_URL": fake.url, "TESLA_FLEET_BASE_URL": fake.url,
                     "TESLA_REDIRECT_URI": REDIRECT}.items():
            monkeypatch.setenv(k, v)
        yield fake


def sign_in(fake: FakeTesla, redirect: str, client_id: str, answer=None) -> tuple[int, str, Browser]:
    out = io.StringIO()
    browser = Browser(out, fake, redirect, client_id, answer)
    code = tesla_auth.run(None, stdin=browser, stdout=out)
    return code, out.getvalue(), browser


# ---------------------------------------------------------------------- teslapy
def test_owner_sign_in_saves_a_private_token_the_backend_uses(owner_env, tmp_path):
    code, out, browser = sign_in(owner_env, "tesla://auth/callback", "ownerapi")
    assert code == 0, out
    assert "Signed in" in out and "Found Fakey (…3456), now online." in out
    query = parse_qs(urlsplit(browser.url).query)
    assert query["client_id"] == ["ownerapi"] and query["code_challenge_method"] == ["S256"]
    exchange = owner_env.requests("POST", "/oauth2/v3/token")[0].body.decode()
    assert "grant_type=authorization_code" in exchange and "code_verifier=" in exchange  # PKCE checked by fake
    path = tmp_path / "tesla_owner_token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())[EMAIL]["sso"]["access_token"] in owner_env.tokens.access
    car = OwnerVehicle(EMAIL, cache_file=path, base_url=owner_env.url, sso_base_url=owner_env.url)
    assert car.snapshot().battery_level == 45


def test_owner_sign_in_when_already_signed_in_changes_nothing(owner_env, tmp_path):
    assert sign_in(owner_env, "tesla://auth/callback", "ownerapi")[0] == 0
    before = len(owner_env.log)
    code, out, _ = sign_in(owner_env, "tesla://auth/callback", "ownerapi")
    assert code == 0 and "Already signed in" in out and len(owner_env.log) == before


def test_owner_sign_in_with_a_wrong_paste_fails_cleanly(owner_env, tmp_path):
    code, out, _ = sign_in(owner_env, "tesla://auth/callback", "ownerapi",
                           answer=lambda landed: landed.replace("code=", "code=x"))
    assert code == 1 and "sign-in failed" in out and EMAIL not in out.split("Paste it here:")[-1]
    assert not (tmp_path / "tesla_owner_token.json").exists()


def test_owner_needs_the_email(owner_env, monkeypatch):
    monkeypatch.setenv("TESLA_ACCOUNT_EMAIL", "")
    code, out, _ = sign_in(owner_env, "tesla://auth/callback", "ownerapi")
    assert code == 2 and "TESLA_ACCOUNT_EMAIL" in out


def test_auth_with_stdin_closed_ends_with_one_line_instead_of_waiting(owner_env, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", "import sys; from cli.tesla_sign_in import run; "
                                                 "sys.exit(run(None))"],
                          env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines()[-1].endswith("run `python scheduler.py auth tesla` in a terminal")


# ---------------------------------------------------------------------- fleet
def test_fleet_sign_in_exchanges_the_code_and_saves_privately(fleet_env, tmp_path):
    code, out, browser = sign_in(fleet_env, REDIRECT, fleet_env.client_id)
    assert code == 0, out
    assert "Found Fakey (…3456), now asleep." in out
    query = parse_qs(urlsplit(browser.url).query)
    assert query["response_type"] == ["code"] and query["redirect_uri"] == [REDIRECT]
    assert set(query["scope"][0].split()) >= {"openid", "offline_access", "vehicle_device_data",
                                              "vehicle_charging_cmds", "vehicle_cmds"}
    form = parse_qs(fleet_env.requests("POST", "/oauth2/v3/token")[0].body.decode())
    assert form["grant_type"] == ["authorization_code"] and form["client_secret"] == [fleet_env.client_secret]
    assert form["redirect_uri"] == [REDIRECT] and form["audience"] == ["https://fleet-api.prd.na.vn.cloud.tesla.com"]
    path = tmp_path / "tesla_fleet_token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    car = FleetVehicle(fleet_env.url, token_file=path, client_id=fleet_env.client_id, token_url=fleet_env.url)
    assert car.summary().state == "asleep"
    assert fleet_env.tokens.access and not any(t in out for t in fleet_env.tokens.access | fleet_env.tokens.refresh)


def test_fleet_sign_in_takes_the_bare_code(fleet_env, tmp_path):
    code, out, _ = sign_in(fleet_env, REDIRECT, fleet_env.client_id,
                           answer=lambda landed: parse_qs(urlsplit(landed).query)["code"][0])
    assert code == 0 and (tmp_path / "tesla_fleet_token.json").exists()


@pytest.mark.parametrize("answer, message", [
    (lambda landed: landed.replace("state=", "state=other"), "another sign-in"),
    (lambda landed: REDIRECT + "?error=access_denied", "access_denied"),
    (lambda landed: REDIRECT + "?foo=1", "no code"),
])
def test_fleet_sign_in_rejects_bad_pastes_before_any_exchange(fleet_env, tmp_path, answer, message):
    code, out, _ = sign_in(fleet_env, REDIRECT, fleet_env.client_id, answer=answer)
    assert code == 1 and message in out
    assert fleet_env.requests("POST", "/oauth2/v3/token") == []
    assert not (tmp_path / "tesla_fleet_token.json").exists()


def test_fleet_sign_in_with_a_wrong_secret_is_refused(fleet_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TESLA_CLIENT_SECRET", "not-the-secret")
    code, out, _ = sign_in(fleet_env, REDIRECT, fleet_env.client_id)
    assert code == 1 and "Tesla refused the token request (invalid_client" in out
    assert "not-the-secret" not in out.split("Paste")[-1]
    assert not (tmp_path / "tesla_fleet_token.json").exists()


def test_fleet_needs_the_app_credentials(fleet_env, monkeypatch):
    monkeypatch.setenv("TESLA_CLIENT_ID", "")
    code, out, _ = sign_in(fleet_env, REDIRECT, "")
    assert code == 2 and "TESLA_CLIENT_ID" in out


def test_sim_needs_no_sign_in(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESLA_BACKEND", "sim")
    out = io.StringIO()
    assert tesla_auth.run(None, stdin=io.StringIO(), stdout=out) == 0 and "nothing to sign in" in out.getvalue()


def test_bad_settings_are_named(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESLA_BACKEND", "carrier-pigeon")
    out = io.StringIO()
    assert tesla_auth.run(None, stdin=io.StringIO(), stdout=out) == 2 and "TESLA_BACKEND" in out.getvalue()


def test_fleet_sign_in_asks_for_the_car_s_position(fleet_env, tmp_path):
    """vehicle_location (added 2024-11): without it vehicle_data has no position and "at home" cannot be told."""
    _, _, browser = sign_in(fleet_env, REDIRECT, fleet_env.client_id)
    assert "vehicle_location" in parse_qs(urlsplit(browser.url).query)["scope"][0].split()


def test_fleet_tokens_are_exchanged_at_the_token_host_not_the_sign_in_page(monkeypatch, tmp_path):
    """Tesla asks partners to exchange and refresh tokens at fleet-auth.prd.vn.cloud.tesla.com; the authorize page
    stays on auth.tesla.com: two hosts, two settings."""
    with FakeFleetApi(FakeCar(state="asleep")) as token_host:
        monkeypatch.chdir(tmp_path)
        for k, v in {"TESLA_BACKEND": "fleet", "TESLA_CLIENT_ID": token_host.client_id, "STATE_DIR": str(tmp_path),
                     "TESLA_CLIENT_SECRET": token_host.client_secret, "TESLA_AUTH_URL": "https://auth.tesla.com",
                     "TESLA_TOKEN_URL": token_host.url, "TESLA_FLEET_BASE_URL": token_host.url,
                     "TESLA_REDIRECT_URI": REDIRECT}.items():
            monkeypatch.setenv(k, v)
        code, out, browser = sign_in(token_host, REDIRECT, token_host.client_id)
        assert code == 0, out
        assert browser.url.startswith("https://auth.tesla.com/oauth2/v3/authorize?")
        assert len(token_host.requests("POST", r"^/oauth2/v3/token$")) == 1
        path = tmp_path / "tesla_fleet_token.json"
        saved = json.loads(path.read_text())
        path.write_text(json.dumps({**saved, "expires_at": 0}))  # expired: the next call refreshes it
        car = FleetVehicle.from_settings(load_settings())
        car.summary()
        refresh = parse_qs(token_host.requests("POST", r"^/oauth2/v3/token$")[-1].body.decode())
        assert refresh["grant_type"] == ["refresh_token"]


def test_the_token_host_defaults_to_tesla_s_fleet_auth_host():
    s = load_settings({}, env_file=None)
    assert (s.tesla_auth_url, s.tesla_token_url) == ("https://auth.tesla.com",
                                                     "https://fleet-auth.prd.vn.cloud.tesla.com")
