"""PCM frame constants and helpers: 16-bit signed little-endian mono, 16 kHz, 20 ms frames.

Everything inside the sandbox runs at :data:`SAMPLE_RATE`; audio enters or leaves at other rates only at
the edges (WebSocket legs at 8/16/24 kHz, decoded files at whatever rate they were made).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
FRAME_BYTES = FRAME_SAMPLES * 2  # 640
INT16_MIN = -32768
INT16_MAX = 32767

#: Sample rates a WebSocket endpoint may ask for (``audio/l16;rate=...``) and their frame sizes in bytes.
WEBSOCKET_FRAME_BYTES: dict[int, int] = {8000: 320, 16000: 640, 24000: 960}

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]


def frame_samples(rate: int) -> int:
    """Samples in one 20 ms frame at ``rate`` Hz (160 at 8 kHz, 320 at 16 kHz, 480 at 24 kHz)."""
    return rate * FRAME_MS // 1000


def bytes_to_pcm(data: bytes) -> Int16Array:
    """Decode raw 16-bit little-endian PCM bytes into an int16 array (a copy, safe to modify).

    Raises ``ValueError`` on an odd byte count, which can only be a truncated or foreign stream.
    """
    if len(data) % 2:
        raise ValueError(f"16-bit PCM needs an even number of bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def pcm_to_bytes(samples: npt.ArrayLike) -> bytes:
    """Encode int16 samples as little-endian PCM bytes (values outside int16 are saturated)."""
    return saturate(np.asarray(samples)).astype("<i2", copy=False).tobytes()


def saturate(samples: npt.ArrayLike) -> Int16Array:
    """Round and clip any numeric array into int16, so loud sums clip instead of wrapping around."""
    array = np.asarray(samples)
    if array.dtype == np.int16:
        return array
    if np.issubdtype(array.dtype, np.floating):
        array = np.rint(array)
    clipped: Int16Array = np.clip(array, INT16_MIN, INT16_MAX).astype(np.int16)
    return clipped


def level_to_gain(level: float) -> float:
    """Linear gain for a Vonage ``level`` (-1..1, default 0).

    0 leaves audio untouched, -1 silences it, +1 doubles the amplitude (+6 dB, clipping where it must).
    Raises ``ValueError`` outside -1..1, as the Voice API rejects such NCCOs.
    """
    if not -1.0 <= level <= 1.0 or math.isnan(level):
        raise ValueError(f"level must be between -1 and 1, got {level}")
    return 1.0 + float(level)


def apply_gain(samples: Int16Array, gain: float) -> Int16Array:
    """Multiply by a linear gain with saturation; returns the input itself when the gain is exactly 1."""
    if gain == 1.0:
        return samples
    return saturate(samples.astype(np.float64) * gain)


def apply_level(samples: Int16Array, level: float) -> Int16Array:
    """Apply a Vonage ``level`` (-1..1) to int16 samples (see :func:`level_to_gain`)."""
    return apply_gain(samples, level_to_gain(level))


def resample(samples: npt.ArrayLike, from_rate: int, to_rate: int = SAMPLE_RATE) -> Int16Array:
    """Resample int16 (or float, int16-scaled) samples with a polyphase anti-aliasing filter.

    Works for any pair of integer rates (8/16/24 kHz, 22.05 kHz espeak output, 44.1 kHz files); the
    output has ``round(len * to_rate / from_rate)`` samples, so durations are preserved.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    array = np.asarray(samples)
    if from_rate == to_rate:
        return saturate(array)
    if array.size == 0:
        return np.zeros(0, dtype=np.int16)
    ratio = Fraction(to_rate, from_rate)
    out = resample_poly(array.astype(np.float64), ratio.numerator, ratio.denominator, axis=0)
    expected = round(array.shape[0] * to_rate / from_rate)
    return saturate(out[:expected])


def pad_to_frames(samples: Int16Array, frame: int = FRAME_SAMPLES) -> Int16Array:
    """Pad with silence to a whole number of frames (an empty input stays empty)."""
    remainder = samples.shape[0] % frame
    if remainder == 0:
        return samples
    return np.concatenate([samples, np.zeros(frame - remainder, dtype=np.int16)])


def split_frames(samples: Int16Array, frame: int = FRAME_SAMPLES) -> npt.NDArray[np.int16]:
    """Split into a ``(n_frames, frame)`` matrix, padding the last frame with silence."""
    padded = pad_to_frames(np.asarray(samples, dtype=np.int16), frame)
    return padded.reshape(-1, frame)


def iter_frames(samples: Int16Array, frame: int = FRAME_SAMPLES) -> Iterator[Int16Array]:
    """Yield successive frames (views), the last one padded with silence."""
    yield from split_frames(samples, frame)


def silence(duration_ms: float) -> Int16Array:
    """Silence of the given duration at the internal rate (rounded to the nearest sample)."""
    return np.zeros(ms_to_samples(duration_ms), dtype=np.int16)


def ms_to_samples(duration_ms: float, rate: int = SAMPLE_RATE) -> int:
    """Number of samples in ``duration_ms`` at ``rate``."""
    return round(duration_ms * rate / 1000)


def duration_ms(samples: npt.ArrayLike, rate: int = SAMPLE_RATE) -> float:
    """Duration in milliseconds of a sample array (first axis) at ``rate``."""
    return float(np.asarray(samples).shape[0] * 1000 / rate)


def rms_dbfs(samples: npt.ArrayLike) -> float:
    """Root-mean-square level in dB relative to int16 full scale (-inf for digital silence)."""
    array = np.asarray(samples, dtype=np.float64)
    if array.size == 0:
        return -math.inf
    power = float(np.mean(array * array))
    if power == 0.0:
        return -math.inf
    return 10 * math.log10(power / (32768.0 * 32768.0))


class FrameBuffer:
    """Turns audio arriving in arbitrary chunks into whole 20 ms frames, keeping the remainder."""

    def __init__(self, frame: int = FRAME_SAMPLES) -> None:
        self.frame = frame
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, samples: Int16Array) -> list[Int16Array]:
        """Add samples; return every complete frame now available (oldest first)."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.int16)])
        whole = data.shape[0] - data.shape[0] % self.frame
        self._pending = data[whole:].copy()
        return list(data[:whole].reshape(-1, self.frame))

    def flush(self) -> Int16Array | None:
        """Return the incomplete remainder padded to a frame (``None`` when nothing is pending)."""
        if self._pending.shape[0] == 0:
            return None
        out = pad_to_frames(self._pending, self.frame)
        self._pending = np.zeros(0, dtype=np.int16)
        return out

    def __len__(self) -> int:
        return int(self._pending.shape[0])


class StreamResampler:
    """Resamples a stream chunk by chunk with filter state carried across chunks (no clicks at frame edges).

    For WebSocket legs: 20 ms frames at 8 or 24 kHz to and from the internal 16 kHz. The anti-aliasing filter
    is the one :func:`resample` uses (a Kaiser-windowed FIR, cutoff at the lower Nyquist), run causally, so the
    output lags by half the filter: 1.25 ms between 8 and 16 kHz, 0.625 ms between 16 and 24 kHz.
    Each chunk must give a whole number of output samples (``len * to_rate / from_rate`` integral), which
    every 20 ms frame at 8/16/24 kHz does.
    """

    def __init__(self, from_rate: int, to_rate: int = SAMPLE_RATE) -> None:
        from scipy.signal import firwin

        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
        ratio = Fraction(to_rate, from_rate)
        self.from_rate, self.to_rate = from_rate, to_rate
        self.up, self.down = ratio.numerator, ratio.denominator
        self.passthrough = self.up == self.down == 1
        widest = max(self.up, self.down)
        taps = 2 * 10 * widest + 1
        self._taps = firwin(taps, 1.0 / widest, window=("kaiser", 5.0)) * self.up
        self._state = np.zeros(taps - 1)

    def process(self, samples: npt.ArrayLike) -> Int16Array:
        """Resample the next chunk of the stream."""
        from scipy.signal import lfilter

        chunk = np.asarray(samples)
        if self.passthrough:
            return saturate(chunk)
        if (chunk.shape[0] * self.up) % self.down:
            raise ValueError(
                f"a chunk of {chunk.shape[0]} samples at {self.from_rate} Hz is not a whole number of "
                f"samples at {self.to_rate} Hz"
            )
        upsampled = np.zeros(chunk.shape[0] * self.up)
        upsampled[:: self.up] = chunk
        filtered, self._state = lfilter(self._taps, 1.0, upsampled, zi=self._state)
        return saturate(filtered[:: self.down])


def check_websocket_frame(data: bytes, rate: int) -> None:
    """Raise ``ValueError`` with Vonage's log text when a WebSocket audio message has the wrong size."""
    if rate not in WEBSOCKET_FRAME_BYTES:
        raise ValueError(f"unsupported content-type audio/l16;rate={rate}: use 8000, 16000 or 24000")
    required = WEBSOCKET_FRAME_BYTES[rate]
    if len(data) != required:
        raise ValueError(f"unexpected frame size {len(data)}, when required {required}")
