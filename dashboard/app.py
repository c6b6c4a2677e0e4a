"""Build the Dash app: everything served from this process (no CDN), the page rendered from the state at load."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dash import Dash

from dashboard import callbacks, layout
from dashboard.state import StateReader, now_in, unreadable

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent / "assets"
INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
{%metas%}
<title>{%title%}</title>
{%favicon%}
{%css%}
</head>
<body>
{%app_entry%}
<footer>{%config%}{%scripts%}{%renderer%}</footer>
</body>
</html>"""


def create_app(state_dir: str | Path, refresh_s: float = 10.0) -> Dash:
    """The dashboard for STATE_DIR/state.json; `refresh_s` is how often the page looks for a change."""
    state_dir = Path(state_dir)
    reader = StateReader(state_dir / "state.json")
    app = Dash(
        "dashboard", title="Charge scheduler", update_title="", assets_folder=str(ASSETS),
        serve_locally=True, external_scripts=[], external_stylesheets=[], index_string=INDEX,
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                   {"name": "theme-color", "content": "#0f172a"},
                   {"name": "color-scheme", "content": "dark"}],
    )
    app.scripts.config.serve_locally = True
    app.css.config.serve_locally = True

    def serve_layout() -> Any:
        """Called per page load, so a reload shows the file as it is now."""
        snapshot = reader.read()
        try:
            return layout.page(snapshot, now_in(snapshot.zone), refresh_s)
        except Exception:  # the owner gets words, the log gets the trace
            log.exception("the page could not be drawn from %s", snapshot.path)
            return layout.page(unreadable(snapshot), now_in(None), refresh_s)

    app.layout = serve_layout
    callbacks.register(app, reader, refresh_s)
    return app
