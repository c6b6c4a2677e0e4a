"""Dashboard of the charge scheduler: `python app.py [--state-dir DIR] [--host 127.0.0.1] [--port 8050]`.

It reads only STATE_DIR/state.json (written by `python scheduler.py`), calls no outside service and serves every
script and stylesheet itself, so it works on a home server with no internet. waitress serves it, a production WSGI
server in pure Python (a Raspberry Pi, the image), never Flask's development server.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

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
    try:
        from waitress.server import create_server
    except ImportError:  # a venv made before the dashboard needed it
        print("app.py: waitress is not installed: run bash scripts/demo.sh, or pip install -r requirements.txt in "
              "the project's venv", file=sys.stderr)
        return 2

    app = create_app(settings.state_dir, refresh_s=settings.refresh_s)
    # one log line a request only with -v: the page polls every few seconds, which is noise for months
    wsgi = _logged(app.server) if settings.verbose else app.server
    try:
        server = create_server(wsgi, host=settings.host, port=settings.port, threads=8)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        print(f"app.py: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # docker stop's SIGTERM ends the server as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    print(f"Dashboard on http://{settings.host}:{settings.port}/ reading {settings.state_file}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _logged(wsgi: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app, logging each request's method, path and status (app.py -v)."""
    log = logging.getLogger("dashboard.requests")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            log.info("%s %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return wsgi(environ, start)

    return app


if __name__ == "__main__":
    sys.exit(main())
