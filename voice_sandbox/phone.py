"""The browser phone: a sandbox page where a person calls a virtual number, or answers an ``app`` user's calls.

* ``GET /_sandbox/phone`` serves the page (Basic auth with the account's API key and secret, so the browser
  asks once and then sends them with the page's own requests); its scripts and stylesheet come from
  ``/_sandbox/phone/static/`` (public: they hold no secret).
* ``POST /_sandbox/phone/token`` (Basic) issues a single-use token valid for :data:`TOKEN_SECONDS`; the page
  opens ``/_sandbox/phone/ws?token=...`` with it. A token rather than Basic on the upgrade: browsers do not
  reliably send cached Basic credentials with a websocket handshake, and a token cannot be replayed.
* On the websocket, text messages are JSON control messages (``register``, ``dial``, ``answer``, ``decline``,
  ``hangup``, ``dtmf``; the server sends ``hello``, ``registered``, ``incoming``, ``call``, ``error``), binary
  messages are audio: 640-byte frames of 16-bit little-endian PCM at 16 kHz (20 ms), what the person says
  one way and what their leg hears the other (see :mod:`voice_sandbox.audio_io`).

A bad message (malformed JSON, unknown type, wrong field, wrong frame size) is answered with an ``error``
message naming it; the call carries on. Closing the page hangs up its call and ends its registration.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from voice_sandbox.config import SandboxConfig
from voice_sandbox.engine import Leg, Network, endpoint_address
from voice_sandbox.http import ApiError, Request, Response, Router, not_found, unauthorized
from voice_sandbox.media.frames import FRAME_BYTES, SAMPLE_RATE
from voice_sandbox.security import check_basic

logger = logging.getLogger("voice_sandbox.phone")

PAGE_PATH = "/_sandbox/phone"
TOKEN_PATH = "/_sandbox/phone/token"  # noqa: S105 - a URL path, not a secret
WS_PATH = "/_sandbox/phone/ws"
STATIC_PREFIX = "/_sandbox/phone/static/"
STATIC_DIR = Path(__file__).resolve().parent / "static" / "voice_sandbox" / "phone"
#: A token has to be used this quickly (the page asks for one right before it connects).
TOKEN_SECONDS = 60.0
#: Caller id of a dialled call when the page does not give one (a number of the simulated network).
DEFAULT_CALLER = "447700900999"
#: Frames waiting to go to a slow browser beyond this (1 s of audio) are dropped: latency stays bounded.
MAX_OUTBOUND_FRAMES = 50
MAX_TEXT_MESSAGE = 4096

NUMBER = re.compile(r"^\+?[0-9]{6,15}$")
USER = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
DIGITS = re.compile(r"^[0-9*#]{1,20}$")
STATIC_NAME = re.compile(r"^[a-z_]+\.(js|css|html)$")
CONTENT_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
MESSAGE_TYPES = ("register", "dial", "answer", "decline", "hangup", "dtmf")
REALM_HEADERS = {"WWW-Authenticate": 'Basic realm="Vonage Voice API sandbox", charset="UTF-8"'}

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class PhoneError(Exception):
    """A control message that cannot be carried out: sent back as ``{"type": "error", "code", "message"}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Tokens:
    """Single-use websocket tokens that expire after :data:`TOKEN_SECONDS`."""

    def __init__(self, lifetime: float = TOKEN_SECONDS) -> None:
        self.lifetime = lifetime
        self._issued: dict[str, float] = {}

    def issue(self) -> str:
        now = time.monotonic()
        self._issued = {token: expiry for token, expiry in self._issued.items() if expiry > now}
        token = secrets.token_urlsafe(24)
        self._issued[token] = now + self.lifetime
        return token

    def consume(self, token: str) -> bool:
        """True once for a token issued less than ``lifetime`` ago (compared in constant time)."""
        now = time.monotonic()
        for issued, expiry in list(self._issued.items()):
            if hmac.compare_digest(issued.encode(), token.encode()):
                del self._issued[issued]
                return expiry > now
        return False


class Phone:
    """The page, its token endpoint and its websocket; one per sandbox."""

    def __init__(self, network: Network, config: SandboxConfig) -> None:
        self.network = network
        self.config = config
        self.tokens = Tokens()

    def install(self, router: Router) -> None:
        router.add("GET", PAGE_PATH, self.page)
        router.add("POST", TOKEN_PATH, self.token)
        router.add("GET", STATIC_PREFIX + "{name}", self.static)

    def _require_basic(self, request: Request) -> None:
        if not check_basic(request, self.config.api_key, self.config.api_secret):
            error = unauthorized()
            error.headers.update(REALM_HEADERS)  # makes a browser ask for the key and secret
            raise error

    async def page(self, request: Request) -> Response:
        """GET /_sandbox/phone: the phone page (Basic auth)."""
        self._require_basic(request)
        html = (STATIC_DIR / "phone.html").read_bytes()
        return Response(200, html, {"Cache-Control": "no-store"}, content_type="text/html; charset=utf-8")

    async def token(self, request: Request) -> Response:
        """POST /_sandbox/phone/token: a single-use token for the websocket (Basic auth)."""
        self._require_basic(request)
        return Response(
            201,
            {"token": self.tokens.issue(), "expires_in": int(self.tokens.lifetime), "ws_path": WS_PATH},
            {"Cache-Control": "no-store"},
        )

    async def static(self, request: Request) -> Response:
        """GET /_sandbox/phone/static/{name}: the page's modules and stylesheet."""
        name = request.params["name"]
        extension = name.rsplit(".", 1)[-1]
        path = STATIC_DIR / name
        if not STATIC_NAME.match(name) or extension not in CONTENT_TYPES or not path.is_file():
            raise not_found(f"No resource at {request.path}")
        return Response(200, path.read_bytes(), {"Cache-Control": "no-cache"}, content_type=CONTENT_TYPES[extension])

    # -- websocket ------------------------------------------------------------------------------------------
    async def websocket(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        """The ASGI websocket handler: ``/_sandbox/phone/ws?token=...``; anything else is refused."""
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if scope.get("path") != WS_PATH:
            await send({"type": "websocket.close", "code": 1008})  # before accept: the client gets 403
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not _same_origin(headers):
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[-1]
        if not token or not self.tokens.consume(token):
            # Accepted first so the page can show why: browsers hide the status of a refused handshake.
            await _send_quietly(send, {"type": "websocket.send", "text": json.dumps(_error("unauthorized", BAD_TOKEN))})
            await _send_quietly(send, {"type": "websocket.close", "code": 4401})
            return
        session = PhoneSession(self, send)
        writer = asyncio.get_running_loop().create_task(session.write_loop())
        try:
            session.post(session.hello())
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    session.on_audio(message["bytes"])
                elif message.get("text") is not None:
                    await session.on_text(message["text"])
        finally:
            await session.close()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


BAD_TOKEN = "missing, used or expired token: get one from POST /_sandbox/phone/token (Basic auth), then connect"  # noqa: S105


def _error(code: str, message: str, in_reply_to: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if in_reply_to is not None:
        out["in_reply_to"] = in_reply_to
    return out


def _same_origin(headers: dict[str, str]) -> bool:
    """A browser's cross-site websocket is refused (the token already requires a same-origin read)."""
    origin = headers.get("origin")
    if not origin:
        return True  # not a browser
    return origin.split("://", 1)[-1] == headers.get("host", "")


async def _send_quietly(send: Send, message: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):  # the browser went away: nothing left to tell it
        await send(message)


class PhoneSession:
    """One open page: at most one call at a time, optionally registered as an ``app`` user."""

    def __init__(self, phone: Phone, send: Send) -> None:
        self.phone = phone
        self.network = phone.network
        self._send = send
        self._outbox: asyncio.Queue[dict[str, Any] | bytes] = asyncio.Queue()
        self._frames_queued = 0
        self.dropped_frames = 0
        self.user: str | None = None
        self.leg: Leg | None = None
        self.role: str | None = None  # "caller" (dialled from the page) or "callee" (an app user's call)
        self.endpoint: Any = None  # voice_sandbox.audio_io.ExternalEndpoint while audio flows
        self._decided = asyncio.Event()
        self._decision: str | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._presses: set[asyncio.Task[None]] = set()

    @property
    def real_audio(self) -> bool:
        return bool(getattr(self.network.media, "real_audio", False))

    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "audio": self.real_audio,
            "sample_rate": SAMPLE_RATE,
            "frame_bytes": FRAME_BYTES,
            "speed": self.network.clock.speed,
            "default_from": DEFAULT_CALLER,
        }

    # -- output ---------------------------------------------------------------------------------------------
    def post(self, message: dict[str, Any] | bytes) -> None:
        """Queue a control message (always) or an audio frame (dropped when the browser lags 1 s behind)."""
        if isinstance(message, bytes):
            if self._frames_queued >= MAX_OUTBOUND_FRAMES:
                self.dropped_frames += 1
                return
            self._frames_queued += 1
        self._outbox.put_nowait(message)

    async def write_loop(self) -> None:
        """The only sender on the socket, so control messages and audio never interleave mid-send."""
        while True:
            item = await self._outbox.get()
            if isinstance(item, bytes):
                self._frames_queued -= 1
                message = {"type": "websocket.send", "bytes": item}
            else:
                message = {"type": "websocket.send", "text": json.dumps(item)}
            try:
                await self._send(message)
            except Exception:
                return  # disconnected; the receive loop sees it and cleans up

    # -- input ----------------------------------------------------------------------------------------------
    def on_audio(self, frame: bytes) -> None:
        """A frame from the microphone: to the leg while audio is attached, else ignored."""
        if len(frame) != FRAME_BYTES:
            self.post(
                _error(
                    "bad_frame",
                    f"audio frames are {FRAME_BYTES} bytes (20 ms of 16-bit PCM at {SAMPLE_RATE} Hz), got {len(frame)}",
                )
            )
            return
        if self.endpoint is not None and self.endpoint.attached:
            self.endpoint.push_input(frame)

    async def on_text(self, text: str) -> None:
        """A control message: validated, then carried out; any problem is answered with an ``error``."""
        kind: str | None = None
        try:
            if len(text) > MAX_TEXT_MESSAGE:
                raise PhoneError("too_long", f"control messages are at most {MAX_TEXT_MESSAGE} characters")
            try:
                message = json.loads(text)
            except ValueError:
                raise PhoneError("bad_json", "control messages are JSON objects") from None
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise PhoneError("bad_message", 'control messages are JSON objects with a string "type"')
            kind = message["type"]
            handler = {
                "register": self.do_register,
                "dial": self.do_dial,
                "answer": self.do_answer,
                "decline": self.do_decline,
                "hangup": self.do_hangup,
                "dtmf": self.do_dtmf,
            }.get(kind)
            if handler is None:
                raise PhoneError("unknown_type", f"unknown message type {kind!r}; expected one of {MESSAGE_TYPES}")
            await handler(message)
        except PhoneError as error:
            self.post(_error(error.code, error.message, kind))
        except ApiError as error:
            self.post(_error("rejected", str(error), kind))

    @staticmethod
    def _string(message: dict[str, Any], key: str, pattern: re.Pattern[str], what: str, required: bool = True) -> str:
        value = message.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not pattern.match(value):
            raise PhoneError("bad_field", f"{key!r} must be {what}")
        return value

    def _current(self) -> Leg | None:
        return self.leg if self.leg is not None and not self.leg.ended.is_set() else None

    async def do_register(self, message: dict[str, Any]) -> None:
        """``{"type": "register", "user": NAME}``: calls to the ``app`` user NAME ring in this page."""
        user = self._string(message, "user", USER, "a user name of 1-64 letters, digits, '.', '_', '@' or '-'")
        if self.user is not None:
            raise PhoneError("already_registered", f"this page is already user {self.user!r}")
        key = "user:" + user
        if key in self.network.answerers:
            raise PhoneError("user_taken", f"user {user!r} is already registered by another page")
        self.network.answerers[key] = self.ring
        self.user = user
        self.post({"type": "registered", "user": user})

    async def do_dial(self, message: dict[str, Any]) -> None:
        """``{"type": "dial", "to": NUMBER, "from": NUMBER?}``: a call from the network to a virtual number.

        A registered page calls as its ``app`` user (``from_user``), else from ``from`` (default
        :data:`DEFAULT_CALLER`).
        """
        to = self._string(message, "to", NUMBER, "a phone number of 6-15 digits").lstrip("+")
        caller = self._string(message, "from", NUMBER, "a phone number of 6-15 digits", required=False).lstrip("+")
        if self._current() is not None:
            raise PhoneError("busy", "this page already has a call: hang up first")
        network = self.network
        number = network.numbers.get(to)
        app = network.apps.get(number.get("app_id", "")) if number else None
        if app is None:
            raise PhoneError("unknown_number", f"{to} is not a number linked to an application of this sandbox")
        from_: dict[str, Any] = (
            {"type": "app", "user": self.user} if self.user else {"type": "phone", "number": caller or DEFAULT_CALLER}
        )
        # As POST /_sandbox/calls does: the network delivers the call to the number's application.
        leg = network.new_leg(
            app=app,
            direction="inbound",
            to={"type": "phone", "number": to},
            from_=from_,
            event_hook=app.hook("event_url"),
            fallback_hook=app.hook("fallback_answer_url"),
        )
        leg.behaviour = {"script": []}  # a person, not a script, is on this leg
        self._take(leg, "caller")
        self._attach_audio(leg)
        leg.lifecycle = leg.spawn(network.receive_inbound(leg))

    async def do_answer(self, message: dict[str, Any]) -> None:
        """``{"type": "answer"}``: pick up the ringing call."""
        self._decide("answer")

    async def do_decline(self, message: dict[str, Any]) -> None:
        """``{"type": "decline"}``: refuse the ringing call (``rejected``, SIP 603)."""
        self._decide("decline")

    async def do_hangup(self, message: dict[str, Any]) -> None:
        """``{"type": "hangup"}``: end the call (a ringing incoming call is declined)."""
        leg = self._current()
        if leg is None:
            raise PhoneError("no_call", "there is no call to hang up")
        if self.role == "callee" and self._decision is None:
            self._decide("decline")
            return
        await leg.end(by="user")

    async def do_dtmf(self, message: dict[str, Any]) -> None:
        """``{"type": "dtmf", "digits": "1#"}``: key presses, as tones in the audio and as key events."""
        digits = self._string(message, "digits", DIGITS, "1-20 keys of 0-9, * and #")
        leg = self._current()
        if leg is None or leg.status != "answered":
            raise PhoneError("no_call", "keys can be pressed only during a connected call")
        press = self.endpoint.press(digits) if self.endpoint is not None else leg.press_dtmf(digits)
        # Not awaited: the tones take 100 ms each and the page must stay responsive meanwhile.
        task = leg.spawn(press)
        self._presses.add(task)
        task.add_done_callback(self._presses.discard)

    def _decide(self, decision: str) -> None:
        if self.role != "callee" or self._current() is None or self._decision is not None:
            raise PhoneError("no_incoming_call", "there is no ringing call to answer or decline")
        self._decision = decision
        self._decided.set()

    # -- the call -------------------------------------------------------------------------------------------
    def _take(self, leg: Leg, role: str) -> None:
        self.leg, self.role = leg, role
        self._decision = None
        self._decided = asyncio.Event()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(leg))

    def _attach_audio(self, leg: Leg) -> None:
        if not self.real_audio:
            return  # the estimating media backend carries no audio: control messages still work
        from voice_sandbox.audio_io import attach_external

        def sink(frame: bytes) -> None:
            self.post(frame)

        try:
            self.endpoint = attach_external(leg, sink)
        except RuntimeError as error:
            self.post(_error("no_audio", str(error)))

    async def ring(self, leg: Leg, timeout: float) -> tuple[str, dict[str, Any]]:
        """``Network.answerers`` hook: the registered user's call rings in the page until answered or declined."""
        if self._current() is not None:
            await self.network.clock.sleep(0.5)
            return "busy", {"sip_code": 486}
        leg.set_status("ringing")
        leg.emit("ringing")
        self._take(leg, "callee")
        self.post({"type": "incoming", "uuid": leg.uuid, "from": endpoint_address(leg.from_)})
        decided = await self.network.clock.wait_for(self._decided, timeout)
        if leg.finished:
            return "cancelled", {}
        if not decided:
            return "timeout", {}
        if self._decision == "decline":
            return "rejected", {"detail": "declined", "sip_code": 603}
        self._attach_audio(leg)
        return "answered", {}

    def call_state(self, leg: Leg) -> dict[str, Any]:
        return {
            "type": "call",
            "uuid": leg.uuid,
            "status": leg.status,
            "role": self.role,
            "from": endpoint_address(leg.from_),
            "to": endpoint_address(leg.to),
            "audio": self.endpoint is not None,
        }

    async def _watch(self, leg: Leg) -> None:
        """Send the leg's status to the page each time it changes, until the leg ends."""
        last: str | None = None
        while True:
            changed = leg.state_changed  # taken before reading the status: no change is missed
            if leg.status != last:
                last = leg.status
                self.post(self.call_state(leg))
            if leg.ended.is_set():
                break
            await changed.wait()
        if self.leg is leg:
            self.leg, self.role, self.endpoint = None, None, None

    async def close(self) -> None:
        """The page went away: end the registration, decline or hang up its call."""
        if self.user is not None and self.network.answerers.get("user:" + self.user) == self.ring:
            del self.network.answerers["user:" + self.user]
        leg = self._current()
        if leg is not None:
            if self.role == "callee" and self._decision is None:
                self._decision = "decline"
                self._decided.set()
            else:
                await leg.end(by="user")
        if self._watcher is not None:
            self._watcher.cancel()
