"""VoiceClient against a real HTTP server on loopback: auth, retries, time-outs, pagination, downloads."""

from __future__ import annotations

import base64
import io
import pickle
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from contactcenter.voice import ncco
from contactcenter.voice.client import VoiceClient, _parse_retry_after, get_client
from contactcenter.voice.errors import (
    NccoError,
    VoiceApiAuthError,
    VoiceApiConfigError,
    VoiceApiError,
    VoiceApiNotFound,
    VoiceApiPermanentError,
    VoiceApiTransientError,
)

from .conftest import API_KEY, API_SECRET, APPLICATION_ID, Reply, ScriptedServer

MakeClient = Callable[..., VoiceClient]
CALL = {
    "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
    "status": "answered",
    "direction": "outbound",
    "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
}
CALL_PATH = f"/v1/calls/{CALL['uuid']}"
BASIC = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()


def claims_of(request: Any, rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    scheme, token = request.headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    return jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"])


# --- authentication -------------------------------------------------------------------------------------


def test_every_request_carries_a_fresh_application_jwt(
    server: ScriptedServer, make_client: MakeClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.script("GET", CALL_PATH, Reply(json=CALL))
    client = make_client()
    before = int(time.time())

    assert client.get_call(CALL["uuid"]) == CALL
    assert client.get_call(CALL["uuid"]) == CALL

    after = int(time.time())
    claims = [claims_of(request, rsa_key) for request in server.requests]
    assert len(claims) == 2
    for claim in claims:
        assert set(claim) == {"application_id", "iat", "jti", "exp"}
        assert claim["application_id"] == APPLICATION_ID
        assert before <= claim["iat"] <= after
        assert claim["exp"] == claim["iat"] + 900
        assert uuid.UUID(claim["jti"]).version == 4
    assert claims[0]["jti"] != claims[1]["jti"]
    assert server.requests[0].headers["Accept"] == "application/json"


def test_voice_requests_without_application_config_fail_before_sending(server: ScriptedServer) -> None:
    client = VoiceClient(server.url, None, None)

    with pytest.raises(VoiceApiConfigError) as caught:
        client.get_call(CALL["uuid"])

    assert str(caught.value) == (
        "The Voice API needs VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_PRIVATE_KEY_PATH)"
    )
    assert caught.value.permanent is True
    assert server.requests == []
    client.close()


def test_basic_auth_apis_without_key_fail_before_sending(server: ScriptedServer, private_key_pem: bytes) -> None:
    client = VoiceClient(server.url, APPLICATION_ID, private_key_pem)

    with pytest.raises(VoiceApiConfigError) as caught:
        client.get_application(APPLICATION_ID)

    assert str(caught.value) == "The Applications and Numbers APIs need VONAGE_API_KEY and VONAGE_API_SECRET"
    assert server.requests == []
    client.close()


def test_unreadable_private_key_is_a_config_error(server: ScriptedServer) -> None:
    with pytest.raises(VoiceApiConfigError):
        VoiceClient(server.url, APPLICATION_ID, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


# --- retries --------------------------------------------------------------------------------------------


def test_429_with_retry_after_then_503_then_success_takes_three_attempts(
    server: ScriptedServer, make_client: MakeClient, rsa_key: rsa.RSAPrivateKey
) -> None:
    server.script(
        "GET",
        CALL_PATH,
        Reply(
            429,
            json={"title": "Rate Limit Hit", "detail": "Please wait, then retry your request"},
            headers={"Retry-After": "1"},
        ),
        Reply(503, json={"title": "Service Unavailable"}),
        Reply(json=CALL),
    )
    client = make_client(max_retries=3, retry_after_max=3)
    started = time.monotonic()

    assert client.get_call(CALL["uuid"]) == CALL

    elapsed = time.monotonic() - started
    assert server.count("GET", CALL_PATH) == 3
    assert 1.0 <= elapsed < 2.5  # slept the 1 s asked for, plus one short jittered back-off
    assert len({claims_of(r, rsa_key)["jti"] for r in server.requests}) == 3


def test_retry_after_as_http_date_is_honoured(server: ScriptedServer, make_client: MakeClient) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    server.script(
        "GET", CALL_PATH, Reply(503, headers={"Retry-After": format_datetime(when, usegmt=True)}), Reply(json=CALL)
    )
    client = make_client(retry_after_max=3)
    started = time.monotonic()

    assert client.get_call(CALL["uuid"]) == CALL

    assert server.count("GET", CALL_PATH) == 2
    assert time.monotonic() - started >= 0.9


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert _parse_retry_after("7", now=now) == 7.0
    assert _parse_retry_after("0.5", now=now) == 0.5
    assert _parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert _parse_retry_after("Thu, 01 Jan 2026 11:59:00 GMT", now=now) == 0.0
    assert _parse_retry_after("-3", now=now) == 0.0
    assert _parse_retry_after("soon", now=now) is None
    assert _parse_retry_after("nan", now=now) is None
    assert _parse_retry_after(None, now=now) is None


def test_retry_after_beyond_the_cap_is_handed_to_the_caller(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("GET", CALL_PATH, Reply(429, json={"title": "Rate Limit Hit"}, headers={"Retry-After": "120"}))
    client = make_client(max_retries=3, retry_after_max=10)
    started = time.monotonic()

    with pytest.raises(VoiceApiTransientError) as caught:
        client.get_call(CALL["uuid"])

    assert time.monotonic() - started < 1
    assert server.count("GET", CALL_PATH) == 1
    assert caught.value.retry_after == 120.0
    assert caught.value.status == 429


def test_server_errors_are_retried_up_to_max_retries(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script(
        "GET",
        CALL_PATH,
        Reply(
            500,
            json={
                "type": "https://developer.vonage.com/api-errors",
                "title": "Internal Server Error",
                "instance": "tr-1",
            },
        ),
    )
    client = make_client(max_retries=2)

    with pytest.raises(VoiceApiTransientError) as caught:
        client.get_call(CALL["uuid"])

    assert server.count("GET", CALL_PATH) == 3
    assert str(caught.value) == f"GET {CALL_PATH} failed with HTTP 500: Internal Server Error; instance tr-1"
    assert caught.value.status == 500
    assert caught.value.permanent is False


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, VoiceApiPermanentError),
        (401, VoiceApiAuthError),
        (403, VoiceApiAuthError),
        (404, VoiceApiNotFound),
        (409, VoiceApiPermanentError),
    ],
)
def test_permanent_4xx_is_not_retried(
    server: ScriptedServer, make_client: MakeClient, status: int, error_class: type[VoiceApiError]
) -> None:
    body = {
        "type": "https://developer.nexmo.com/api-errors#bad-request",
        "title": "Bad Request",
        "detail": "The request failed due to validation errors",
        "invalid_parameters": [{"name": "action", "reason": "must be one of: hangup, mute"}],
        "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf",
    }
    server.script("PUT", CALL_PATH, Reply(status, json=body))
    client = make_client(max_retries=3)

    with pytest.raises(error_class) as caught:
        client.hangup(CALL["uuid"])

    assert server.count("PUT", CALL_PATH) == 1
    assert type(caught.value) is error_class
    assert caught.value.permanent is True
    assert caught.value.status == status
    assert caught.value.detail == "The request failed due to validation errors"
    assert caught.value.body == body
    assert str(caught.value) == (
        f"PUT {CALL_PATH} failed with HTTP {status}: Bad Request; The request failed due to validation errors; "
        "invalid parameters: action: must be one of: hangup, mute; instance bf0ca0bf927b3b52e3cb03217e1a1ddf"
    )


def test_read_timeout_is_a_transient_error_within_the_time_out(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("GET", CALL_PATH, Reply(json=CALL, delay=1.5))
    client = make_client(read_timeout=0.3, max_retries=1)
    started = time.monotonic()

    with pytest.raises(VoiceApiTransientError) as caught:
        client.get_call(CALL["uuid"])

    elapsed = time.monotonic() - started
    assert server.count("GET", CALL_PATH) == 2  # a GET is safe to repeat
    assert 0.6 <= elapsed < 1.2  # two reads of 0.3 s and a back-off of at most 0.05 s
    assert caught.value.status is None
    assert str(caught.value) == f"GET {CALL_PATH}: no response within 0.3 s (ReadTimeout)"


def test_connection_refused_is_transient(private_key_pem: bytes) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = VoiceClient(f"http://127.0.0.1:{port}", APPLICATION_ID, private_key_pem, max_retries=2, backoff_base=0.01)

    with pytest.raises(VoiceApiTransientError) as caught:
        client.get_call(CALL["uuid"])

    assert caught.value.status is None
    assert str(caught.value).startswith(f"GET {CALL_PATH}: could not connect (ConnectError")
    client.close()


# --- create_call ------------------------------------------------------------------------------------------


def test_create_call_sends_the_documented_body(server: ScriptedServer, make_client: MakeClient) -> None:
    created = {**CALL, "status": "started"}
    server.script("POST", "/v1/calls", Reply(201, json=created))
    client = make_client()

    result = client.create_call(
        to=[ncco.PhoneEndpoint("447700900000", dtmf_answer="1p2")],
        ncco=[ncco.Talk("Hello"), ncco.Conversation("queue-1")],
        from_number="447700900001",
        event_url="https://cc.example.com/webhooks/event",
        event_method="POST",
        advanced_machine_detection=ncco.AdvancedMachineDetection(behavior="continue", mode="detect", beep_timeout=60),
        length_timer=3600,
        ringing_timer=30,
    )

    assert result == created
    assert server.count("POST", "/v1/calls") == 1
    request = server.requests[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.json == {
        "to": [{"type": "phone", "number": "447700900000", "dtmfAnswer": "1p2"}],
        "ncco": [{"action": "talk", "text": "Hello"}, {"action": "conversation", "name": "queue-1"}],
        "from": {"type": "phone", "number": "447700900001"},
        "event_url": ["https://cc.example.com/webhooks/event"],
        "event_method": "POST",
        "advanced_machine_detection": {"behavior": "continue", "mode": "detect", "beep_timeout": 60},
        "length_timer": 3600,
        "ringing_timer": 30,
    }


def test_create_call_with_answer_url_and_random_from_number(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("POST", "/v1/calls", Reply(201, json=CALL))
    client = make_client()

    client.create_call(
        to=[ncco.SipEndpoint("sip:alice@example.com", standard_headers={"User-to-User": "ab;encoding=hex"})],
        answer_url="https://cc.example.com/webhooks/answer",
        answer_method="GET",
        random_from_number=True,
        machine_detection="hangup",
    )

    assert server.requests[0].json == {
        "to": [
            {"type": "sip", "uri": "sip:alice@example.com", "standard_headers": {"User-to-User": "ab;encoding=hex"}}
        ],
        "answer_url": ["https://cc.example.com/webhooks/answer"],
        "answer_method": "GET",
        "random_from_number": True,
        "machine_detection": "hangup",
    }


@pytest.mark.parametrize(
    "arguments",
    [
        {"ncco": [ncco.Talk("hi")], "answer_url": "https://x.example/a", "from_number": "447700900001"},
        {"from_number": "447700900001"},
        {"ncco": [ncco.Talk("hi")]},
        {"ncco": [ncco.Talk("hi")], "from_number": "447700900001", "random_from_number": True},
        {"ncco": [ncco.Talk("hi")], "from_number": "+447700900001"},
        {"ncco": [ncco.Talk("hi")], "random_from_number": True, "ringing_timer": 121},
        {"ncco": [ncco.Talk("hi")], "random_from_number": True, "length_timer": 0},
        {"answer_url": "answer", "random_from_number": True},
    ],
)
def test_create_call_refuses_bad_arguments_before_sending(
    server: ScriptedServer, make_client: MakeClient, arguments: dict[str, Any]
) -> None:
    client = make_client()

    with pytest.raises(ValueError):
        client.create_call(to=[{"type": "phone", "number": "447700900000"}], **arguments)

    assert server.requests == []


def test_create_call_refuses_an_invalid_ncco_before_sending(server: ScriptedServer, make_client: MakeClient) -> None:
    client = make_client()

    with pytest.raises(NccoError) as caught:
        client.create_call(
            to=[{"type": "phone", "number": "447700900000"}],
            ncco=[{"action": "talk", "text": "hi", "bargeIn": True}],
            random_from_number=True,
        )

    assert str(caught.value) == "action 0: bargeIn needs an input action after it"
    assert server.requests == []


def test_create_call_is_not_retried_after_a_read_timeout(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("POST", "/v1/calls", Reply(201, json=CALL, delay=1.0))
    client = make_client(read_timeout=0.3, max_retries=3)
    started = time.monotonic()

    with pytest.raises(VoiceApiTransientError) as caught:
        client.create_call(
            to=[{"type": "phone", "number": "447700900000"}], answer_url="https://x.example/a", random_from_number=True
        )

    assert time.monotonic() - started < 0.9
    assert server.count("POST", "/v1/calls") == 1  # the call may be ringing: never place it twice
    assert str(caught.value) == "POST /v1/calls: no response within 0.3 s (ReadTimeout)"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_create_call_is_not_retried_after_an_ambiguous_server_error(
    server: ScriptedServer, make_client: MakeClient, status: int
) -> None:
    server.script("POST", "/v1/calls", Reply(status, json={"title": "Gateway trouble"}), Reply(201, json=CALL))
    client = make_client(max_retries=3)

    with pytest.raises(VoiceApiTransientError):
        client.create_call(
            to=[{"type": "phone", "number": "447700900000"}], answer_url="https://x.example/a", random_from_number=True
        )

    assert server.count("POST", "/v1/calls") == 1


def test_create_call_is_retried_after_429_and_503(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("POST", "/v1/calls", Reply(429, json={"title": "Rate Limit Hit"}), Reply(503), Reply(201, json=CALL))
    client = make_client(max_retries=3)

    result = client.create_call(
        to=[{"type": "phone", "number": "447700900000"}], answer_url="https://x.example/a", random_from_number=True
    )

    assert result == CALL
    assert server.count("POST", "/v1/calls") == 3
    assert len({r.body for r in server.requests}) == 1


def test_dtmf_is_not_repeated_after_a_read_timeout(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("PUT", f"{CALL_PATH}/dtmf", Reply(json={"message": "DTMF sent", "uuid": CALL["uuid"]}, delay=1.0))
    client = make_client(read_timeout=0.3, max_retries=3)

    with pytest.raises(VoiceApiTransientError):
        client.send_dtmf(CALL["uuid"], "1234")

    assert server.count("PUT", f"{CALL_PATH}/dtmf") == 1


# --- list_calls -------------------------------------------------------------------------------------------


def _page(uuids: list[str], next_href: str | None) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": "/v1/calls"}}
    if next_href:
        links["next"] = {"href": next_href}
    calls = [{"uuid": u, "status": "completed", "_links": {"self": {"href": f"/v1/calls/{u}"}}} for u in uuids]
    return {"count": 5, "page_size": 2, "_links": links, "_embedded": {"calls": calls}}


def test_list_calls_follows_next_links_across_three_pages(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script(
        "GET",
        "/v1/calls",
        Reply(json=_page(["c1", "c2"], "/v1/calls?page_size=2&record_index=2&status=completed")),
        Reply(json=_page(["c3", "c4"], "/v1/calls?page_size=2&record_index=4&status=completed")),
        Reply(json=_page(["c5"], None)),
    )
    client = make_client()

    calls = list(
        client.list_calls(status="completed", date_start=datetime(2026, 1, 1, tzinfo=UTC), page_size=2, order="asc")
    )

    assert [call["uuid"] for call in calls] == ["c1", "c2", "c3", "c4", "c5"]
    assert [r.query for r in server.requests] == [
        {"status": ["completed"], "date_start": ["2026-01-01T00:00:00Z"], "page_size": ["2"], "order": ["asc"]},
        {"page_size": ["2"], "record_index": ["2"], "status": ["completed"]},
        {"page_size": ["2"], "record_index": ["4"], "status": ["completed"]},
    ]


def test_list_calls_refuses_a_next_link_to_another_host(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("GET", "/v1/calls", Reply(json=_page(["c1"], "https://evil.example.com/v1/calls?record_index=1")))
    client = make_client()

    with pytest.raises(VoiceApiPermanentError) as caught:
        list(client.list_calls())

    assert str(caught.value) == (
        "refusing to follow a pagination link to another host: 'https://evil.example.com/v1/calls?record_index=1'"
    )
    assert server.count("GET", "/v1/calls") == 1


# --- live-leg control -------------------------------------------------------------------------------------


def test_modify_actions_send_one_put_each(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("PUT", CALL_PATH, Reply(204))
    client = make_client()

    for action in ("hangup", "mute", "unmute", "earmuff", "unearmuff"):
        assert getattr(client, action)(CALL["uuid"]) is None
    client.transfer_ncco(CALL["uuid"], [ncco.Talk("Transferring"), ncco.Conversation("agents")])
    client.transfer_url(CALL["uuid"], "https://cc.example.com/ncco/transfer")

    assert [r.json for r in server.requests] == [
        {"action": "hangup"},
        {"action": "mute"},
        {"action": "unmute"},
        {"action": "earmuff"},
        {"action": "unearmuff"},
        {
            "action": "transfer",
            "destination": {
                "type": "ncco",
                "ncco": [{"action": "talk", "text": "Transferring"}, {"action": "conversation", "name": "agents"}],
            },
        },
        {"action": "transfer", "destination": {"type": "ncco", "url": ["https://cc.example.com/ncco/transfer"]}},
    ]
    assert {r.method for r in server.requests} == {"PUT"}


def test_transfer_of_an_invalid_ncco_sends_nothing(server: ScriptedServer, make_client: MakeClient) -> None:
    client = make_client()

    with pytest.raises(NccoError):
        client.transfer_ncco(CALL["uuid"], [{"action": "talk", "text": "hi", "eventUrl": "https://x.example/e"}])

    assert server.requests == []


def test_uuid_stays_one_path_segment(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("PUT", "/v1/calls/..%2Fapplications", Reply(204))
    client = make_client()

    client.hangup("../applications")

    assert server.requests[0].path == "/v1/calls/..%2Fapplications"


def test_media_into_a_live_leg(server: ScriptedServer, make_client: MakeClient) -> None:
    for path, message in (("stream", "Stream"), ("talk", "Talk")):
        server.script("PUT", f"{CALL_PATH}/{path}", Reply(json={"message": f"{message} started", "uuid": CALL["uuid"]}))
        server.script(
            "DELETE", f"{CALL_PATH}/{path}", Reply(json={"message": f"{message} stopped", "uuid": CALL["uuid"]})
        )
    server.script("PUT", f"{CALL_PATH}/dtmf", Reply(json={"message": "DTMF sent", "uuid": CALL["uuid"]}))
    server.script("PUT", f"{CALL_PATH}/input/dtmf", Reply(json={"message": "ok", "uuid": CALL["uuid"]}))
    server.script("DELETE", f"{CALL_PATH}/input/dtmf", Reply(204))
    client = make_client()

    assert client.play_stream(CALL["uuid"], "https://cc.example.com/hold.mp3", loop=0, level=0.4) == {
        "message": "Stream started",
        "uuid": CALL["uuid"],
    }
    assert client.stop_stream(CALL["uuid"])["message"] == "Stream stopped"
    assert (
        client.play_talk(CALL["uuid"], "Please hold", language="en-GB", style=2, premium=True, loop=1, level=-0.5)[
            "message"
        ]
        == "Talk started"
    )
    assert client.stop_talk(CALL["uuid"])["message"] == "Talk stopped"
    assert client.send_dtmf(CALL["uuid"], "12#p*") == {"message": "DTMF sent", "uuid": CALL["uuid"]}
    client.start_dtmf_listener(CALL["uuid"], "https://cc.example.com/webhooks/dtmf")
    client.stop_dtmf_listener(CALL["uuid"])

    assert [(r.method, r.path.removeprefix(CALL_PATH), r.body and r.json) for r in server.requests] == [
        ("PUT", "/stream", {"stream_url": ["https://cc.example.com/hold.mp3"], "loop": 0, "level": 0.4}),
        ("DELETE", "/stream", b""),
        (
            "PUT",
            "/talk",
            {"text": "Please hold", "language": "en-GB", "style": 2, "premium": True, "loop": 1, "level": -0.5},
        ),
        ("DELETE", "/talk", b""),
        ("PUT", "/dtmf", {"digits": "12#p*"}),
        ("PUT", "/input/dtmf", {"event_url": ["https://cc.example.com/webhooks/dtmf"]}),
        ("DELETE", "/input/dtmf", b""),
    ]


def test_bad_dtmf_digits_are_refused_before_sending(server: ScriptedServer, make_client: MakeClient) -> None:
    client = make_client()

    with pytest.raises(ValueError):
        client.send_dtmf(CALL["uuid"], "12a")

    assert server.requests == []


# --- recordings -----------------------------------------------------------------------------------------------


def test_recording_download_streams_bytes_with_the_jwt(
    server: ScriptedServer, make_client: MakeClient, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    audio = bytes(range(256)) * 4096  # 1 MiB
    server.script("GET", "/v1/files/bbbbbbbb-aaaa-cccc-dddd-0123456789ab", Reply(body=audio, chunk_size=10_000))
    client = make_client()
    url = f"{server.url}/v1/files/bbbbbbbb-aaaa-cccc-dddd-0123456789ab"

    buffer = io.BytesIO()
    assert client.download_recording(url, buffer) == len(audio)
    assert client.download_recording(url, tmp_path / "call.mp3") == len(audio)

    assert buffer.getvalue() == audio
    assert (tmp_path / "call.mp3").read_bytes() == audio
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.mp3"]
    assert claims_of(server.requests[0], rsa_key)["application_id"] == APPLICATION_ID


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v1/files/abc",
        "https://api.nexmo.com.evil.example.com/v1/files/abc",
        "http://api.nexmo.com/v1/files/abc",
        "https://api.nexmo.com@evil.example.com/v1/files/abc",
        "https://evil.example.com/?host=api.nexmo.com",
        "ftp://api.nexmo.com/v1/files/abc",
        "",
    ],
)
def test_recording_download_refuses_foreign_hosts(
    server: ScriptedServer, make_client: MakeClient, tmp_path: Path, url: str
) -> None:
    client = make_client()

    with pytest.raises(VoiceApiPermanentError) as caught:
        client.download_recording(url, tmp_path / "call.mp3")

    assert str(caught.value).startswith(f"refusing to download a recording from {url!r}")
    assert server.requests == []
    assert list(tmp_path.iterdir()) == []


def test_recording_hosts_of_vonage_are_allowed(make_client: MakeClient) -> None:
    client = make_client()

    assert client.recording_url_allowed("https://api.nexmo.com/v1/files/abc") is True
    assert client.recording_url_allowed("https://api-us-3.vonage.com/v1/files/abc") is True
    assert client.recording_url_allowed("https://api-eu.vonage.com/v1/files/abc") is True


def test_failed_recording_download_leaves_no_file(
    server: ScriptedServer, make_client: MakeClient, tmp_path: Path
) -> None:
    server.script("GET", "/v1/files/gone", Reply(404, json={"title": "Not Found", "detail": "File not found"}))
    client = make_client()

    with pytest.raises(VoiceApiNotFound):
        client.download_recording(f"{server.url}/v1/files/gone", tmp_path / "call.mp3")

    assert list(tmp_path.iterdir()) == []
    assert server.count("GET", "/v1/files/gone") == 1


# --- Applications API -----------------------------------------------------------------------------------------


def test_applications_use_basic_auth(server: ScriptedServer, make_client: MakeClient) -> None:
    app = {"id": APPLICATION_ID, "name": "Contact center", "capabilities": {"voice": {}}}
    server.script(
        "GET",
        "/v2/applications",
        Reply(
            json={
                "page": 1,
                "total_pages": 2,
                "_embedded": {"applications": [app]},
                "_links": {"next": {"href": "/v2/applications?page_size=1&page=2"}},
            }
        ),
        Reply(
            json={"page": 2, "total_pages": 2, "_embedded": {"applications": [{**app, "id": "second"}]}, "_links": {}}
        ),
    )
    server.script("POST", "/v2/applications", Reply(201, json=app))
    server.script("GET", f"/v2/applications/{APPLICATION_ID}", Reply(json=app))
    server.script("PUT", f"/v2/applications/{APPLICATION_ID}", Reply(json={**app, "name": "Renamed"}))
    server.script("DELETE", f"/v2/applications/{APPLICATION_ID}", Reply(204))
    client = make_client()

    assert [a["id"] for a in client.list_applications(page_size=1)] == [APPLICATION_ID, "second"]
    assert client.create_application({"name": "Contact center", "capabilities": {"voice": {}}}) == app
    assert client.get_application(APPLICATION_ID) == app
    assert client.update_application(APPLICATION_ID, {"name": "Renamed"})["name"] == "Renamed"
    client.delete_application(APPLICATION_ID)

    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/v2/applications"),
        ("GET", "/v2/applications"),
        ("POST", "/v2/applications"),
        ("GET", f"/v2/applications/{APPLICATION_ID}"),
        ("PUT", f"/v2/applications/{APPLICATION_ID}"),
        ("DELETE", f"/v2/applications/{APPLICATION_ID}"),
    ]
    assert {r.headers["Authorization"] for r in server.requests} == {BASIC}
    assert server.requests[1].query == {"page_size": ["1"], "page": ["2"]}
    assert server.requests[2].json == {"name": "Contact center", "capabilities": {"voice": {}}}


def test_create_application_is_not_retried_after_a_server_error(
    server: ScriptedServer, make_client: MakeClient
) -> None:
    server.script("POST", "/v2/applications", Reply(500, json={"title": "Internal Server Error"}))
    client = make_client(max_retries=3)

    with pytest.raises(VoiceApiTransientError):
        client.create_application({"name": "Contact center"})

    assert server.count("POST", "/v2/applications") == 1


# --- Numbers API --------------------------------------------------------------------------------------------------


def test_numbers_use_basic_auth_and_form_posts(server: ScriptedServer, make_client: MakeClient) -> None:
    success = {"error-code": "200", "error-code-label": "success"}
    number = {"country": "GB", "msisdn": "447700900001", "type": "mobile-lvn", "features": ["VOICE"]}
    server.script(
        "GET",
        "/account/numbers",
        Reply(json={"count": 3, "numbers": [number, {**number, "msisdn": "447700900002"}]}),
        Reply(json={"count": 3, "numbers": [{**number, "msisdn": "447700900003"}]}),
    )
    server.script("GET", "/number/search", Reply(json={"count": 1, "numbers": [number]}))
    for path in ("/number/buy", "/number/update", "/number/cancel"):
        server.script("POST", path, Reply(json=success))
    client = make_client()

    owned = [n["msisdn"] for n in client.list_owned_numbers(country="GB", has_application=True, size=2)]
    found = client.search_numbers("GB", type="mobile-lvn", features="VOICE", size=10)
    bought = client.buy_number("GB", "447700900001")
    linked = client.update_number("GB", "447700900001", app_id=APPLICATION_ID)
    cancelled = client.cancel_number("GB", "447700900001")

    assert owned == ["447700900001", "447700900002", "447700900003"]
    assert found == {"count": 1, "numbers": [number]}
    assert bought == linked == cancelled == success
    assert {r.headers["Authorization"] for r in server.requests} == {BASIC}
    assert [r.query for r in server.requests[:3]] == [
        {"country": ["GB"], "has_application": ["true"], "size": ["2"], "index": ["1"]},
        {"country": ["GB"], "has_application": ["true"], "size": ["2"], "index": ["2"]},
        {"country": ["GB"], "type": ["mobile-lvn"], "features": ["VOICE"], "size": ["10"]},
    ]
    posts = server.requests[3:]
    assert {r.headers["Content-Type"] for r in posts} == {"application/x-www-form-urlencoded"}
    assert [(r.path, r.form) for r in posts] == [
        ("/number/buy", {"country": ["GB"], "msisdn": ["447700900001"]}),
        ("/number/update", {"country": ["GB"], "msisdn": ["447700900001"], "app_id": [APPLICATION_ID]}),
        ("/number/cancel", {"country": ["GB"], "msisdn": ["447700900001"]}),
    ]


def test_numbers_error_code_in_a_200_body_is_a_permanent_error(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script("POST", "/number/buy", Reply(json={"error-code": "420", "error-code-label": "method failed"}))
    client = make_client()

    with pytest.raises(VoiceApiPermanentError) as caught:
        client.buy_number("GB", "447700900001")

    assert str(caught.value) == "POST /number/buy failed with error-code 420: method failed"
    assert server.count("POST", "/number/buy") == 1


def test_numbers_base_url_defaults(private_key_pem: bytes) -> None:
    vonage = VoiceClient("https://api.nexmo.com", APPLICATION_ID, private_key_pem)
    regional = VoiceClient("https://api-eu-3.vonage.com/", APPLICATION_ID, private_key_pem)
    sandbox = VoiceClient("http://127.0.0.1:9/", APPLICATION_ID, private_key_pem)
    explicit = VoiceClient("https://api.nexmo.com", APPLICATION_ID, private_key_pem, rest_base_url="https://r.example/")

    assert vonage.rest_base_url == "https://rest.nexmo.com"
    assert regional.rest_base_url == "https://rest.nexmo.com"
    assert sandbox.rest_base_url == "http://127.0.0.1:9"
    assert explicit.rest_base_url == "https://r.example"
    for client in (vonage, regional, sandbox, explicit):
        client.close()


# --- get_client ---------------------------------------------------------------------------------------------------


def test_get_client_reads_django_settings(
    server: ScriptedServer, settings: Any, private_key_pem: bytes, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    key_file = tmp_path / "private.key"
    key_file.write_bytes(private_key_pem)
    settings.VONAGE_API_URL = server.url
    settings.VONAGE_APPLICATION_ID = APPLICATION_ID
    settings.VONAGE_PRIVATE_KEY = None
    settings.VONAGE_PRIVATE_KEY_PATH = str(key_file)
    settings.VONAGE_API_KEY = API_KEY
    settings.VONAGE_API_SECRET = API_SECRET
    server.script("GET", CALL_PATH, Reply(json=CALL))

    client = get_client()

    assert client is get_client()
    assert client.get_call(CALL["uuid"]) == CALL
    assert claims_of(server.requests[0], rsa_key)["application_id"] == APPLICATION_ID
    assert client.rest_base_url == server.url


def test_get_client_without_application_is_a_config_error(settings: Any) -> None:
    settings.VONAGE_APPLICATION_ID = None
    settings.VONAGE_PRIVATE_KEY = None
    settings.VONAGE_PRIVATE_KEY_PATH = None

    with pytest.raises(VoiceApiConfigError) as caught:
        get_client()

    assert str(caught.value) == (
        "The Voice API client is not configured: set VONAGE_APPLICATION_ID and "
        "VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH"
    )
    assert get_client(require_application=False).application_id is None


def test_importing_the_package_loads_neither_django_nor_the_official_models() -> None:
    # The parent package loads Celery (and with it Django); what matters is what ours adds on top.
    code = (
        "import sys, contactcenter; before = set(sys.modules); "
        "import contactcenter.voice, contactcenter.voice.client, contactcenter.voice.signatures, "
        "contactcenter.voice.ncco; "
        "added = set(sys.modules) - before; "
        "print(sorted(m for m in added if m.split('.')[0] in ('django', 'vonage_voice', 'pydantic')))"
    )
    root = Path(__file__).resolve().parents[3]
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout

    assert output.strip() == "[]"


# --- regions and errors -----------------------------------------------------------------------------------------


def test_for_region_routes_to_the_calls_region_with_the_same_credentials(
    private_key_pem: bytes, rsa_key: rsa.RSAPrivateKey
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = VoiceClient(
        "https://api.nexmo.com", APPLICATION_ID, private_key_pem, transport=httpx.MockTransport(handler)
    )
    regional = client.for_region("https://api-us-3.vonage.com")

    regional.hangup(CALL["uuid"])

    assert client.for_region(None) is client
    assert client.for_region("https://api.nexmo.com/") is client
    assert client.for_region("https://api-us-3.vonage.com/") is regional
    assert regional.base_url == "https://api-us-3.vonage.com"
    assert regional.rest_base_url == "https://rest.nexmo.com"
    assert [str(r.url) for r in seen] == [f"https://api-us-3.vonage.com{CALL_PATH}"]
    token = seen[0].headers["Authorization"].removeprefix("Bearer ")
    assert jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"])["application_id"] == APPLICATION_ID
    client.close()


@pytest.mark.parametrize(
    "region_url",
    ["http://api-us-3.vonage.com", "https://evil.example.com", "https://api-us-3.vonage.com/v1/calls"],
)
def test_for_region_refuses_hosts_that_are_not_vonage(private_key_pem: bytes, region_url: str) -> None:
    client = VoiceClient("https://api.nexmo.com", APPLICATION_ID, private_key_pem)

    with pytest.raises(VoiceApiPermanentError) as caught:
        client.for_region(region_url)

    assert str(caught.value) == f"refusing region_url {region_url!r}: not an https Vonage host"
    assert client._regions == {}
    client.close()


def test_errors_survive_pickling() -> None:
    error = VoiceApiTransientError("GET /v1/calls failed", status=429, detail="wait", body={"a": 1}, retry_after=3.0)

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(copy) is VoiceApiTransientError
    assert (str(copy), copy.status, copy.detail, copy.body, copy.retry_after, copy.permanent) == (
        "GET /v1/calls failed",
        429,
        "wait",
        {"a": 1},
        3.0,
        False,
    )
