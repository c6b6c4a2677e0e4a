"""`python scheduler.py auth google`: the one-time Google sign-in that leaves token.json for the daemon.

Google ended the out-of-band (copy-a-code) flow, so this runs InstalledAppFlow.run_local_server without opening a
browser: it prints the sign-in URL, and the browser (on any machine, with `ssh -L PORT:localhost:PORT` for a headless
box) comes back to http://localhost:GOOGLE_OAUTH_PORT/. GOOGLE_OAUTH_HOST is the address the listener binds to
(0.0.0.0 inside docker). Copying a token.json made elsewhere into place works too.
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path
from typing import Any

from google_auth_oauthlib.flow import InstalledAppFlow

from clients.google_calendar import SCOPES, save_credentials
from service.settings import Settings, SettingsError, load_settings


class CredentialsFileError(ValueError):
    pass


def read_client_config(path: str | Path) -> dict[str, Any]:
    """The OAuth client from Google Cloud; any problem is one line naming the file and the fix."""
    path = Path(path)
    hint = "download the OAuth client (type Desktop app) from Google Cloud > APIs & Services > Credentials"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialsFileError(f"{path} not found (GOOGLE_CREDENTIALS_FILE): {hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsFileError(f"{path} cannot be read ({type(exc).__name__}): {hint}") from None
    except ValueError:
        raise CredentialsFileError(f"{path} is not valid JSON: {hint}") from None
    client = data.get("installed") or data.get("web") if isinstance(data, dict) else None
    if not isinstance(client, dict) or not client.get("client_id") or not client.get("client_secret"):
        raise CredentialsFileError(f"{path} is not an OAuth client file (no installed.client_id/client_secret): "
                                   f"{hint}")
    return data


def sign_in(settings: Settings) -> Path:
    config = read_client_config(settings.google_credentials_file)
    flow = InstalledAppFlow.from_client_config(config, SCOPES)
    port = settings.google_oauth_port
    creds = flow.run_local_server(
        host="localhost", bind_addr=settings.google_oauth_host, port=port, open_browser=False,
        authorization_prompt_message=(
            "Open this address in a browser and allow read-only calendar access.\n"
            f"If this machine has no browser, first run on yours: ssh -L {port}:localhost:{port} <this host>\n\n"
            "{url}\n"),
        success_message="Signed in: the charge scheduler can read your calendar now. You may close this tab.")
    path = settings.google_token_path
    save_credentials(creds, path)
    return path


def run(args: argparse.Namespace) -> int:
    try:
        settings = getattr(args, "settings", None) or load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        path = sign_in(settings)
    except CredentialsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"error: port {settings.google_oauth_port} is in use: stop what uses it or set GOOGLE_OAUTH_PORT",
                  file=sys.stderr)
            return 2
        print(f"error: Google sign-in failed ({type(exc).__name__}: {exc.strerror or exc})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sign-in cancelled", file=sys.stderr)
        return 130
    except Exception as exc:  # oauthlib/requests errors: one line, never a traceback with tokens in it
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"error: Google sign-in failed ({type(exc).__name__}: {first})", file=sys.stderr)
        return 1
    print(f"Google token saved to {path} (private, 0600). The scheduler will use it from now on.")
    return 0
