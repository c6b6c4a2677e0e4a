"""The refresh: every tick the status line is redrawn (staleness grows with the clock even when the file does not
change); the cards are redrawn when the file changed, or every few minutes so "now" and the ages in them keep up;
between, idle ticks change nothing on the page."""

from __future__ import annotations

import logging
from typing import Any

from dash import Dash, Input, Output, State, no_update

from dashboard import layout
from dashboard.state import StateReader, now_in, unreadable

log = logging.getLogger(__name__)


def register(app: Dash, reader: StateReader, refresh_s: float) -> None:
    @app.callback(
        Output("status", "children"), Output("content", "children"), Output("signature", "data"),
        Input("tick", "n_intervals"), State("signature", "data"), prevent_initial_call=True,
    )
    def refresh(_n: int, shown: str | None) -> tuple[Any, Any, Any]:
        snapshot = reader.read()
        now = now_in(snapshot.zone)
        try:
            status = layout.status(snapshot, now)
            key = layout.shown_key(snapshot.signature, now)
            if key == shown:
                return status, no_update, no_update
            return status, layout.content(snapshot, snapshot.clock(now), refresh_s), key
        except Exception:  # the owner gets words, the log gets the trace
            log.exception("the page could not be drawn from %s", snapshot.path)
            bad = unreadable(snapshot)
            return layout.status(bad, now), layout.content(bad, now, refresh_s), layout.shown_key(bad.signature, now)
