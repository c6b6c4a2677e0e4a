"""The cars of a (v2) state: each car's sections seen as one car's page, so every card reads a car as it always did.

Why a view and not new card code: the cards were written for one car (v1's top-level `vehicle`, `plan`, …); a view
puts one entry of `vehicles` back at the top, beside the site-wide sections (signal, forecast, circuit, health), and
names the car for the page's ids, which must be unique when several cars share one page.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from dashboard.values import obj, text
from service.state_schema import CAR_KEYS, load_signal

SITE_KEYS = ("schema_version", "generated_at", "mode", "interval_min", "time_zone", "forecast", "signal", "circuit")


class Car(NamedTuple):
    id: str      # the settings key, what the picker keeps
    name: str    # what the owner reads
    dom: str     # `id` made safe for HTML ids and CSS selectors
    view: dict[str, Any]  # the state as this car's page (v1-shaped), plus `car`: the v2 entry itself


def dom_id(car_id: str, taken: set[str]) -> str:
    """'car1' stays 'car1'; anything a CSS selector would trip on becomes '-', and a clash gets a number."""
    base = re.sub(r"[^A-Za-z0-9_-]", "-", car_id) or "car"
    out, n = base, 2
    while out in taken:
        out, n = f"{base}-{n}", n + 1
    taken.add(out)
    return out


def cars(state: dict[str, Any]) -> list[Car]:
    """Every car of the state, in settings order, each with its own view."""
    taken: set[str] = set()
    entries = [e for e in state.get("vehicles") or [] if isinstance(e, dict)]
    named = []
    for i, entry in enumerate(entries):
        car_id = text(entry.get("id")) or f"car{i + 1}"
        name = text(entry.get("name")) or text(obj(entry.get("vehicle")).get("name")) or car_id
        named.append((entry, car_id, name, dom_id(car_id, taken)))
    names = {car_id: name for _, car_id, name, _ in named}
    return [Car(car_id, name, dom, view(state, entry, dom, name, names)) for entry, car_id, name, dom in named]


def view(state: dict[str, Any], entry: dict[str, Any], dom: str, name: str,
         names: dict[str, str] | None = None) -> dict[str, Any]:
    """One car's page: its own sections at the top, the site's beside them; its Tesla use in place of the account's.
    `names` (every car's id -> name) lets a card name the car this one waits for."""
    out = {k: state.get(k) for k in SITE_KEYS}
    out.update({k: entry.get(k) for k in CAR_KEYS})
    health = obj(state.get("health"))
    out["health"] = {**health, "tesla": entry.get("tesla") if isinstance(entry.get("tesla"), dict)
                     else health.get("tesla")}
    out["car"] = {**entry, "dom": dom, "label": name, "names": names or {}}
    return out


def signal(state: dict[str, Any]) -> dict[str, Any]:
    """The signal the planner minimises; a state without one (null) shows its grid forecast as the signal."""
    return obj(state.get("signal")) or obj(load_signal(state.get("forecast")))


def cid(state: dict[str, Any], base: str) -> str:
    """A page id for this car's `base` ('departure' -> 'departure-car1'): unique when several cars share the page."""
    return f"{base}-{text(obj(state.get('car')).get('dom')) or 'car'}"
