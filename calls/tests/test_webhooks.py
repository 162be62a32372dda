"""The webhooks through HTTP: idempotent, order-independent, signed, and strict about input."""

from __future__ import annotations

import json
import random

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import Call, CallEvent, Interaction
from calls.tests.fixtures import AGENT_LEG, BUSY, INBOUND, OUTBOUND, REJECTED, inbound_call, outbound_calls
from contactcenter.voice.signatures import sign_request

# The webhooks do their database work on worker threads (their own connections), so tests
# must really commit: transactional_db.
pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cr3t-signature-secret-for-tests"
RECORD_FIELDS = (
    "uuid", "conversation_uuid", "direction", "from_number", "to_number", "status", "outcome", "started_at",
    "ringing_at", "answered_at", "completed_at", "duration", "rate", "price", "network", "disconnected_by",
    "detail", "sip_code", "machine_detection", "machine_sub_state", "last_event_at",
)  # fmt: skip


def post_event(client: Client, payload, *, path: str = "/webhooks/event", **headers):
    return client.post(path, data=json.dumps(payload), content_type="application/json", headers=headers)


def snapshot() -> dict:
    calls = {c.uuid: tuple(getattr(c, f) for f in RECORD_FIELDS) for c in Call.objects.all()}
    groups = sorted(
        sorted(Call.objects.filter(interaction=i).values_list("uuid", flat=True)) for i in Interaction.objects.all()
    )
    events = sorted(CallEvent.objects.values_list("dedupe_key", "kind", "status", "uuid"))
    return {"calls": calls, "interactions": groups, "events": events}


def replay(events: list[dict]) -> None:
    client = Client()
    for payload in events:
        response = post_event(client, payload)
        assert response.status_code == 200, response.content


def test_in_order_replay_builds_the_records() -> None:
    replay(inbound_call() + outbound_calls())
    caller = Call.objects.get(uuid=INBOUND)
    assert (caller.status, caller.outcome, caller.duration, str(caller.price)) == (
        "completed",
        "answered",
        127,
        "0.00952500",
    )
    assert caller.direction == "inbound"
    assert caller.from_number == "447700900123"
    agent_leg = Call.objects.get(uuid=AGENT_LEG)
    assert agent_leg.interaction_id == caller.interaction_id
    assert agent_leg.machine_detection == "human"
    assert caller.interaction.customer_number == "447700900123"
    assert caller.interaction.started_at.isoformat() == "2026-11-23T10:00:00+00:00"
    assert caller.interaction.ended_at.isoformat() == "2026-11-23T10:02:08+00:00"
    assert Call.objects.get(uuid=BUSY).outcome == "busy"
    assert Call.objects.get(uuid=REJECTED).status == "rejected"
    assert Call.objects.get(uuid=OUTBOUND).machine_detection == "machine"
    assert CallEvent.objects.count() == len(inbound_call() + outbound_calls())
    assert CallEvent.objects.filter(kind="input", call__uuid=INBOUND).count() == 1
    assert CallEvent.objects.filter(kind="recording", call__uuid=OUTBOUND).count() == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_triple_delivery_gives_the_same_records_as_in_order(seed: int, django_db_blocker) -> None:
    events = inbound_call() + outbound_calls()
    replay(events)
    expected = snapshot()
    Call.objects.all().delete()
    Interaction.objects.all().delete()
    CallEvent.objects.all().delete()
    rng = random.Random(seed)
    for _ in range(3):
        shuffled = list(events)
        rng.shuffle(shuffled)
        replay(shuffled)
    actual = snapshot()
    for uuid, record in expected["calls"].items():
        assert dict(zip(RECORD_FIELDS, actual["calls"][uuid], strict=True)) == dict(
            zip(RECORD_FIELDS, record, strict=True)
        )
    assert actual == expected


def test_duplicate_event_changes_nothing() -> None:
    first = inbound_call()[2]
    replay([first])
    before = snapshot()
    assert post_event(Client(), first).status_code == 200
    assert snapshot() == before


def test_unknown_call_gets_200_and_is_recorded() -> None:
    payload = {"uuid": "never-seen", "conversation_uuid": "CON-x", "status": "ringing", "direction": "inbound",
               "from": "1", "to": "2", "timestamp": "2026-11-23T09:00:00.000Z"}  # fmt: skip
    assert post_event(Client(), payload).status_code == 200
    call = Call.objects.get(uuid="never-seen")
    assert call.status == "ringing"
    assert call.events.count() == 1


def test_event_by_get_query_string() -> None:
    response = Client().get("/webhooks/event", {"uuid": "g-1", "status": "started", "direction": "outbound",
                                               "timestamp": "2026-11-23T09:00:00.000Z"})  # fmt: skip
    assert response.status_code == 200
    assert Call.objects.get(uuid="g-1").status == "started"


BAD_BODIES = [
    (b"{not json", 400, "The body is not valid JSON."),
    (b"[1, 2, 3]", 400, "The body must be a JSON object."),
    (b"", 400, "The body is empty; a JSON object was expected."),
    (json.dumps({"uuid": "u", "status": "exploded"}).encode(), 400, "Unknown status 'exploded'."),
    (json.dumps({"status": "answered"}).encode(), 400, "'uuid' is required."),
    (json.dumps({"uuid": "u", "status": "completed", "price": {"a": 1}}).encode(), 400, "'price' must be a decimal"),
    (b"\xff\xfe\x00", 400, "The body is not valid JSON."),
    (json.dumps({"uuid": "u\x00", "status": "ringing"}).encode(), 400, "The payload contains a NUL character"),
    (json.dumps({"uuid": "u", "status": "ringing", "dtmf": {"\x00": 1}}).encode(), 400, "The payload contains a NUL"),
    (b'{"uuid": "u", "status": "ringing", "dtmf": Infinity}', 400, "The body is not valid JSON."),
    (json.dumps({"uuid": "u", "status": "ringing", "pad": "x" * 70_000}).encode(), 413, "The body is larger than"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_bad_event_bodies_get_4xx_and_change_nothing(body: bytes, status: int, message: str) -> None:
    replay(inbound_call()[:2])
    before = snapshot()
    response = Client().post("/webhooks/event", data=body, content_type="application/json")
    assert response.status_code == status
    assert response.json()["error"].startswith(message)
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/webhooks/event", "/webhooks/answer", "/webhooks/fallback"])
def test_wrong_methods_get_405(path: str) -> None:
    assert Client().put(path, data="{}", content_type="application/json").status_code == 405
    assert Client().delete(path).status_code == 405
    assert Call.objects.count() == 0


@override_settings(VONAGE_SIGNATURE_SECRET=SECRET)
def test_signed_event_is_accepted() -> None:
    payload = inbound_call()[0]
    body = json.dumps(payload).encode()
    token = sign_request(body, SECRET, api_key="abcd1234")
    response = Client().post("/webhooks/event", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.status_code == 200
    assert Call.objects.get(uuid=INBOUND).status == "started"


@override_settings(VONAGE_SIGNATURE_SECRET=SECRET)
@pytest.mark.parametrize("case", ["missing", "wrong-secret", "tampered-body", "garbage"])
def test_bad_signature_gets_401_and_changes_nothing(case: str) -> None:
    replay_signed = inbound_call()[0]
    good = json.dumps(replay_signed).encode()
    headers = {}
    body = good
    if case == "wrong-secret":
        headers["Authorization"] = f"Bearer {sign_request(good, 'another-secret')}"
    elif case == "tampered-body":
        headers["Authorization"] = f"Bearer {sign_request(good, SECRET)}"
        body = good.replace(b"started", b"answered")
    elif case == "garbage":
        headers["Authorization"] = "Bearer not.a.jwt"
    before = snapshot()
    for path in ("/webhooks/event", "/webhooks/answer"):
        response = Client().post(path, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"].startswith("Signature check failed")
    assert snapshot() == before


@override_settings(VONAGE_SIGNATURE_SECRET=SECRET)
def test_signed_answer_by_get_hashes_the_empty_body() -> None:
    token = sign_request(b"", SECRET)
    response = Client().get("/webhooks/answer", {"uuid": "ans-1", "from": "447700900123", "to": "447700900000"},
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.status_code == 200


def test_answer_get_records_the_leg_and_returns_ncco_json() -> None:
    query = {"uuid": "ans-1", "conversation_uuid": "CON-ans", "from": "447700900123", "to": "447700900000",
             "endpoint_type": "phone", "region_url": "https://api-eu-3.vonage.com"}  # fmt: skip
    response = Client().get("/webhooks/answer", query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    ncco = response.json()
    assert ncco[0]["action"] == "talk"
    call = Call.objects.get(uuid="ans-1")
    assert (call.direction, call.from_number, call.to_number, call.endpoint_type) == (
        "inbound", "447700900123", "447700900000", "phone"
    )  # fmt: skip
    again = Client().get("/webhooks/answer", query)
    assert again.json() == ncco
    assert Call.objects.count() == 1
    assert CallEvent.objects.filter(kind="answer").count() == 1


def test_answer_post_serves_the_ncco_stored_for_a_call_we_placed() -> None:
    from calls.services import call_register_outbound

    ncco = [{"action": "talk", "text": "Your appointment is tomorrow at ten."}]
    call_register_outbound(uuid="out-1", conversation_uuid="CON-out", to_number="447700900777",
                           from_number="447700900000", answer_ncco=ncco)  # fmt: skip
    response = post_event(Client(), {"uuid": "out-1", "conversation_uuid": "CON-out", "to": "447700900777",
                                     "from": "447700900000"}, path="/webhooks/answer")  # fmt: skip
    assert response.status_code == 200
    assert response.json() == ncco
    assert Call.objects.get(uuid="out-1").direction == "outbound"


@pytest.mark.parametrize(
    ("query", "message"),
    [({}, "'uuid' is required."), ({"uuid": "x" * 100}, "'uuid' is longer than 64 characters.")],
)
def test_bad_answer_requests_get_400_and_change_nothing(query, message) -> None:
    response = Client().get("/webhooks/answer", query)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert Call.objects.count() == 0


def test_fallback_for_answer_serves_the_answer_ncco() -> None:
    payload = {
        "uuid": "fb-1",
        "conversation_uuid": "CON-fb",
        "from": "447700900123",
        "to": "447700900000",
        "reason": "Socket timeout.",
        "original_request": {"url": "http://x/webhooks/answer", "type": "answer"},
    }
    response = post_event(Client(), payload, path="/webhooks/fallback")
    assert response.status_code == 200
    assert response.json()[0]["action"] == "talk"
    assert Call.objects.get(uuid="fb-1").direction == "inbound"


def test_fallback_for_an_event_records_it_once() -> None:
    original = inbound_call()[2]
    payload = {**original, "reason": "Invalid response code.", "original_request": {"url": "x", "type": "event"}}
    assert post_event(Client(), payload, path="/webhooks/fallback").status_code == 204
    assert post_event(Client(), original).status_code == 200  # the late original is a duplicate
    assert CallEvent.objects.count() == 1
    assert Call.objects.get(uuid=INBOUND).status == "answered"


def test_state_changes_are_pushed_to_supervisors_after_commit() -> None:
    import asyncio

    from channels.layers import get_channel_layer

    from contactcenter.realtime import supervisors_group

    async def scenario() -> list[dict]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(supervisors_group(), channel)
        try:
            await asyncio.to_thread(replay, inbound_call()[:3])
            received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(3)]
            await asyncio.to_thread(post_event, Client(), inbound_call()[1])  # duplicate: no push
            await asyncio.to_thread(post_event, Client(), inbound_call()[-1])
            received.append(await asyncio.wait_for(layer.receive(channel), 5))
            return received
        finally:
            await layer.group_discard(supervisors_group(), channel)

    received = asyncio.run(scenario())
    call = Call.objects.get(uuid=INBOUND)
    assert [m["event"] for m in received] == ["call.started", "call.ringing", "call.answered", "call.completed"]
    assert received[2]["payload"]["id"] == call.pk
    assert received[2]["payload"]["status"] == "answered"
    assert received[3]["payload"]["outcome"] == "answered"


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
payloads = st.dictionaries(
    st.sampled_from(["uuid", "call_uuid", "status", "timestamp", "from", "to", "direction", "duration", "price",
                     "rate", "conversation_uuid", "dtmf", "recording_url", "reason", "sip_code", "type", "x"]),
    json_value | st.sampled_from(["answered", "completed", "ringing", "2026-11-23T10:00:00.000Z", "inbound"]),
    max_size=8,
) | json_value  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads)
def test_arbitrary_payloads_never_cause_a_500(payload) -> None:
    client = Client()
    for path in ("/webhooks/event", "/webhooks/answer"):
        before = (Call.objects.count(), CallEvent.objects.count())
        response = post_event(client, payload, path=path)
        assert response.status_code in (200, 400), (path, payload, response.content)
        if response.status_code == 400:
            assert (Call.objects.count(), CallEvent.objects.count()) == before
            assert response.json()["error"]
    get = client.get("/webhooks/answer", {k: str(v) for k, v in payload.items()} if isinstance(payload, dict) else {})
    assert get.status_code in (200, 400)
