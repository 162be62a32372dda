"""Every NCCO the product emits parses with the official ``vonage_voice.models``."""

from __future__ import annotations

import pytest
import vonage_voice.models as official

from calls import answer
from contactcenter.voice.ncco import validate

OFFICIAL = {
    "talk": official.Talk,
    "stream": official.Stream,
    "input": official.Input,
    "record": official.Record,
    "conversation": official.Conversation,
    "connect": official.Connect,
    "notify": official.Notify,
    "wait": official.Wait,
    "transfer": official.Transfer,
}

EMITTERS = {f"calls.answer.{name}": emit for name, emit in answer.EMITTED.items()}


@pytest.mark.parametrize("name", sorted(EMITTERS))
def test_emitted_ncco_parses_with_the_official_models(name: str) -> None:
    emitted = EMITTERS[name]()
    assert validate(emitted) == emitted
    for action in emitted:
        data = {k: v for k, v in action.items() if k != "action"}
        OFFICIAL[action["action"]].model_validate(data)
