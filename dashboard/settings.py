"""The dashboard's own three settings (HOST, PORT, STATE_DIR) from the command line, the environment and `.env`.

The dashboard reads only these, so a scheduler setting that is wrong or unknown to this version never stops it;
defaults and ranges come from the scheduler's settings table so the two agree.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from service.settings import SPECS, SettingsError


@dataclass(frozen=True)
class DashboardSettings:
    host: str
    port: int
    state_dir: Path
    refresh_s: float
    verbose: bool = False

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"


def _env(environ: Mapping[str, str] | None, env_file: str | Path | None) -> dict[str, str]:
    """The environment, `.env` filling what it leaves unset (python-dotenv's rule); only our three names."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items()}
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values

        try:
            for key, value in dotenv_values(env_file).items():
                env.setdefault(key, value or "")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{env_file} cannot be read: {exc}") from None
    return {k: env[k] for k in ("HOST", "PORT", "STATE_DIR") if env.get(k, "").strip()}


def _port(raw: str | int) -> int:
    spec = SPECS["PORT"].metadata
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"PORT={raw!r} is not valid: it takes a whole number") from None
    if not spec["low"] <= port <= spec["high"]:
        raise SettingsError(f"PORT={port} is out of range: it takes {spec['low']:.0f} to {spec['high']:.0f}")
    return port


def parse_args(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None,
               env_file: str | Path | None = ".env") -> DashboardSettings:
    """Command line first, then the environment, then `.env` (or --env-file), then the scheduler's defaults."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--env-file", default=env_file)
    env_file = pre.parse_known_args(argv)[0].env_file
    env = _env(environ, env_file)
    parser = argparse.ArgumentParser(prog="app.py", description="Dashboard of the charge scheduler (reads state.json)")
    parser.add_argument("--env-file", default=env_file, metavar="FILE", help="settings file (default .env)")
    parser.add_argument("--state-dir", default=env.get("STATE_DIR", SPECS["STATE_DIR"].default),
                        help="folder holding state.json (env STATE_DIR)")
    parser.add_argument("--host", default=env.get("HOST", SPECS["HOST"].default),
                        help="address to listen on (env HOST)")
    parser.add_argument("--port", default=env.get("PORT", SPECS["PORT"].default), help="port (env PORT)")
    parser.add_argument("--refresh-s", type=float, default=10.0,
                        help="how often the page checks state.json for a change (seconds)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        port = _port(args.port)
    except SettingsError as exc:
        parser.error(str(exc))
    if not 0.2 <= args.refresh_s <= 3600:
        parser.error("--refresh-s takes 0.2 to 3600 seconds")
    return DashboardSettings(host=args.host, port=port, state_dir=Path(args.state_dir), refresh_s=args.refresh_s,
                              verbose=args.verbose)
