"""A utility rate from OpenEI's Utility Rate Database: from a file, or fetched once by its label and kept on disk.

Wire format (openei.org/services/doc/rest/util_rates, version 7): `GET https://api.openei.org/utility_rates` with
`version=7`, `format=json`, `api_key` (free, openei.org/services/api/signup), `getpage=<label>` and `detail=full`
(without it the reply lacks the rate structures); the reply is `{"items": [rate]}`, `{"items": []}` for a label it
does not know. Keys and limits go through the api.data.gov gateway (api.data.gov/docs/developer-manual), whose
errors are `{"error": {"code": "API_KEY_INVALID", "message": ...}}` (403 for a missing or invalid key, 429
OVER_RATE_LIMIT). A rate changes a few times a year, so a fetched one is kept for CACHE_DAYS and, when OpenEI cannot
be reached, the kept one is used however old.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from charge_logic.tariff import Tariff, TariffError, parse_urdb
from clients.http_text import readable, retry_after_s, with_retry_after
from clients.private_files import read_json, write_json

CACHE_DAYS = 30


class OpenEIError(Exception):
    """One line naming what to fix; never the key. `retry_after_s` when the server gave one."""

    retry_after_s: float | None = None


class OpenEIKeyError(OpenEIError):
    pass


class RateNotFoundError(OpenEIError):
    pass


class OpenEIUnavailableError(OpenEIError):
    pass


def tariff_from_file(path: str | Path, where: str = "TARIFF_FILE") -> Tariff:
    """A rate saved from URDB (the API's reply or the rate alone); TariffError names the file and what is wrong."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TariffError(f"{where}={p}: cannot be read ({type(exc).__name__})") from None
    except ValueError as exc:
        raise TariffError(f"{where}={p}: not JSON ({str(exc).split(':')[0]})") from None
    return parse_urdb(data, f"{where}={p.name}")


class OpenEIClient:
    def __init__(self, api_key: str, base_url: str = "https://api.openei.org", *, timeout: float = 20.0,
                 session: requests.Session | None = None) -> None:
        if not api_key:
            raise OpenEIKeyError("OPENEI_API_KEY is empty: get a free key at openei.org/services/api/signup")
        self._key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def rate(self, label: str) -> dict[str, Any]:
        """The rate object with this label, as URDB holds it."""
        params = {"version": "7", "format": "json", "detail": "full", "getpage": label, "api_key": self._key}
        try:
            resp = self.session.get(f"{self.base_url}/utility_rates", params=params, timeout=self.timeout)
        except requests.Timeout:
            raise OpenEIUnavailableError(f"OpenEI did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise OpenEIUnavailableError(f"OpenEI unreachable: {type(exc).__name__}") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200:
            raise with_retry_after(self._error(resp.status_code, body, resp.text), retry_after_s(resp.headers))
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise OpenEIUnavailableError(f"OpenEI sent a reply that is not its JSON ({readable(resp.text, 60)})")
        items = [r for r in body["items"] if isinstance(r, dict)]
        if not items:
            raise RateNotFoundError(f"OpenEI has no rate labelled {label!r}: check TARIFF_LABEL (the id at the end "
                                    "of the rate's apps.openei.org/USURDB/rate/view/ address)")
        return next((r for r in items if r.get("label") == label), items[0])

    def _error(self, code: int, body: Any, text: str) -> OpenEIError:
        err = body.get("error") if isinstance(body, dict) else None
        err = err if isinstance(err, dict) else {}
        what = str(err.get("code") or code)
        message = " ".join(str(err.get("message") or readable(text, 120)).replace(self._key, "***").split())[:160]
        if what.startswith("API_KEY") or code in (401, 403):
            return OpenEIKeyError(f"OpenEI refused the key ({what}: {message}): check OPENEI_API_KEY")
        if code == 429:
            return OpenEIUnavailableError(f"OpenEI rate limit ({what}); will retry later")
        return OpenEIUnavailableError(f"OpenEI error {code}: {message or 'no details'}")


def fetch_tariff(client: OpenEIClient, label: str, cache_file: str | Path, now: datetime) -> Tariff:
    """The rate with `label`, from `cache_file` when it is younger than CACHE_DAYS, else from OpenEI (and saved,
    0600). OpenEI failing with a kept copy: the kept copy, however old. A kept copy that no longer parses is
    fetched again."""
    path = Path(cache_file)
    kept = _kept(path, label)
    if kept is not None and now - kept[0] < timedelta(days=CACHE_DAYS):
        return kept[1]
    try:
        raw = client.rate(label)
    except (OpenEIUnavailableError, OpenEIKeyError):
        if kept is not None:
            return kept[1]
        raise
    tariff = parse_urdb(raw, f"OpenEI rate {label}")
    write_json(path, {"label": label, "fetched_at": now.isoformat(), "rate": raw})
    return tariff


def _kept(path: Path, label: str) -> tuple[datetime, Tariff] | None:
    data = read_json(path)
    if not isinstance(data, dict) or data.get("label") != label:
        return None
    try:
        at = datetime.fromisoformat(data["fetched_at"])
        return (at, parse_urdb(data["rate"], str(path))) if at.tzinfo is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):  # TariffError is a ValueError
        return None
