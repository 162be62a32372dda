"""The browser phone's server side over a real websocket: page and token auth, the control protocol, bad
messages, a dialled call, an ``app`` user's softphone, and audio both ways with the real-audio backend.

A plain websocket client plays the page here; ``test_phone_browser.py`` runs the real page in Chromium.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.sync.client import ClientConnection, connect

from voice_sandbox.audio_backend import AudioMediaBackend
from voice_sandbox.engine import Network
from voice_sandbox.media import dtmf
from voice_sandbox.media_backend import MediaBackend
from voice_sandbox.phone import Tokens
from voice_sandbox.testing import SandboxServer

from .conftest import Reply, Setup, WebhookReceiver

#: Slow enough for a test to send a dozen messages inside a 10 s (simulated) input time-out.
SPEED = 2.0


def ws_url(sandbox: SandboxServer) -> str:
    token = sandbox.request("POST", "/_sandbox/phone/token", expect=201).json()["token"]
    return sandbox.url.replace("http://", "ws://") + f"/_sandbox/phone/ws?token={token}"


class Page:
    """A websocket client speaking the page's protocol; audio frames are counted while waiting for text."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[bytes] = []
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    def expect(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first message (already received or next) matching ``predicate``."""
        for message in self.messages:
            if predicate(message):
                self.messages.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching message; got {self.messages}")
            data = self.ws.recv(timeout=remaining)
            if isinstance(data, bytes):
                self.frames.append(data)
                continue
            message = json.loads(data)
            if predicate(message):
                return message
            self.messages.append(message)

    def error(self) -> dict[str, Any]:
        return self.expect(lambda m: m["type"] == "error")

    def status(self, status: str) -> dict[str, Any]:
        return self.expect(lambda m: m["type"] == "call" and m["status"] == status)

    def drain(self, seconds: float) -> None:
        """Keep receiving for ``seconds`` (collecting frames and messages)."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                data = self.ws.recv(timeout=remaining)
            except TimeoutError:
                return
            if isinstance(data, bytes):
                self.frames.append(data)
            else:
                self.messages.append(json.loads(data))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(speed=SPEED, cps=1000, rps=1000) as server:
        yield server


@pytest.fixture
def page(sandbox: SandboxServer) -> Iterator[Page]:
    with connect(ws_url(sandbox)) as ws:
        page = Page(ws)
        hello = page.expect(lambda m: m["type"] == "hello")
        assert hello == {
            "type": "hello",
            "audio": False,
            "sample_rate": 16000,
            "frame_bytes": 640,
            "speed": SPEED,
            "default_from": "447700900999",
        }
        yield page


def input_ncco(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    return [
        {"action": "talk", "text": "Press a key."},
        {
            "action": "input",
            "type": ["dtmf"],
            "dtmf": {"maxDigits": 1, "timeOut": 10},
            "eventUrl": [f"{receiver.url}/input"],
        },
    ]


# -- page and tokens ---------------------------------------------------------------------------------------------
def test_page_asks_for_basic_auth_then_serves_the_phone(sandbox: SandboxServer) -> None:
    anonymous = httpx.get(f"{sandbox.url}/_sandbox/phone")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="Vonage Voice API sandbox", charset="UTF-8"'
    wrong = httpx.get(f"{sandbox.url}/_sandbox/phone", auth=("sandbox", "wrong"))
    assert wrong.status_code == 401
    page = sandbox.request("GET", "/_sandbox/phone", expect=200)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/_sandbox/phone/static/phone.js"></script>' in page.text
    script = httpx.get(f"{sandbox.url}/_sandbox/phone/static/worklet.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert 'registerProcessor("phone-io"' in script.text
    for name in ("missing.js", "phone.html", "..%2Fphone.py", "package.json"):
        assert httpx.get(f"{sandbox.url}/_sandbox/phone/static/{name}").status_code == 404


def test_token_needs_basic_auth_and_works_once(sandbox: SandboxServer) -> None:
    refused = httpx.post(f"{sandbox.url}/_sandbox/phone/token")
    assert refused.status_code == 401
    url = ws_url(sandbox)
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    with connect(url) as ws:  # the same token again
        assert json.loads(ws.recv(timeout=5)) == {
            "type": "error",
            "code": "unauthorized",
            "message": "missing, used or expired token: get one from POST /_sandbox/phone/token (Basic auth), "
            "then connect",
        }
        with pytest.raises(Exception, match="4401"):
            ws.recv(timeout=5)


def test_tokens_are_single_use_and_expire() -> None:
    tokens = Tokens(lifetime=60)
    token = tokens.issue()
    assert tokens.consume("forged") is False
    assert tokens.consume(token) is True
    assert tokens.consume(token) is False
    expired = Tokens(lifetime=0.0)
    assert expired.consume(expired.issue()) is False


def test_cross_site_pages_are_refused(sandbox: SandboxServer) -> None:
    with pytest.raises(Exception, match="403"):
        connect(ws_url(sandbox), origin="http://evil.example")  # type: ignore[arg-type]


# -- bad messages --------------------------------------------------------------------------------------------
def test_bad_messages_get_clear_errors_and_do_not_disturb_the_call(
    setup: Setup, receiver: WebhookReceiver, page: Page
) -> None:
    receiver.replies["/answer"] = Reply(body=input_ncco(receiver))
    page.send({"type": "dial", "to": setup.number})
    answered = page.status("answered")
    uuid = answered["uuid"]
    assert answered == {
        "type": "call",
        "uuid": uuid,
        "status": "answered",
        "role": "caller",
        "from": "447700900999",
        "to": setup.number,
        "audio": False,
    }
    bad: list[tuple[str | bytes, dict[str, Any]]] = [
        ("{nope", {"code": "bad_json", "message": "control messages are JSON objects"}),
        ("[1, 2]", {"code": "bad_message", "message": 'control messages are JSON objects with a string "type"'}),
        (
            '{"type": "fly"}',
            {
                "code": "unknown_type",
                "message": "unknown message type 'fly'; expected one of "
                "('register', 'dial', 'answer', 'decline', 'hangup', 'dtmf')",
                "in_reply_to": "fly",
            },
        ),
        (
            '{"type": "dtmf", "digits": "1A"}',
            {"code": "bad_field", "message": "'digits' must be 1-20 keys of 0-9, * and #", "in_reply_to": "dtmf"},
        ),
        (
            '{"type": "dial", "to": "' + setup.number + '"}',
            {"code": "busy", "message": "this page already has a call: hang up first", "in_reply_to": "dial"},
        ),
        (
            '{"type": "answer"}',
            {
                "code": "no_incoming_call",
                "message": "there is no ringing call to answer or decline",
                "in_reply_to": "answer",
            },
        ),
        (
            b"\x00" * 100,
            {"code": "bad_frame", "message": "audio frames are 640 bytes (20 ms of 16-bit PCM at 16000 Hz), got 100"},
        ),
        ("x" * 5000, {"code": "too_long", "message": "control messages are at most 4096 characters"}),
    ]
    for message, error in bad:
        page.send(message)
        assert page.error() == {"type": "error", **error}
    assert setup.sandbox.call(uuid)["status"] == "answered"  # nothing changed
    assert receiver.at("/input") == []

    setup.sandbox.wait_until(uuid, lambda leg: leg["listening"])  # the prompt has been played
    page.send({"type": "dtmf", "digits": "4"})
    (received,) = receiver.wait_for(lambda rs: any(r.path == "/input" for r in rs)) and receiver.at("/input")
    assert received.json["dtmf"] == {"digits": "4", "timed_out": False}
    assert received.json["uuid"] == uuid


def test_dial_refuses_bad_and_unknown_numbers(sandbox: SandboxServer, page: Page) -> None:
    before = sandbox.request("GET", "/_sandbox/calls", expect=200).json()["count"]
    page.send({"type": "dial", "to": "12"})
    assert page.error() == {
        "type": "error",
        "code": "bad_field",
        "message": "'to' must be a phone number of 6-15 digits",
        "in_reply_to": "dial",
    }
    page.send({"type": "dial", "to": "447700999999"})
    assert page.error() == {
        "type": "error",
        "code": "unknown_number",
        "message": "447700999999 is not a number linked to an application of this sandbox",
        "in_reply_to": "dial",
    }
    page.send({"type": "hangup"})
    assert page.error()["code"] == "no_call"
    assert sandbox.request("GET", "/_sandbox/calls", expect=200).json()["count"] == before


# -- calls ---------------------------------------------------------------------------------------------------
def test_a_dialled_call_goes_through_its_states_and_hangs_up(
    setup: Setup, receiver: WebhookReceiver, page: Page
) -> None:
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Hello from the sandbox", "loop": 0}])
    page.send({"type": "dial", "to": setup.number, "from": "+447700900555"})
    started = page.status("started")
    uuid = started["uuid"]
    assert started["from"] == "447700900555"
    page.status("ringing")
    page.status("answered")
    page.send({"type": "hangup"})
    assert page.status("completed")["uuid"] == uuid
    assert receiver.wait_status(uuid, "completed") == ["started", "ringing", "answered", "completed"]
    (completed,) = [e for e in setup.events(uuid) if e["status"] == "completed"]
    assert completed["disconnected_by"] == "user"
    assert completed["from"] == "447700900555"


def test_an_app_user_registered_in_the_page_answers_and_hangs_up(
    setup: Setup, receiver: WebhookReceiver, page: Page
) -> None:
    receiver.replies["/answer"] = Reply(
        body=[{"action": "connect", "endpoint": [{"type": "app", "user": "agent.phone1"}]}]
    )
    page.send({"type": "register", "user": "agent.phone1"})
    assert page.expect(lambda m: m["type"] != "call") == {"type": "registered", "user": "agent.phone1"}
    page.send({"type": "register", "user": "agent.other"})
    assert page.error()["code"] == "already_registered"
    caller = setup.sandbox.place_inbound(from_="447700900777", to=setup.number)

    incoming = page.expect(lambda m: m["type"] == "incoming")
    assert incoming["from"] == setup.number  # a connect to an app user shows the number that was called
    ringing = page.status("ringing")
    assert (ringing["role"], ringing["to"]) == ("callee", "agent.phone1")
    page.send({"type": "answer"})
    page.status("answered")
    members = setup.sandbox.wait_until(caller["uuid"], lambda leg: len(leg["conversation"]["members"]) == 2)
    assert sorted(members["conversation"]["members"]) == sorted([caller["uuid"], incoming["uuid"]])
    page.send({"type": "hangup"})
    page.status("completed")
    callee = incoming["uuid"]
    assert receiver.wait_status(callee, "completed") == ["started", "ringing", "answered", "completed"]
    (done,) = [e for e in setup.events(callee) if e["status"] == "completed"]
    assert done["disconnected_by"] == "user"


def test_a_declined_call_is_rejected_and_a_second_page_cannot_take_the_user(
    sandbox: SandboxServer, setup: Setup, receiver: WebhookReceiver, page: Page
) -> None:
    receiver.replies["/answer"] = Reply(
        body=[{"action": "connect", "endpoint": [{"type": "app", "user": "agent.phone2"}]}]
    )
    page.send({"type": "register", "user": "agent.phone2"})
    page.expect(lambda m: m["type"] == "registered")
    with connect(ws_url(sandbox)) as ws:
        other = Page(ws)
        other.send({"type": "register", "user": "agent.phone2"})
        assert other.error() == {
            "type": "error",
            "code": "user_taken",
            "message": "user 'agent.phone2' is already registered by another page",
            "in_reply_to": "register",
        }
    setup.sandbox.place_inbound(from_="447700900778", to=setup.number)
    callee = page.expect(lambda m: m["type"] == "incoming")["uuid"]
    page.send({"type": "decline"})
    assert page.status("rejected")["uuid"] == callee
    assert receiver.wait_status(callee, "rejected") == ["started", "ringing", "rejected"]
    (rejected,) = [e for e in setup.events(callee) if e["status"] == "rejected"]
    assert (rejected["detail"], rejected["sip_code"]) == ("declined", 603)


def test_closing_the_page_hangs_up_and_frees_the_user(
    sandbox: SandboxServer, setup: Setup, receiver: WebhookReceiver
) -> None:
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Hold on", "loop": 0}])
    with connect(ws_url(sandbox)) as ws:
        page = Page(ws)
        page.send({"type": "register", "user": "agent.phone3"})
        page.expect(lambda m: m["type"] == "registered")
        page.send({"type": "dial", "to": setup.number})
        uuid = page.status("answered")["uuid"]
        assert [m["type"] for m in page.messages] == ["hello", "call", "call"]  # started, ringing
    assert receiver.wait_status(uuid, "completed")[-1] == "completed"
    (completed,) = [e for e in setup.events(uuid) if e["status"] == "completed"]
    assert (completed["disconnected_by"], completed["from"]) == ("user", "agent.phone3")
    with connect(ws_url(sandbox)) as ws:
        again = Page(ws)
        again.send({"type": "register", "user": "agent.phone3"})
        assert again.expect(lambda m: m["type"] == "registered") == {"type": "registered", "user": "agent.phone3"}


# -- audio ---------------------------------------------------------------------------------------------------
def audio_factory(network: Network) -> MediaBackend:
    return AudioMediaBackend.for_network(network)


@pytest.fixture(scope="module")
def audio_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(speed=4.0, cps=1000, rps=1000, media_factory=audio_factory) as server:
        yield server


def test_the_page_hears_the_prompt_and_its_microphone_keys_reach_the_input(
    audio_sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    setup = Setup(audio_sandbox, receiver)
    receiver.replies["/answer"] = Reply(body=input_ncco(receiver))
    with connect(ws_url(audio_sandbox)) as ws:
        page = Page(ws)
        assert page.expect(lambda m: m["type"] == "hello")["audio"] is True
        page.send({"type": "dial", "to": setup.number})
        answered = page.status("answered")
        assert answered["audio"] is True
        # "Press a key." lasts about a second: 50 frames, most of them loud (speech, not silence).
        audio_sandbox.wait_until(answered["uuid"], lambda leg: leg["listening"])
        page.drain(0.1)
        assert page.frames and all(len(f) == 640 for f in page.frames)
        loudness = [float(np.sqrt(np.mean(np.frombuffer(f, "<i2").astype(np.float64) ** 2))) for f in page.frames]
        assert sum(level > 300 for level in loudness) >= 20
        # The person's microphone carries a "7" tone: the engine detects it in the audio (no key event sent).
        tone = np.concatenate([np.zeros(1600, np.int16), dtmf.generate("7"), np.zeros(3200, np.int16)])
        for start in range(0, len(tone) - 319, 320):
            page.send(tone[start : start + 320].astype("<i2").tobytes())
        (received,) = receiver.wait_for(lambda rs: any(r.path == "/input" for r in rs)) and receiver.at("/input")
        assert received.json["dtmf"] == {"digits": "7", "timed_out": False}
        assert received.json["uuid"] == answered["uuid"]


def test_a_user_already_on_a_call_is_busy_and_a_caller_who_gives_up_stops_the_ringing(
    setup: Setup, receiver: WebhookReceiver, page: Page
) -> None:
    receiver.replies["/answer"] = Reply(
        body=[{"action": "connect", "endpoint": [{"type": "app", "user": "agent.phone4"}]}]
    )
    page.send({"type": "register", "user": "agent.phone4"})
    page.expect(lambda m: m["type"] == "registered")

    # The caller hangs up after 1 s (simulated) while the page rings: the ringing stops, the leg is cancelled.
    setup.sandbox.place_inbound(from_="447700900779", to=setup.number, script=[{"wait": 1}, {"hangup": True}])
    missed = page.expect(lambda m: m["type"] == "incoming")["uuid"]
    page.status("ringing")
    assert page.status("completed")["uuid"] == missed
    assert receiver.wait_status(missed, "completed") == ["started", "ringing", "cancelled", "completed"]
    page.send({"type": "answer"})
    assert page.error()["code"] == "no_incoming_call"

    # While the page is on a call, a second call to its user gets busy (SIP 486).
    setup.sandbox.place_inbound(from_="447700900781", to=setup.number)
    first = page.expect(lambda m: m["type"] == "incoming")["uuid"]
    page.send({"type": "answer"})
    page.expect(lambda m: m["type"] == "call" and m["uuid"] == first and m["status"] == "answered")
    second = setup.sandbox.place_inbound(from_="447700900780", to=setup.number)
    busy = receiver.wait_for(lambda rs: any(r.path == "/event" and r.data.get("status") == "busy" for r in rs)) and [
        r.data for r in receiver.at("/event") if r.data.get("status") == "busy"
    ]
    assert [(b["to"], b["sip_code"]) for b in busy] == [("agent.phone4", 486)]
    assert busy[0]["uuid"] not in (first, second["uuid"])
    assert setup.sandbox.call(first)["status"] == "answered"  # the call in progress is untouched
    page.send({"type": "hangup"})
