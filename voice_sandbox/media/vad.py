"""Energy-based voice activity detection and the end-of-utterance timer behind ``endOnSilence``.

A frame is speech when its RMS level is above ``threshold_dbfs`` *and* clearly above the running noise floor
(so steady line noise louder than the threshold does not count as talking). Speech must last ``min_speech_ms``
to start an utterance; ``hangover_ms`` bridges the short gaps between words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from .frames import FRAME_MS


def frame_dbfs(frames: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """RMS level in dBFS of each row of an ``(n, samples)`` matrix (or one frame); -120 for digital silence."""
    matrix = np.atleast_2d(np.asarray(frames, dtype=np.float64))
    power = np.mean(matrix * matrix, axis=1) / (32768.0 * 32768.0)
    levels: npt.NDArray[np.float64] = 10 * np.log10(np.maximum(power, 1e-12))
    return levels


@dataclass(frozen=True)
class VadConfig:
    """Thresholds of :class:`EnergyVad` (levels in dBFS, times in ms)."""

    threshold_dbfs: float = -45.0
    #: A frame must also be this far above the estimated noise floor.
    margin_db: float = 9.0
    min_speech_ms: int = 60
    hangover_ms: int = 200


class EnergyVad:
    """Frame-by-frame speech/silence decision with a noise-floor tracker, onset debouncing and hangover."""

    def __init__(self, config: VadConfig = VadConfig()) -> None:
        self.config = config
        self.noise_floor_dbfs = -90.0
        self._frames = 0
        self._run = 0  # consecutive loud frames
        self._quiet = 0  # consecutive quiet frames while in speech
        self.in_speech = False

    def is_loud(self, level_dbfs: float) -> bool:
        """True when a frame at ``level_dbfs`` counts as voice (before debouncing)."""
        return level_dbfs >= self.config.threshold_dbfs and level_dbfs >= self.noise_floor_dbfs + self.config.margin_db

    def feed(self, frame: npt.ArrayLike) -> bool:
        """Process one 20 ms frame; returns whether the caller is talking after it."""
        return self.feed_level(float(frame_dbfs(frame)[0]))

    def feed_level(self, level_dbfs: float) -> bool:
        """Advance with a frame level already computed (e.g. by a batched :func:`frame_dbfs` over all legs)."""
        if self._frames == 0:
            # The first frame is taken as line noise: a call starts with ringing or silence, rarely with speech
            # (and if it does, the floor drops back at the first pause between words).
            self.noise_floor_dbfs = level_dbfs
        self._frames += 1
        loud = self.is_loud(level_dbfs)
        # The floor follows quieter frames quickly and louder ones very slowly, so words barely move it
        # while a steady hum is absorbed within a few seconds.
        rate = 0.3 if level_dbfs < self.noise_floor_dbfs else (0.01 if loud else 0.05)
        self.noise_floor_dbfs += rate * (level_dbfs - self.noise_floor_dbfs)
        if self.in_speech:
            self._quiet = 0 if loud else self._quiet + 1
            if self._quiet * FRAME_MS > self.config.hangover_ms:
                self.in_speech, self._run = False, 0
        else:
            self._run = self._run + 1 if loud else 0
            if self._run * FRAME_MS >= self.config.min_speech_ms:
                self.in_speech, self._quiet = True, 0
        return self.in_speech


class EndReason(StrEnum):
    """Why an utterance or recording ended (the engine maps these to Vonage's fields)."""

    SILENCE = "end_on_silence"
    START_TIMEOUT = "start_timeout"
    MAX_DURATION = "max_duration"


@dataclass(frozen=True)
class EndpointConfig:
    """``endOnSilence`` and the time limits of a speech input or recording (seconds, as in the NCCO).

    ``start_timeout`` is None for a record action (it waits for speech as long as ``max_duration`` allows);
    ``require_speech`` False lets silence end a recording even if nobody spoke.
    """

    end_on_silence: float = 2.0
    start_timeout: float | None = 10.0
    max_duration: float = 60.0
    require_speech: bool = True


class Endpointer:
    """Decides when a caller has finished: silence after speech, no speech at all, or the length limit."""

    def __init__(self, config: EndpointConfig = EndpointConfig(), vad: EnergyVad | None = None) -> None:
        self.config = config
        self.vad = vad or EnergyVad()
        self.elapsed_ms = 0
        self.speech_started_ms: int | None = None
        self.last_speech_ms: int | None = None
        self.ended: EndReason | None = None

    def feed(self, frame: npt.ArrayLike) -> EndReason | None:
        """Process one frame; returns the end reason once (and keeps returning it), else None."""
        return self.feed_level(float(frame_dbfs(frame)[0]))

    def feed_level(self, level_dbfs: float) -> EndReason | None:
        """As :meth:`feed`, for a precomputed frame level."""
        if self.ended is not None:
            return self.ended
        self.elapsed_ms += FRAME_MS
        loud = self.vad.is_loud(level_dbfs)
        if self.vad.feed_level(level_dbfs):
            if self.speech_started_ms is None:
                self.speech_started_ms = self.elapsed_ms - self.vad.config.min_speech_ms
            if loud:
                # Silence is timed from the last loud frame, not from the end of the VAD's hangover.
                self.last_speech_ms = self.elapsed_ms
        silence_ms = math.inf
        if self.last_speech_ms is not None:
            silence_ms = self.elapsed_ms - self.last_speech_ms
        elif not self.config.require_speech:
            silence_ms = self.elapsed_ms
        if silence_ms != math.inf and silence_ms >= self.config.end_on_silence * 1000:
            self.ended = EndReason.SILENCE
        elif (
            self.speech_started_ms is None
            and self.config.start_timeout is not None
            and self.elapsed_ms >= self.config.start_timeout * 1000
        ):
            self.ended = EndReason.START_TIMEOUT
        elif self.elapsed_ms >= self.config.max_duration * 1000:
            self.ended = EndReason.MAX_DURATION
        return self.ended
