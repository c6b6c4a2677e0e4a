"""`scheduler.py backtest`: BENCHMARK.md's replay of real sessions against real grid load (see backtest/)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from backtest.cli import add_arguments, run

    p = sub.add_parser("backtest", help="replay real charging sessions against real grid load; print the metrics")
    add_arguments(p)
    p.set_defaults(func=run)
