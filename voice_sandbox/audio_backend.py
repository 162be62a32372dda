"""Real audio for the sandbox: one clock drives every leg's 20 ms PCM frames through the conference mixer.

Each live leg with audio has a :class:`LegAudio`: what the platform plays *to* it (talk, stream, beeps, tones,
hold music: summed), what its party *says* (scripted ``say`` steps spoken with TTS, key tones, the audio of an
external endpoint or of a websocket app) and the taps that consume its frames (recordings, speech capture,
the VAD of ``endOnSilence``, external sinks, websocket senders).

One task (:meth:`AudioMediaBackend._run`) runs the ticks: every 20 ms of *simulated* time it builds the
``(N, 320)`` matrix of every leg's voice, mixes all conversations at once with :class:`Mixer` (rebuilt only
when the topology changes), adds each leg's playout, and hands the frames to the taps. At a speed factor
above 1 it runs several ticks per wake-up, so a test at ``speed=20`` hears and records exactly the same
audio as a real-time call. A talk or stream ends when its last frame has been played, so it lasts exactly as
long as its audio. TTS, decoding, encoding and ASR run in a thread pool so the clock never waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import httpx
import numpy as np
import numpy.typing as npt

from voice_sandbox.clock import Clock
from voice_sandbox.media import asr, codecs, dtmf, tts
from voice_sandbox.media.frames import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    StreamResampler,
    bytes_to_pcm,
    check_websocket_frame,
    pad_to_frames,
    pcm_to_bytes,
    saturate,
    split_frames,
)
from voice_sandbox.media.mixer import LegMix, Mixer
from voice_sandbox.media.vad import EndpointConfig, Endpointer, EndReason, frame_dbfs
from voice_sandbox.media_backend import MediaBackend, WebsocketLink, websocket_auth_headers

if TYPE_CHECKING:
    from voice_sandbox.audio_io import ExternalEndpoint
    from voice_sandbox.engine import Conversation, Leg, Network, Recording

logger = logging.getLogger("voice_sandbox.audio")

FRAME_SECONDS = FRAME_MS / 1000
#: The voice a scripted party speaks with (en-US style 2 is what the recognizer hears best).
PARTY_VOICE = ("en-US", 2)
#: A frame counts as late when it is processed more than this many wall seconds after it was due.
LATE_SECONDS = 0.020
#: Wake-ups at least this far apart (wall seconds): at high speed factors several ticks run per wake-up.
MIN_WAKE_SECONDS = 0.005
#: Websocket app audio buffered at most (frames; Vonage documents 1024 to 3072).
WEBSOCKET_BUFFER_FRAMES = 3072
#: Frames queued before app audio starts playing (60 ms of jitter buffer).
WEBSOCKET_PREBUFFER_FRAMES = 3
BEEP = saturate(np.sin(2 * np.pi * 1000 * np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE) * 0.3 * 32767)
#: Hold music / ringback when the URL cannot be played: a 425 Hz ring cadence (1 s on, 4 s off, level -20 dBFS).
RING_TONE = np.concatenate(
    [
        saturate(np.sin(2 * np.pi * 425 * np.arange(SAMPLE_RATE) / SAMPLE_RATE) * 0.1 * 32767),
        np.zeros(4 * SAMPLE_RATE, dtype=np.int16),
    ]
)
RETENTION_DAYS = 30.0
#: The clock waits for audio being prepared at most this long (wall seconds) before it moves on regardless.
MAX_HOLD_SECONDS = 0.5
SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)
_RATE_RE = re.compile(r"rate=(\d+)")


class Playout:
    """A clip played frame by frame (``loop`` times, 0 = forever); ``done`` resolves after its last frame."""

    def __init__(self, samples: npt.NDArray[np.int16], loop: int = 1, *, detect: bool = False) -> None:
        self.frames = split_frames(pad_to_frames(np.asarray(samples, dtype=np.int16))) if samples.size else None
        self.loop = loop
        self.index = 0
        self.played = 0
        self.detect = detect  # in-band DTMF detection may look at these frames
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def next(self) -> npt.NDArray[np.int16] | None:
        if self.frames is None:
            self.finish()
            return None
        if self.index >= self.frames.shape[0]:
            self.played += 1
            if self.loop != 0 and self.played >= self.loop:
                self.finish()
                return None
            self.index = 0
        frame = self.frames[self.index]
        self.index += 1
        return frame

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


class Capture:
    """Collects a leg's voice until an :class:`Endpointer` decides (speech input, record ``endOnSilence``)."""

    def __init__(self, config: EndpointConfig, keep: bool) -> None:
        self.endpointer = Endpointer(config)
        self.keep = keep
        self.frames: list[npt.NDArray[np.int16]] = []
        self.done: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()
        self.heard_speech = asyncio.Event()  # the VAD heard the caller start talking (stops bargeIn prompts)

    def feed(self, frame: npt.NDArray[np.int16], level: float) -> None:
        if self.done.done():
            return
        if self.keep:
            self.frames.append(frame.copy())
        reason = self.endpointer.feed_level(level)
        if self.endpointer.speech_started_ms is not None and not self.heard_speech.is_set():
            self.heard_speech.set()
        if reason is not None:
            self.done.set_result(reason)

    def audio(self) -> npt.NDArray[np.int16]:
        """The utterance, trimmed: 100 ms before speech started to 100 ms after the last loud frame.

        PocketSphinx is sensitive to the silence around the words (on the 20 test phrases: 99 % word accuracy
        with ~100 ms of leading silence, 95 % with none, 88 % with 300 ms); when the caller spoke at once,
        the missing lead-in is padded with silence.
        """
        if not self.frames:
            return np.zeros(0, dtype=np.int16)
        # Onset and end from the frames' levels, not the VAD's state: the VAD takes its first frame as the
        # noise floor, so a caller who speaks at once is detected late and would lose the first word.
        loud = np.flatnonzero(frame_dbfs(np.stack(self.frames)) >= self.endpointer.vad.config.threshold_dbfs)
        if loud.size == 0:
            return np.zeros(0, dtype=np.int16)
        first = int(loud[0]) - 5
        start = max(0, first)
        end = min(len(self.frames), int(loud[-1]) + 6)
        lead = [SILENCE] * (start - first)
        return np.concatenate(lead + self.frames[start:end])


class Recorder:
    """The frames of one recording: a leg's (mono, split or multi-channel) or a conversation's mix."""

    def __init__(self, recording: Recording, channels: int, split: bool) -> None:
        self.recording = recording
        self.channels = channels
        self.split = split
        self.tracks: list[list[npt.NDArray[np.int16]]] = [[] for _ in range(channels)]
        self.others: list[str] = []  # channels 2.. of a multi-channel recording, in order of first speech
        self.active = True

    def feed_leg(
        self, own: npt.NDArray[np.int16], heard: npt.NDArray[np.int16], voices: dict[str, npt.NDArray[np.int16]]
    ) -> None:
        if not self.split:
            self.tracks[0].append(saturate(own.astype(np.int32) + heard))
            return
        self.tracks[0].append(own.copy())
        if self.channels == 2:
            self.tracks[1].append(heard.copy())
            return
        # One channel per other participant; extra participants are mixed into the last channel (Vonage).
        rows = [np.zeros(FRAME_SAMPLES, dtype=np.int32) for _ in range(self.channels - 1)]
        for uuid, voice in voices.items():
            if uuid not in self.others:
                self.others.append(uuid)
            slot = min(self.others.index(uuid), self.channels - 2)
            rows[slot] += voice
        for index, row in enumerate(rows, start=1):
            self.tracks[index].append(saturate(row))

    def feed_mix(self, heard: npt.NDArray[np.int16]) -> None:
        self.tracks[0].append(heard.copy())

    def samples(self) -> npt.NDArray[np.int16]:
        tracks = [np.concatenate(t) if t else np.zeros(0, dtype=np.int16) for t in self.tracks]
        return tracks[0] if self.channels == 1 else codecs.interleave(tracks)


class WebsocketAudio:
    """Audio of one websocket leg: frames to the app at its rate, the app's frames buffered and paced."""

    def __init__(self, rate: int, connection: Any) -> None:
        self.rate = rate
        self.connection = connection
        # (StreamResampler cannot be built for 16 kHz to 16 kHz; no resampling is needed then.)
        self.out_resampler = StreamResampler(SAMPLE_RATE, rate) if rate != SAMPLE_RATE else None
        self.in_resampler = StreamResampler(rate, SAMPLE_RATE) if rate != SAMPLE_RATE else None
        self.inbound: deque[npt.NDArray[np.int16] | dict[str, Any]] = deque()
        self.outbox: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self.playing = False

    def to_app(self, frame: npt.NDArray[np.int16]) -> bytes:
        return pcm_to_bytes(self.out_resampler.process(frame) if self.out_resampler else frame)

    def from_app(self, frame: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        return self.in_resampler.process(frame) if self.in_resampler else frame

    def next_input(self) -> npt.NDArray[np.int16] | None:
        # A small jitter buffer: after an underrun, playback resumes only once a few frames are queued, so
        # audio that arrives unevenly is not chopped by silent frames.
        if not self.playing:
            if len(self.inbound) < WEBSOCKET_PREBUFFER_FRAMES:
                return None
            self.playing = True
        if not self.inbound:
            self.playing = False
            return None
        while self.inbound:
            item = self.inbound.popleft()
            if isinstance(item, dict):
                # A notify marker: playback reached it.
                self.outbox.put_nowait(json.dumps({"event": "websocket:notify", "payload": item}))
                continue
            return item
        return None


class LegAudio:
    """Everything audio about one leg (see the module docstring)."""

    def __init__(self, backend: AudioMediaBackend, leg: Leg) -> None:
        self.backend = backend
        self.leg = leg
        self.playout: list[Playout] = []
        self.voice: deque[Playout] = deque()
        self.externals: list[ExternalEndpoint] = []
        self.external_in: deque[bytes] = deque()
        self.recorders: list[Recorder] = []
        self.captures: list[Capture] = []
        self.websocket: WebsocketAudio | None = None
        self.speaking: Playout | None = None  # the scripted party's current utterance
        self.detector = dtmf.DtmfDetector()
        self.detector_busy = 0  # frames left to feed the detector after the last tone (to release a key)
        self.detect = False  # this tick's voice may carry in-band DTMF

    # -- external endpoints (voice_sandbox.audio_io) ---------------------------------------------------------
    def attach_external(self, endpoint: ExternalEndpoint) -> None:
        self.externals.append(endpoint)

    def push_external(self, endpoint: ExternalEndpoint, frame: bytes) -> None:
        from voice_sandbox.audio_io import MAX_QUEUED_FRAMES

        self.external_in.append(frame)
        while len(self.external_in) > MAX_QUEUED_FRAMES:
            self.external_in.popleft()

    def detach_external(self, endpoint: ExternalEndpoint) -> None:
        if endpoint in self.externals:
            self.externals.remove(endpoint)
        if not self.externals:
            self.external_in.clear()
        endpoint._ended()

    # -- per tick -----------------------------------------------------------------------------------------
    def next_voice(self) -> npt.NDArray[np.int16] | None:
        """What the party says this tick (sum of its script's voice, external and websocket audio)."""
        out: npt.NDArray[np.int16] | None = None
        self.detect = False
        while self.voice:
            frame = self.voice[0].next()
            if frame is not None:
                out = frame
                self.detect = self.voice[0].detect
                break
            self.voice.popleft()
        extra: list[npt.NDArray[np.int16]] = []
        if self.external_in:
            extra.append(bytes_to_pcm(self.external_in.popleft()))
            self.detect = True
        if self.websocket is not None:
            frame = self.websocket.next_input()
            if frame is not None:
                extra.append(frame)
        if extra:
            total = out.astype(np.int32) if out is not None else np.zeros(FRAME_SAMPLES, dtype=np.int32)
            for frame in extra:
                total += frame
            out = saturate(total)
        return out

    def next_playout(self) -> npt.NDArray[np.int16] | None:
        if not self.playout:
            return None
        total: npt.NDArray[np.int32] | None = None
        for clip in list(self.playout):
            frame = clip.next()
            if frame is None:
                self.playout.remove(clip)
                continue
            total = frame.astype(np.int32) if total is None else total + frame
        return None if total is None else saturate(total)

    def close(self) -> None:
        for clip in self.playout + list(self.voice):
            clip.finish()
        self.playout.clear()
        self.voice.clear()
        for capture in self.captures:
            if not capture.done.done():
                capture.done.cancel()
        for endpoint in list(self.externals):
            endpoint._ended()
        self.externals.clear()
        if self.websocket is not None:
            self.websocket.outbox.put_nowait(None)


class AudioMediaBackend(MediaBackend):
    """Part-2 media: real PCM for every leg, mixed per conversation on one clock (see the module docstring).

    ``out_of_band_dtmf=False`` makes scripted key presses travel only as tones in the audio (the engine then
    learns them from the Goertzel detector), as a phone without RFC 2833 does.
    """

    real_audio = True

    def __init__(
        self,
        clock: Clock,
        http: httpx.AsyncClient,
        *,
        out_of_band_dtmf: bool = True,
        retention_days: float | None = None,
        workers: int = 2,
    ) -> None:
        super().__init__(clock, http)
        self.out_of_band_dtmf = out_of_band_dtmf
        env_days = os.environ.get("SANDBOX_RECORDING_RETENTION_DAYS")
        self.retention_days = retention_days if retention_days is not None else float(env_days or RETENTION_DAYS)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-audio")
        self.legs: dict[str, LegAudio] = {}
        self.recorders: dict[str, Recorder] = {}  # recording uuid -> recorder
        self.conversation_recorders: dict[str, Recorder] = {}  # conversation uuid -> recorder
        self.mixer = Mixer()
        self._rows: list[LegAudio | Recorder] = []
        self._dirty = True
        self._runner: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._clips: dict[str, npt.NDArray[np.int16]] = {}
        self.network: Network | None = None
        #: The sandbox's event loop (for code in other threads: ``loop.call_soon_threadsafe``).
        self.loop: asyncio.AbstractEventLoop | None = None
        self._holds = 0  # audio being prepared (TTS, decoding) that a leg waits for
        self._held_since: float | None = None
        # figures for the benchmark and diagnostics
        self.ticks = 0
        self.frames = 0
        self.late_frames = 0
        self.failed_ticks = 0
        self.tick_seconds = 0.0  # wall time spent inside tick()

    @classmethod
    def for_network(cls, network: Network, **options: Any) -> AudioMediaBackend:
        """A ``media_factory`` for :class:`voice_sandbox.app.Sandbox` / ``SandboxServer``."""
        backend = cls(network.clock, network.webhooks.client, **options)
        backend.network = network
        with contextlib.suppress(RuntimeError):
            backend.loop = asyncio.get_running_loop()
        return backend

    # -- the clock ----------------------------------------------------------------------------------------
    def leg_audio(self, leg: Leg) -> LegAudio:
        """The audio state of ``leg`` (created on first use; starts the clock)."""
        audio = self.legs.get(leg.uuid)
        if audio is None:
            audio = LegAudio(self, leg)
            self.legs[leg.uuid] = audio
            self._dirty = True
            self._ensure_running()
        return audio

    def _ensure_running(self) -> None:
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run())
        elif self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        origin = loop.time()
        simulated = 0.0
        done = 0
        last = origin
        speed = self.clock.speed
        while True:
            if not self.legs and not self.conversation_recorders:
                # Nothing to carry: sleep until a leg gets audio (then restart the time base).
                assert self._wake is not None
                self._wake.clear()
                await self._wake.wait()
                last = loop.time()
                simulated, done = 0.0, 0
                continue
            now = loop.time()
            speed = self.clock.speed
            if speed > 1 and self._holds and self._held_since is not None and now - self._held_since < MAX_HOLD_SECONDS:
                # Above real time, simulated time stands still while a prompt is synthesised, fetched or
                # decoded: host work is not part of the call (at speed 20, 50 ms of TTS would otherwise add a
                # second of silence). At speed 1 the clock never waits: the other legs' audio must flow.
                last = now
                await asyncio.sleep(MIN_WAKE_SECONDS)
                continue
            simulated += (now - last) * speed
            last = now
            due = int(simulated / FRAME_SECONDS) - done
            for _ in range(due):
                done += 1
                lateness = (simulated - done * FRAME_SECONDS) / speed
                started = time.perf_counter()
                try:
                    self.tick()
                except Exception:
                    # One bad leg must not stop everybody's audio; log the first failures, not every tick.
                    self.failed_ticks += 1
                    if self.failed_ticks <= 3 or self.failed_ticks % 1000 == 0:
                        logger.exception("audio tick failed (%d so far)", self.failed_ticks)
                self.tick_seconds += time.perf_counter() - started
                self.frames += len(self.legs)
                if lateness > LATE_SECONDS:
                    self.late_frames += len(self.legs)
            next_due = ((done + 1) * FRAME_SECONDS - simulated) / speed
            await asyncio.sleep(max(MIN_WAKE_SECONDS, next_due))

    def _configure(self) -> None:
        rows: list[LegAudio | Recorder] = []
        mixes: list[LegMix] = []
        for audio in self.legs.values():
            leg = audio.leg
            conversation = leg.conversation
            member = conversation.members.get(leg.uuid) if conversation is not None else None
            label = "solo:" + leg.uuid
            if conversation is not None and conversation.started and member is not None:
                label = conversation.uuid
            mixes.append(
                LegMix(
                    leg.uuid,
                    label,
                    muted=leg.muted or bool(member and member.mute),
                    earmuffed=leg.earmuffed,
                    can_hear=member.can_hear if member else None,
                    can_speak=member.can_speak if member else None,
                )
            )
            rows.append(audio)
        for conversation_uuid, recorder in self.conversation_recorders.items():
            mixes.append(LegMix("rec:" + conversation_uuid, conversation_uuid, muted=True))
            rows.append(recorder)
        self.mixer.configure(mixes)
        self._rows = rows
        self._dirty = False

    def tick(self) -> None:
        """One 20 ms frame for every leg: voices, mix, playout, then every tap."""
        if self._dirty:
            self._configure()
        rows = self._rows
        n = len(rows)
        self.ticks += 1
        if n == 0:
            return
        voices = np.zeros((n, FRAME_SAMPLES), dtype=np.int16)
        speaking: list[int] = []
        for i, row in enumerate(rows):
            if isinstance(row, LegAudio):
                frame = row.next_voice()
                if frame is not None:
                    voices[i] = frame
                    speaking.append(i)
        heard = self.mixer.mix(voices) if speaking else np.zeros((n, FRAME_SAMPLES), dtype=np.int16)
        legs_with_taps: list[int] = []
        for i, row in enumerate(rows):
            if isinstance(row, Recorder):
                row.feed_mix(heard[i])
                continue
            extra = row.next_playout()
            if extra is not None:
                heard[i] = saturate(heard[i].astype(np.int32) + extra)
            if row.recorders or row.captures or row.externals or row.websocket is not None:
                legs_with_taps.append(i)
            if row.detect or row.detector_busy:
                self._detect(row, voices[i])
        for i in legs_with_taps:
            row = rows[i]
            assert isinstance(row, LegAudio)
            own, hears = voices[i], heard[i]
            for recorder in row.recorders:
                voice_map: dict[str, npt.NDArray[np.int16]] = {}
                if recorder.channels > 2:
                    mix_row = self.mixer.hearing[i]
                    voice_map = {rows[j].leg.uuid: voices[j] for j in speaking if mix_row[j]}  # type: ignore[union-attr]
                recorder.feed_leg(own, hears, voice_map)
            if row.captures:
                level = float(frame_dbfs(own)[0])
                for capture in list(row.captures):
                    capture.feed(own, level)
                    if capture.done.done():
                        row.captures.remove(capture)
            if row.externals:
                data = pcm_to_bytes(hears)
                for endpoint in list(row.externals):
                    try:
                        endpoint.sink(data)
                    except Exception:
                        logger.exception("external audio sink failed; detaching it")
                        row.detach_external(endpoint)
            if row.websocket is not None:
                ws = row.websocket
                ws.outbox.put_nowait(ws.to_app(hears))

    def _detect(self, row: LegAudio, frame: npt.NDArray[np.int16]) -> None:
        key = int(dtmf.classify(frame)[0]) if row.detect else -1
        row.detector_busy = 10 if key >= 0 or row.detect else row.detector_busy - 1
        for event in row.detector.feed_keys(key):
            leg = row.leg
            asyncio.get_running_loop().call_soon(self._in_band_key, leg, event.digit, event.duration_ms)

    def _in_band_key(self, leg: Leg, digit: str, duration_ms: int) -> None:
        if leg.is_live:
            leg.key(digit)

    # -- topology -----------------------------------------------------------------------------------------
    def conversation_changed(self, conversation: Conversation) -> None:
        for member in conversation.members.values():
            if not member.leg.finished:
                self.leg_audio(member.leg)
        self._dirty = True

    def leg_ended(self, leg: Leg) -> None:
        audio = self.legs.pop(leg.uuid, None)
        if audio is not None:
            audio.close()
        self._dirty = True

    # -- things a leg hears -------------------------------------------------------------------------------
    async def _play(self, leg: Leg, samples: npt.NDArray[np.int16], loop: int) -> None:
        if not leg.is_live:
            return
        clip = Playout(samples, loop)
        audio = self.leg_audio(leg)
        audio.playout.append(clip)
        try:
            await asyncio.shield(clip.done)
        finally:
            clip.finish()
            if clip in audio.playout:
                audio.playout.remove(clip)

    async def talk(self, leg: Leg, *, text: str, language: str, style: int, level: float, loop: int) -> None:
        """TTS into ``leg``; an unusable language, style or SSML sends an error event and plays nothing."""
        leg.hear({"type": "talk", "text": text, "language": language})
        try:
            samples = await self.synthesize(text, language=language, style=style, level=level)
        except tts.TtsError as error:
            leg.emit_error(f"Talk failed: {error}")
            return
        await self._play(leg, samples, loop)

    async def synthesize(self, text: str, *, language: str, style: int, level: float = 0.0) -> npt.NDArray[np.int16]:
        """TTS in the worker pool (cached by the synthesizer); the media clock holds meanwhile."""
        return await self._prepare(lambda: tts.synthesize(text, language=language, style=style, level=level))

    async def _prepare(self, job: Callable[[], Any]) -> Any:
        with self._holding():
            return await asyncio.get_running_loop().run_in_executor(self.pool, job)

    @contextlib.contextmanager
    def _holding(self) -> Iterator[None]:
        """Hold the media clock while audio a leg waits for is prepared (capped at MAX_HOLD_SECONDS)."""
        if self._holds == 0:
            self._held_since = asyncio.get_running_loop().time()
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if self._holds == 0:
                self._held_since = None

    async def stream(self, leg: Leg, *, url: str, level: float, loop: int) -> None:
        """Play an mp3/wav from http(s), ``file://`` or a local path; failures send an error event."""
        leg.hear({"type": "stream", "url": url})
        try:
            samples = await self.load_clip(url)
        except (OSError, httpx.HTTPError, codecs.CodecError, ValueError) as error:
            leg.emit_error(f"Stream failed: {url}: {error}")
            return
        if level:
            from voice_sandbox.media.frames import apply_level

            samples = apply_level(samples, level)
        await self._play(leg, samples, loop)

    async def load_clip(self, url: str) -> npt.NDArray[np.int16]:
        """Fetch and decode an audio file to 16 kHz mono (kept in memory per URL)."""
        cached = self._clips.get(url)
        if cached is not None:
            return cached
        with self._holding():
            return await self._fetch_clip(url)

    async def _fetch_clip(self, url: str) -> npt.NDArray[np.int16]:
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https"):
            response = await self.http.get(url, timeout=httpx.Timeout(5.0), follow_redirects=True)
            if response.status_code != 200:
                raise OSError(f"HTTP {response.status_code}")
            data = response.content
        else:
            path = Path(unquote(parsed.path) if parsed.scheme == "file" else url)
            data = await asyncio.get_running_loop().run_in_executor(self.pool, path.read_bytes)
        decoded = await asyncio.get_running_loop().run_in_executor(self.pool, codecs.decode, data)
        samples = decoded.samples
        samples.flags.writeable = False
        if len(self._clips) > 64:
            self._clips.pop(next(iter(self._clips)))
        self._clips[url] = samples
        return samples

    async def stream_seconds(self, url: str) -> float:
        try:
            return (await self.load_clip(url)).shape[0] / SAMPLE_RATE
        except (OSError, httpx.HTTPError, codecs.CodecError, ValueError):
            return 0.0

    async def dtmf_into(self, leg: Leg, digits: str) -> None:
        """DTMF tones played to ``leg`` (REST ``/dtmf``, ``dtmfAnswer``)."""
        leg.hear({"type": "dtmf", "digits": digits})
        await self._play(leg, dtmf.generate(digits), 1)

    async def music_on_hold(self, leg: Leg, url: str | None) -> None:
        if url:
            leg.hear({"type": "music_on_hold", "url": url})
            with contextlib.suppress(OSError, httpx.HTTPError, codecs.CodecError, ValueError):
                await self._play(leg, await self.load_clip(url), 0)
                return
        await asyncio.Event().wait()

    async def ringback(self, leg: Leg, url: str) -> None:
        leg.hear({"type": "ringback", "url": url})
        try:
            samples = await self.load_clip(url)
        except (OSError, httpx.HTTPError, codecs.CodecError, ValueError):
            samples = RING_TONE
        await self._play(leg, samples, 0)

    def beep(self, leg: Leg) -> None:
        leg.hear({"type": "beep"})
        if leg.is_live:
            self.leg_audio(leg).playout.append(Playout(BEEP, 1))

    # -- what the far end does ----------------------------------------------------------------------------
    async def speech_from(self, leg: Leg, text: str) -> float:
        """The scripted party starts saying ``text`` (TTS, en-US style 2) into the call; returns its duration."""
        if not leg.is_live:
            return 0.0
        samples = await self.synthesize(text, language=PARTY_VOICE[0], style=PARTY_VOICE[1])
        clip = Playout(samples, 1)
        audio = self.leg_audio(leg)
        audio.voice.append(clip)
        audio.speaking = clip
        return samples.shape[0] / SAMPLE_RATE

    async def speech_done(self, leg: Leg, seconds: float) -> None:
        """Return once the party's words have been played into the call (on the media clock)."""
        audio = self.legs.get(leg.uuid)
        clip = audio.speaking if audio is not None else None
        if clip is not None:
            await asyncio.shield(clip.done)

    async def party_dtmf(self, leg: Leg, digits: str) -> None:
        """The party presses keys: tones in its voice, plus out-of-band events unless disabled."""
        audio = self.leg_audio(leg)
        for digit in digits:
            if not leg.is_live:
                return
            if digit == "p":
                clip = Playout(np.zeros(dtmf.PAUSE_MS * SAMPLE_RATE // 1000, dtype=np.int16))
            else:
                if self.out_of_band_dtmf:
                    leg.key(digit)
                clip = Playout(dtmf.generate(digit), detect=not self.out_of_band_dtmf)
            audio.voice.append(clip)
            await asyncio.shield(clip.done)

    def key_pressed(self, leg: Leg, digit: str, duration_ms: int = 100) -> None:
        """Websocket legs in the same conversation get ``websocket:dtmf`` for every key pressed there."""
        conversation = leg.conversation
        if conversation is None:
            return
        message = json.dumps({"event": "websocket:dtmf", "digit": digit, "duration": duration_ms})
        for member in conversation.members.values():
            audio = self.legs.get(member.leg.uuid)
            if audio is not None and audio.websocket is not None and member.leg is not leg:
                audio.websocket.outbox.put_nowait(message)

    async def capture(self, leg: Leg, config: EndpointConfig, *, keep: bool = True) -> Capture:
        """Start listening to what ``leg``'s party says; ``capture.done`` resolves with the end reason."""
        capture = Capture(config, keep)
        self.leg_audio(leg).captures.append(capture)
        return capture

    @staticmethod
    def asr_language(language: str) -> str | None:
        """The recognizer model serving ``language``: every English variant uses the en-US model; else None."""
        if language.lower() == "en" or language.lower().startswith("en-"):
            return "en-US"
        try:
            asr.check_language(language)
        except asr.AsrError:
            return None
        return language

    async def speech_capture(self, leg: Leg, speech: dict[str, Any]) -> Capture | None:
        """Start the capture of a speech input (``endOnSilence``, ``startTimeout``, ``maxDuration``)."""
        if self.asr_language(str(speech.get("language") or "en-US")) is None:
            return None
        config = EndpointConfig(
            end_on_silence=float(speech.get("endOnSilence", 2.0)),
            start_timeout=float(speech.get("startTimeout", 10)),
            max_duration=float(speech.get("maxDuration", 60)),
        )
        return await self.capture(leg, config)

    async def until_silence(self, leg: Leg, seconds: float) -> None:
        """Returns after ``seconds`` of silence from the party (record ``endOnSilence``)."""
        capture = await self.capture(
            leg,
            EndpointConfig(end_on_silence=seconds, start_timeout=None, max_duration=math.inf, require_speech=False),
            keep=False,
        )
        await capture.done

    async def recognise_audio(
        self, audio: npt.NDArray[np.int16], *, language: str, context: list[str]
    ) -> list[dict[str, Any]]:
        """ASR in the worker pool; raises :class:`asr.AsrError` for an unsupported language."""
        asr.check_language(language)
        if audio.size == 0:
            return []
        loop = asyncio.get_running_loop()
        recognition = await loop.run_in_executor(
            self.pool, lambda: asr.recognize(audio, language=language, context=context)
        )
        return [{"text": r.text, "confidence": r.confidence} for r in recognition.results]

    async def encode(self, samples: npt.NDArray[np.int16], fmt: str) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: codecs.encode(samples, fmt))

    # -- recordings ---------------------------------------------------------------------------------------
    def recording_started(self, recording: Recording) -> None:
        options = recording.options
        split = options.get("split") == "conversation" or bool(options.get("channels"))
        channels = int(options.get("channels") or (2 if split else 1))
        recorder = Recorder(recording, max(1, min(codecs.MAX_CHANNELS, channels)), split)
        self.recorders[recording.uuid] = recorder
        if recording.owner is not None:
            if recording.owner.is_live:
                self.leg_audio(recording.owner).recorders.append(recorder)
        elif recording.conversation is not None:
            self.conversation_recorders[recording.conversation.uuid] = recorder
            self._dirty = True
            self._ensure_running()

    async def recording_bytes(
        self, *, seconds: float, channels: int, fmt: str, recording: Recording | None = None
    ) -> tuple[bytes, str]:
        recorder = self.recorders.pop(recording.uuid, None) if recording is not None else None
        if recorder is None:
            return await super().recording_bytes(seconds=seconds, channels=channels, fmt=fmt)
        for audio in self.legs.values():
            if recorder in audio.recorders:
                audio.recorders.remove(recorder)
        conversation = recording.conversation if recording is not None else None
        if conversation is not None and self.conversation_recorders.get(conversation.uuid) is recorder:
            del self.conversation_recorders[conversation.uuid]
            self._dirty = True
        requested = recording.options.get("format") if recording is not None else None
        chosen = codecs.default_format(recorder.channels, str(requested) if requested else None)
        if chosen == "mp3" and recorder.channels > 2:
            chosen = "wav"
        data = await self.encode(recorder.samples(), chosen)
        self.purge_expired()
        return data, codecs.MIME_TYPES[chosen]

    def purge_expired(self) -> int:
        """Delete recording files older than the retention period (30 days unless configured)."""
        network = self.network
        if network is None or network.recordings_dir is None or not network.recordings_dir.exists():
            return 0
        cutoff = time.time() - self.retention_days * 86400
        removed = 0
        for path in network.recordings_dir.iterdir():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    # -- websocket endpoint -------------------------------------------------------------------------------
    async def open_websocket(
        self, leg: Leg, endpoint: dict[str, Any], token: str | None, on_closed: Callable[[], Awaitable[None]]
    ) -> WebsocketLink:
        """Connect as Vonage does, then carry audio both ways (see ``/work/shared/voice-api.md`` section 6)."""
        import websockets

        content_type = str(endpoint.get("content-type") or "audio/l16;rate=16000")
        match = _RATE_RE.search(content_type)
        rate = int(match.group(1)) if match else SAMPLE_RATE
        if rate not in (8000, 16000, 24000):
            raise OSError(f"unsupported content-type {content_type}")
        headers = websocket_auth_headers(endpoint, token)
        try:
            connection = await asyncio.wait_for(
                websockets.connect(endpoint["uri"], additional_headers=headers, open_timeout=5, max_queue=None),
                timeout=6,
            )
        except Exception as exc:
            raise OSError(f"websocket connection failed: {exc}") from exc
        first = {"event": "websocket:connected", "content-type": content_type}
        first.update(endpoint.get("headers") or {})
        await connection.send(json.dumps(first))
        ws = WebsocketAudio(rate, connection)

        async def sender() -> None:
            with contextlib.suppress(Exception):
                while True:
                    item = await ws.outbox.get()
                    if item is None:
                        return
                    await connection.send(item)

        async def reader() -> None:
            sending = asyncio.get_running_loop().create_task(sender())
            try:
                async for message in connection:
                    if isinstance(message, str):
                        self._websocket_text(ws, message)
                        continue
                    try:
                        check_websocket_frame(message, rate)
                    except ValueError as error:
                        # Vonage drops the connection on a wrong frame size (the app sees 1006).
                        logger.warning("websocket %s: %s", leg.uuid, error)
                        await connection.close(code=1003, reason=str(error)[:120])
                        break
                    if len(ws.inbound) < WEBSOCKET_BUFFER_FRAMES:
                        ws.inbound.append(ws.from_app(bytes_to_pcm(message)))
            except Exception:  # noqa: S110 - any close is a close
                pass
            finally:
                sending.cancel()
            if not link.closing:
                await on_closed()

        self.leg_audio(leg).websocket = ws
        link = WebsocketLink(connection, asyncio.get_running_loop().create_task(reader()))
        return link

    @staticmethod
    def _websocket_text(ws: WebsocketAudio, message: str) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        if data.get("action") == "clear":
            ws.inbound.clear()
            ws.outbox.put_nowait(json.dumps({"event": "websocket:cleared"}))
        elif data.get("action") == "notify":
            payload = data.get("payload")
            ws.inbound.append(payload if isinstance(payload, dict) else {})


def default_media(network: Network) -> MediaBackend:
    """The media backend a sandbox uses: ``SANDBOX_MEDIA=audio`` for real audio, else the estimating one."""
    if os.environ.get("SANDBOX_MEDIA", "estimate") != "audio":
        return MediaBackend(network.clock, network.webhooks.client)
    return AudioMediaBackend.for_network(network)
