"""A base for the fake API servers: a real HTTP server on 127.0.0.1 with routes, switches and a request log.

Each fake (Tesla Owner, Tesla Fleet, GridStatus, Google Calendar, Maps, iCal) subclasses FakeServer and adds routes
that speak that API's real wire format, so the tests drive the real client libraries over a real socket.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the fake answered (set once it has)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Handler = Callable[..., Reply]


class FakeServer:
    """Start with `with FakeXxx() as fake:`; `fake.url` is its base URL, `fake.log` every request it got."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.log: list[Request] = []
        self.lock = threading.RLock()
        self.injected: list[tuple[re.Pattern[str] | None, Reply, list[int]]] = []
        self._httpd: ThreadingHTTPServer | None = None

    def inject(self, reply: Reply, *, times: int = 1_000_000, path: str | None = None) -> None:
        """The next `times` requests (whose path matches the regex `path`) get `reply`, whatever the route: the fault
        matrix drives every fake the same way. `injected.clear()` ends it."""
        with self.lock:
            self.injected.append((re.compile(path) if path else None, reply, [times]))

    def _injected(self, req: Request) -> Reply | None:
        for pattern, reply, left in self.injected:
            if left[0] > 0 and (pattern is None or pattern.search(req.path)):
                left[0] -= 1
                return reply
        return None

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """pattern is a regex on the path; named groups become keyword arguments of the handler."""
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def dispatch(self, req: Request) -> Reply:
        for method, pattern, handler in self.routes:
            m = pattern.match(req.path)
            if m and method == req.method:
                return handler(req, **m.groupdict())
        return Reply(404, {"error": f"no route {req.method} {req.path}"})

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def requests(self, method: str | None = None, path_re: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.log if (method is None or r.method == method)
                    and (path_re is None or re.search(path_re, r.path))]

    def start(self) -> FakeServer:
        fake = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, split.path, parse_qs(split.query), dict(self.headers.items()),
                              self.rfile.read(length) if length else b"")
                with fake.lock:
                    fake.log.append(req)
                    reply = fake._injected(req) or fake.dispatch(req)
                    req.status = reply.status
                if reply.delay_s:
                    threading.Event().wait(reply.delay_s)
                body = reply.body
                ctype = reply.headers.get("Content-Type")
                if isinstance(body, (dict, list)) or body is None:
                    data = json.dumps(body).encode() if body is not None else b""
                    ctype = ctype or "application/json"
                else:
                    data = body.encode() if isinstance(body, str) else body
                    ctype = ctype or "text/plain"
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        if k != "Content-Type":
                            self.send_header(k, v)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
