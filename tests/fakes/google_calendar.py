"""A fake Google: Calendar v3 `events.list` (paging, timeMin/timeMax, `eventTypes`, Bearer check, Google error JSON)
and the OAuth token endpoint (authorization_code and refresh_token grants).

`eventTypes` as the API documents it (developers.google.com/calendar/api/guides/event-types): repeated, every type
returned when it is not given; an event without `eventType` is a "default" one."""

from __future__ import annotations

import base64
import itertools
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from tests.fakes.http import FakeServer, Reply, Request

CLIENT_ID = "123-test.apps.googleusercontent.com"
CLIENT_SECRET = "test-client-secret"
REFRESH_TOKEN = "1//test-refresh"
EVENT_TYPES = ("birthday", "default", "focusTime", "fromGmail", "outOfOffice", "workingLocation")


def _t(raw: dict[str, Any]) -> datetime:
    from clients.gridstatus import parse_time
    if "dateTime" in raw:
        return parse_time(raw["dateTime"])  # type: ignore[return-value]
    return parse_time(raw["date"] + "T00:00:00-05:00")  # type: ignore[return-value]


def google_error(code: int, message: str, status: str) -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status,
                                  "errors": [{"message": message, "domain": "global", "reason": status.lower()}]}})


class FakeGoogle(FakeServer):
    def reset(self) -> None:
        """Back to a healthy server with no events, tokens or log (one server can serve a whole test module)."""
        with self.lock:
            self.log.clear()
            self.events: list[dict[str, Any]] = []
            self.calendars = {"primary"}
            self.valid_tokens: set[str] = set()
            self.refresh_ok = True
            self.errors: list[Reply] = []  # sent instead of the next events.list replies
            self.token_errors: list[Reply] = []  # sent instead of the next token endpoint replies

    def start(self) -> FakeGoogle:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # headers and body go out as two writes
        return self

    def __init__(self, *, page_size: int = 3, time_zone: str = "America/New_York") -> None:
        super().__init__()
        self.page_size = page_size
        self.time_zone = time_zone
        self._n = itertools.count(1)
        self.reset()
        self.route("GET", r"/calendar/v3/calendars/(?P<cal>[^/]+)/events", self._list)
        self.route("POST", r"/token", self._token)

    def issue(self) -> str:
        token = f"ya29.test-{next(self._n)}"
        self.valid_tokens.add(token)
        return token

    def _token(self, req: Request) -> Reply:
        if self.token_errors:
            return self.token_errors.pop(0)
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        basic = (req.headers.get("Authorization") or req.headers.get("authorization") or "")
        if basic.startswith("Basic "):  # RFC 6749 2.3.1: client credentials may come as HTTP Basic auth
            cid, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote_plus(cid))
            form.setdefault("client_secret", unquote_plus(secret))
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."})
        if form.get("grant_type") == "refresh_token":
            if not self.refresh_ok or form.get("refresh_token") != REFRESH_TOKEN:
                return Reply(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            return Reply(200, {"access_token": self.issue(), "expires_in": 3599, "token_type": "Bearer",
                               "scope": "https://www.googleapis.com/auth/calendar.readonly"})
        if form.get("grant_type") == "authorization_code" and form.get("code") == "test-code":
            return Reply(200, {"access_token": self.issue(), "refresh_token": REFRESH_TOKEN, "expires_in": 3599,
                               "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/calendar.readonly"})
        return Reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})

    def _list(self, req: Request, cal: str) -> Reply:
        auth = req.headers.get("authorization") or req.headers.get("Authorization") or ""
        if auth.removeprefix("Bearer ") not in self.valid_tokens:
            return google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                     "token, login cookie or other valid authentication credential.",
                                "UNAUTHENTICATED")
        if self.errors:
            return self.errors.pop(0)
        if cal not in self.calendars:
            return google_error(404, "Not Found", "NOT_FOUND")
        q = {k: v[0] for k, v in req.query.items()}
        if q.get("singleEvents") != "true" or q.get("orderBy") != "startTime":
            return google_error(400, "The requested ordering is not available for the particular query.",
                                "INVALID_ARGUMENT")
        from clients.gridstatus import parse_time
        lo, hi = parse_time(q["timeMin"]), parse_time(q["timeMax"])
        items = [e for e in self.events if _t(e["end"]) > lo and _t(e["start"]) < hi]  # type: ignore[operator]
        types = req.query.get("eventTypes")
        if types:
            unknown = set(types) - set(EVENT_TYPES)
            if unknown:
                return google_error(400, f"Invalid value for eventTypes: {sorted(unknown)[0]}", "INVALID_ARGUMENT")
            items = [e for e in items if e.get("eventType", "default") in types]
        items.sort(key=lambda e: _t(e["start"]))
        size = min(int(q.get("maxResults", 250)), self.page_size)
        offset = int(q.get("pageToken", "0"))
        body: dict[str, Any] = {"kind": "calendar#events", "summary": "me@example.com", "timeZone": self.time_zone,
                                "items": items[offset:offset + size]}
        if offset + size < len(items):
            body["nextPageToken"] = str(offset + size)
        return Reply(200, body)
