from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media import frames, tts, vad


def with_noise(rng: np.random.Generator, samples: np.ndarray, sigma: float = 30) -> np.ndarray:
    return frames.saturate(samples + rng.normal(0, sigma, samples.shape))


@pytest.fixture
def utterance(rng: np.random.Generator) -> np.ndarray:
    """1 s of line noise, then speech, then 4 s of noise."""
    speech = tts.synthesize("Hello, I would like to pay my bill please.")
    assert speech.shape[0] == pytest.approx(38000, abs=3000)
    return with_noise(rng, np.concatenate([frames.silence(1000), speech, frames.silence(4000)]))


def test_vad_separates_speech_from_silence(rng: np.random.Generator) -> None:
    detector = vad.EnergyVad()
    speech = tts.synthesize("Please hold while we connect your call.")
    audio = with_noise(rng, np.concatenate([frames.silence(1000), speech, frames.silence(1000)]))
    decisions = np.array([detector.feed(frame) for frame in frames.split_frames(audio)])
    speech_frames = slice(50 + 5, 50 + speech.shape[0] // 320 - 5)
    assert not decisions[:50].any()
    assert decisions[speech_frames].mean() > 0.9
    assert not decisions[-30:].any()


def test_levels_are_batched() -> None:
    matrix = np.stack([np.zeros(320), np.full(320, -32768), np.full(320, 3277)]).astype(np.int16)
    assert vad.frame_dbfs(matrix).round(1).tolist() == [-120.0, 0.0, -20.0]


def test_steady_loud_noise_is_not_speech(rng: np.random.Generator) -> None:
    detector = vad.EnergyVad()
    noise = frames.saturate(rng.normal(0, 1500, 16000 * 3))  # about -27 dBFS hum, far above the threshold
    decisions = [detector.feed(frame) for frame in frames.split_frames(noise)]
    assert sum(decisions) == 0


def test_end_on_silence_after_speech(utterance: np.ndarray) -> None:
    endpointer = vad.Endpointer(vad.EndpointConfig(end_on_silence=2.0))
    ended_at = None
    for index, frame in enumerate(frames.split_frames(utterance)):
        if endpointer.feed(frame) is not None:
            ended_at = (index + 1) * 20
            break
    assert endpointer.ended == vad.EndReason.SILENCE
    assert endpointer.speech_started_ms is not None and abs(endpointer.speech_started_ms - 1000) <= 100
    assert endpointer.last_speech_ms is not None
    assert ended_at == endpointer.last_speech_ms + 2000
    # Speech ends within about 0.3 s of the audio's end (espeak's final pause is quiet).
    speech_end = utterance.shape[0] / 16 - 4000
    assert -300 <= endpointer.last_speech_ms - speech_end <= 60


def test_start_timeout_when_nobody_speaks(rng: np.random.Generator) -> None:
    endpointer = vad.Endpointer(vad.EndpointConfig(start_timeout=3, end_on_silence=2.0))
    reasons = [endpointer.feed(frame) for frame in frames.split_frames(with_noise(rng, frames.silence(5000)))]
    assert reasons.index(vad.EndReason.START_TIMEOUT) == 149
    assert endpointer.speech_started_ms is None


def test_max_duration_caps_continuous_speech() -> None:
    speech = tts.synthesize("one two three four five six seven eight nine ten " * 3)
    endpointer = vad.Endpointer(vad.EndpointConfig(max_duration=2, end_on_silence=3.0))
    reasons = [endpointer.feed(frame) for frame in frames.split_frames(speech)]
    assert reasons.index(vad.EndReason.MAX_DURATION) == 99


def test_recording_end_on_silence_without_speech(rng: np.random.Generator) -> None:
    endpointer = vad.Endpointer(
        vad.EndpointConfig(end_on_silence=3, start_timeout=None, max_duration=7200, require_speech=False)
    )
    reasons = [endpointer.feed(frame) for frame in frames.split_frames(with_noise(rng, frames.silence(4000)))]
    assert reasons.index(vad.EndReason.SILENCE) == 149


def test_speech_from_the_first_frame_is_found_at_the_first_pause(rng: np.random.Generator) -> None:
    speech = tts.synthesize("Yes. I would like to speak to an agent.")
    detector = vad.EnergyVad()
    decisions = [detector.feed(frame) for frame in frames.split_frames(with_noise(rng, speech))]
    assert sum(decisions) > len(decisions) // 2
