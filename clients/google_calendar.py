"""Google Calendar through google-api-python-client with the user's OAuth token (made once by `auth google`).

The discovery document ships with the library (`static_discovery=True`), so start-up needs no network; GOOGLE_CALENDAR
_BASE_URL points the client elsewhere (tests, proxies). The token is refreshed when expired and written back, 0600,
after every refresh, so a restarted daemon never needs a new sign-in while the refresh token lives.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from charge_logic.models import CalendarEvent
from clients.calendar_events import (
    CalendarAuthError,
    CalendarError,
    EventRules,
    as_aware,
    clean_location,
    sort_and_window,
)
from clients.http_text import readable, retry_after_s, with_retry_after
from clients.private_files import write_json

SCOPES = ["https://www.googleapis.com/auth/calendar.readonly"]
# The event types that can be a drive (developers.google.com/calendar/api/guides/event-types; events.list returns every
# type unless `eventTypes` names some): regular events, and events Gmail adds from mails (flights, hotels, tables:
# since 2024-05 "fromGmail", no longer returned for "default"). Never birthday, focusTime, outOfOffice or
# workingLocation: none of them is a trip.
TRIP_EVENT_TYPES = ("default", "fromGmail")
REAUTH = "run `python scheduler.py auth google` again"
# 403 reasons that mean "later", not "enable the API" (developers.google.com/calendar/api/guides/errors)
RATE_LIMITED = ("rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded")


def api_endpoint(base_url: str) -> str | None:
    """GOOGLE_CALENDAR_BASE_URL as the client wants it: a host alone gets Google's /calendar/v3/ path."""
    if not base_url.strip():
        return None
    base = base_url.strip().rstrip("/")
    return (base if base.endswith("/calendar/v3") else base + "/calendar/v3") + "/"


def load_credentials(token_file: str | Path, token_uri: str | None = None) -> Credentials:
    """google-auth always refreshes at Google's token endpoint whatever token.json says; `token_uri` (tests, proxies)
    is the only way to change that."""
    path = Path(token_file)
    if not path.is_file():
        raise CalendarAuthError(f"no Google token at {path}: {REAUTH.replace('again', '')}once "
                                "(or copy token.json there from a machine with a browser)")
    try:
        creds: Credentials = Credentials.from_authorized_user_info(json.loads(path.read_text(encoding="utf-8")),
                                                                   SCOPES)
    except (ValueError, KeyError, OSError) as exc:
        raise CalendarAuthError(f"Google token {path} is unreadable ({type(exc).__name__}): {REAUTH}") from None
    if token_uri:
        expiry, creds = creds.expiry, creds.with_token_uri(token_uri)
        creds.expiry = expiry  # the copy forgets it
    return creds


def save_credentials(creds: Credentials, token_file: str | Path) -> None:
    write_json(token_file, json.loads(creds.to_json()))


def _zone(name: str | None, fallback: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(name) if name else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def _when(raw: dict[str, Any], zone: tzinfo) -> tuple[datetime, bool]:
    if raw.get("dateTime"):
        dt = datetime.fromisoformat(str(raw["dateTime"]).replace("Z", "+00:00"))
        return as_aware(dt, _zone(raw.get("timeZone"), zone))
    return as_aware(date.fromisoformat(str(raw["date"])), _zone(raw.get("timeZone"), zone))


class GoogleCalendar:
    name = "google"

    def __init__(self, token_file: str | Path, zone: tzinfo, rules: EventRules = EventRules(), *,
                 calendar_id: str = "primary", base_url: str = "", timeout: float = 20.0, page_size: int = 250,
                 token_uri: str | None = None) -> None:
        self.token_uri = token_uri
        self.token_file = Path(token_file)
        self.zone = zone
        self.rules = rules
        self.calendar_id = calendar_id or "primary"
        self.endpoint = api_endpoint(base_url)
        self.timeout = timeout
        self.page_size = page_size

    def _credentials(self) -> Credentials:
        creds = load_credentials(self.token_file, self.token_uri)
        if not creds.valid:
            if not creds.refresh_token:
                raise CalendarAuthError(f"Google token {self.token_file} has expired and has no refresh token: "
                                        f"{REAUTH}")
            self._refresh(creds)
        return creds

    def _refresh(self, creds: Credentials) -> None:
        try:
            creds.refresh(AuthRequest())
        except google.auth.exceptions.RefreshError as exc:
            raise _refresh_failure(exc) from None
        except google.auth.exceptions.TransportError:
            raise CalendarError("Google sign-in server unreachable; will retry") from None
        save_credentials(creds, self.token_file)

    def events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        creds = self._credentials()
        token_before = creds.token
        http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=self.timeout))
        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        service = build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                        client_options=options)
        items: list[dict[str, Any]] = []
        zone = self.zone
        page: str | None = None
        try:
            for _ in range(50):
                reply = service.events().list(
                    calendarId=self.calendar_id, timeMin=start.astimezone(UTC).isoformat(),
                    timeMax=end.astimezone(UTC).isoformat(), singleEvents=True, orderBy="startTime",
                    maxResults=self.page_size, pageToken=page, showDeleted=False,
                    eventTypes=list(TRIP_EVENT_TYPES)).execute()
                if not isinstance(reply, dict):  # googleapiclient hands back the raw text when it is not JSON
                    raise CalendarError(f"Google Calendar sent a reply that is not JSON ({readable(reply, 60)})")
                zone = _zone(reply.get("timeZone"), self.zone)
                items += reply.get("items", [])
                page = reply.get("nextPageToken")
                if not page:
                    break
        except HttpError as exc:
            raise self._error(exc) from None
        except google.auth.exceptions.RefreshError as exc:  # AuthorizedHttp refreshing after a 401
            raise _refresh_failure(exc) from None
        except TimeoutError:
            raise CalendarError(f"Google Calendar did not answer within {self.timeout:g} s") from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise CalendarError(f"Google Calendar unreachable: {type(exc).__name__}") from None
        finally:
            if creds.token != token_before:  # AuthorizedHttp refreshed on a 401: keep the new token
                save_credentials(creds, self.token_file)
        out = [e for item in items if (e := self._event(item, zone)) is not None]
        return sort_and_window(out, start, end)

    def _error(self, exc: HttpError) -> CalendarError:
        code = exc.resp.status if exc.resp is not None else 0
        reason = ""
        try:
            error = json.loads(exc.content or b"{}").get("error", {})
            message = error.get("message", "")
            reason = str(((error.get("errors") or [{}])[0] or {}).get("reason", ""))
        except (ValueError, AttributeError, TypeError, IndexError):
            message = readable(exc.content, 120)
        message = " ".join(str(message).split())[:200]
        return with_retry_after(self._typed(code, message, reason), retry_after_s(exc.resp))

    def _typed(self, code: int, message: str, reason: str = "") -> CalendarError:
        if code == 401:
            return CalendarAuthError(f"Google Calendar refused the sign-in (401: {message}): {REAUTH}")
        if code == 403 and reason in RATE_LIMITED:  # the Calendar API's usual answer to too many requests
            return CalendarError(f"Google Calendar rate limit (403 {reason}: {message}); will retry later")
        if code == 403:
            return CalendarError(f"Google Calendar denied access (403: {message}): enable the Calendar API in the "
                                 "Google Cloud project and check the token's scope")
        if code == 404:
            return CalendarError(f"calendar {self.calendar_id!r} not found (404): check GOOGLE_CALENDAR_ID")
        if code == 429:
            return CalendarError(f"Google Calendar rate limit (429: {message}); will retry later")
        return CalendarError(f"Google Calendar error {code}: {message or 'no details'}")

    def _event(self, item: dict[str, Any], zone: tzinfo) -> CalendarEvent | None:
        if item.get("eventType", "default") not in TRIP_EVENT_TYPES or "start" not in item:
            return None
        me = next((a for a in item.get("attendees", []) if a.get("self")), None)
        if not self.rules.keep(cancelled=item.get("status") == "cancelled",
                               declined=bool(me and me.get("responseStatus") == "declined"),
                               free=item.get("transparency") == "transparent"):
            return None
        try:
            start, all_day = _when(item["start"], zone)
            end, _ = _when(item.get("end") or item["start"], zone)
        except (KeyError, ValueError):
            return None
        return CalendarEvent(uid=str(item.get("id", start.isoformat())),
                             summary=str(item.get("summary", "")).strip() or "(no title)",
                             start=start, end=max(start, end), all_day=all_day,
                             location=clean_location(item.get("location")))


def _refresh_failure(exc: google.auth.exceptions.RefreshError) -> CalendarError:
    """A token endpoint that is down is retried; one that refused needs a new sign-in. google-auth marks a 5xx or
    "temporarily_unavailable" retryable, but not an error page that is not JSON (a proxy's 502), which Google's
    refusals never are."""
    text = str(exc.args[0] if exc.args else exc)
    if getattr(exc, "retryable", False) or text.lstrip().startswith("<"):
        return CalendarError(f"Google's sign-in server failed ({readable(text, 60)}); will retry")
    return CalendarAuthError(f"Google refused to refresh the sign-in ({text.split(':')[0][:80]}): {REAUTH}; a consent "
                             "screen in 'Testing' expires refresh tokens after 7 days, publish it to avoid this")
