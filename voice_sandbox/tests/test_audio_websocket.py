"""The websocket endpoint with real audio: the sandbox connects to an app's server, sends the conversation mix in
20 ms binary frames, plays the app's frames into the call and reports key presses (voice-api.md section 6)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve

from voice_sandbox.audio_backend import PARTY_VOICE, AudioMediaBackend
from voice_sandbox.engine import Network
from voice_sandbox.media import codecs, tts
from voice_sandbox.media.frames import pad_to_frames
from voice_sandbox.media_backend import MediaBackend
from voice_sandbox.testing import SandboxServer

from .conftest import Reply, Setup, WebhookReceiver, fresh_number

#: Speed 5, not 20: the echo's round trip through the app's server jitters by a few wall milliseconds, which at
#: speed 20 exceeds the 60 ms jitter buffer and would put silent frames into the echoed speech.
SPEED = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EchoServer:
    """A websocket app in a thread: records every message and echoes binary frames back (or a bad frame)."""

    def __init__(self, *, bad_frame_after: int | None = None) -> None:
        self.port = free_port()
        self.texts: list[dict[str, Any]] = []
        self.frames: list[bytes] = []
        self.bad_frame_after = bad_frame_after
        self.closed = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)

    async def handler(self, connection: ServerConnection) -> None:
        try:
            async for message in connection:
                if isinstance(message, str):
                    self.texts.append(json.loads(message))
                    continue
                self.frames.append(message)
                if self.bad_frame_after is not None and len(self.frames) >= self.bad_frame_after:
                    await connection.send(b"\x00" * 100)
                    continue
                await connection.send(message)
        except Exception:  # noqa: S110 - the sandbox closing the socket ends the test's session
            pass
        self.closed.set()

    async def main(self) -> None:
        self.stop_event = asyncio.Event()
        async with serve(self.handler, "127.0.0.1", self.port, max_queue=None):
            self.ready.set()
            await self.stop_event.wait()

    def __enter__(self) -> EchoServer:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(5)


def factory(network: Network) -> MediaBackend:
    return AudioMediaBackend.for_network(network)


@pytest.fixture(scope="module")
def audio_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(speed=SPEED, cps=1000, rps=1000, media_factory=factory) as server:
        yield server


def connect_ncco(receiver: WebhookReceiver, port: int, rate: int) -> list[dict[str, Any]]:
    return [
        {"action": "record", "split": "conversation", "format": "wav", "eventUrl": [f"{receiver.url}/record"]},
        {
            "action": "connect",
            "eventUrl": [f"{receiver.url}/ws-event"],
            "endpoint": [
                {
                    "type": "websocket",
                    "uri": f"ws://127.0.0.1:{port}/socket",
                    "content-type": f"audio/l16;rate={rate}",
                    "headers": {"caller": "tester", "language": "en-GB"},
                }
            ],
        },
    ]


def find(haystack: bytes, needle: bytes) -> int:
    index = haystack.find(needle)
    assert index >= 0, "the audio is not in the stream byte for byte"
    return index


def test_websocket_carries_the_callers_audio_both_ways_byte_exact_and_reports_dtmf(
    audio_sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    setup = Setup(audio_sandbox, receiver)
    phrase = "hello websocket"
    with EchoServer() as app:
        receiver.replies["/answer"] = Reply(body=connect_ncco(receiver, app.port, 16000))
        call = audio_sandbox.place_inbound(
            from_=fresh_number(),
            to=setup.number,
            script=[{"wait_for": "conversation"}, {"say": phrase}, {"dtmf": "5"}, {"wait": 0.5}, {"hangup": True}],
        )
        receiver.wait_status(call["uuid"], "completed")
        assert app.closed.wait(5)
    assert app.texts[0] == {
        "event": "websocket:connected",
        "content-type": "audio/l16;rate=16000",
        "caller": "tester",
        "language": "en-GB",
    }
    assert app.texts[1:] == [{"event": "websocket:dtmf", "digit": "5", "duration": 100}]
    assert {len(frame) for frame in app.frames} == {640}
    # The app received the caller's words exactly as spoken (one speaker: the mix is the voice itself),
    # frame-aligned and in order.
    spoken = pad_to_frames(tts.synthesize(phrase, language=PARTY_VOICE[0], style=PARTY_VOICE[1])).tobytes()
    received = b"".join(app.frames)
    at = find(received, spoken)
    assert at % 640 == 0
    # The echo was played into the call: the caller heard the same bytes (right channel of its recording).
    (record,) = receiver.wait_for(lambda rs: any(r.path == "/record" for r in rs)) and receiver.at("/record")
    data = setup.voice.request("GET", record.json["recording_url"].removeprefix(audio_sandbox.url)).content
    stereo, _ = codecs.decode_channels(data)
    heard = np.ascontiguousarray(stereo[:, 1]).tobytes()
    find(heard, spoken)
    said = np.ascontiguousarray(stereo[:, 0]).tobytes()
    assert find(said, spoken) < find(heard, spoken)  # the echo comes after the words


def test_websocket_at_8khz_sends_320_byte_frames(audio_sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    setup = Setup(audio_sandbox, receiver)
    with EchoServer() as app:
        receiver.replies["/answer"] = Reply(body=connect_ncco(receiver, app.port, 8000))
        call = audio_sandbox.place_inbound(
            from_=fresh_number(),
            to=setup.number,
            script=[{"wait_for": "conversation"}, {"say": "eight kilohertz"}, {"hangup": True}],
        )
        receiver.wait_status(call["uuid"], "completed")
        assert app.closed.wait(5)
    assert app.texts[0]["content-type"] == "audio/l16;rate=8000"
    assert {len(frame) for frame in app.frames} == {320}
    samples = np.frombuffer(b"".join(app.frames), dtype="<i2")
    assert np.abs(samples).max() > 1000  # the speech went through the resampler


def test_a_wrong_frame_size_closes_the_socket_and_the_leg_reports_disconnected(
    audio_sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    setup = Setup(audio_sandbox, receiver)
    with EchoServer(bad_frame_after=5) as app:
        receiver.replies["/answer"] = Reply(body=connect_ncco(receiver, app.port, 16000))
        call = audio_sandbox.place_inbound(from_=fresh_number(), to=setup.number)
        receiver.wait_status(call["uuid"], "completed")
        assert app.closed.wait(5)
    events = [r.json for r in receiver.at("/ws-event")]
    assert [e["status"] for e in events] == ["started", "answered", "disconnected", "completed"]
