"""Turning whatever an HTTP server sent into a few readable words for a one-line error, and its Retry-After.

Why: proxies, captive portals and load balancers answer with HTML pages; a client error must not paste markup (or a
whole page) into the state file. Every client's typed error carries `retry_after_s` when the server gave one, so
the service's backoff (service/backoff.py) can honour it.
"""

from __future__ import annotations

import html
import re
from typing import Any, TypeVar

E = TypeVar("E", bound=Exception)

_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_HEADING = re.compile(r"(?is)<h1[^>]*>(.*?)</h1>")
_TAG = re.compile(r"(?s)<[^>]*>")


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in head


def readable(text: str | bytes | None, limit: int = 120) -> str:
    """One short line: an HTML page by its title (or first heading), anything else with its whitespace folded."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text or ""
    if looks_like_html(text):
        m = _TITLE.search(text) or _HEADING.search(text)
        inner = m.group(1) if m else _TAG.sub(" ", text)
        words = " ".join(html.unescape(_TAG.sub(" ", inner)).split())
        return f"an HTML page ({words[:limit]})" if words else "an HTML page"
    return " ".join(text.split())[:limit]


def retry_after_s(headers: Any) -> float | None:
    """Retry-After in seconds from a requests/httplib2 header mapping; None when absent or an HTTP date."""
    if headers is None:
        return None
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None and str(raw).strip() else None
    except ValueError:
        return None


def with_retry_after(exc: E, seconds: float | None) -> E:
    """The error, carrying the server's Retry-After for the backoff."""
    exc.retry_after_s = seconds  # type: ignore[attr-defined]
    return exc
