"""A fake calendar host serving a secret iCal address (text/calendar), with switches for reset links and outages."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.fakes.http import FakeServer, Reply, Request

SECRET_PATH = "/calendar/ical/me%40example.com/private-0123456789abcdef/basic.ics"


class FakeICal(FakeServer):
    def __init__(self, ics: str | Path) -> None:
        super().__init__()
        self.body = Path(ics).read_bytes()
        self.status = 200
        self.content_type = "text/calendar; charset=UTF-8"
        self.not_modified = 0  # replies 304 to If-None-Match (calendar servers send an ETag)
        self.route("GET", r"/calendar/ical/.*", self._get)

    def start(self) -> FakeICal:
        super().start()
        assert self._httpd is not None
        self._httpd.RequestHandlerClass.disable_nagle_algorithm = True  # headers and body go out as two writes
        return self

    @property
    def secret_url(self) -> str:
        return self.url + SECRET_PATH

    def _get(self, req: Request) -> Reply:
        if req.path != SECRET_PATH.replace("%40", "@") and req.path != SECRET_PATH:
            return Reply(404, "Not Found")
        if self.status != 200:
            return Reply(self.status, "error")
        if req.headers.get("If-None-Match") == self.etag:
            self.not_modified += 1
            return Reply(304, b"")
        return Reply(200, self.body, headers={"Content-Type": self.content_type, "ETag": self.etag})

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

