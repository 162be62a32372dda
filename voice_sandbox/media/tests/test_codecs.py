from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media import codecs, dtmf, frames, tts
from voice_sandbox.media.tests.conftest import energy

SPEECH = "Thank you for calling. This call is recorded for quality purposes."


@pytest.mark.parametrize("fmt", ["mp3", "wav", "ogg"])
def test_mono_round_trip_keeps_duration(fmt: str) -> None:
    speech = tts.synthesize(SPEECH)
    data = codecs.encode(speech, fmt)
    decoded = codecs.decode(data)
    assert decoded.source_rate == 16000
    assert decoded.source_channels == 1
    assert decoded.source_format == fmt
    assert abs(decoded.duration_ms - frames.duration_ms(speech)) <= 20
    assert abs(frames.rms_dbfs(decoded.samples) - frames.rms_dbfs(speech)) < 1.5


def test_wav_round_trip_is_lossless() -> None:
    speech = tts.synthesize(SPEECH)
    assert np.array_equal(codecs.decode(codecs.encode(speech, "wav")).samples, speech)


def test_mp3_is_about_32_kbps() -> None:
    speech = tts.synthesize(SPEECH)
    kbps = len(codecs.encode(speech, "mp3")) * 8 / frames.duration_ms(speech)
    assert 24 <= kbps <= 40


@pytest.mark.parametrize("fmt", ["mp3", "wav", "ogg"])
def test_split_conversation_keeps_each_party_on_its_channel(fmt: str) -> None:
    caller = tts.synthesize(SPEECH)  # left: what the caller said
    heard = dtmf.generate("123", tone_ms=400, gap_ms=200)  # right: what the caller heard
    stereo = codecs.interleave([caller, heard])
    assert stereo.shape == (caller.shape[0], 2)
    audio, rate = codecs.decode_channels(codecs.encode(stereo, fmt))
    assert rate == 16000 and audio.shape[1] == 2
    assert abs(audio.shape[0] - caller.shape[0]) <= 320
    n = min(audio.shape[0], caller.shape[0])
    left, right = audio[:n, 0], audio[:n, 1]

    # Each channel correlates with its own party and not with the other.
    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a.astype(float), b.astype(float))[0, 1])

    heard_full = np.zeros(n, dtype=np.int16)
    heard_full[: min(n, heard.shape[0])] = heard[:n]
    assert corr(left, caller[:n]) > 0.9
    assert corr(right, heard_full) > 0.9
    assert abs(corr(left, heard_full)) < 0.1
    # After the tones end, the right channel is (near) silent while the left still carries speech.
    tail = slice(heard.shape[0] + 1600, n)
    assert energy(right[tail]) < energy(left[tail]) / 1000


def test_32_channel_wav_and_ogg_keep_channels_apart() -> None:
    tracks = [dtmf.tone(dtmf.KEYS[i % 16], 200) if i % 3 == 0 else np.zeros(3200, np.int16) for i in range(32)]
    stereo = codecs.interleave(tracks)
    for fmt in ("wav", "ogg"):
        audio, _ = codecs.decode_channels(codecs.encode(stereo, fmt))
        assert audio.shape[1] == 32
        loud = [i for i in range(32) if energy(audio[:, i]) > 1e5]
        assert loud == [i for i in range(32) if i % 3 == 0]


def test_default_format_follows_vonage() -> None:
    assert codecs.default_format(1) == "mp3"
    assert codecs.default_format(2) == "mp3"
    assert codecs.default_format(3) == "wav"
    assert codecs.default_format(3, "ogg") == "ogg"
    with pytest.raises(codecs.CodecError, match="unsupported recording format 'flac'"):
        codecs.default_format(1, "flac")


def test_encoding_limits_are_clear_errors() -> None:
    three = np.zeros((1600, 3), dtype=np.int16)
    with pytest.raises(codecs.CodecError, match="mp3 holds at most 2 channels; use wav for 3"):
        codecs.encode(three, "mp3")
    with pytest.raises(codecs.CodecError, match="recordings have 1 to 32 channels, got 33"):
        codecs.encode(np.zeros((1600, 33), dtype=np.int16), "wav")
    with pytest.raises(codecs.CodecError, match="unsupported recording format 'aac'"):
        codecs.encode(np.zeros(1600, dtype=np.int16), "aac")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty audio file"),
        (b"this is not audio at all" * 20, "undecodable audio: Error opening"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "undecodable audio"),
    ],
)
def test_undecodable_audio_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(codecs.CodecError, match=message):
        codecs.decode(data)


def test_decode_resamples_and_downmixes_foreign_files() -> None:
    import io

    import soundfile

    t = np.arange(44100) / 44100
    left = np.sin(2 * np.pi * 440 * t) * 0.5
    buffer = io.BytesIO()
    soundfile.write(buffer, np.stack([left, left], axis=1), 44100, format="WAV", subtype="PCM_16")
    decoded = codecs.decode(buffer.getvalue())
    assert (decoded.source_rate, decoded.source_channels, decoded.samples.shape) == (44100, 2, (16000,))
    spectrum = np.abs(np.fft.rfft(decoded.samples.astype(float)))
    assert int(np.argmax(spectrum)) == 440
