"""NCCO options beyond the basics: moderated conferences, connect options, timers, wait, stream loops."""

from __future__ import annotations

import time

from voice_sandbox.tests.conftest import Reply, Setup, fresh_number


def _wait_conversation(setup: Setup, uuid: str, name: str) -> dict[str, object]:
    return setup.sandbox.wait_until(uuid, lambda leg: (leg.get("conversation") or {}).get("name") == name)


def test_moderated_conference_holds_attendees_records_and_ends_with_the_moderator(setup: Setup) -> None:
    hold = f"{setup.receiver.url}/hold.mp3"
    plans = {
        "447700900601": [
            {"action": "conversation", "name": "briefing", "startOnEnter": False, "musicOnHoldUrl": [hold]},
        ],
        "447700900602": [
            {
                "action": "conversation",
                "name": "briefing",
                "startOnEnter": True,
                "endOnExit": True,
                "record": True,
                "eventUrl": [f"{setup.receiver.url}/recording"],
            }
        ],
    }
    setup.receiver.replies["/answer"] = lambda request: Reply(body=plans[request.query["from"]])
    attendee = setup.sandbox.place_inbound(from_="447700900601", to=setup.number)["uuid"]
    room = _wait_conversation(setup, attendee, "briefing")["conversation"]
    assert room["started"] is False  # type: ignore[index]
    assert setup.sandbox.wait_until(attendee, lambda leg: leg["heard"])["heard"] == [
        {"type": "music_on_hold", "url": hold}
    ]
    setup.sandbox.run_script(attendee, [{"say": "anyone there"}])

    moderator = setup.sandbox.place_inbound(from_="447700900602", to=setup.number)["uuid"]
    assert _wait_conversation(setup, moderator, "briefing")["conversation"]["started"] is True  # type: ignore[index]
    setup.sandbox.run_script(moderator, [{"say": "welcome everyone"}, {"hangup": True}])
    setup.receiver.wait_status(attendee, "completed")
    setup.receiver.wait_status(moderator, "completed")
    assert setup.sandbox.call(attendee)["heard"] == [
        {"type": "music_on_hold", "url": hold},
        {"type": "speech", "text": "welcome everyone", "from": moderator},
    ]
    # Before the moderator came the attendee spoke into a room that had not started: nobody heard it.
    assert setup.sandbox.call(moderator)["heard"] == []
    assert setup.events(attendee)[-1]["disconnected_by"] == "platform"
    assert setup.events(moderator)[-1]["disconnected_by"] == "user"
    (recording,) = [
        r.json
        for r in setup.receiver.wait_for(lambda rs: any(r.path == "/recording" for r in rs))
        if r.path == "/recording"
    ]
    assert recording["conversation_uuid"] == room["uuid"]  # type: ignore[index]
    assert recording["recording_url"].startswith(f"{setup.sandbox.url}/v1/files/")


def test_connect_with_on_answer_dtmf_answer_ringback_and_limit(setup: Setup) -> None:
    agent = fresh_number()
    setup.sandbox.set_phone(agent, on_ring="answer", rings=2)
    ringback = f"{setup.receiver.url}/ringback.mp3"
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "connect",
                "from": setup.number,
                "ringbackTone": ringback,
                "limit": 4,
                "endpoint": [
                    {
                        "type": "phone",
                        "number": agent,
                        "dtmfAnswer": "1p2",
                        "onAnswer": {"url": f"{setup.receiver.url}/whisper"},
                    }
                ],
                "eventUrl": [f"{setup.receiver.url}/agent-event"],
            },
            {"action": "talk", "text": "Call time is up"},
        ]
    )
    setup.receiver.replies["/whisper"] = Reply(body=[{"action": "talk", "text": "Customer from the web site"}])
    call = setup.sandbox.place_inbound(from_="447700900603", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    agent_events = [r.json for r in setup.receiver.at("/agent-event")]
    leg = agent_events[0]["uuid"]
    assert [e["status"] for e in agent_events] == ["started", "ringing", "answered", "completed"]
    assert setup.sandbox.call(leg)["heard"] == [
        {"type": "dtmf", "digits": "1p2"},
        {"type": "talk", "text": "Customer from the web site", "language": "en-US"},
    ]
    (whisper,) = setup.receiver.at("/whisper")
    assert (whisper.method, whisper.query["uuid"], whisper.query["to"]) == ("GET", leg, agent)
    assert setup.sandbox.call(call["uuid"])["heard"] == [
        {"type": "ringback", "url": ringback},
        {"type": "talk", "text": "Call time is up", "language": "en-US"},
    ]
    assert agent_events[-1]["disconnected_by"] == "platform"  # the 4 s limit, not the agent


def test_synchronous_connect_failure_event_can_return_an_ncco(setup: Setup) -> None:
    busy = fresh_number()
    setup.sandbox.set_phone(busy, on_ring="busy")
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "connect",
                "eventType": "synchronous",
                "endpoint": [{"type": "phone", "number": busy}],
                "eventUrl": [f"{setup.receiver.url}/sync"],
            },
            {"action": "talk", "text": "Skipped"},
        ]
    )
    setup.receiver.replies["/sync"] = lambda request: Reply(
        body=[{"action": "talk", "text": "Everyone is busy, leave a message"}]
        if request.json.get("status") == "busy"
        else None
    )
    call = setup.sandbox.place_inbound(from_="447700900604", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    assert [r.json["status"] for r in setup.receiver.at("/sync")] == ["started", "busy", "completed"]
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["Everyone is busy, leave a message"]


def test_connect_timeout_and_random_from_number(setup: Setup) -> None:
    slow = fresh_number()
    setup.sandbox.set_phone(slow, on_ring="answer", rings=20)
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "connect",
                "randomFromNumber": True,
                "timeout": 3,
                "endpoint": [{"type": "phone", "number": slow}],
                "eventUrl": [f"{setup.receiver.url}/slow"],
            },
            {"action": "talk", "text": "Nobody picked up"},
        ]
    )
    call = setup.sandbox.place_inbound(from_="447700900605", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    events = [r.json for r in setup.receiver.at("/slow")]
    assert [e["status"] for e in events] == ["started", "ringing", "timeout", "completed"]
    assert events[0]["from"] == setup.number  # the only number linked to the application
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["Nobody picked up"]


def test_length_timer_ends_the_call_with_completed_only(setup: Setup) -> None:
    callee = fresh_number()
    call = setup.outbound(callee, [{"action": "talk", "text": "This goes on", "loop": 0}], length_timer=3)
    setup.receiver.wait_status(call["uuid"], "completed")
    assert setup.receiver.statuses(call["uuid"]) == ["started", "ringing", "answered", "completed"]


def test_wait_is_clamped_and_stream_loops(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "wait", "timeout": 0.01},
            {"action": "stream", "streamUrl": [f"{setup.receiver.url}/jingle.wav"], "loop": 2},
        ]
    )
    started = time.monotonic()
    call = setup.sandbox.place_inbound(from_="447700900606", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    assert time.monotonic() - started < 5
    assert setup.sandbox.call(call["uuid"])["heard"] == [{"type": "stream", "url": f"{setup.receiver.url}/jingle.wav"}]


def test_rest_mute_and_earmuff_change_who_hears_whom(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(body=[{"action": "conversation", "name": "mix"}])
    a = setup.sandbox.place_inbound(from_="447700900611", to=setup.number)["uuid"]
    b = setup.sandbox.place_inbound(from_="447700900612", to=setup.number)["uuid"]
    for leg in (a, b):
        _wait_conversation(setup, leg, "mix")

    def say(text: str) -> None:
        setup.sandbox.run_script(a, [{"say": text}])
        setup.sandbox.wait_until(a, lambda leg: leg["status"] == "answered")
        time.sleep(0.1)

    def control(uuid: str, action: str) -> None:
        assert setup.voice.request("PUT", f"/v1/calls/{uuid}", json={"action": action}).status_code == 204

    control(a, "mute")
    say("muted words")
    control(a, "unmute")
    control(b, "earmuff")
    say("earmuffed words")
    control(b, "unearmuff")
    say("heard words")
    setup.sandbox.wait_until(b, lambda leg: leg["heard"])
    assert setup.sandbox.call(b)["heard"] == [{"type": "speech", "text": "heard words", "from": a}]
    for leg in (a, b):
        control(leg, "hangup")
