"""DTMF: tone generation and a streaming Goertzel detector working on 20 ms frames.

The detector evaluates the eight DTMF frequencies of each frame as single DFT bins -- exactly what the Goertzel
recursion computes -- but as one matrix product, so a whole tick of legs (``N x 320``) is classified at once.
A frame holds a digit when one row and one column tone dominate their groups, carry most of the frame's
energy, are loud enough, and are within the allowed twist; a key press is reported once it has held for
``min_frames`` frames and has been released for ``release_frames`` frames (debouncing both edges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .frames import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, Int16Array, ms_to_samples, saturate

ROW_HZ = (697.0, 770.0, 852.0, 941.0)
COLUMN_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
#: Keypad layout: ``KEYS[row * 4 + column]``.
KEYS = "123A456B789C*0#D"
#: Characters accepted by :func:`generate`: the 16 keys plus ``p``, a 500 ms pause (as in ``dtmfAnswer``).
PAUSE = "p"
PAUSE_MS = 500
DEFAULT_TONE_MS = 100
DEFAULT_GAP_MS = 100
#: Peak amplitude of each of the two tones, as a fraction of full scale (-10 dBFS; the pair peaks at -4 dBFS).
DEFAULT_AMPLITUDE = 0.316

FREQUENCIES: dict[str, tuple[float, float]] = {key: (ROW_HZ[i // 4], COLUMN_HZ[i % 4]) for i, key in enumerate(KEYS)}


def _check_digits(digits: str) -> str:
    normalized = digits.upper().replace("P", PAUSE)
    bad = sorted({ch for ch in normalized if ch not in KEYS and ch != PAUSE})
    if bad:
        raise ValueError(f"invalid DTMF characters {''.join(bad)!r}: use 0-9, *, #, A-D and p (pause)")
    return normalized


def tone(digit: str, duration_ms: float = DEFAULT_TONE_MS, *, amplitude: float = DEFAULT_AMPLITUDE) -> Int16Array:
    """One key's dual tone at 16 kHz (each component at ``amplitude`` of full scale)."""
    low, high = FREQUENCIES[_check_digits(digit)]
    t = np.arange(ms_to_samples(duration_ms)) / SAMPLE_RATE
    wave = np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)
    return saturate(wave * amplitude * 32767)


def generate(
    digits: str,
    *,
    tone_ms: float = DEFAULT_TONE_MS,
    gap_ms: float = DEFAULT_GAP_MS,
    amplitude: float = DEFAULT_AMPLITUDE,
) -> Int16Array:
    """Tones for a digit string (``0-9 * # A-D``, ``p`` = 500 ms pause), each followed by ``gap_ms`` of silence.

    Raises ``ValueError`` for any other character (the engine maps it to Vonage's 400).
    """
    parts: list[Int16Array] = []
    for ch in _check_digits(digits):
        if ch == PAUSE:
            parts.append(np.zeros(ms_to_samples(PAUSE_MS), dtype=np.int16))
            continue
        parts.append(tone(ch, tone_ms, amplitude=amplitude))
        parts.append(np.zeros(ms_to_samples(gap_ms), dtype=np.int16))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


@dataclass(frozen=True)
class Thresholds:
    """Detection thresholds; the defaults hold for tones 10 dB under speech-free noise and mixed with speech."""

    #: Each tone's power must reach this (dBFS of a sine's mean power).
    min_tone_dbfs: float = -36.0
    #: Largest allowed level difference between the column and row tones (dB, either direction).
    max_twist_db: float = 8.0
    #: The strongest tone of each group must beat the group's runner-up by this much (dB).
    min_dominance_db: float = 8.0
    #: Share of the frame's power the two tones must carry.
    min_energy_fraction: float = 0.35


class _Bank:
    """Cosine/sine matrices evaluating the eight DTMF bins of ``length``-sample frames."""

    _cache: dict[tuple[int, int], _Bank] = {}

    def __init__(self, length: int, rate: int) -> None:
        n = np.arange(length)
        freqs = np.array(ROW_HZ + COLUMN_HZ)
        phase = 2 * np.pi * np.outer(n, freqs) / rate  # (length, 8)
        self.basis = np.concatenate([np.cos(phase), np.sin(phase)], axis=1)  # (length, 16)
        self.length = length

    @classmethod
    def get(cls, length: int, rate: int) -> _Bank:
        key = (length, rate)
        if key not in cls._cache:
            cls._cache[key] = cls(length, rate)
        return cls._cache[key]


def classify(
    frames: npt.ArrayLike, *, rate: int = SAMPLE_RATE, thresholds: Thresholds = Thresholds()
) -> npt.NDArray[np.int8]:
    """Per-frame key index (into :data:`KEYS`) or -1, for an ``(n_frames, length)`` matrix (or one frame).

    Vectorised over frames: one ``(n, length) @ (length, 16)`` product gives all Goertzel bins.
    """
    matrix = np.atleast_2d(np.asarray(frames, dtype=np.float64))
    n_frames, length = matrix.shape
    projection = matrix @ _Bank.get(length, rate).basis  # (n, 16)
    # A sine of amplitude A over the frame projects to A*length/2 on its bin; power A^2/2 = 2|X|^2/length^2.
    power = 2.0 * (projection[:, :8] ** 2 + projection[:, 8:] ** 2) / (length * length)
    full_scale = 32768.0 * 32768.0 / 2  # mean power of a full-scale sine
    rows, columns = power[:, :4], power[:, 4:]
    row_best, column_best = rows.argmax(axis=1), columns.argmax(axis=1)
    index = np.arange(n_frames)
    row_power, column_power = rows[index, row_best], columns[index, column_best]
    row_second = np.sort(rows, axis=1)[:, -2]
    column_second = np.sort(columns, axis=1)[:, -2]
    total = np.mean(matrix * matrix, axis=1)
    dominance = 10 ** (thresholds.min_dominance_db / 10)
    twist = 10 ** (thresholds.max_twist_db / 10)
    floor = full_scale * 10 ** (thresholds.min_tone_dbfs / 10)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (
            (row_power >= floor)
            & (column_power >= floor)
            & (row_power >= dominance * row_second)
            & (column_power >= dominance * column_second)
            & (column_power <= twist * row_power)
            & (row_power <= twist * column_power)
            & (row_power + column_power >= thresholds.min_energy_fraction * total)
        )
    return np.where(ok, row_best * 4 + column_best, -1).astype(np.int8)


@dataclass(frozen=True)
class DtmfEvent:
    """A detected key press: ``digit``, when it started and how long it lasted (ms, multiples of 20)."""

    digit: str
    start_ms: int
    duration_ms: int


class DtmfDetector:
    """Streaming detector for one leg: feed 20 ms frames, get key presses when they are released.

    ``min_frames`` consecutive frames confirm a key (debounces speech blips); ``release_frames`` frames without
    it end the press (so one dropped frame in noise does not split a key in two).
    """

    def __init__(
        self,
        *,
        rate: int = SAMPLE_RATE,
        min_frames: int = 2,
        release_frames: int = 2,
        thresholds: Thresholds = Thresholds(),
    ) -> None:
        self.rate = rate
        self.min_frames = min_frames
        self.release_frames = release_frames
        self.thresholds = thresholds
        self._frame_index = 0
        self._candidate = -1  # key seen in the last frames, not yet confirmed
        self._candidate_start = 0
        self._candidate_count = 0
        self._active = -1  # confirmed key currently held
        self._active_start = 0
        self._active_last = 0
        self._misses = 0

    def feed(self, frame: npt.ArrayLike) -> list[DtmfEvent]:
        """Process one frame; returns the key presses that ended with it (usually none)."""
        return self.feed_keys(int(classify(frame, rate=self.rate, thresholds=self.thresholds)[0]))

    def feed_keys(self, key: int) -> list[DtmfEvent]:
        """Advance with an already classified frame (from a batched :func:`classify` over many legs)."""
        events: list[DtmfEvent] = []
        index = self._frame_index
        self._frame_index += 1
        if self._active >= 0:
            if key == self._active:
                self._active_last, self._misses = index, 0
                return events
            self._misses += 1
            if self._misses < self.release_frames and key < 0:
                return events
            events.append(self._release())
        if key < 0:
            self._candidate, self._candidate_count = -1, 0
            return events
        if key == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_start, self._candidate_count = key, index, 1
        if self._candidate_count >= self.min_frames:
            self._active, self._active_start, self._active_last, self._misses = key, self._candidate_start, index, 0
            self._candidate, self._candidate_count = -1, 0
        return events

    def _release(self) -> DtmfEvent:
        frame_ms = FRAME_MS
        event = DtmfEvent(
            KEYS[self._active],
            self._active_start * frame_ms,
            (self._active_last - self._active_start + 1) * frame_ms,
        )
        self._active, self._misses = -1, 0
        return event

    def flush(self) -> list[DtmfEvent]:
        """End of audio: report a key still held."""
        return [self._release()] if self._active >= 0 else []


def detect(samples: Int16Array, *, rate: int = SAMPLE_RATE, thresholds: Thresholds = Thresholds()) -> list[DtmfEvent]:
    """All key presses in a recording (frames of 20 ms at ``rate``), batched in one :func:`classify` call."""
    frame = rate * FRAME_MS // 1000 if rate != SAMPLE_RATE else FRAME_SAMPLES
    usable = samples.shape[0] - samples.shape[0] % frame
    keys = classify(samples[:usable].reshape(-1, frame), rate=rate, thresholds=thresholds)
    detector = DtmfDetector(rate=rate, thresholds=thresholds)
    events: list[DtmfEvent] = []
    for key in keys:
        events.extend(detector.feed_keys(int(key)))
    return events + detector.flush()


def detect_digits(samples: Int16Array, *, rate: int = SAMPLE_RATE) -> str:
    """The digit string found in ``samples`` (see :func:`detect`)."""
    return "".join(event.digit for event in detect(samples, rate=rate))
