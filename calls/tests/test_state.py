"""Unit tests of the pure event logic: validation and the order-independent merge."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calls import state
from calls.tests.fixtures import BUSY, INBOUND, OUTBOUND, REJECTED, inbound_call, outbound_calls


def fold(events: list[dict]) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for payload in events:
        parsed = state.parse_event(payload)
        if parsed.kind not in ("status", "machine"):
            continue
        record = records.setdefault(parsed.uuid, {})
        record.update(state.merge(record, parsed))
    return records


def test_in_order_inbound_call_gives_the_expected_record() -> None:
    record = fold(inbound_call())[INBOUND]
    assert record["status"] == "completed"
    assert record["outcome"] == "answered"
    assert record["duration"] == 127
    assert record["rate"] == Decimal("0.00450000")
    assert record["price"] == Decimal("0.00952500")
    assert record["network"] == "GB-FIXED"
    assert record["disconnected_by"] == "platform"
    assert record["answered_at"].isoformat() == "2026-11-23T10:00:01.250000+00:00"
    assert record["completed_at"].isoformat() == "2026-11-23T10:02:08+00:00"


def test_busy_rejected_and_machine_outcomes() -> None:
    records = fold(outbound_calls())
    assert records[BUSY]["status"] == "completed"
    assert records[BUSY]["outcome"] == "busy"
    assert records[BUSY]["sip_code"] == 486
    assert records[REJECTED]["status"] == "rejected"
    assert records[REJECTED]["outcome"] == "rejected"
    assert records[REJECTED]["detail"] == "invalid_number"
    assert records[REJECTED]["completed_at"] is not None
    assert records[OUTBOUND]["machine_detection"] == "machine"
    assert records[OUTBOUND]["machine_sub_state"] == "beep_start"


def test_late_ringing_never_undoes_answered() -> None:
    events = inbound_call()
    answered, ringing = events[2], events[1]
    record = fold([answered, ringing])[INBOUND]
    assert record["status"] == "answered"


def test_completed_is_final() -> None:
    events = inbound_call()
    record = fold([events[-1], events[0], events[1], events[2]])[INBOUND]
    assert record["status"] == "completed"
    assert record["outcome"] == "answered"


@pytest.mark.parametrize("seed", range(20))
def test_any_order_and_duplicates_give_the_same_records(seed: int) -> None:
    events = inbound_call() + outbound_calls()
    expected = fold(events)
    shuffled = events * 2
    random.Random(seed).shuffle(shuffled)
    assert fold(shuffled) == expected


def test_every_permutation_of_a_busy_leg_agrees() -> None:
    busy = [e for e in outbound_calls() if e.get("uuid") == BUSY]
    results = {repr(sorted(fold(list(order))[BUSY].items())) for order in itertools.permutations(busy)}
    assert len(results) == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "The body must be a JSON object."),
        ({"status": "exploded", "uuid": "x"}, "Unknown status 'exploded'."),
        ({"status": 5, "uuid": "x"}, "'status' must be a string."),
        ({"status": "answered"}, "'uuid' is required."),
        ({"status": "answered", "uuid": "x" * 65}, "'uuid' is longer than 64 characters."),
        ({"status": "answered", "uuid": "x", "timestamp": "yesterday"}, "'timestamp' is not an ISO 8601 date-time"),
        ({"status": "answered", "uuid": "x", "timestamp": 5}, "'timestamp' must be an ISO 8601 date-time string."),
        ({"status": "completed", "uuid": "x", "price": "cheap"}, "'price' is not a number"),
        ({"status": "completed", "uuid": "x", "duration": -3}, "'duration' must be between 0 and"),
        ({"status": "answered", "uuid": "x", "direction": "sideways"}, "'direction' must be inbound or outbound"),
        ({"status": "human"}, "'call_uuid' is required."),
        ({"hello": "world"}, "This is not a Voice API event"),
        ({"status": "answered", "uuid": ["x"]}, "'uuid' must be a string."),
    ],
)
def test_bad_events_are_rejected_with_a_reason(payload, message: str) -> None:
    with pytest.raises(state.EventError) as error:
        state.parse_event(payload)
    assert str(error.value).startswith(message)


def test_dedupe_key_ignores_key_order() -> None:
    assert state.dedupe_key({"a": 1, "b": 2}) == state.dedupe_key({"b": 2, "a": 1})
    assert state.dedupe_key({"a": 1}) != state.dedupe_key({"a": 2})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from([*state.CALL_STATUSES, "human", "machine", "transfer", "nope"]) | json_values,
        "uuid": st.text(max_size=80) | json_values,
        "call_uuid": st.text(max_size=80),
        "timestamp": st.sampled_from(["2026-11-23T10:00:00.000Z", "2026-13-45T99:00:00Z", ""]) | json_values,
        "duration": json_values,
        "price": json_values,
        "rate": json_values,
        "sip_code": json_values,
        "direction": json_values,
        "from": json_values,
        "to": json_values,
        "dtmf": json_values,
        "reason": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(event_like)
def test_parse_event_either_parses_or_says_why(payload) -> None:
    try:
        parsed = state.parse_event(payload)
    except state.EventError as error:
        assert str(error)
        return
    merged = state.merge({}, parsed)
    assert isinstance(merged, dict)
