"""Subcommands of scheduler.py. Each module here has `register(subparsers)`; its parser sets `func(args) -> int`.

`register_all` then gives every subcommand parser the global options too (`common`), so they work after it.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

MODULES = ("cli.auth", "cli.events", "cli.backtest", "cli.health", "cli.leave")


def register_all(sub: argparse._SubParsersAction,
                 common: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    for name in MODULES:
        module = importlib.import_module(name)  # a subcommand that cannot be imported is a bug to see, not to skip
        before = set(sub.choices)
        module.register(sub)
        if common is not None:
            for added in set(sub.choices) - before:
                _with_common(sub.choices[added], common)


def _with_common(parser: argparse.ArgumentParser, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The global options on this parser and on its own subcommands (auth tesla, auth google)."""
    taken = {o for action in parser._actions for o in action.option_strings}
    if "--state-dir" not in taken:
        common(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _with_common(child, common)
