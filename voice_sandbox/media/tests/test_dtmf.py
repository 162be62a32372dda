from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media import dtmf, frames, tts
from voice_sandbox.media.tests.conftest import energy

ALL = dtmf.KEYS  # 123A456B789C*0#D


def test_frequency_pairs_are_the_standard_keypad() -> None:
    assert dtmf.FREQUENCIES["1"] == (697.0, 1209.0)
    assert dtmf.FREQUENCIES["5"] == (770.0, 1336.0)
    assert dtmf.FREQUENCIES["9"] == (852.0, 1477.0)
    assert dtmf.FREQUENCIES["0"] == (941.0, 1336.0)
    assert dtmf.FREQUENCIES["*"] == (941.0, 1209.0)
    assert dtmf.FREQUENCIES["#"] == (941.0, 1477.0)
    assert dtmf.FREQUENCIES["D"] == (941.0, 1633.0)
    assert len(dtmf.FREQUENCIES) == 16


def test_generated_tone_has_exactly_its_two_frequencies() -> None:
    samples = dtmf.tone("6", 1000)
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))  # 1 s: 1 Hz bins
    assert sorted(np.argsort(spectrum)[-2:].tolist()) == [770, 1477]
    assert samples.shape == (16000,)


def test_durations_gaps_and_p_pause() -> None:
    samples = dtmf.generate("1p2", tone_ms=100, gap_ms=60)
    assert samples.shape[0] == (100 + 60 + 500 + 100 + 60) * 16
    assert dtmf.detect(samples) == [dtmf.DtmfEvent("1", 0, 100), dtmf.DtmfEvent("2", 660, 100)]


def test_invalid_characters_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"invalid DTMF characters 'EX': use 0-9, \*, #, A-D and p \(pause\)"):
        dtmf.generate("12x3e")


def test_round_trip_of_all_16_keys() -> None:
    sequence = ALL + ALL[::-1]
    events = dtmf.detect(dtmf.generate(sequence))
    assert "".join(e.digit for e in events) == sequence
    assert [e.start_ms for e in events] == [200 * i for i in range(32)]
    assert {e.duration_ms for e in events} == {100}


def test_round_trip_when_tones_straddle_frame_boundaries() -> None:
    sequence = "0123456789*#ABCD"
    samples = np.concatenate([np.zeros(137, dtype=np.int16), dtmf.generate(sequence, tone_ms=90, gap_ms=70)])
    assert dtmf.detect_digits(samples) == sequence


def test_repeated_key_is_reported_twice() -> None:
    assert dtmf.detect_digits(dtmf.generate("11##00")) == "11##00"


@pytest.mark.parametrize("snr_db", [20, 10, 3])
def test_round_trip_under_white_noise(rng: np.random.Generator, snr_db: int) -> None:
    samples = dtmf.generate(ALL)
    tone_power = energy(samples[samples != 0])
    noise = rng.normal(0, np.sqrt(tone_power / 10 ** (snr_db / 10)), samples.shape)
    assert dtmf.detect_digits(frames.saturate(samples + noise)) == ALL


@pytest.mark.parametrize("speech_db", [-20, -6])
def test_round_trip_mixed_with_speech(speech_db: int) -> None:
    samples = dtmf.generate(ALL + "p" + ALL)
    speech = tts.synthesize("Hello, I would like to pay my bill and then speak to an agent about my account.", style=1)
    speech = np.resize(speech, samples.shape)
    gain = np.sqrt(energy(samples[samples != 0]) / energy(speech)) * 10 ** (speech_db / 20)
    assert dtmf.detect_digits(frames.saturate(samples + speech * gain)) == ALL + ALL


def test_speech_and_noise_alone_give_no_digits(rng: np.random.Generator) -> None:
    speech = tts.synthesize(
        "Thank you for calling. Your account balance is one hundred and twenty three dollars. "
        "Press one to pay, two for an agent.",
        style=0,
    )
    loud = frames.saturate(speech.astype(float) * 3)
    assert dtmf.detect(loud) == []
    assert dtmf.detect(frames.saturate(rng.normal(0, 3000, 48000))) == []


def test_streaming_detector_reports_a_key_when_released() -> None:
    detector = dtmf.DtmfDetector()
    samples = frames.pad_to_frames(dtmf.generate("7", tone_ms=200, gap_ms=100))
    per_frame = [detector.feed(frame) for frame in frames.split_frames(samples)]
    assert [i for i, events in enumerate(per_frame) if events] == [
        11
    ]  # tone in frames 0-9; frames 10 and 11 release it
    assert per_frame[11] == [dtmf.DtmfEvent("7", 0, 200)]
    assert detector.flush() == []


def test_a_single_tone_frame_is_debounced_away() -> None:
    assert dtmf.detect(dtmf.generate("5", tone_ms=20, gap_ms=100)) == []
    held = dtmf.DtmfDetector()
    for frame in frames.split_frames(dtmf.tone("5", 60)):
        assert held.feed(frame) == []
    assert held.flush() == [dtmf.DtmfEvent("5", 0, 60)]


def test_classify_is_batched_over_legs() -> None:
    tones = np.stack([dtmf.tone(key, 20) for key in ALL] + [np.zeros(320, dtype=np.int16)])
    assert dtmf.classify(tones).tolist() == [*range(16), -1]


def test_classify_at_8khz_websocket_rate() -> None:
    t = np.arange(1600) / 8000
    low, high = dtmf.FREQUENCIES["#"]
    samples = ((np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)) * 8000).astype(np.int16)
    assert dtmf.detect_digits(np.concatenate([samples, np.zeros(800, np.int16)]), rate=8000) == "#"
