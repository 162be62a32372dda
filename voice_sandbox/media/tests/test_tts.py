from __future__ import annotations

import os

import numpy as np
import pytest

from voice_sandbox.media import frames, tts
from voice_sandbox.media.tests.conftest import energy, fundamental_hz


@pytest.fixture
def synth() -> tts.Synthesizer:
    return tts.Synthesizer()


def test_all_46_current_languages_map_to_real_espeak_voices(synth: tts.Synthesizer) -> None:
    assert len(tts.CURRENT_LANGUAGES) == 46
    assert len(set(tts.CURRENT_LANGUAGES)) == 46
    espeak = tts._Espeak.get()
    variants = os.listdir(os.path.join(tts.espeak_data_path(), "voices", "!v"))
    for code in tts.CURRENT_LANGUAGES:
        for style in range(len(tts.STYLES)):
            voice = tts.voice_for(code, style)
            assert voice.language == code
            assert espeak.has_voice(voice.espeak_voice), code
            assert voice.variant in variants
        audio = synth.synthesize("123", language=code)
        assert audio.dtype == np.int16
        assert audio.shape[0] > 4000, code  # "123" in any language takes over a quarter of a second


def test_language_codes_are_case_insensitive_and_extras_are_known() -> None:
    assert tts.voice_for("EN-us").language == "en-US"
    assert tts.voice_for("en-GB-SCT").espeak_voice == "en-gb-scotland"
    assert len(tts.LANGUAGES) == 67
    approximate = sorted(code for code in tts.CURRENT_LANGUAGES if tts.voice_for(code).is_approximate)
    assert approximate == ["cmn-TW", "en-AU", "en-GB-WLS", "en-IN", "en-ZA", "fil-PH", "fr-CA"]


def test_duration_is_the_sample_count_of_the_resampled_espeak_output(synth: tts.Synthesizer) -> None:
    text = "Thank you for calling. Please hold."
    espeak = tts._Espeak.get()
    native = espeak.synth(text, "en-us+f3", tts.DEFAULT_WPM)
    audio = synth.synthesize(text)
    assert espeak.rate == 22050
    # espeak-ng keeps a little state between calls (pitch flutter), so two syntheses differ by a few samples.
    assert abs(audio.shape[0] - round(native.shape[0] * 16000 / 22050)) <= 80
    assert frames.duration_ms(audio) == audio.shape[0] / 16
    # The audio is speech right to its end, apart from espeak's short sentence-final pause.
    voiced = np.flatnonzero(np.abs(audio) > 500)
    assert 0 <= (audio.shape[0] - voiced[-1]) / 16 < 400
    assert voiced[0] / 16 < 100


def test_style_selects_female_and_male_variants(synth: tts.Synthesizer) -> None:
    text = "Hello, I would like to pay my bill please."
    pitches = [fundamental_hz(synth.synthesize(text, style=style)) for style in range(4)]
    assert [tts.voice_for("en-US", s).gender for s in range(4)] == ["female", "male", "female", "male"]
    assert pitches[0] > 170 and pitches[2] > 170
    assert pitches[1] < 130 and pitches[3] < 130


def test_level_scales_the_cached_audio(synth: tts.Synthesizer) -> None:
    plain = synth.synthesize("Welcome")
    assert synth.synthesize("Welcome", level=-1).tolist() == [0] * plain.shape[0]
    assert np.array_equal(synth.synthesize("Welcome", level=0.5), frames.apply_gain(plain, 1.5))
    assert synth.cache_info() == {"entries": 1, "bytes": plain.nbytes, "hits": 2, "misses": 1}


def test_ssml_breaks_lengthen_audio_by_the_break_time(synth: tts.Synthesizer) -> None:
    short = synth.synthesize('<speak>Hello<break time="500ms"/>world</speak>')
    long = synth.synthesize('<speak>Hello<break time="1.5s"/>world</speak>')
    strong = synth.synthesize('<speak>Hello<break strength="x-strong"/>world</speak>')
    # Exact up to espeak's few-sample jitter between calls (see the duration test).
    assert abs(long.shape[0] - short.shape[0] - 16000) <= 80
    assert abs(strong.shape[0] - short.shape[0] - 8000) <= 80
    hello = tts.Synthesizer().synthesize("Hello")
    gap = long[hello.shape[0] - 80 : hello.shape[0] + 16000 - 80]
    assert np.abs(gap[160:-160]).max() < 200  # the break itself is silence


def test_ssml_prosody_and_say_as(synth: tts.Synthesizer) -> None:
    assert tts.parse_ssml('<speak>Code <say-as interpret-as="digits">12 34</say-as>.</speak>') == [
        tts.TextRun("Code  1 2 3 4 .")
    ]
    assert tts.parse_ssml('<speak><say-as interpret-as="characters">AbC</say-as></speak>') == [tts.TextRun(" A b C ")]
    [slow_run] = tts.parse_ssml('<speak><prosody rate="50%" volume="-6dB">slow</prosody></speak>')
    assert isinstance(slow_run, tts.TextRun)
    assert (slow_run.text, slow_run.rate, round(slow_run.gain, 6)) == ("slow", 0.5, round(10 ** (-6 / 20), 6))
    plain = synth.synthesize("<speak>Your balance is ready</speak>")
    soft = synth.synthesize('<speak><prosody volume="x-soft">Your balance is ready</prosody></speak>')
    assert frames.rms_dbfs(soft) - frames.rms_dbfs(plain) == pytest.approx(-12, abs=0.5)
    slow = synth.synthesize('<speak><prosody rate="x-slow">Your balance is ready</prosody></speak>')
    fast = synth.synthesize('<speak><prosody rate="x-fast">Your balance is ready</prosody></speak>')
    assert slow.shape[0] > plain.shape[0] * 1.3 > plain.shape[0] > fast.shape[0] * 1.2
    assert synth.synthesize('<speak><prosody volume="silent">quiet</prosody></speak>').any() == np.False_


@pytest.mark.parametrize(
    ("text", "reason", "message"),
    [
        ('<speak><audio src="x.mp3"/></speak>', "ssml", "Unsupported SSML element <audio>"),
        ("<speak>Hello", "ssml", "Invalid SSML: no element found: line 1, column 12"),
        ('<speak><break time="soon"/></speak>', "ssml", "Invalid break time 'soon': use e.g. '500ms' or '1.5s'"),
        ('<speak><break time="11s"/></speak>', "ssml", "Break time '11s' exceeds 10s"),
        ('<speak><prosody pitch="high">x</prosody></speak>', "ssml", "Unsupported attribute 'pitch' on <prosody>"),
        ('<speak><prosody rate="900%">x</prosody></speak>', "ssml", "Invalid prosody rate '900%'"),
        ('<speak><say-as interpret-as="date">1/2</say-as></speak>', "ssml", "Unsupported say-as interpret-as='date'"),
        ('<speak><say-as interpret-as="digits">12a</say-as></speak>', "ssml", "say-as digits expects digits"),
        ("x" * 1501, "text", "Text is 1501 characters long; the limit is 1500"),
    ],
)
def test_invalid_talks_are_rejected_and_nothing_is_cached(
    synth: tts.Synthesizer, text: str, reason: str, message: str
) -> None:
    with pytest.raises(tts.TtsError) as caught:
        synth.synthesize(text)
    assert caught.value.reason == reason
    assert str(caught.value).startswith(message)
    assert tts.check_talk(text) is not None
    assert synth.cache_info() == {"entries": 0, "bytes": 0, "hits": 0, "misses": 0}


def test_unknown_language_and_style_are_clear_errors(synth: tts.Synthesizer) -> None:
    with pytest.raises(tts.TtsError, match="Unsupported language: 'xx-YY'") as caught:
        synth.synthesize("Hello", language="xx-YY")
    assert caught.value.reason == "language"
    error = tts.check_talk("Hello", language="en-US", style=7)
    assert error is not None and error.reason == "style"
    assert str(error) == "Unsupported style 7 for language en-US: use 0-3"
    assert tts.check_talk("Hello", language="de-DE", style=3) is None
    assert synth.cache_info()["entries"] == 0


def test_cache_is_a_bounded_lru() -> None:
    synth = tts.Synthesizer(max_cache_bytes=30_000)  # room for two short words (about 12 kB each)
    first = synth.synthesize("one")
    synth.synthesize("two")
    synth.synthesize("one")  # refresh: "two" is now the oldest
    assert synth.synthesize("one") is first
    synth.synthesize("six")
    assert list(synth._cache) == [("one", "en-US", 0), ("six", "en-US", 0)]
    assert synth.cache_info()["bytes"] == first.nbytes + synth.synthesize("six").nbytes <= 30_000
    synth.synthesize("A prompt far too long to fit in such a small cache at all.")
    assert list(synth._cache) == [("one", "en-US", 0), ("six", "en-US", 0)]
    assert energy(first) > 0
