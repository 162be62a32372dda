from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media import frames


def test_constants_describe_20ms_frames_at_16khz() -> None:
    assert (frames.SAMPLE_RATE, frames.FRAME_SAMPLES, frames.FRAME_BYTES) == (16000, 320, 640)
    assert [frames.frame_samples(rate) for rate in (8000, 16000, 24000)] == [160, 320, 480]
    assert frames.WEBSOCKET_FRAME_BYTES == {8000: 320, 16000: 640, 24000: 960}


def test_bytes_round_trip_is_little_endian() -> None:
    samples = np.array([0, 1, -1, 32767, -32768, 256], dtype=np.int16)
    data = frames.pcm_to_bytes(samples)
    assert data == b"\x00\x00\x01\x00\xff\xff\xff\x7f\x00\x80\x00\x01"
    assert frames.bytes_to_pcm(data).tolist() == [0, 1, -1, 32767, -32768, 256]


def test_odd_byte_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="even number of bytes, got 3"):
        frames.bytes_to_pcm(b"\x00\x01\x02")


def test_level_maps_minus_one_to_silence_and_plus_one_to_double() -> None:
    samples = np.array([1000, -20000, 30000], dtype=np.int16)
    assert frames.apply_level(samples, -1).tolist() == [0, 0, 0]
    assert frames.apply_level(samples, 0) is samples
    assert frames.apply_level(samples, 1).tolist() == [2000, -32768, 32767]
    assert frames.apply_level(samples, -0.5).tolist() == [500, -10000, 15000]


@pytest.mark.parametrize("level", [-1.1, 1.5, float("nan")])
def test_level_outside_range_is_rejected(level: float) -> None:
    with pytest.raises(ValueError, match="level must be between -1 and 1"):
        frames.level_to_gain(level)


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [(8000, 16000, 32000), (24000, 16000, 10667), (44100, 16000, 5805), (22050, 16000, 11610)],
)
def test_resample_of_16000_samples_preserves_duration(source: int, target: int, expected: int) -> None:
    samples = np.zeros(16000, dtype=np.int16)
    assert frames.resample(samples, source, target).shape == (expected,)


def test_resample_keeps_a_tone_at_its_frequency_and_level() -> None:
    t = np.arange(8000) / 8000
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    up = frames.resample(tone, 8000, 16000)
    spectrum = np.abs(np.fft.rfft(up.astype(float)))
    assert int(np.argmax(spectrum)) == 440  # 1 s at 16 kHz: 1 Hz per bin
    assert abs(frames.rms_dbfs(up) - frames.rms_dbfs(tone)) < 0.1


def test_split_frames_pads_the_last_frame_with_silence() -> None:
    samples = np.arange(1, 701, dtype=np.int16)
    matrix = frames.split_frames(samples)
    assert matrix.shape == (3, 320)
    assert matrix[2, :60].tolist() == list(range(641, 701))
    assert matrix[2, 60:].tolist() == [0] * 260


def test_frame_buffer_reassembles_arbitrary_chunks() -> None:
    buffer = frames.FrameBuffer()
    out = buffer.push(np.arange(500, dtype=np.int16)) + buffer.push(np.arange(500, 700, dtype=np.int16))
    assert [frame[0] for frame in out] == [0, 320]
    assert len(buffer) == 60
    tail = buffer.flush()
    assert tail is not None and tail[:60].tolist() == list(range(640, 700)) and tail[60:].tolist() == [0] * 260
    assert buffer.flush() is None


def test_rms_of_silence_and_full_scale_square() -> None:
    assert frames.rms_dbfs(np.zeros(10, dtype=np.int16)) == float("-inf")
    assert frames.rms_dbfs(np.array([-32768] * 10, dtype=np.int16)) == 0.0
    assert frames.duration_ms(np.zeros(320, dtype=np.int16)) == 20.0
    assert frames.silence(20).shape == (320,)


def tone_at(rate: int, hz: float, seconds: float = 1.0, amplitude: float = 8000) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * amplitude).astype(np.int16)


@pytest.mark.parametrize(("source", "target"), [(8000, 16000), (16000, 8000), (24000, 16000), (16000, 24000)])
def test_stream_resampler_frame_by_frame_has_no_frame_edge_artifacts(source: int, target: int) -> None:
    resampler = frames.StreamResampler(source, target)
    tone = tone_at(source, 1000)
    out = np.concatenate([resampler.process(f) for f in frames.split_frames(tone, frames.frame_samples(source))])
    assert out.shape == (target,)  # one second in, one second out
    spectrum = np.abs(np.fft.rfft(out[target // 10 :].astype(float) * np.hanning(target - target // 10)))
    peak = int(np.argmax(spectrum))
    assert abs(peak * target / (target - target // 10) - 1000) < 2
    # Per-frame resampling without state would put sidebands at 50 Hz multiples; here everything else is
    # more than 60 dB below the tone.
    around = np.ones(spectrum.shape, dtype=bool)
    around[max(0, peak - 10) : peak + 11] = False
    assert 20 * np.log10(spectrum[around].max() / spectrum[peak]) < -60


def test_stream_resampler_round_trip_keeps_speech_band_audio() -> None:
    down, up = frames.StreamResampler(16000, 8000), frames.StreamResampler(8000, 16000)
    # Noise band-limited to 3 kHz: aperiodic, so the delay is unambiguous.
    signal = frames.resample(np.random.default_rng(7).normal(0, 4000, 6000), 6000, 16000)
    out = np.concatenate([up.process(down.process(f)) for f in frames.split_frames(signal)])
    lag = int(np.argmax(np.correlate(out[:4000].astype(float), signal[:2000].astype(float), "valid")))
    assert lag == 40  # two filters of 20 samples group delay each: 2.5 ms
    aligned = out[lag : lag + 12000].astype(float)
    assert np.corrcoef(aligned, signal[:12000].astype(float))[0, 1] > 0.99


def test_stream_resampler_rejects_chunks_that_do_not_divide() -> None:
    with pytest.raises(
        ValueError, match="a chunk of 161 samples at 24000 Hz is not a whole number of samples at 16000"
    ):
        frames.StreamResampler(24000, 16000).process(np.zeros(161, dtype=np.int16))


def test_websocket_frame_sizes_follow_the_content_type() -> None:
    frames.check_websocket_frame(b"\x00" * 320, 8000)
    frames.check_websocket_frame(b"\x00" * 640, 16000)
    frames.check_websocket_frame(b"\x00" * 960, 24000)
    with pytest.raises(ValueError, match=r"^unexpected frame size 160, when required 320$"):
        frames.check_websocket_frame(b"\x00" * 160, 8000)
    with pytest.raises(ValueError, match=r"unsupported content-type audio/l16;rate=44100"):
        frames.check_websocket_frame(b"\x00" * 640, 44100)
