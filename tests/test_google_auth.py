"""`auth google`: a broken credentials.json is one clear line; the local-server flow saves a private token that the
calendar client then uses."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import stat
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from cli import google_sign_in as google_auth
from clients.google_calendar import load_credentials
from service.settings import load_settings
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeGoogle


def settings(tmp_path, **env):
    base = {"STATE_DIR": str(tmp_path / "state"), "GOOGLE_CREDENTIALS_FILE": str(tmp_path / "credentials.json")}
    base.update({k: str(v) for k, v in env.items()})
    return load_settings(environ=base, env_file=None)


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("{not json", "is not valid JSON"),
    (json.dumps({"installed": {"client_id": "x"}}), "is not an OAuth client file"),
    (json.dumps({"type": "service_account"}), "is not an OAuth client file"),
])
def test_broken_credentials_file_is_one_clear_line(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / "credentials.json").write_text(content)
    code = google_auth.run(argparse.Namespace(service="google", settings=settings(tmp_path)))
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "credentials.json" in err and len(err.splitlines()) == 1
    assert "Desktop app" in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_server_flow_saves_a_private_token(tmp_path, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # oauthlib's own switch for a plain-http token endpoint
    with FakeGoogle() as fake:
        (tmp_path / "credentials.json").write_text(json.dumps({"installed": {
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "auth_uri": fake.url + "/auth",
            "token_uri": fake.url + "/token", "redirect_uris": ["http://localhost"]}}))
        port = free_port()
        s = settings(tmp_path, GOOGLE_OAUTH_HOST="127.0.0.1", GOOGLE_OAUTH_PORT=port)
        out = io.StringIO()
        result: list[int] = []
        with contextlib.redirect_stdout(out):
            t = threading.Thread(target=lambda: result.append(google_auth.run(argparse.Namespace(settings=s))))
            t.start()
            deadline = time.monotonic() + 10
            while "state=" not in out.getvalue() and time.monotonic() < deadline:
                time.sleep(0.05)
            url = next(w for w in out.getvalue().split() if w.startswith(fake.url + "/auth"))
            q = parse_qs(urlsplit(url).query)
            assert q["redirect_uri"] == [f"http://localhost:{port}/"] and q["client_id"] == [CLIENT_ID]
            assert "calendar.readonly" in q["scope"][0]
            page = requests.get(f"http://127.0.0.1:{port}/", params={"code": "test-code", "state": q["state"][0]},
                                timeout=10)
            t.join(10)
        assert page.status_code == 200 and "Signed in" in page.text
        assert result == [0] and f"ssh -L {port}:localhost:{port}" in out.getvalue()
        token = tmp_path / "state" / "token.json"
        assert stat.S_IMODE(os.stat(token).st_mode) == 0o600
        creds = load_credentials(token)
        assert creds.refresh_token == REFRESH_TOKEN and creds.token in fake.valid_tokens


def test_a_busy_port_names_the_setting(tmp_path, capsys):
    (tmp_path / "credentials.json").write_text(json.dumps({"installed": {
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token"}}))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = google_auth.run(argparse.Namespace(settings=settings(tmp_path, GOOGLE_OAUTH_HOST="127.0.0.1",
                                                                    GOOGLE_OAUTH_PORT=port)))
    err = capsys.readouterr().err
    assert code == 2 and "GOOGLE_OAUTH_PORT" in err and str(port) in err
