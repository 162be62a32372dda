"""Fixtures for the sandbox tests: a sandbox on a free port and a real HTTP webhook receiver.

These tests need no database: the sandbox keeps its state in memory (or its own SQLite file) and talks
to the receiver over loopback HTTP, as Vonage talks to the product.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from voice_sandbox.testing import SandboxServer, VoiceApi

SPEED = 20.0


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def data(self) -> dict[str, Any]:
        """The webhook's fields: the JSON body, or the query string of a GET."""
        return self.json if self.method != "GET" else dict(self.query)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class WebhookReceiver:
    """A threaded HTTP server that records every request and answers with scripted replies.

    ``replies[path]`` is a ``Reply``, a list of them (used in turn, the last one repeats), or a callable
    taking the ``Received`` request and returning a ``Reply``. Anything else gets 200 with no body.
    """

    replies: dict[str, Any] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urlparse(self.path)
                received = Received(
                    self.command,
                    parsed.path,
                    {k: v[-1] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                reply = receiver.reply_for(received)
                with receiver.changed:
                    receiver.requests.append(received)
                    receiver.changed.notify_all()
                if reply.delay:
                    time.sleep(reply.delay)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sandbox gave up waiting (a time-out test)

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self._turns: dict[str, int] = {}

    def reply_for(self, received: Received) -> Reply:
        reply = self.replies.get(received.path)
        if callable(reply):
            return reply(received)
        if isinstance(reply, list):
            turn = self._turns.get(received.path, 0)
            self._turns[received.path] = turn + 1
            return reply[min(turn, len(reply) - 1)]
        return reply or Reply()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 15.0) -> list[Received]:
        """Block until ``predicate(all requests so far)`` holds; returns the requests."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(list(self.requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"webhooks never matched; got {[(r.path, r.data) for r in self.requests]}")
                self.changed.wait(remaining)
            return list(self.requests)

    def statuses(self, uuid: str, path: str = "/event") -> list[str]:
        """The ``status`` values of call-status events of leg ``uuid`` (``human``/``machine`` by call_uuid)."""
        out = []
        for r in self.at(path):
            data = r.data
            if uuid in (data.get("uuid"), data.get("call_uuid")) and "status" in data:
                out.append(data["status"])
        return out

    def wait_status(self, uuid: str, status: str, path: str = "/event", timeout: float = 15.0) -> list[str]:
        self.wait_for(lambda _: status in self.statuses(uuid, path), timeout)
        return self.statuses(uuid, path)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hooks = WebhookReceiver()
    try:
        yield hooks
    finally:
        hooks.stop()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A plain-HTTP sandbox at high speed and with generous limits, shared by a module's tests."""
    with SandboxServer(speed=SPEED, cps=1000, rps=1000) as server:
        yield server


_numbers = itertools.count(100)


def fresh_number() -> str:
    return f"4477009{next(_numbers):05d}"


class Setup:
    """One application (answer/event on the receiver), one linked number, a Voice API client."""

    def __init__(self, sandbox: SandboxServer, receiver: WebhookReceiver, **app_options: Any) -> None:
        self.sandbox = sandbox
        self.receiver = receiver
        self.app_id, private_key = sandbox.create_application(
            "events",
            answer_url=f"{receiver.url}/answer",
            event_url=f"{receiver.url}/event",
            **app_options,
        )
        assert private_key is not None
        self.voice: VoiceApi = sandbox.voice(self.app_id, private_key)
        self.number = fresh_number()
        sandbox.buy_number(self.number, app_id=self.app_id)

    def outbound(self, to: str, ncco: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
        body = {
            "to": [{"type": "phone", "number": to}],
            "from": {"type": "phone", "number": self.number},
            "ncco": ncco or [{"action": "talk", "text": "Hello"}],
            **extra,
        }
        return self.voice.create_call(body)

    def events(self, uuid: str, path: str = "/event") -> list[dict[str, Any]]:
        return [r.data for r in self.receiver.at(path) if r.data.get("uuid") == uuid and "status" in r.data]


@pytest.fixture
def setup(sandbox: SandboxServer, receiver: WebhookReceiver) -> Setup:
    return Setup(sandbox, receiver)
