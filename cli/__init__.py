"""Subcommands of scheduler.py. Each module here has `register(subparsers)`; its parser sets `func(args) -> int`."""

from __future__ import annotations

import argparse
import importlib

MODULES = ("cli.auth", "cli.events", "cli.backtest", "cli.health")


def register_all(sub: argparse._SubParsersAction) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
