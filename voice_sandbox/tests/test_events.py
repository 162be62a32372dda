"""Event order and fields, checked with a real HTTP webhook receiver (voice-api.md section 4)."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import jwt
import pytest

from voice_sandbox.testing import SandboxServer
from voice_sandbox.tests.conftest import Received, Reply, Setup, WebhookReceiver, fresh_number

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
COMMON = ["from", "to", "uuid", "conversation_uuid", "status", "direction", "timestamp"]
COMPLETED_EXTRA = ["start_time", "end_time", "duration", "rate", "price", "network", "disconnected_by", "sip_code"]


def assert_common(event: dict[str, Any], *, uuid: str, status: str, direction: str, extra: list[str]) -> None:
    assert list(event) == COMMON + extra
    assert (event["uuid"], event["status"], event["direction"]) == (uuid, status, direction)
    assert ISO_MS.match(event["timestamp"]), event["timestamp"]
    assert event["conversation_uuid"].startswith("CON-")


def heard_until(sandbox: SandboxServer, uuid: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    heard: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        heard = sandbox.call(uuid)["heard"]
        if len(heard) >= count:
            return heard
        time.sleep(0.02)
    raise TimeoutError(f"heard {heard}")


def test_outbound_answered_sends_started_ringing_answered_completed(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="answer", rings=2)
    call = setup.outbound(callee, [{"action": "talk", "text": "Your parcel arrives today"}])
    setup.receiver.wait_status(call["uuid"], "completed")
    events = setup.events(call["uuid"])
    assert [e["status"] for e in events] == ["started", "ringing", "answered", "completed"]
    started, ringing, answered, completed = events
    for event in (started, ringing):
        assert_common(event, uuid=call["uuid"], status=event["status"], direction="outbound", extra=[])
    assert_common(
        answered, uuid=call["uuid"], status="answered", direction="outbound", extra=["start_time", "rate", "network"]
    )
    assert (answered["start_time"], answered["rate"], answered["network"]) == (None, None, None)
    assert_common(completed, uuid=call["uuid"], status="completed", direction="outbound", extra=COMPLETED_EXTRA)
    assert (completed["from"], completed["to"]) == (setup.number, callee)
    assert {e["conversation_uuid"] for e in events} == {call["conversation_uuid"]}
    assert ISO_MS.match(completed["start_time"]) and ISO_MS.match(completed["end_time"])
    assert (completed["rate"], completed["network"], completed["disconnected_by"], completed["sip_code"]) == (
        "0.01000000",
        "23420",
        "platform",
        200,
    )
    leg = setup.sandbox.wait_until(call["uuid"], lambda leg: len(leg["webhooks"]) == 4)
    assert leg["heard"] == [{"type": "talk", "text": "Your parcel arrives today", "language": "en-US"}]
    assert (leg["status"], leg["direction"], leg["from"], leg["to"]) == ("completed", "outbound", setup.number, callee)
    assert [w["payload"].get("status") for w in leg["webhooks"]] == ["started", "ringing", "answered", "completed"]


def test_outbound_busy_sends_busy_then_completed(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="busy")
    call = setup.outbound(callee)
    setup.receiver.wait_status(call["uuid"], "completed")
    events = setup.events(call["uuid"])
    assert [e["status"] for e in events] == ["started", "busy", "completed"]
    assert_common(events[1], uuid=call["uuid"], status="busy", direction="outbound", extra=["sip_code"])
    assert events[1]["sip_code"] == 486
    assert (events[2]["duration"], events[2]["price"], events[2]["sip_code"]) == ("0", "0.00000000", 486)
    assert setup.sandbox.call(call["uuid"])["heard"] == []


def test_outbound_unanswered_sends_unanswered_with_detail(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="unanswered", rings=3)
    call = setup.outbound(callee)
    setup.receiver.wait_status(call["uuid"], "completed")
    events = setup.events(call["uuid"])
    assert [e["status"] for e in events] == ["started", "ringing", "unanswered", "completed"]
    assert_common(events[2], uuid=call["uuid"], status="unanswered", direction="outbound", extra=["detail", "sip_code"])
    assert (events[2]["detail"], events[2]["sip_code"]) == ("carrier_timeout", 480)


def test_outbound_ringing_timer_gives_timeout(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="answer", rings=10)
    call = setup.outbound(callee, ringing_timer=3)
    setup.receiver.wait_status(call["uuid"], "completed")
    assert [e["status"] for e in setup.events(call["uuid"])] == ["started", "ringing", "timeout", "completed"]


def test_outbound_rejected_is_terminal_without_completed(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="reject")
    call = setup.outbound(callee)
    setup.receiver.wait_status(call["uuid"], "rejected")
    setup.sandbox.wait_for_status(call["uuid"], "rejected")
    time.sleep(0.3)  # long enough at speed 20 for a (wrong) completed to arrive
    events = setup.events(call["uuid"])
    assert [e["status"] for e in events] == ["started", "ringing", "rejected"]
    assert_common(events[2], uuid=call["uuid"], status="rejected", direction="outbound", extra=["detail", "sip_code"])
    assert (events[2]["detail"], events[2]["sip_code"]) == ("declined", 603)


def test_inbound_answered_fetches_answer_between_ringing_and_answered(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Welcome to Acme", "language": "en-GB"}])
    call = setup.sandbox.place_inbound(from_="447700900123", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    sequence = [
        (r.path, r.data.get("status"))
        for r in setup.receiver.requests
        if r.data.get("uuid") == call["uuid"] and r.path in ("/answer", "/event")
    ]
    assert sequence == [
        ("/event", "started"),
        ("/event", "ringing"),
        ("/answer", None),
        ("/event", "answered"),
        ("/event", "completed"),
    ]
    answer = setup.receiver.at("/answer")[0]
    assert answer.method == "GET"
    assert answer.query == {
        "to": setup.number,
        "from": "447700900123",
        "uuid": call["uuid"],
        "conversation_uuid": call["conversation_uuid"],
        "endpoint_type": "phone",
        "region_url": setup.sandbox.url,
    }
    completed = setup.events(call["uuid"])[-1]
    assert_common(completed, uuid=call["uuid"], status="completed", direction="inbound", extra=COMPLETED_EXTRA)
    assert (completed["from"], completed["to"]) == ("447700900123", setup.number)
    assert setup.sandbox.call(call["uuid"])["heard"] == [
        {"type": "talk", "text": "Welcome to Acme", "language": "en-GB"}
    ]


def test_answer_by_post_sends_json(sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    setup = Setup(sandbox, receiver, answer_method="POST")
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Posted"}])
    call = sandbox.place_inbound(from_="447700900124", to=setup.number)
    receiver.wait_status(call["uuid"], "completed")
    answer = receiver.at("/answer")[0]
    assert (answer.method, answer.headers["content-type"], answer.query) == ("POST", "application/json", {})
    assert answer.json["uuid"] == call["uuid"]


def test_connect_to_a_second_party_bridges_and_resumes_the_ncco(setup: Setup) -> None:
    agent = fresh_number()
    setup.sandbox.set_phone(
        agent, on_ring="answer", rings=1, script=[{"wait": 1}, {"say": "Hello, how can I help"}, {"hangup": True}]
    )
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "talk", "text": "Connecting you"},
            {
                "action": "connect",
                "from": setup.number,
                "endpoint": [{"type": "phone", "number": agent}],
                "eventUrl": [f"{setup.receiver.url}/connect-event"],
            },
            {"action": "talk", "text": "The agent has left"},
        ]
    )
    call = setup.sandbox.place_inbound(
        from_="447700900125", to=setup.number, script=[{"wait_for": "conversation"}, {"say": "I have a question"}]
    )
    setup.receiver.wait_status(call["uuid"], "completed")
    connect_events = [r.data for r in setup.receiver.at("/connect-event")]
    callee = connect_events[0]["uuid"]
    assert callee != call["uuid"]
    assert [e["status"] for e in connect_events] == ["started", "ringing", "answered", "completed"]
    assert {e["conversation_uuid"] for e in connect_events} == {call["conversation_uuid"]}
    for event in connect_events:
        assert (event["from"], event["to"], event["direction"]) == (setup.number, agent, "outbound")
    assert connect_events[-1]["disconnected_by"] == "user"
    assert setup.sandbox.call(call["uuid"])["heard"] == [
        {"type": "talk", "text": "Connecting you", "language": "en-US"},
        {"type": "speech", "text": "Hello, how can I help", "from": callee},
        {"type": "talk", "text": "The agent has left", "language": "en-US"},
    ]
    assert setup.sandbox.call(callee)["parent_uuid"] == call["uuid"]
    assert setup.sandbox.call(callee)["heard"] == [
        {"type": "speech", "text": "I have a question", "from": call["uuid"]}
    ]
    assert [e["status"] for e in setup.events(call["uuid"])] == ["started", "ringing", "answered", "completed"]


def test_input_with_dtmf_posts_digits_and_runs_the_returned_ncco(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "talk", "text": "Press your account number then hash", "bargeIn": True},
            {
                "action": "input",
                "type": ["dtmf"],
                "dtmf": {"maxDigits": 6, "submitOnHash": True, "timeOut": 5},
                "eventUrl": [f"{setup.receiver.url}/input"],
            },
            {"action": "talk", "text": "Never said: the input answer replaces this"},
        ]
    )
    setup.receiver.replies["/input"] = Reply(body=[{"action": "talk", "text": "You entered 4217"}])
    call = setup.sandbox.place_inbound(
        from_="447700900126", to=setup.number, script=[{"wait_for": "input"}, {"dtmf": "4217#"}]
    )
    setup.receiver.wait_status(call["uuid"], "completed")
    (received,) = setup.receiver.at("/input")
    body = received.json
    assert list(body) == ["speech", "dtmf", "from", "to", "uuid", "conversation_uuid", "timestamp"]
    assert body["speech"] == {"results": []}
    assert body["dtmf"] == {"digits": "4217", "timed_out": False}
    assert (body["from"], body["to"], body["uuid"]) == ("447700900126", setup.number, call["uuid"])
    assert ISO_MS.match(body["timestamp"])
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == [
        "Press your account number then hash",
        "You entered 4217",
    ]


def test_input_timeout_posts_empty_digits_and_continues(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "input", "type": ["dtmf"], "dtmf": {"timeOut": 2}, "eventUrl": [f"{setup.receiver.url}/input"]},
            {"action": "talk", "text": "We did not get that"},
        ]
    )
    call = setup.sandbox.place_inbound(from_="447700900127", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    (received,) = setup.receiver.at("/input")
    assert received.json["dtmf"] == {"digits": "", "timed_out": True}
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["We did not get that"]


def test_input_with_speech_returns_results(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "input",
                "type": ["speech"],
                "speech": {"endOnSilence": 1, "language": "en-GB", "context": ["sales", "support"]},
                "eventUrl": [f"{setup.receiver.url}/input"],
            }
        ]
    )
    call = setup.sandbox.place_inbound(
        from_="447700900128", to=setup.number, script=[{"wait_for": "input"}, {"say": "sales please"}]
    )
    setup.receiver.wait_status(call["uuid"], "completed")
    body = setup.receiver.at("/input")[0].json
    assert body["speech"] == {
        "timeout_reason": "end_on_silence_timeout",
        "results": [{"text": "sales please", "confidence": 0.95}],
    }
    assert body["dtmf"] == {"digits": None, "timed_out": False}


def test_notify_answer_replaces_the_rest_of_the_ncco(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "notify", "payload": {"step": "greeted"}, "eventUrl": [f"{setup.receiver.url}/notify"]},
            {"action": "talk", "text": "Replaced before it plays"},
        ]
    )
    setup.receiver.replies["/notify"] = Reply(body=[{"action": "talk", "text": "New instructions"}])
    call = setup.sandbox.place_inbound(from_="447700900129", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    (notify,) = setup.receiver.at("/notify")
    assert list(notify.json) == ["payload", "conversation_uuid", "timestamp"]
    assert notify.json["payload"] == {"step": "greeted"}
    assert notify.json["conversation_uuid"] == call["conversation_uuid"]
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["New instructions"]


def test_rest_transfer_sends_transfer_event_and_runs_the_new_ncco(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(body=[{"action": "conversation", "name": "queue-1"}])
    call = setup.sandbox.place_inbound(from_="447700900130", to=setup.number)
    setup.sandbox.wait_for_status(call["uuid"], "answered")
    room = heard_conversation(setup.sandbox, call["uuid"])
    response = setup.voice.request(
        "PUT",
        f"/v1/calls/{call['uuid']}",
        json={"action": "transfer", "destination": {"type": "ncco", "ncco": [{"action": "talk", "text": "Survey"}]}},
    )
    assert (response.status_code, response.content) == (204, b"")
    setup.receiver.wait_status(call["uuid"], "completed")
    events = [r.data for r in setup.receiver.at("/event") if r.data.get("uuid") == call["uuid"]]
    assert [e.get("status") or e.get("type") for e in events] == [
        "started",
        "ringing",
        "answered",
        "transfer",
        "completed",
    ]
    transfer = events[3]
    assert list(transfer) == ["conversation_uuid_from", "conversation_uuid_to", "uuid", "timestamp", "type"]
    assert transfer["conversation_uuid_from"] == room
    assert transfer["conversation_uuid_to"] == events[4]["conversation_uuid"] != room
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["Survey"]


def heard_conversation(sandbox: SandboxServer, uuid: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conversation = sandbox.call(uuid).get("conversation")
        if conversation and conversation["name"]:
            return str(conversation["uuid"])
        time.sleep(0.02)
    raise TimeoutError("never joined a named conversation")


def test_conversation_with_three_members_honours_can_hear_and_can_speak(setup: Setup) -> None:
    plans: dict[str, list[dict[str, Any]]] = {}
    setup.receiver.replies["/answer"] = lambda request: Reply(body=plans[request.query["from"]])
    plans["447700900201"] = [{"action": "conversation", "name": "room"}]
    a = setup.sandbox.place_inbound(from_="447700900201", to=setup.number)["uuid"]
    room = heard_conversation(setup.sandbox, a)
    plans["447700900202"] = [{"action": "conversation", "name": "room", "canHear": [a]}]
    b = setup.sandbox.place_inbound(from_="447700900202", to=setup.number)["uuid"]
    plans["447700900203"] = [{"action": "conversation", "name": "room", "canSpeak": [a]}]
    c = setup.sandbox.place_inbound(from_="447700900203", to=setup.number)["uuid"]
    assert heard_conversation(setup.sandbox, b) == heard_conversation(setup.sandbox, c) == room
    assert setup.sandbox.call(a)["conversation"]["members"] == sorted([a, b, c])

    setup.sandbox.run_script(a, [{"say": "from A"}])
    heard_until(setup.sandbox, c, 1)
    setup.sandbox.run_script(b, [{"say": "from B"}])
    heard_until(setup.sandbox, c, 2)
    setup.sandbox.run_script(c, [{"say": "from C"}])
    heard_until(setup.sandbox, a, 2)
    for leg in (a, b, c):
        setup.sandbox.run_script(leg, [{"hangup": True}])
    for leg in (a, b, c):
        setup.receiver.wait_status(leg, "completed")

    def speech(uuid: str) -> list[tuple[str, str]]:
        return [(h["text"], h["from"]) for h in setup.sandbox.call(uuid)["heard"]]

    assert speech(a) == [("from B", b), ("from C", c)]
    assert speech(b) == [("from A", a)]  # canHear [A]: C is not heard
    assert speech(c) == [("from A", a), ("from B", b)]  # C hears everyone, but only A hears C
    for leg in (a, b, c):
        assert setup.events(leg)[-1]["conversation_uuid"] == room


def test_signed_callbacks_carry_an_hs256_jwt_with_the_payload_hash(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    setup = Setup(sandbox, receiver, signed_callbacks=True)
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Signed"}])
    call = sandbox.place_inbound(from_="447700900131", to=setup.number)
    receiver.wait_status(call["uuid"], "completed")
    requests: list[Received] = [r for r in receiver.requests if r.path in ("/answer", "/event")]
    assert len(requests) == 5
    for request in requests:
        scheme, token = request.headers["authorization"].split(" ", 1)
        assert scheme == "Bearer"
        claims = jwt.decode(token, sandbox.signature_secret, algorithms=["HS256"])
        assert claims["payload_hash"] == hashlib.sha256(request.body).hexdigest()
        assert (claims["iss"], claims["api_key"], claims["application_id"]) == ("Vonage", sandbox.api_key, setup.app_id)
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            requests[0].headers["authorization"][7:],
            "a-wrong-secret-that-is-long-enough-for-hs256",
            algorithms=["HS256"],
        )


def test_machine_detection_reports_machine_and_hangs_up(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="answer", machine=True)
    call = setup.outbound(
        callee,
        [{"action": "stream", "streamUrl": [f"{setup.receiver.url}/vm.mp3"], "loop": 0}],
        machine_detection="hangup",
    )
    setup.receiver.wait_status(call["uuid"], "completed")
    machine = [r.data for r in setup.receiver.at("/event") if r.data.get("call_uuid") == call["uuid"]]
    assert len(machine) == 1
    assert list(machine[0]) == ["call_uuid", "conversation_uuid", "status", "to", "from", "timestamp"]
    assert machine[0]["status"] == "machine"
    assert [e["status"] for e in setup.events(call["uuid"])] == ["started", "ringing", "answered", "completed"]


def test_record_with_end_on_key_posts_a_downloadable_recording(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "record", "endOnKey": "#", "beepStart": True, "eventUrl": [f"{setup.receiver.url}/record"]},
            {"action": "talk", "text": "Thanks for your message"},
        ]
    )
    call = setup.sandbox.place_inbound(from_="447700900132", to=setup.number, script=[{"wait": 2}, {"dtmf": "#"}])
    setup.receiver.wait_status(call["uuid"], "completed")
    (record,) = setup.receiver.at("/record")
    body = record.json
    assert list(body) == [
        "start_time",
        "recording_url",
        "size",
        "recording_uuid",
        "end_time",
        "conversation_uuid",
        "timestamp",
    ]
    assert body["recording_url"].startswith(f"{setup.sandbox.url}/v1/files/")
    download = setup.voice.request("GET", body["recording_url"].removeprefix(setup.sandbox.url))
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/wav"
    assert len(download.content) == body["size"]
    assert download.content[:4] == b"RIFF"
    assert setup.sandbox.call(call["uuid"])["heard"] == [
        {"type": "beep"},
        {"type": "talk", "text": "Thanks for your message", "language": "en-US"},
    ]


def test_clock_speed_changes_live(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[{"action": "wait", "timeout": 40}, {"action": "talk", "text": "Done"}]
    )
    setup.sandbox.set_speed(1)
    try:
        call = setup.sandbox.place_inbound(from_="447700900133", to=setup.number)
        setup.sandbox.wait_for_status(call["uuid"], "answered")
        started = time.monotonic()
        setup.sandbox.set_speed(200)
        setup.sandbox.wait_for_status(call["uuid"], "completed", timeout=5)
        assert time.monotonic() - started < 2  # 40 simulated s at x200 = 0.2 s
        response = setup.sandbox.request("GET", "/_sandbox/clock", expect=200)
        assert response.json() == {"speed": 200.0}
    finally:
        setup.sandbox.set_speed(20)
