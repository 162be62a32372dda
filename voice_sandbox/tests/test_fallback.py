"""Answer URL retries and the fallback answer URL (voice-api.md 4.8 and 4.9)."""

from __future__ import annotations

import json

from voice_sandbox.testing import SandboxServer
from voice_sandbox.tests.conftest import Reply, WebhookReceiver, fresh_number


def _app(sandbox: SandboxServer, receiver: WebhookReceiver) -> str:
    number = fresh_number()
    app_id, _key = sandbox.create_application(
        "fallback",
        answer_url=f"{receiver.url}/answer",
        event_url=f"{receiver.url}/event",
        fallback_url=f"{receiver.url}/fallback",
        timeouts={"connect_timeout": 300, "socket_timeout": 1000},
    )
    sandbox.buy_number(number, app_id=app_id)
    return number


def test_answer_url_timing_out_twice_falls_back_to_the_fallback_url(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    number = _app(sandbox, receiver)
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Too late"}], delay=1.3)
    receiver.replies["/fallback"] = Reply(body=[{"action": "talk", "text": "Served by the fallback"}])
    call = sandbox.place_inbound(from_="447700900301", to=number)
    receiver.wait_status(call["uuid"], "completed")

    answers, fallbacks = receiver.at("/answer"), receiver.at("/fallback")
    assert len(answers) == 2
    assert answers[0].query == answers[1].query
    (fallback,) = fallbacks
    assert fallback.method == "GET"
    assert fallback.query["uuid"] == call["uuid"]
    assert fallback.query["reason"] == "Socket timeout."
    assert json.loads(fallback.query["original_request"]) == {"url": f"{receiver.url}/answer", "type": "answer"}
    assert sandbox.call(call["uuid"])["heard"] == [
        {"type": "talk", "text": "Served by the fallback", "language": "en-US"}
    ]
    leg = sandbox.wait_until(call["uuid"], lambda leg: leg["webhooks"][-1]["payload"].get("status") == "completed")
    kinds = [(w["kind"], w.get("error"), w["attempt"]) for w in leg["webhooks"] if w["kind"] != "event"]
    assert kinds == [("answer", "Socket timeout.", 1), ("answer", "Socket timeout.", 2), ("fallback", None, 1)]
    assert [w["payload"]["status"] for w in leg["webhooks"] if w["kind"] == "event"] == [
        "started",
        "ringing",
        "answered",
        "completed",
    ]


def test_answer_url_503_is_retried_then_succeeds(sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    number = _app(sandbox, receiver)
    receiver.replies["/answer"] = [Reply(status=503), Reply(body=[{"action": "talk", "text": "Second time lucky"}])]
    call = sandbox.place_inbound(from_="447700900302", to=number)
    receiver.wait_status(call["uuid"], "completed")
    assert len(receiver.at("/answer")) == 2
    assert receiver.at("/fallback") == []
    assert [h["text"] for h in sandbox.call(call["uuid"])["heard"]] == ["Second time lucky"]


def test_invalid_ncco_sends_an_error_event_and_falls_back_at_once(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    number = _app(sandbox, receiver)
    receiver.replies["/answer"] = Reply(body=[{"action": "dance"}])
    receiver.replies["/fallback"] = Reply(body=[{"action": "talk", "text": "Fallback after a bad NCCO"}])
    call = sandbox.place_inbound(from_="447700900303", to=number)
    receiver.wait_status(call["uuid"], "completed")
    assert len(receiver.at("/answer")) == 1  # an invalid NCCO is not retried
    errors = [r.json for r in receiver.at("/event") if "reason" in r.json]
    assert len(errors) == 1
    assert list(errors[0]) == ["reason", "conversation_uuid", "timestamp"]
    assert errors[0]["reason"] == "Syntax error in NCCO. Invalid value type or action."
    assert errors[0]["conversation_uuid"] == call["conversation_uuid"]
    (fallback,) = receiver.at("/fallback")
    assert fallback.query["reason"] == "Invalid NCCO."
    assert [h["text"] for h in sandbox.call(call["uuid"])["heard"]] == ["Fallback after a bad NCCO"]


def test_when_answer_and_fallback_both_fail_the_call_fails(sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    number = _app(sandbox, receiver)
    receiver.replies["/answer"] = Reply(status=500)
    receiver.replies["/fallback"] = Reply(status=500)
    call = sandbox.place_inbound(from_="447700900304", to=number)
    receiver.wait_status(call["uuid"], "completed")
    # 500 is not a retry trigger for NCCO requests: one answer attempt, then the fallback (once, for the same reason).
    assert (len(receiver.at("/answer")), len(receiver.at("/fallback"))) == (1, 1)
    assert receiver.at("/fallback")[0].query["reason"] == "Invalid response code."
    assert receiver.statuses(call["uuid"]) == ["started", "ringing", "failed", "completed"]
    assert sandbox.call(call["uuid"])["heard"] == []


def test_input_event_url_failure_uses_the_fallback_and_the_flow_continues(
    sandbox: SandboxServer, receiver: WebhookReceiver
) -> None:
    number = _app(sandbox, receiver)
    receiver.replies["/answer"] = Reply(
        body=[
            {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "eventUrl": [f"{receiver.url}/input"]},
            {"action": "talk", "text": "Carry on"},
        ]
    )
    receiver.replies["/input"] = Reply(status=504)
    receiver.replies["/fallback"] = Reply(status=200, body={"not": "an ncco"})
    call = sandbox.place_inbound(from_="447700900305", to=number, script=[{"wait_for": "input"}, {"dtmf": "5"}])
    receiver.wait_status(call["uuid"], "completed")
    assert len(receiver.at("/input")) == 2
    (fallback,) = receiver.at("/fallback")
    assert json.loads(fallback.query["original_request"]) == {"url": f"{receiver.url}/input", "type": "event"}
    assert fallback.query["reason"] == "Invalid response code."
    assert [h["text"] for h in sandbox.call(call["uuid"])["heard"]] == ["Carry on"]
