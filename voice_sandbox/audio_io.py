"""Attach an external audio endpoint (a browser phone, a softphone bridge) to any live leg.

This is the stable interface for code outside the media engine. Everything runs on the sandbox's event loop
thread; the audio format is the engine's own: 16-bit signed little-endian mono PCM at 16 kHz, 20 ms frames
(640 bytes).

    from voice_sandbox.audio_io import attach_external

    endpoint = attach_external(leg, sink=lambda frame: queue.put_nowait(frame), on_end=lambda: ...)
    endpoint.push_input(mic_frame_640_bytes)      # what the person says, one frame per 20 ms (buffered)
    await endpoint.press("12#")                   # key presses: out-of-band and as tones in the audio
    await endpoint.hangup()                       # the person hangs up (``disconnected_by: user``)
    endpoint.detach()                             # stop exchanging audio, the leg stays up

* ``leg`` is any :class:`voice_sandbox.engine.Leg`: an inbound call placed from the network
  (``network.legs[uuid]`` after ``POST /_sandbox/calls``), an ``app`` user's leg, a scripted phone's leg.
  While an endpoint is attached, what it pushes is the party's voice (a script's ``say`` steps still speak;
  both are mixed).
* ``sink(frame: bytes)`` is called once per engine tick (every 20 ms of simulated time) with exactly 640 bytes:
  what the leg hears (the conversation mix plus prompts, music, tones played to it). It must not block.
* ``push_input`` accepts 640-byte frames; they are queued (up to :data:`MAX_QUEUED_FRAMES`, older frames are
  dropped beyond that so latency stays bounded) and one is consumed per tick. DTMF tones in the pushed audio
  are detected (Goertzel) and reach ``input``/async listeners like key presses.
* ``on_end()`` runs once when the leg ends or the endpoint is detached.

Raises :class:`RuntimeError` when the sandbox runs without real audio (``--media estimate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from voice_sandbox.media.frames import FRAME_BYTES

if TYPE_CHECKING:
    from voice_sandbox.audio_backend import LegAudio
    from voice_sandbox.engine import Leg

#: Input frames buffered per endpoint (2 s): a browser that sends in bursts is smoothed, a stalled one drops.
MAX_QUEUED_FRAMES = 100

__all__ = ["FRAME_BYTES", "MAX_QUEUED_FRAMES", "ExternalEndpoint", "attach_external"]


class ExternalEndpoint:
    """A handle on one attached endpoint; see the module docstring."""

    def __init__(self, leg: Leg, audio: LegAudio, sink: Callable[[bytes], None], on_end: Callable[[], None] | None):
        self.leg = leg
        self._audio = audio
        self.sink = sink
        self.on_end = on_end
        self.attached = True

    @property
    def leg_uuid(self) -> str:
        return self.leg.uuid

    def push_input(self, frame: bytes) -> None:
        """Queue one 640-byte frame of the person's audio; ``ValueError`` for any other size."""
        if len(frame) != FRAME_BYTES:
            raise ValueError(f"unexpected frame size {len(frame)}, when required {FRAME_BYTES}")
        if self.attached:
            self._audio.push_external(self, frame)

    async def press(self, digits: str) -> None:
        """The person presses keys (``0-9*#``, ``p`` = 500 ms pause), as a scripted ``dtmf`` step does."""
        await self.leg.press_dtmf(digits)

    async def hangup(self) -> None:
        """The person hangs up."""
        await self.leg.end(by="user")

    def detach(self) -> None:
        """Stop exchanging audio (the leg stays up); calls ``on_end``."""
        self._audio.detach_external(self)

    def _ended(self) -> None:
        if not self.attached:
            return
        self.attached = False
        if self.on_end is not None:
            self.on_end()


def attach_external(
    leg: Leg, sink: Callable[[bytes], None], *, on_end: Callable[[], None] | None = None
) -> ExternalEndpoint:
    """Connect ``sink`` to what ``leg`` hears and return the endpoint to push its party's audio with."""
    from voice_sandbox.audio_backend import AudioMediaBackend

    media = leg.network.media
    if not isinstance(media, AudioMediaBackend):
        raise RuntimeError("the sandbox runs without real audio (--media estimate): nothing to attach to")
    if not leg.is_live:
        raise RuntimeError(f"leg {leg.uuid} has ended")
    audio = media.leg_audio(leg)
    endpoint = ExternalEndpoint(leg, audio, sink, on_end)
    audio.attach_external(endpoint)
    return endpoint
