"""NCCO builders: exact JSON for every action and option, parsed by the official vonage_voice models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from vonage_voice.models import ncco as official

from contactcenter.voice.ncco import (
    Action,
    AdvancedMachineDetection,
    AppEndpoint,
    Connect,
    Conversation,
    DtmfSettings,
    Input,
    NccoError,
    Notify,
    OnAnswer,
    PhoneEndpoint,
    Record,
    SipEndpoint,
    SpeechSettings,
    Stream,
    Talk,
    Transcription,
    Transfer,
    VbcEndpoint,
    Wait,
    WebSocketAuthorization,
    WebSocketEndpoint,
    build,
    validate,
)

E = "https://cc.example.com/webhooks/event"


def untyped(value: Any) -> Any:
    """Pass a deliberately wrong type past the type checker."""
    return value


LEG = "63f61863-4a51-4f6b-86e1-46edebcf9356"


def every_action() -> list[Action]:
    """One of every action, each with all of its options set."""
    return [
        Record(
            format="wav",
            split="conversation",
            channels=2,
            end_on_silence=3,
            end_on_key="#",
            time_out=600,
            beep_start=True,
            event_url=E,
            event_method="POST",
            transcription=Transcription(language="en-GB", event_url=E, event_method="POST", sentiment_analysis=True),
        ),
        Talk("Welcome", barge_in=True, loop=2, level=0.5, language="en-GB", style=1, premium=True),
        Stream("https://cc.example.com/beep.mp3", level=-0.5, barge_in=True, loop=1),
        Input(
            ["dtmf", "speech"],
            dtmf=DtmfSettings(time_out=5, max_digits=4, submit_on_hash=True),
            speech=SpeechSettings(
                uuid=LEG,
                end_on_silence=1.5,
                language="en-GB",
                context=["sales", "support"],
                start_timeout=5,
                max_duration=30,
                save_audio=True,
                sensitivity=80,
            ),
            mode="synchronous",
            event_url=E,
            event_method="POST",
        ),
        Input(["dtmf"], mode="asynchronous", event_url=E),
        Connect(
            PhoneEndpoint(
                "447700900000",
                dtmf_answer="1p2#",
                on_answer=OnAnswer("https://cc.example.com/whisper", ringback_tone="https://cc.example.com/ring.mp3"),
                shaken="eyJhbGciOiJFUzI1NiJ9.payload.sig;info=<https://cert.example/cert.pem>;alg=ES256;ppt=shaken",
            ),
            from_number="447700900001",
            event_type="synchronous",
            timeout=30,
            limit=3600,
            advanced_machine_detection=AdvancedMachineDetection(
                behavior="continue", mode="detect_beep", beep_timeout=45
            ),
            event_url=E,
            event_method="POST",
            ringback_tone="https://cc.example.com/ring.mp3",
        ),
        Connect(AppEndpoint("agent.alice"), machine_detection="continue", timeout=20),
        Connect(
            WebSocketEndpoint(
                "wss://cc.example.com/media",
                content_type="audio/l16;rate=16000",
                headers={"call": LEG},
                authorization=WebSocketAuthorization("custom", value="Bearer abc"),
            ),
            random_from_number=True,
        ),
        Connect(WebSocketEndpoint("ws://cc.example.com/media", authorization=WebSocketAuthorization("vonage"))),
        Connect(
            SipEndpoint(
                "sips:alice@sip.example.com;transport=tls",
                headers={"Customer": "42"},
                standard_headers={"User-to-User": "342342ef34;encoding=hex"},
            ),
            from_number="447700900001",
        ),
        Connect(SipEndpoint(domain="trunk-1", user="bob"), from_number="447700900001"),
        Connect(VbcEndpoint("1234"), from_number="447700900001"),
        Notify({"step": "queued"}, E, event_method="GET"),
        Wait(2.5),
        Conversation(
            "queue-sales",
            music_on_hold_url="https://cc.example.com/hold.mp3",
            start_on_enter=False,
            end_on_exit=True,
            record=True,
            can_hear=[LEG],
            mute=True,
            event_url=E,
            event_method="POST",
            transcription=Transcription(language="en-US"),
        ),
    ]


EXPECTED: list[dict[str, Any]] = [
    {
        "action": "record",
        "format": "wav",
        "split": "conversation",
        "channels": 2,
        "endOnSilence": 3,
        "endOnKey": "#",
        "timeOut": 600,
        "beepStart": True,
        "eventUrl": [E],
        "eventMethod": "POST",
        "transcription": {"language": "en-GB", "eventUrl": [E], "eventMethod": "POST", "sentimentAnalysis": True},
    },
    {
        "action": "talk",
        "text": "Welcome",
        "bargeIn": True,
        "loop": 2,
        "level": 0.5,
        "language": "en-GB",
        "style": 1,
        "premium": True,
    },
    {"action": "stream", "streamUrl": ["https://cc.example.com/beep.mp3"], "level": -0.5, "bargeIn": True, "loop": 1},
    {
        "action": "input",
        "type": ["dtmf", "speech"],
        "dtmf": {"timeOut": 5, "maxDigits": 4, "submitOnHash": True},
        "speech": {
            "uuid": [LEG],
            "endOnSilence": 1.5,
            "language": "en-GB",
            "context": ["sales", "support"],
            "startTimeout": 5,
            "maxDuration": 30,
            "saveAudio": True,
            "sensitivity": 80,
        },
        "mode": "synchronous",
        "eventUrl": [E],
        "eventMethod": "POST",
    },
    {"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [E]},
    {
        "action": "connect",
        "endpoint": [
            {
                "type": "phone",
                "number": "447700900000",
                "dtmfAnswer": "1p2#",
                "onAnswer": {
                    "url": "https://cc.example.com/whisper",
                    "ringbackTone": "https://cc.example.com/ring.mp3",
                },
                "shaken": "eyJhbGciOiJFUzI1NiJ9.payload.sig;info=<https://cert.example/cert.pem>;alg=ES256;ppt=shaken",
            }
        ],
        "from": "447700900001",
        "eventType": "synchronous",
        "timeout": 30,
        "limit": 3600,
        "advancedMachineDetection": {"behavior": "continue", "mode": "detect_beep", "beep_timeout": 45},
        "eventUrl": [E],
        "eventMethod": "POST",
        "ringbackTone": "https://cc.example.com/ring.mp3",
    },
    {
        "action": "connect",
        "endpoint": [{"type": "app", "user": "agent.alice"}],
        "timeout": 20,
        "machineDetection": "continue",
    },
    {
        "action": "connect",
        "endpoint": [
            {
                "type": "websocket",
                "uri": "wss://cc.example.com/media",
                "content-type": "audio/l16;rate=16000",
                "headers": {"call": LEG},
                "authorization": {"type": "custom", "value": "Bearer abc"},
            }
        ],
        "randomFromNumber": True,
    },
    {
        "action": "connect",
        "endpoint": [
            {
                "type": "websocket",
                "uri": "ws://cc.example.com/media",
                "content-type": "audio/l16;rate=16000",
                "authorization": {"type": "vonage"},
            }
        ],
    },
    {
        "action": "connect",
        "endpoint": [
            {
                "type": "sip",
                "uri": "sips:alice@sip.example.com;transport=tls",
                "headers": {"Customer": "42"},
                "standardHeaders": {"User-to-User": "342342ef34;encoding=hex"},
            }
        ],
        "from": "447700900001",
    },
    {
        "action": "connect",
        "endpoint": [{"type": "sip", "domain": "trunk-1", "user": "bob"}],
        "from": "447700900001",
    },
    {"action": "connect", "endpoint": [{"type": "vbc", "extension": "1234"}], "from": "447700900001"},
    {"action": "notify", "payload": {"step": "queued"}, "eventUrl": [E], "eventMethod": "GET"},
    {"action": "wait", "timeout": 2.5},
    {
        "action": "conversation",
        "name": "queue-sales",
        "musicOnHoldUrl": ["https://cc.example.com/hold.mp3"],
        "startOnEnter": False,
        "endOnExit": True,
        "record": True,
        "canHear": [LEG],
        "mute": True,
        "eventUrl": [E],
        "eventMethod": "POST",
        "transcription": {"language": "en-US"},
    },
]


def test_every_action_with_every_option_builds_the_documented_json() -> None:
    assert build(*every_action()) == EXPECTED


def test_every_action_parses_with_the_official_models() -> None:
    models = {
        "record": official.Record,
        "talk": official.Talk,
        "stream": official.Stream,
        "input": official.Input,
        "connect": official.Connect,
        "notify": official.Notify,
        "wait": official.Wait,
        "conversation": official.Conversation,
    }
    parsed = [models[action["action"]].model_validate(action) for action in EXPECTED if action["action"] != "connect"]

    assert [type(model).__name__ for model in parsed] == [
        "Record",
        "Talk",
        "Stream",
        "Input",
        "Input",
        "Notify",
        "Wait",
        "Conversation",
    ]
    assert parsed[3].dtmf.maxDigits == 4
    assert parsed[3].speech.uuid == [LEG]
    assert parsed[6].timeout == 2.5


def test_transfer_is_terminal_and_parses() -> None:
    ncco = build(Talk("Moving you"), Transfer("CON-123", can_hear=[LEG], can_speak=[LEG]))

    assert ncco == [
        {"action": "talk", "text": "Moving you"},
        {"action": "transfer", "conversationId": "CON-123", "canHear": [LEG], "canSpeak": [LEG]},
    ]
    assert official.Transfer.model_validate(ncco[1]).conversationId == "CON-123"


def test_channels_imply_a_split_recording() -> None:
    assert build(Record(channels=3)) == [{"action": "record", "split": "conversation", "channels": 3}]


def test_wait_without_timeout_uses_vonage_default() -> None:
    assert build(Wait()) == [{"action": "wait"}]


def test_validate_accepts_a_hand_written_ncco_and_returns_plain_dicts() -> None:
    raw = (
        {"action": "talk", "text": "Hello", "bargeIn": True},
        {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 1}, "eventUrl": [E]},
    )

    assert validate(raw) == [dict(item) for item in raw]


# --- rejections ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Talk("x" * 1501), "talk text must be at most 1500 characters, got 1501"),
        (lambda: Talk(""), "talk text must be a non-empty string, got ''"),
        (lambda: Talk("hi", level=1.5), "talk level must be between -1 and 1, got 1.5"),
        (lambda: Talk("hi", loop=-1), "talk loop must be at least 0, got -1"),
        (
            lambda: Stream("ftp://cc.example.com/a.mp3"),
            "stream stream_url must be an absolute http:// or https:// URL, got 'ftp://cc.example.com/a.mp3'",
        ),
        (lambda: DtmfSettings(max_digits=0), "dtmf max_digits must be between 1 and 20, got 0"),
        (lambda: DtmfSettings(max_digits=21), "dtmf max_digits must be between 1 and 20, got 21"),
        (lambda: DtmfSettings(time_out=11), "dtmf time_out must be between 0 and 10, got 11"),
        (lambda: SpeechSettings(end_on_silence=0.3), "speech end_on_silence must be between 0.4 and 10, got 0.3"),
        (lambda: SpeechSettings(sensitivity=5), "speech sensitivity must be between 10 and 100, got 5"),
        (lambda: SpeechSettings(max_duration=61), "speech max_duration must be between 1 and 60, got 61"),
        (lambda: Input([]), "input type must list 'dtmf' and/or 'speech' once each, got []"),
        (
            lambda: Input(["dtmf", "dtmf"]),
            "input type must list 'dtmf' and/or 'speech' once each, got ['dtmf', 'dtmf']",
        ),
        (lambda: Input(["dtmf"], speech=SpeechSettings()), "input speech settings need 'speech' in type"),
        (
            lambda: Input(["dtmf"], dtmf=DtmfSettings(max_digits=2), mode="asynchronous"),
            "input dtmf settings are not allowed with mode='asynchronous'",
        ),
        (lambda: Record(end_on_silence=2), "record end_on_silence must be between 3 and 10, got 2"),
        (lambda: Record(end_on_key="12"), "record end_on_key must be one of 0-9, * or #, got '12'"),
        (lambda: Record(time_out=7201), "record time_out must be between 3 and 7200, got 7201"),
        (lambda: Record(channels=33), "record channels must be between 1 and 32, got 33"),
        (lambda: Record(format=untyped("flac")), "record format must be one of mp3, wav, ogg; got 'flac'"),
        (
            lambda: Record(event_url="/relative"),
            "record event_url must be an absolute http:// or https:// URL, got '/relative'",
        ),
        (
            lambda: Conversation("room", mute=True, can_speak=[LEG]),
            "conversation mute cannot be combined with can_speak",
        ),
        (lambda: Conversation("room", transcription=Transcription()), "conversation transcription needs record=True"),
        (
            lambda: Conversation("room", event_method=untyped("PATCH")),
            "conversation event_method must be one of GET, POST; got 'PATCH'",
        ),
        (
            lambda: Connect(PhoneEndpoint("447700900000"), from_number="447700900001", random_from_number=True),
            "connect from_number and random_from_number cannot be used together",
        ),
        (
            lambda: Connect(AppEndpoint("alice"), from_number="447700900001"),
            "connect to an app endpoint takes neither from_number nor random_from_number",
        ),
        (
            lambda: Connect(PhoneEndpoint("447700900000"), limit=7201),
            "connect limit must be between 1 and 7200, got 7201",
        ),
        (
            lambda: Connect(PhoneEndpoint("447700900000"), ringback_tone="ring.mp3"),
            "connect ringback_tone must be an absolute http:// or https:// URL, got 'ring.mp3'",
        ),
        (
            lambda: Connect(untyped({"type": "phone", "number": "447700900000"})),
            "connect endpoint must be one endpoint object, got {'type': 'phone', 'number': '447700900000'}",
        ),
        (
            lambda: PhoneEndpoint("+447700900000"),
            "phone number must be 7-15 digits, no '+' and no leading 0, got '+447700900000'",
        ),
        (
            lambda: PhoneEndpoint("447700900000", dtmf_answer="12x"),
            "dtmf_answer may hold only 0-9, *, # and p, got '12x'",
        ),
        (
            lambda: WebSocketEndpoint("https://cc.example.com/media"),
            "websocket uri must be an absolute ws:// or wss:// URL, got 'https://cc.example.com/media'",
        ),
        (
            lambda: WebSocketEndpoint("wss://x.example/m", content_type=untyped("audio/l16;rate=44100")),
            "websocket content_type must be one of audio/l16;rate=8000, audio/l16;rate=16000, "
            "audio/l16;rate=24000; got 'audio/l16;rate=44100'",
        ),
        (
            lambda: WebSocketEndpoint("wss://x.example/m", headers={"k": "v" * 600}),
            "websocket headers must be at most 512 bytes of JSON",
        ),
        (
            lambda: WebSocketAuthorization("custom"),
            "authorization.value is required when authorization.type is 'custom'",
        ),
        (lambda: SipEndpoint(), "a sip endpoint needs exactly one of uri or domain"),
        (lambda: SipEndpoint("sip:a@b.example", domain="trunk"), "a sip endpoint needs exactly one of uri or domain"),
        (lambda: SipEndpoint("tel:+447700900000"), "sip uri must start with sip: or sips:, got 'tel:+447700900000'"),
        (
            lambda: AdvancedMachineDetection(beep_timeout=30),
            "advanced_machine_detection.beep_timeout must be between 45 and 120, got 30",
        ),
        (
            lambda: Notify({"a": 1}, "not-a-url"),
            "notify event_url must be an absolute http:// or https:// URL, got 'not-a-url'",
        ),
        (lambda: Wait(0.05), "wait timeout must be between 0.1 and 7200, got 0.05"),
        (lambda: Wait(7201), "wait timeout must be between 0.1 and 7200, got 7201"),
        (lambda: Transfer("CON-1", mute=True, can_speak=[]), "transfer mute cannot be combined with can_speak"),
        (lambda: Transfer(""), "transfer conversation_id must be a non-empty string, got ''"),
    ],
)
def test_bad_options_raise_ncco_error(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(NccoError) as caught:
        make()

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([], "an NCCO must be a non-empty JSON array of action objects"),
        ([Talk("hi", barge_in=True)], "action 0: bargeIn needs an input action after it"),
        (
            [Talk("hi", barge_in=True), Stream("https://x.example/a.mp3"), Wait(1)],
            "action 0: bargeIn needs an input action next, found wait",
        ),
        ([Conversation("room"), Talk("never heard")], "action 1 (talk) is never reached: conversation ends the NCCO"),
        ([Transfer("CON-1"), Wait(1)], "action 1 (wait) is never reached: transfer ends the NCCO"),
    ],
)
def test_build_checks_the_sequence(actions: list[Action], message: str) -> None:
    with pytest.raises(NccoError) as caught:
        build(*actions)

    assert str(caught.value) == message


def test_build_refuses_raw_dicts() -> None:
    with pytest.raises(NccoError) as caught:
        build(untyped({"action": "talk", "text": "hi"}))

    assert str(caught.value) == "action 0: expected an NCCO action object, got {'action': 'talk', 'text': 'hi'}"


@pytest.mark.parametrize(
    ("ncco", "message"),
    [
        ({"action": "talk", "text": "hi"}, "an NCCO must be a non-empty JSON array of action objects"),
        ("[]", "an NCCO must be a non-empty JSON array of action objects"),
        (["talk"], "action 0: must be an object, got 'talk'"),
        (
            [{"action": "pay"}],
            "action 0: 'action' must be one of record, conversation, connect, talk, stream, input, notify, "
            "wait, transfer; got 'pay'",
        ),
        ([{"action": "talk", "text": "hi", "voiceNmae": "Amy"}], "action 0 (talk): unknown option(s) voiceNmae"),
        (
            [{"action": "stream", "streamUrl": "https://x.example/a.mp3"}],
            "action 0 (stream): streamUrl must be an array holding exactly one URL, got 'https://x.example/a.mp3'",
        ),
        (
            [{"action": "record", "eventUrl": ["https://a.example", "https://b.example"]}],
            "action 0 (record): eventUrl must be an array holding exactly one URL, got ['https://a.example', 'https://b.example']",
        ),
        (
            [
                {
                    "action": "connect",
                    "endpoint": [{"type": "phone", "number": "447700900000"}],
                    "ringbackTone": ["https://x.example/r.mp3"],
                }
            ],
            "action 0 (connect): ringbackTone must be a URL string",
        ),
        (
            [
                {
                    "action": "connect",
                    "endpoint": [
                        {"type": "phone", "number": "447700900000"},
                        {"type": "phone", "number": "447700900002"},
                    ],
                }
            ],
            "action 0 (connect): endpoint must be an array holding exactly one endpoint object",
        ),
        (
            [{"action": "connect", "endpoint": [{"type": "pstn", "number": "447700900000"}]}],
            "action 0 (connect): endpoint type must be one of phone, app, websocket, sip, vbc",
        ),
        (
            [{"action": "connect", "endpoint": [{"type": "phone", "number": "447700900000", "onanswer": {}}]}],
            "action 0 (connect): unknown endpoint option(s) onanswer",
        ),
        (
            [{"action": "input", "type": ["dtmf"], "mode": "later"}],
            "action 0 (input): mode must be one of synchronous, asynchronous; got 'later'",
        ),
        ([{"action": "wait", "timeout": 0}], "action 0 (wait): timeout must be between 0.1 and 7200, got 0"),
    ],
)
def test_validate_rejects_structural_mistakes(ncco: Any, message: str) -> None:
    with pytest.raises(NccoError) as caught:
        validate(ncco)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"action": "talk", "text": "x" * 1501}, "action 0 (talk): text: String should have at most 1500 characters"),
        ({"action": "talk"}, "action 0 (talk): text: Field required"),
        (
            {"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 21}},
            "action 0 (input): dtmf.maxDigits: Input should be less than or equal to 20",
        ),
        (
            {"action": "input", "type": ["touch"]},
            "action 0 (input): type.0.literal['dtmf']: Input should be 'dtmf'; "
            "type.0.literal['speech']: Input should be 'speech'",
        ),
        (
            {"action": "record", "endOnSilence": 11},
            "action 0 (record): endOnSilence: Input should be less than or equal to 10",
        ),
        (
            {"action": "conversation", "name": "r", "mute": True, "canSpeak": [LEG]},
            "action 0 (conversation): Cannot use mute option if canSpeak option is specified.",
        ),
        (
            {"action": "connect", "endpoint": [{"type": "phone", "number": "447700900000"}], "from": "+447700900001"},
            "action 0 (connect): from: String should match pattern '^[1-9]\\d{6,14}$'",
        ),
        (
            {
                "action": "connect",
                "endpoint": [{"type": "websocket", "uri": "wss://x.example/m", "content-type": "audio/pcm"}],
            },
            "action 0 (connect): endpoint.0.content-type: Input should be "
            "'audio/l16;rate=8000', 'audio/l16;rate=16000' or 'audio/l16;rate=24000'",
        ),
        (
            {"action": "connect", "endpoint": [{"type": "sip", "uri": "tel:+447700900000"}]},
            "action 0 (connect): endpoint.0.uri: String should match pattern '^(sip|sips):\\+?([\\w|:.\\-@;,=%&]+)'",
        ),
        (
            {"action": "connect", "endpoint": [{"type": "phone", "number": "0123"}]},
            "action 0 (connect): endpoint.0.number: String should match pattern '^[1-9]\\d{6,14}$'",
        ),
        ({"action": "notify", "payload": {}}, "action 0 (notify): eventUrl: Field required"),
        (
            {"action": "stream", "streamUrl": ["https://x.example/a.mp3"], "level": -2},
            "action 0 (stream): level: Input should be greater than or equal to -1",
        ),
    ],
)
def test_validate_reports_what_the_official_models_reject(action: dict[str, Any], message: str) -> None:
    with pytest.raises(NccoError) as caught:
        validate([action])

    assert str(caught.value) == message
