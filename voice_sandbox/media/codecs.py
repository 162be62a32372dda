"""Decode media files (mp3, wav, ogg, flac) to 16 kHz mono PCM and encode recordings (mp3, wav, ogg).

Backed by ``soundfile``: its wheels bundle libsndfile 1.2 built with mpg123/LAME (MP3) and Vorbis/Opus (OGG),
so no system codec is needed. Recordings follow Vonage: 16-bit, 16 kHz; MP3 at about 32 kbps (ABR here, see
:func:`encode`) and at most 2 channels, so more channels need WAV (or OGG).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import soundfile

from .frames import SAMPLE_RATE, Int16Array, resample, saturate

Format = Literal["mp3", "wav", "ogg"]
FORMATS: tuple[Format, ...] = ("mp3", "wav", "ogg")
MAX_CHANNELS = 32
MP3_MAX_CHANNELS = 2
_SOUNDFILE = {"mp3": ("MP3", "MPEG_LAYER_III"), "wav": ("WAV", "PCM_16"), "ogg": ("OGG", "VORBIS")}
MIME_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "ogg": "audio/ogg"}


class CodecError(ValueError):
    """Audio that cannot be decoded, or a recording that cannot be encoded as asked."""


@dataclass(frozen=True)
class Decoded:
    """Decoded audio at 16 kHz mono, with what the source was."""

    samples: Int16Array
    source_rate: int
    source_channels: int
    source_format: str

    @property
    def duration_ms(self) -> float:
        """Duration of the decoded audio in milliseconds."""
        return float(self.samples.shape[0] * 1000 / SAMPLE_RATE)


def decode(data: bytes, *, rate: int = SAMPLE_RATE) -> Decoded:
    """Decode an mp3/wav/ogg/flac file held in memory to mono int16 at ``rate`` (channels are averaged).

    Raises :class:`CodecError` with a short reason for empty, truncated or unrecognised data.
    """
    if not data:
        raise CodecError("empty audio file")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as handle:
            source_rate, channels, fmt = handle.samplerate, handle.channels, handle.format
            audio = handle.read(dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise CodecError(f"undecodable audio: {exc}") from exc
    if source_rate <= 0 or audio.shape[0] == 0:
        raise CodecError("audio file holds no samples")
    mono = audio.mean(axis=1) * 32768.0
    return Decoded(resample(mono, source_rate, rate), source_rate, channels, fmt.lower())


def default_format(channels: int, requested: str | None = None) -> Format:
    """Vonage's choice of file format: ``requested`` if given, else mp3, or wav beyond 2 channels."""
    if requested is not None:
        if requested not in FORMATS:
            raise CodecError(f"unsupported recording format {requested!r}: use mp3, wav or ogg")
        return requested
    return "wav" if channels > MP3_MAX_CHANNELS else "mp3"


def encode(samples: npt.ArrayLike, fmt: str = "mp3", *, rate: int = SAMPLE_RATE) -> bytes:
    """Encode int16 audio (``(n,)`` mono or ``(n, channels)``) as an mp3, wav or ogg file.

    MP3 is average bit rate (about 30 kbps at 16 kHz; Vonage uses CBR 32 kbps) and limited to 2
    channels; up to 32 channels are accepted for wav and ogg. Raises :class:`CodecError` otherwise.
    """
    if fmt not in FORMATS:
        raise CodecError(f"unsupported recording format {fmt!r}: use mp3, wav or ogg")
    audio = saturate(np.asarray(samples))
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    if audio.ndim > 2 or not 1 <= channels <= MAX_CHANNELS:
        raise CodecError(f"recordings have 1 to {MAX_CHANNELS} channels, got {channels}")
    if fmt == "mp3" and channels > MP3_MAX_CHANNELS:
        raise CodecError(f"mp3 holds at most {MP3_MAX_CHANNELS} channels; use wav for {channels}")
    container, subtype = _SOUNDFILE[fmt]
    buffer = io.BytesIO()
    # Average bit rate: CBR files lose LAME's gapless header through libsndfile, and decode ~100 ms long.
    extra = {"bitrate_mode": "AVERAGE", "compression_level": 0.9} if fmt == "mp3" else {}
    # libsndfile 1.2.2 scrambles the channels of int16 data written to MP3; float input encodes correctly.
    data = audio if fmt == "wav" else audio.astype(np.float32) / 32768.0
    with soundfile.SoundFile(
        buffer, "w", samplerate=rate, channels=channels, format=container, subtype=subtype, **extra
    ) as handle:
        handle.write(data)
    return buffer.getvalue()


def decode_channels(data: bytes) -> tuple[npt.NDArray[np.int16], int]:
    """Decode keeping every channel: ``((n, channels) int16, rate)`` (for checking split recordings)."""
    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise CodecError(f"undecodable audio: {exc}") from exc
    return audio, int(rate)


def interleave(channels: list[Int16Array]) -> npt.NDArray[np.int16]:
    """Stack per-channel tracks into ``(n, channels)``, padding shorter ones with silence."""
    if not channels:
        raise CodecError("no channels to record")
    length = max(track.shape[0] for track in channels)
    out = np.zeros((length, len(channels)), dtype=np.int16)
    for index, track in enumerate(channels):
        out[: track.shape[0], index] = track
    return out
