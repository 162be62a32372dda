from __future__ import annotations

import numpy as np
import pytest

from voice_sandbox.media import mixer
from voice_sandbox.media.mixer import LegMix


def frames_of(*values: int, width: int = 4) -> np.ndarray:
    """One constant frame per leg, so sums are easy to read."""
    return np.array([[v] * width for v in values], dtype=np.int16)


def heard(legs: list[LegMix], values: list[int]) -> list[int]:
    out = mixer.Mixer(legs).mix(frames_of(*values))
    assert np.array_equal(out, mixer.mix(frames_of(*values), mixer.hearing_matrix(legs)))
    return out[:, 0].tolist()


def test_everyone_hears_everyone_else_in_the_same_conversation_only() -> None:
    legs = [LegMix("a", "c1"), LegMix("b", "c1"), LegMix("c", "c1"), LegMix("d", "c2"), LegMix("e", "c2")]
    assert heard(legs, [1, 10, 100, 1000, 10000]) == [110, 101, 11, 10000, 1000]


def test_mute_and_earmuff() -> None:
    legs = [LegMix("a", "c"), LegMix("b", "c", muted=True), LegMix("c", "c", earmuffed=True)]
    assert heard(legs, [1, 10, 100]) == [100, 101, 0]


def test_supervisor_whisper_with_can_hear_and_can_speak() -> None:
    # voice-api.md 7: supervisor canHear [customer, agent], canSpeak [agent].
    legs = [
        LegMix("customer", "c"),
        LegMix("agent", "c"),
        LegMix("supervisor", "c", can_hear={"customer", "agent"}, can_speak={"agent"}),
    ]
    assert heard(legs, [1, 10, 100]) == [10, 101, 11]


def test_empty_lists_mean_nobody_and_unknown_ids_are_ignored() -> None:
    legs = [
        LegMix("a", "c", can_hear=set()),
        LegMix("b", "c", can_speak=[]),
        LegMix("c", "c", can_hear=["b", "ghost"]),
        LegMix("d", "c"),
    ]
    # a hears nobody; nobody hears b; c hears only b, which nobody hears -> 0; d hears a and c.
    assert heard(legs, [1, 10, 100, 1000]) == [0, 1101, 0, 101]


def test_sums_saturate_instead_of_wrapping() -> None:
    legs = [LegMix(str(i), "c") for i in range(4)]
    out = mixer.Mixer(legs).mix(frames_of(30000, 30000, -30000, -30000) * np.array([[1], [1], [1], [1]]))
    assert out[:, 0].tolist() == [-30000, -30000, 30000, 30000]
    out = mixer.Mixer(legs).mix(frames_of(30000, 30000, 30000, -32768))
    assert out[:, 0].tolist() == [27232, 27232, 27232, 32767]


def test_duplicate_leg_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="leg ids must be unique"):
        mixer.Mixer([LegMix("a", "c"), LegMix("a", "c")])


def test_frame_count_must_match_the_legs() -> None:
    with pytest.raises(ValueError, match="expected 2 frames, got 3"):
        mixer.Mixer([LegMix("a", "c"), LegMix("b", "c")]).mix(np.zeros((3, 320), dtype=np.int16))


def random_legs(rng: np.random.Generator, n: int, conversations: int) -> list[LegMix]:
    ids = [f"leg-{i}" for i in range(n)]
    legs = []
    for i in range(n):
        roll = rng.random()
        legs.append(
            LegMix(
                ids[i],
                f"conv-{rng.integers(conversations)}",
                muted=bool(rng.random() < 0.1),
                earmuffed=bool(rng.random() < 0.1),
                can_hear=set(rng.choice(ids, 5).tolist()) if roll < 0.1 else None,
                can_speak=set(rng.choice(ids, 5).tolist()) if 0.1 <= roll < 0.2 else None,
            )
        )
    return legs


def reference_hearing(legs: list[LegMix]) -> np.ndarray:
    n = len(legs)
    matrix = np.zeros((n, n), dtype=bool)
    for i, listener in enumerate(legs):
        for j, speaker in enumerate(legs):
            matrix[i, j] = (
                i != j
                and listener.conversation == speaker.conversation
                and not speaker.muted
                and not listener.earmuffed
                and (listener.can_hear is None or speaker.leg_id in listener.can_hear)
                and (speaker.can_speak is None or listener.leg_id in speaker.can_speak)
            )
    return matrix


@pytest.mark.parametrize(("n", "conversations", "strategy"), [(60, 3, "dense"), (200, 100, "sparse")])
def test_random_case_matches_a_plain_loop(rng: np.random.Generator, n: int, conversations: int, strategy: str) -> None:
    legs = random_legs(rng, n, conversations)
    frames = rng.integers(-12000, 12000, (n, 320)).astype(np.int16)
    m = mixer.Mixer(legs)
    assert m.strategy == strategy
    assert np.array_equal(m.hearing, reference_hearing(legs))
    expected = mixer.mix_reference(frames, reference_hearing(legs))
    assert np.array_equal(m.mix(frames), expected)


def test_one_big_conference_beyond_float32_exactness_uses_float64(rng: np.random.Generator) -> None:
    n = 600
    legs = [LegMix(str(i), "big") for i in range(n)]
    frames = rng.integers(-30, 30, (n, 320)).astype(np.int16)
    out = mixer.Mixer(legs).mix(frames)
    expected = frames.astype(np.int64).sum(axis=0)[None, :] - frames.astype(np.int64)
    assert np.array_equal(out, np.clip(expected, -32768, 32767))


def test_a_recording_is_a_muted_listener_hearing_everyone() -> None:
    legs = [LegMix("a", "c"), LegMix("b", "c", muted=True), LegMix("c", "c"), LegMix("rec", "c", muted=True)]
    assert heard(legs, [1, 10, 100, 5000]) == [100, 101, 1, 101]
