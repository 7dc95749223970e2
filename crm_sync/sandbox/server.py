"""The emulators' shared HTTP machinery: routing, faults, control endpoints, webhook sending.

Faults (`POST /_sandbox/faults`, JSON) apply to the vendor paths only, never to `/_sandbox/`:

- `latency_ms`: every request waits this long first;
- `error_rate`: that share of requests fail with a 5xx *before* doing anything;
- `rate_limit_rate`: that share answer the vendor's throttling status (429, or `throttle_status`)
  with `Retry-After: retry_after`;
- `timeout_rate`: that share are *done*, then answered only after `timeout_seconds` (longer than
  the client waits): for a write, the client cannot know whether it happened;
- `drop_rate`: that share are *done*, then the connection is closed without an answer
  (`writes_only` limits these two to writes, to aim at the ambiguous create);
- `webhook_duplicate_rate`: that share of webhooks are sent twice;
- `webhook_reorder`: webhooks are held in small batches and sent shuffled.

The "done, then no answer" faults are the ones that make a naive client write twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request as UrlRequest
from urllib.request import urlopen

logger = logging.getLogger("crm_sync.sandbox")

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: float = 1.0
    throttle_status: int = 429
    timeout_rate: float = 0.0
    timeout_seconds: float = 3.0
    drop_rate: float = 0.0
    writes_only: bool = False  # timeouts and drops hit only writes (not GETs)
    webhook_duplicate_rate: float = 0.0
    webhook_reorder: bool = False

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {sorted(names)}")
            current = getattr(self, key)
            setattr(self, key, type(current)(value))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route's named groups

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-able, or bytes/str sent as is
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class Drop(Exception):
    """Close the connection without answering."""


Handler = Callable[[Request], Response]


class Emulator:
    """One vendor: subclasses register routes with `@route` and define auth and error shapes."""

    name = "emulator"
    _routes: list[tuple[str, re.Pattern[str], str]]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._routes = [
            (method, re.compile(pattern + r"/?$"), attr)
            for attr, value in list(vars(cls).items())
            for method, pattern in getattr(value, "_route", ())
        ]

    def __init__(self, *, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.faults = Faults()
        self.random = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhooks_sent = 0
        self.webhooks_failed = 0
        self.captured: list[bytes] = []  # bodies, when webhook_url == "capture"
        self._outbox: queue.Queue[tuple[bytes, dict[str, str]] | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, daemon=True,
                                        name=f"{self.name}-webhooks")
        self._sender.start()
        self.reset()

    # --- to override ------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all state (and seed the fixtures, if any)."""

    def state(self) -> dict[str, Any]:
        """What tests and people want to see: counts of each kind of object."""
        return {}

    def authenticate(self, request: Request) -> Response | None:
        """None when the request's credentials are right, else the vendor's 401."""
        return None

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, {"message": message, **extra})

    def sign_webhook(self, body: bytes, url: str) -> dict[str, str]:
        return {}

    def control(self, request: Request) -> Response | None:
        """Vendor-specific `/_sandbox/...` actions; None when not handled."""
        return None

    # --- dispatch ---------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        roll = self.random.random
        if roll() < faults.error_rate:
            self.counts["fault:5xx"] += 1
            return self.error(self.random.choice((500, 502, 503)), "Injected server error")
        if roll() < faults.rate_limit_rate:
            self.counts["fault:throttle"] += 1
            response = self.throttled()
            response.headers["Retry-After"] = f"{faults.retry_after:g}"
            return response
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        response = self._route(request)
        # A read or a write that was done: the answer comes too late, or never.
        if response.status < 400 and not (faults.writes_only and request.method == "GET"):
            if roll() < faults.timeout_rate:
                self.counts["fault:timeout"] += 1
                time.sleep(faults.timeout_seconds)
            elif roll() < faults.drop_rate:
                self.counts["fault:drop"] += 1
                raise Drop
        return response

    def throttled(self) -> Response:
        return self.error(self.faults.throttle_status, "You have reached your rate limit.")

    def _route(self, request: Request) -> Response:
        for method, pattern, attr in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                self.counts[f"{method} {pattern.pattern}"] += 1
                try:
                    with self.lock:
                        return getattr(self, attr)(request)
                except (KeyError, ValueError, TypeError) as exc:
                    return self.error(400, f"Bad request: {exc}")
        return self.error(404, f"No route for {request.method} {request.path}")

    def _control(self, request: Request) -> Response:
        path = request.path[len(CONTROL_PREFIX):].rstrip("/")
        with self.lock:
            if path == "state" and request.method == "GET":
                return Response(200, {**self.state(), "faults": asdict(self.faults),
                                      "requests": dict(self.counts),
                                      "webhooks_sent": self.webhooks_sent,
                                      "webhooks_failed": self.webhooks_failed})
            if path == "faults" and request.method == "POST":
                try:
                    self.faults.update(request.json() or {})
                except (ValueError, TypeError) as exc:
                    return Response(400, {"message": str(exc)})
                return Response(200, asdict(self.faults))
            if path == "faults" and request.method == "DELETE":
                self.faults = Faults()
                return Response(200, asdict(self.faults))
            if path == "reset" and request.method == "POST":
                self.faults = Faults()
                self.counts.clear()
                self.reset()
                return Response(200, {"reset": True})
            if path == "webhooks" and request.method == "POST":
                body = request.json() or {}
                self.webhook_url = body.get("url", "")
                self.webhook_secret = body.get("secret", self.webhook_secret)
                return Response(200, {"url": self.webhook_url})
            handled = self.control(request)
        return handled if handled is not None else Response(404, {"message": "unknown control"})

    # --- webhooks ---------------------------------------------------------------------------

    def webhook(self, payload: Any) -> None:
        """Send `payload` (JSON) to the configured target, signed, from the sender thread."""
        if not self.webhook_url:
            return
        body = json.dumps(payload).encode()
        copies = 2 if self.random.random() < self.faults.webhook_duplicate_rate else 1
        for _ in range(copies):
            if self.webhook_url == "capture":  # unit tests sign (signed_headers) and post these
                self.captured.append(body)
            else:
                self._outbox.put((body, {}))

    def signed_headers(self, body: bytes, url: str) -> dict[str, str]:
        """The headers the vendor would send with `body` to `url`, signature included."""
        return {"Content-Type": "application/json", **self.sign_webhook(body, url)}

    def webhooks_idle(self) -> bool:
        return self._outbox.unfinished_tasks == 0

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            batch = [item]
            if self.faults.webhook_reorder:
                time.sleep(0.2)  # let a few pile up, then send them shuffled
                while not self._outbox.empty():
                    extra = self._outbox.get()
                    if extra is None:
                        break
                    batch.append(extra)
                self.random.shuffle(batch)
            for body, _ in batch:
                self._post(body)
                self._outbox.task_done()

    def _post(self, body: bytes, attempts: int = 4) -> None:
        for attempt in range(attempts):
            url = self.webhook_url
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook target must be an http(s) URL, not {url!r}")
            headers = self.signed_headers(body, url)
            try:
                request = UrlRequest(url, data=body, headers=headers, method="POST")  # noqa: S310
                with urlopen(request, timeout=10) as answer:  # noqa: S310 (scheme checked above)
                    if 200 <= answer.status < 300:
                        self.webhooks_sent += 1
                        return
            except OSError as exc:  # HTTPError, refused, timed out: the vendor retries
                logger.info("%s webhook to %s failed (%s)", self.name, url, exc)
            time.sleep(0.5 * (attempt + 1))
        self.webhooks_failed += 1

    def close(self) -> None:
        self._outbox.put(None)


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for `method` and a path regex (named groups become `params`)."""

    def mark(func: Handler) -> Handler:
        func._route = (*getattr(func, "_route", ()), (method, pattern))  # type: ignore[attr-defined]
        return func

    return mark


def paged(items: list[Any], offset: int, limit: int) -> tuple[list[Any], int | None]:
    """One page and the next offset (None at the end)."""
    page = items[offset:offset + limit]
    nxt = offset + limit if offset + limit < len(items) else None
    return page, nxt


class _HTTPHandler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet; counts are in /state
        logger.debug("%s " + format, self.emulator.name, *args)

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(method=self.command, path=split.path,
                          query=parse_qs(split.query, keep_blank_values=True),
                          headers={k.lower(): v for k, v in self.headers.items()}, body=body)
        try:
            response = self.emulator.dispatch(request)
        except Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.encoded()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (an injected timeout): fine

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended abruptly", client_address)


class RunningEmulator:
    """An emulator served on a loopback port in a daemon thread."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_HTTPHandler,), {"emulator": emulator})
        self.emulator = emulator
        self.server = _QuietServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name=f"{emulator.name}-http")
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.emulator.close()
