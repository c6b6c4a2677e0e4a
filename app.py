"""Dashboard of the charge scheduler: `python app.py [--state-dir DIR] [--host 127.0.0.1] [--port 8050]`.

It reads only STATE_DIR/state.json (written by `python scheduler.py`), calls no outside service and serves every
script and stylesheet itself, so it works on a home server with no internet.
"""

from __future__ import annotations

import logging
import sys

from dashboard.app import create_app
from dashboard.settings import parse_args
from service.settings import SettingsError


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(argv)
    except SettingsError as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.verbose:  # the page polls every few seconds: one log line a poll is noise for months
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(settings.state_dir, refresh_s=settings.refresh_s)
    print(f"Dashboard on http://{settings.host}:{settings.port}/ reading {settings.state_file}", flush=True)
    app.run(host=settings.host, port=settings.port, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
