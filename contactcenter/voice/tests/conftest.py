"""A real HTTP server on loopback that plays scripted replies and records every request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contactcenter.voice.client import VoiceClient

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
API_KEY = "abcd1234"
API_SECRET = "s3cr3t-api-secret"


@dataclass
class Reply:
    """One scripted response; ``delay`` seconds pass before anything is written."""

    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_size: int | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


class ScriptedServer:
    """``script(method, path, *replies)``: replies are served in order, the last one repeats."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                reply = server._next(record)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.json).encode() if reply.json is not None else reply.body
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json"} if reply.json is not None else {}
                    for name, value in {**headers, **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    step = reply.chunk_size or len(payload) or 1
                    for start in range(0, len(payload), step):
                        self.wfile.write(payload[start : start + step])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (read time-out tests)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        with self._lock:
            self._routes[(method, path)] = list(replies)

    def _next(self, record: Recorded) -> Reply:
        with self._lock:
            self.requests.append(record)
            replies = self._routes.get((record.method, record.path))
            if not replies:
                return Reply(status=599, json={"title": f"unscripted {record.method} {record.path}"})
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if (r.method, r.path) == (method, path))

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer().start()
    try:
        yield scripted
    finally:
        scripted.stop()


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_key_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def make_client(server: ScriptedServer, private_key_pem: bytes) -> Iterator[Callable[..., VoiceClient]]:
    """``make_client(**options)``: a client of the scripted server with fast back-off unless overridden."""
    clients: list[VoiceClient] = []

    def build(**options: Any) -> VoiceClient:
        settings: dict[str, Any] = {
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
            **options,
        }
        client = VoiceClient(server.url, APPLICATION_ID, private_key_pem, **settings)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
