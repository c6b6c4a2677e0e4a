"""`scheduler.py auth tesla|google`: the one-time, interactive sign-ins the daemon itself never does."""

from __future__ import annotations

import argparse
import importlib
import sys

TESLA = ("Sign in to Tesla once and keep the token in STATE_DIR (private, 0600). With TESLA_BACKEND=teslapy (the "
         "Owner API) it uses TESLA_ACCOUNT_EMAIL and TESLA_AUTH_URL: open the address it prints, sign in, paste the "
         "'Page Not Found' page's address back. With TESLA_BACKEND=fleet it uses TESLA_CLIENT_ID, "
         "TESLA_CLIENT_SECRET, TESLA_REDIRECT_URI, TESLA_FLEET_AUDIENCE and TESLA_AUTH_URL: sign in, paste the "
         "address the browser was sent to. Then it lists the car (a free call) to prove the token works.")
GOOGLE = ("Sign in to Google Calendar once (OAuth): uses GOOGLE_CREDENTIALS_FILE (a Desktop-app client from Google "
          "Cloud), listens on GOOGLE_OAUTH_HOST:GOOGLE_OAUTH_PORT for Google's redirect and keeps the token in "
          "GOOGLE_TOKEN_FILE (default STATE_DIR/token.json, 0600). Not needed with a secret iCal address "
          "(CALENDAR_SOURCE=ical, ICAL_URL).")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("auth", help="sign in once: tesla (Owner or Fleet API) or google (Calendar)",
                       description="The one-time, interactive sign-ins; the daemon never asks for a password. "
                                   "Run `auth tesla --help` or `auth google --help` for what each uses.")
    services = p.add_subparsers(dest="service", metavar="SERVICE", required=True)
    services.add_parser("tesla", help="sign in to Tesla (TESLA_BACKEND: teslapy or fleet)", description=TESLA)
    services.add_parser("google", help="sign in to Google Calendar (OAuth)", description=GOOGLE)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module({"tesla": "cli.tesla_sign_in", "google": "cli.google_sign_in"}[args.service])
    try:
        return int(module.run(args))
    except (KeyboardInterrupt, EOFError):  # Ctrl-C or Ctrl-D at the prompt: nothing was saved
        print("\nsign-in cancelled; nothing was saved", file=sys.stderr)
        return 130
