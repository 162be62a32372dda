"""Recognition of TTS speech with context hints; the accuracy figure is reported in the closing note."""

from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media import asr, frames, tts
from voice_sandbox.media.tests.caller_audio import speak_fresh

# A contact-center IVR: what callers say at "How can I help you?" and when asked for an account number.
PHRASES = (
    "I want to pay my bill",
    "speak to an agent",
    "yes",
    "no",
    "check my balance",
    "one two three four five six",
    "my account number is four seven two nine",
    "I lost my card",
    "cancel my order",
    "billing question",
    "technical support",
    "representative",
    "repeat the menu",
    "main menu",
    "update my address",
    "report a problem",
    "where is my order",
    "change my password",
    "yes please",
    "no thank you",
)
# The IVR's menu options, as an application would pass them in speech.context.
CONTEXT = (
    "pay my bill",
    "speak to an agent",
    "representative",
    "check my balance",
    "account number",
    "lost my card",
    "cancel my order",
    "where is my order",
    "billing question",
    "technical support",
    "repeat the menu",
    "main menu",
    "update my address",
    "report a problem",
    "change my password",
)
#: Word accuracy reached with the hints (61 of 64 words: 0.953), rounded down; the test holds this level.
ACHIEVED_ACCURACY = 0.95
#: Without hints the general en-US model gets 0.656 on the same audio.
GENERAL_MODEL_ACCURACY = 0.65
#: The en-US voice the scripted caller uses (style 2: espeak-ng en-us+f2).
CALLER_STYLE = 2


@pytest.fixture(scope="module")
def recognizer() -> asr.Recognizer:
    return asr.Recognizer()


@pytest.fixture(scope="module")
def caller_audio() -> list[np.ndarray]:
    return speak_fresh(PHRASES, style=CALLER_STYLE)


def word_accuracy(
    recognizer: asr.Recognizer, audio: list[np.ndarray], context: tuple[str, ...]
) -> tuple[float, list[tuple[str, str]]]:
    errors = words = 0
    misses = []
    for phrase, samples in zip(PHRASES, audio, strict=True):
        result = recognizer.recognize(samples, context=context)
        distance, count = asr.word_error_rate(phrase, result.text)
        errors += distance
        words += count
        if distance:
            misses.append((phrase, result.text))
        assert all(0.0 <= r.confidence <= 1.0 for r in result.results)
    return 1 - errors / words, misses


def test_word_accuracy_with_context_hints(recognizer: asr.Recognizer, caller_audio: list[np.ndarray]) -> None:
    accuracy, misses = word_accuracy(recognizer, caller_audio, CONTEXT)
    print(f"ASR word accuracy with hints: {accuracy:.4f}; misses: {misses}")
    assert accuracy >= ACHIEVED_ACCURACY, misses


def test_hints_beat_the_general_model(recognizer: asr.Recognizer, caller_audio: list[np.ndarray]) -> None:
    general, _ = word_accuracy(recognizer, caller_audio, ())
    print(f"ASR word accuracy without hints: {general:.4f}")
    assert GENERAL_MODEL_ACCURACY <= general < ACHIEVED_ACCURACY


def test_results_carry_text_and_confidence(recognizer: asr.Recognizer) -> None:
    recognition = recognizer.recognize(tts.synthesize("technical support", style=CALLER_STYLE), context=CONTEXT)
    assert recognition.text == "technical support"
    assert 0.0 < recognition.results[0].confidence <= 1.0
    assert 1 < len(recognition.results) <= 3
    confidences = [r.confidence for r in recognition.results]
    assert confidences == sorted(confidences, reverse=True)
    assert len({r.text for r in recognition.results}) == len(recognition.results)
    assert recognition.duration_ms == pytest.approx(1000, abs=400)


def test_silence_gives_no_result(recognizer: asr.Recognizer) -> None:
    recognition = recognizer.recognize(frames.silence(1000), context=CONTEXT)
    assert recognition.results == ()
    assert recognition.text == ""


def test_unsupported_language_is_an_error_and_loads_no_model() -> None:
    recognizer = asr.Recognizer()
    with pytest.raises(asr.AsrError, match=r"^ERR1: language xx-YY not supported$"):
        recognizer.recognize(np.zeros(1600, dtype=np.int16), language="xx-YY")
    with pytest.raises(asr.AsrError, match=r"^ERR1: language de-DE not supported$"):
        asr.check_language("de-DE")
    assert recognizer.loaded_models == 0
    assert recognizer._decoder is None


def test_context_model_is_valid_arpa_with_hint_words_and_digits() -> None:
    arpa = asr.build_context_lm(["Pay my bill", "order 42", "xyzzyplugh"])
    lines = arpa.splitlines()
    assert lines[0] == "\\data\\"
    unigrams = {line.split()[1] for line in lines[lines.index("\\1-grams:") + 1 : lines.index("\\2-grams:") - 1]}
    assert {"pay", "my", "bill", "order", "four", "two", "oh", "zero"} <= unigrams
    assert "xyzzyplugh" not in unigrams  # not in the pronunciation dictionary
    assert len(unigrams) > 5000  # the general vocabulary stays reachable
    assert any(line.endswith(" pay my bill") for line in lines)


def test_word_error_rate_normalises_case_and_digits() -> None:
    assert asr.word_error_rate("My PIN is 47", "my pin is four seven") == (0, 5)
    assert asr.word_error_rate("speak to an agent", "speak an agent now") == (2, 4)


def test_context_models_are_kept_in_a_bounded_lru() -> None:
    recognizer = asr.Recognizer(max_models=2)
    speech = tts.synthesize("yes", style=CALLER_STYLE)
    for context in (["yes", "no"], ["agent"], ["yes", "no"], ["billing"]):
        assert recognizer.recognize(speech, context=context).text == "yes"
    assert list(recognizer._searches) == [("no", "yes"), ("billing",)]
    assert recognizer.loaded_models == 2
