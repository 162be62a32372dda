"""The seam between the call engine and audio.

Every sound that reaches a leg goes through one ``MediaBackend`` method: ``talk`` (TTS), ``stream`` (an
audio file), ``dtmf_into`` (tones played into the leg), ``speech_from`` (the far end speaks), the
websocket endpoint and recordings. This part-1 backend has no audio: it *estimates* durations (about
150 words a minute for speech, the real length of WAV files, a fixed length for files it cannot
measure), sleeps that long on the simulated clock and appends what was played to the leg's ``heard``
list. Part 2 subclasses it with real PCM (TTS, mixing, recordings, ASR, websocket audio) and the engine
does not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import struct
import wave
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from voice_sandbox.clock import Clock

if TYPE_CHECKING:
    from voice_sandbox.engine import Conversation, Leg, Recording

logger = logging.getLogger("voice_sandbox.media")

WORDS_PER_MINUTE = 150.0
MIN_SPEECH_SECONDS = 0.5
UNKNOWN_STREAM_SECONDS = 5.0
RECORDING_RATE = 16000


def speech_seconds(text: str) -> float:
    """How long ``text`` takes to say at ~150 words a minute (SSML tags not counted)."""
    words = len(re.sub(r"<[^>]+>", " ", text).split())
    return max(MIN_SPEECH_SECONDS, words * 60.0 / WORDS_PER_MINUTE)


def wav_seconds(data: bytes) -> float | None:
    """Duration of a RIFF/WAVE file from its header, or None if it is not one."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate = wav.getframerate()
            return wav.getnframes() / rate if rate else None
    except (wave.Error, EOFError, struct.error):
        return None


def silent_wav(seconds: float, channels: int = 1, rate: int = RECORDING_RATE) -> bytes:
    """A 16-bit PCM WAV of silence (what part 1 records: it has no audio to mix)."""
    frames = max(0, int(seconds * rate))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * channels * frames)
    return out.getvalue()


def websocket_auth_headers(endpoint: dict[str, Any], token: str | None) -> dict[str, str]:
    """Handshake headers for a websocket endpoint's ``authorization`` (voice-api.md section 6).

    ``{"type": "custom", "value": ...}`` is sent verbatim; ``{"type": "vonage"}`` (the default type)
    sends the signed-callback JWT as a bearer token; no ``authorization`` object sends nothing.
    """
    headers: dict[str, str] = {}
    authorization = endpoint.get("authorization")
    if isinstance(authorization, dict):
        if authorization.get("type", "vonage") == "custom":
            headers["Authorization"] = str(authorization.get("value", ""))
        elif token:
            headers["Authorization"] = f"Bearer {token}"
    return headers


class WebsocketLink:
    """An open websocket leg; ``close()`` ends it without a ``disconnected`` event (like a REST hang-up)."""

    def __init__(self, connection: Any, reader: asyncio.Task[None]) -> None:
        self.connection = connection
        self.reader = reader
        self.closing = False

    async def close(self) -> None:
        self.closing = True
        if asyncio.current_task() is not self.reader:
            self.reader.cancel()
        with contextlib.suppress(Exception):
            await self.connection.close()


class MediaBackend:
    """Part-1 media: durations are estimated, nothing is synthesised; see the module docstring."""

    #: Whether speech input and record ``endOnSilence`` listen to real audio (``AudioMediaBackend``).
    real_audio = False

    def __init__(self, clock: Clock, http: httpx.AsyncClient) -> None:
        self.clock = clock
        self.http = http
        self._stream_lengths: dict[str, float] = {}

    # -- things a leg hears ------------------------------------------------------------------------------
    async def talk(self, leg: Leg, *, text: str, language: str, style: int, level: float, loop: int) -> None:
        """Play TTS into ``leg``; returns when done (``loop=0`` repeats until cancelled)."""
        leg.hear({"type": "talk", "text": text, "language": language})
        await self._repeat(speech_seconds(text), loop)

    async def stream(self, leg: Leg, *, url: str, level: float, loop: int) -> None:
        """Play the audio file at ``url`` into ``leg``."""
        leg.hear({"type": "stream", "url": url})
        await self._repeat(await self.stream_seconds(url), loop)

    async def dtmf_into(self, leg: Leg, digits: str) -> None:
        """Play DTMF tones into ``leg`` (``p`` is a 500 ms pause)."""
        leg.hear({"type": "dtmf", "digits": digits})
        await self.clock.sleep(0.25 * len(digits.replace("p", "")) + 0.5 * digits.count("p"))

    async def music_on_hold(self, leg: Leg, url: str | None) -> None:
        """Hold music until cancelled (the leg waits for a conversation to start)."""
        if url:
            leg.hear({"type": "music_on_hold", "url": url})
        await asyncio.Event().wait()

    async def ringback(self, leg: Leg, url: str) -> None:
        leg.hear({"type": "ringback", "url": url})
        await asyncio.Event().wait()

    def beep(self, leg: Leg) -> None:
        leg.hear({"type": "beep"})

    # -- topology (part 2 reconfigures its mixer here) ----------------------------------------------------
    def conversation_changed(self, conversation: Conversation) -> None:
        """Members joined or left, or mute/earmuff/canHear/canSpeak changed (``Conversation.hears`` is the rule)."""

    def leg_ended(self, leg: Leg) -> None:
        """The leg hung up: release its audio state."""

    # -- things the far end of a leg does -------------------------------------------------------------------
    async def speech_from(self, leg: Leg, text: str) -> float:
        """The party on ``leg`` says ``text``; returns its duration in simulated seconds."""
        return speech_seconds(text)

    async def speech_done(self, leg: Leg, seconds: float) -> None:
        """Return when what ``speech_from`` started has been said (part 1: ``seconds`` of simulated time)."""
        await self.clock.sleep(seconds)

    async def party_dtmf(self, leg: Leg, digits: str) -> None:
        """The party on ``leg`` presses keys: out-of-band, one digit every 0.1 s (``p`` = 0.5 s pause)."""
        for digit in digits:
            if not leg.is_live:
                return
            if digit == "p":
                await self.clock.sleep(0.5)
                continue
            leg.key(digit)
            await self.clock.sleep(0.1)

    def key_pressed(self, leg: Leg, digit: str, duration_ms: int = 100) -> None:
        """A key was pressed on ``leg`` (part 2 tells websocket legs in its conversation)."""

    async def until_silence(self, leg: Leg, seconds: float) -> None:
        """Return after ``seconds`` of silence from ``leg``'s party (part 1: no audio, the leg is silent)."""
        await self.clock.sleep(seconds)

    async def speech_capture(self, leg: Leg, speech: dict[str, Any]) -> Any:
        """Start listening to ``leg``'s party for a speech input (part 2; None when the language has no model)."""
        return None

    def recognise(self, leg: Leg, text: str, *, language: str, context: list[str]) -> list[dict[str, Any]]:
        """Speech recognition results for what the party said (part 1 hears it perfectly)."""
        return [{"text": text, "confidence": 0.95}]

    # -- durations ----------------------------------------------------------------------------------------
    async def stream_seconds(self, url: str) -> float:
        """Length of an audio file: real for reachable WAVs, from the bitrate for MP3s, else a fixed value."""
        if url in self._stream_lengths:
            return self._stream_lengths[url]
        seconds = UNKNOWN_STREAM_SECONDS
        try:
            response = await self.http.get(url, timeout=httpx.Timeout(2.0))
            if response.status_code == 200 and response.content:
                measured = wav_seconds(response.content)
                # 128 kbit/s is the most common MP3 bitrate; good enough for an estimate.
                seconds = measured if measured is not None else len(response.content) * 8 / 128_000
        except (httpx.HTTPError, ValueError):
            pass
        self._stream_lengths[url] = seconds
        return seconds

    async def _repeat(self, seconds: float, loop: int) -> None:
        count = 0
        while loop == 0 or count < loop:
            await self.clock.sleep(seconds)
            count += 1

    # -- recordings ----------------------------------------------------------------------------------------
    def recording_started(self, recording: Recording) -> None:
        """A record action or conversation recording began (part 2 starts capturing its frames)."""

    async def recording_bytes(
        self, *, seconds: float, channels: int, fmt: str, recording: Recording | None = None
    ) -> tuple[bytes, str]:
        """Audio of a finished recording and its content type (part 1: WAV silence of the right length)."""
        return silent_wav(seconds, channels), "audio/wav"

    # -- websocket endpoint -------------------------------------------------------------------------------
    async def open_websocket(
        self, leg: Leg, endpoint: dict[str, Any], token: str | None, on_closed: Callable[[], Awaitable[None]]
    ) -> WebsocketLink:
        """Connect to the app's websocket server as Vonage does; raises ``OSError`` if it cannot.

        Sends the ``websocket:connected`` text message (endpoint headers copied to the top level). Part 1
        sends no audio frames; inbound messages are read and dropped. ``on_closed`` runs when the app
        closes the socket.
        """
        import websockets

        headers = websocket_auth_headers(endpoint, token)
        try:
            connection = await asyncio.wait_for(
                websockets.connect(endpoint["uri"], additional_headers=headers, open_timeout=5), timeout=6
            )
        except Exception as exc:
            raise OSError(f"websocket connection failed: {exc}") from exc
        first = {"event": "websocket:connected", "content-type": endpoint.get("content-type")}
        first.update(endpoint.get("headers") or {})
        await connection.send(json.dumps(first))

        async def reader() -> None:
            try:
                async for _message in connection:
                    pass
            except Exception:  # noqa: S110 - any close is a close
                pass
            if not link.closing:
                await on_closed()

        link = WebsocketLink(connection, asyncio.get_running_loop().create_task(reader()))
        return link
