"""The refresh: every tick the status line is redrawn (staleness grows with the clock even when the file does not
change); the cards are redrawn when the file changed, or every few minutes so "now" and the ages in them keep up;
between, idle ticks change nothing on the page.

With several cars, the picker marks the chosen car's cards in the browser itself (no round trip): on a phone the CSS
shows only those. The page keeps the choice, so a redraw shows the same car."""

from __future__ import annotations

import logging
from typing import Any

from dash import ALL, Dash, Input, Output, State, no_update

from dashboard import layout
from dashboard.state import StateReader, now_in, unreadable

log = logging.getLogger(__name__)


def register(app: Dash, reader: StateReader, refresh_s: float) -> None:
    @app.callback(
        Output("status", "children"), Output("content", "children"), Output("signature", "data"),
        Input("tick", "n_intervals"), State("signature", "data"), State("picked-car", "data"),
        prevent_initial_call=True,
    )
    def refresh(_n: int, shown: str | None, picked: str | None) -> tuple[Any, Any, Any]:
        snapshot = reader.read()
        now = now_in(snapshot.zone)
        try:
            status = layout.status(snapshot, now)
            key = layout.shown_key(snapshot.signature, now)
            if key == shown:
                return status, no_update, no_update
            return status, layout.content(snapshot, snapshot.clock(now), refresh_s, picked), key
        except Exception:  # the owner gets words, the log gets the trace
            log.exception("the page could not be drawn from %s", snapshot.path)
            bad = unreadable(snapshot)
            return layout.status(bad, now), layout.content(bad, now, refresh_s), layout.shown_key(bad.signature, now)

    # the chosen car's cards get `picked`, the others lose it (a phone shows only the picked car); the choice is kept
    # in the page (a Store in memory: browser storage may be refused, e.g. in another site's iframe) for the redraws
    app.clientside_callback(
        """function(value, ids) {
            return [ids.map(id => 'car-detail' + (id.car === value ? ' picked' : '')), value];
        }""",
        Output({"type": "car-detail", "car": ALL}, "className"), Output("picked-car", "data"),
        Input("car-picker", "value"), State({"type": "car-detail", "car": ALL}, "id"),
    )
