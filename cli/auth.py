"""`scheduler.py auth tesla|google`: the one-time, interactive sign-ins the daemon itself never does."""

from __future__ import annotations

import argparse
import importlib


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("auth", help="sign in once: tesla (Owner or Fleet API) or google (Calendar)")
    p.add_argument("service", choices=("tesla", "google"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module({"tesla": "clients.tesla_auth", "google": "clients.google_auth"}[args.service])
    return int(module.run(args))
