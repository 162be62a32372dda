"""The official ``vonage`` Python SDK (4.x), over TLS, cannot tell the sandbox from Vonage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from vonage import Auth, HttpClientOptions, Vonage
from vonage_application import (
    ApplicationConfig,
    Capabilities,
    ListApplicationsFilter,
    Voice,
    VoiceUrl,
    VoiceWebhooks,
)
from vonage_http_client.errors import NotFoundError
from vonage_numbers import ListOwnedNumbersFilter, NumberParams, SearchAvailableNumbersFilter, UpdateNumberParams
from vonage_voice import (
    AudioStreamOptions,
    Conversation,
    CreateCallRequest,
    ListCallsFilter,
    Phone,
    Talk,
    ToPhone,
    TtsStreamOptions,
    Wait,
)

from voice_sandbox.testing import SandboxServer
from voice_sandbox.tests.conftest import Reply, WebhookReceiver

NUMBER = "447700900001"
CUSTOMER = "447700900777"


@pytest.fixture(scope="module")
def tls_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(speed=20, tls=True, cps=1000, rps=1000) as server:
        yield server


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Answered by URL"}, {"action": "wait"}])
    receiver.replies["/transfer"] = Reply(body=[{"action": "talk", "text": "Transferred by URL"}, {"action": "wait"}])
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def account(tls_sandbox: SandboxServer) -> Vonage:
    """The SDK with account credentials only (Applications and Numbers APIs)."""
    return Vonage(
        Auth(api_key=tls_sandbox.api_key, api_secret=tls_sandbox.api_secret),
        HttpClientOptions(api_host=tls_sandbox.host, rest_host=tls_sandbox.host, timeout=30),
    )


@pytest.fixture(scope="module")
def application(account: Vonage, hooks: WebhookReceiver) -> Any:
    return account.application.create_application(
        ApplicationConfig(
            name="contact center",
            capabilities=Capabilities(
                voice=Voice(
                    webhooks=VoiceWebhooks(
                        answer_url=VoiceUrl(address=f"{hooks.url}/answer", http_method="GET"),
                        event_url=VoiceUrl(address=f"{hooks.url}/event", http_method="POST"),
                    ),
                    signed_callbacks=False,
                )
            ),
        )
    )


@pytest.fixture(scope="module")
def client(tls_sandbox: SandboxServer, application: Any) -> Vonage:
    return tls_sandbox.vonage_client(application.id, application.keys.private_key)


def _leg(sandbox: SandboxServer, uuid: str) -> dict[str, Any]:
    return sandbox.call(uuid)


def _wait_heard(sandbox: SandboxServer, uuid: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    heard: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        heard = sandbox.call(uuid)["heard"]
        if len(heard) >= count:
            return heard
        time.sleep(0.02)
    raise TimeoutError(f"heard only {heard}")


def test_sdk_creates_gets_lists_updates_and_deletes_applications(account: Vonage, application: Any) -> None:
    assert application.keys.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert application.keys.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    fetched = account.application.get_application(application.id)
    assert fetched.name == "contact center"
    assert fetched.capabilities.voice.webhooks.answer_url.http_method == "GET"
    assert fetched.capabilities.voice.webhooks.answer_url.connect_timeout == 1000
    assert fetched.capabilities.voice.webhooks.answer_url.socket_timeout == 5000
    assert fetched.capabilities.voice.webhooks.event_url.socket_timeout == 10000
    assert fetched.keys.model_dump() == {"public_key": application.keys.public_key}

    spare = account.application.create_application(ApplicationConfig(name="spare"))
    applications, _next = account.application.list_applications(ListApplicationsFilter(page_size=100, page=1))
    assert [a.name for a in applications] == ["contact center", "spare"]

    renamed = account.application.update_application(spare.id, ApplicationConfig(name="renamed"))
    assert renamed.name == "renamed"
    assert renamed.keys.public_key == spare.keys.public_key

    account.application.delete_application(spare.id)
    with pytest.raises(NotFoundError):
        account.application.get_application(spare.id)
    applications, _next = account.application.list_applications(ListApplicationsFilter(page_size=100, page=1))
    assert [a.id for a in applications] == [application.id]


def test_sdk_searches_buys_and_links_a_number(account: Vonage, application: Any) -> None:
    available, count, _next = account.numbers.search_available_numbers(
        SearchAvailableNumbersFilter(country="GB", type="mobile-lvn", size=5)
    )
    assert count == 100
    assert [n.msisdn for n in available] == [f"4477009000{i:02d}" for i in range(5)]

    status = account.numbers.buy_number(NumberParams(country="GB", msisdn=NUMBER))
    assert (status.error_code, status.error_code_label) == ("200", "success")
    status = account.numbers.update_number(UpdateNumberParams(country="GB", msisdn=NUMBER, app_id=application.id))
    assert status.error_code == "200"

    owned, count, _next = account.numbers.list_owned_numbers(ListOwnedNumbersFilter(application_id=application.id))
    assert count == 1
    assert (owned[0].msisdn, owned[0].app_id, owned[0].country) == (NUMBER, application.id, "GB")
    assert owned[0].voice_callback_type == "app"


def test_sdk_creates_a_call_with_an_ncco_gets_lists_and_hangs_it_up(
    client: Vonage, tls_sandbox: SandboxServer, hooks: WebhookReceiver
) -> None:
    response = client.voice.create_call(
        CreateCallRequest(
            to=[ToPhone(number=CUSTOMER)],
            from_=Phone(number=NUMBER),
            ncco=[Talk(text="Hello from the SDK", loop=0)],
        )
    )
    assert (response.status, response.direction) == ("started", "outbound")
    assert response.conversation_uuid.startswith("CON-")
    tls_sandbox.wait_for_status(response.uuid, "answered")
    assert _wait_heard(tls_sandbox, response.uuid, 1) == [
        {"type": "talk", "text": "Hello from the SDK", "language": "en-US"}
    ]

    call = client.voice.get_call(response.uuid)
    assert (call.uuid, call.status, call.direction) == (response.uuid, "answered", "outbound")
    assert (call.to.number, call.from_.number) == (CUSTOMER, NUMBER)
    assert call.duration is None

    calls, _next = client.voice.list_calls(ListCallsFilter(conversation_uuid=response.conversation_uuid))
    assert [c.uuid for c in calls] == [response.uuid]

    client.voice.hangup(response.uuid)
    tls_sandbox.wait_for_status(response.uuid, "completed")
    call = client.voice.get_call(response.uuid)
    assert call.status == "completed"
    assert call.rate == "0.01000000"
    assert call.network == "23420"
    assert call.duration is not None and call.start_time.endswith("Z") and call.end_time.endswith("Z")
    hooks.wait_status(response.uuid, "completed")
    assert hooks.statuses(response.uuid) == ["started", "ringing", "answered", "completed"]


def test_sdk_creates_a_call_with_an_answer_url(
    client: Vonage, tls_sandbox: SandboxServer, hooks: WebhookReceiver
) -> None:
    response = client.voice.create_call(
        CreateCallRequest(to=[ToPhone(number=CUSTOMER)], from_=Phone(number=NUMBER), answer_url=[f"{hooks.url}/answer"])
    )
    assert _wait_heard(tls_sandbox, response.uuid, 1) == [
        {"type": "talk", "text": "Answered by URL", "language": "en-US"}
    ]
    answer = [r for r in hooks.at("/answer") if r.query.get("uuid") == response.uuid]
    assert len(answer) == 1
    assert answer[0].method == "GET"
    assert answer[0].query["to"] == CUSTOMER
    assert answer[0].query["from"] == NUMBER
    assert answer[0].query["conversation_uuid"] == response.conversation_uuid
    client.voice.hangup(response.uuid)
    tls_sandbox.wait_for_status(response.uuid, "completed")


def test_sdk_controls_a_live_call(client: Vonage, tls_sandbox: SandboxServer, hooks: WebhookReceiver) -> None:
    response = client.voice.create_call(
        CreateCallRequest(
            to=[ToPhone(number=CUSTOMER)], from_=Phone(number=NUMBER), ncco=[Conversation(name="sdk-room")]
        )
    )
    uuid = response.uuid
    tls_sandbox.wait_for_status(uuid, "answered")

    client.voice.mute(uuid)
    client.voice.earmuff(uuid)
    leg = _leg(tls_sandbox, uuid)
    assert (leg["muted"], leg["earmuffed"]) == (True, True)
    client.voice.unmute(uuid)
    client.voice.unearmuff(uuid)
    leg = _leg(tls_sandbox, uuid)
    assert (leg["muted"], leg["earmuffed"]) == (False, False)

    message = client.voice.play_tts_into_call(uuid, TtsStreamOptions(text="Your call matters", language="en-GB"))
    assert (message.message, message.uuid) == ("Talk started", uuid)
    assert client.voice.stop_tts(uuid).message == "Talk stopped"
    message = client.voice.play_audio_into_call(uuid, AudioStreamOptions(stream_url=[f"{hooks.url}/music.mp3"], loop=0))
    assert message.message == "Stream started"
    assert client.voice.stop_audio_stream(uuid).message == "Stream stopped"
    assert client.voice.play_dtmf_into_call(uuid, "1234#").message == "DTMF sent"
    assert _wait_heard(tls_sandbox, uuid, 3) == [
        {"type": "talk", "text": "Your call matters", "language": "en-GB"},
        {"type": "stream", "url": f"{hooks.url}/music.mp3"},
        {"type": "dtmf", "digits": "1234#"},
    ]

    room = _leg(tls_sandbox, uuid)["conversation"]
    assert (room["name"], room["members"]) == ("sdk-room", [uuid])
    client.voice.transfer_call_ncco(uuid, [Talk(text="Transferred inline"), Wait(timeout=600)])
    assert _wait_heard(tls_sandbox, uuid, 4)[3] == {"type": "talk", "text": "Transferred inline", "language": "en-US"}
    client.voice.transfer_call_answer_url(uuid, f"{hooks.url}/transfer")
    assert _wait_heard(tls_sandbox, uuid, 5)[4] == {"type": "talk", "text": "Transferred by URL", "language": "en-US"}
    transfers = hooks.wait_for(
        lambda requests: (
            len(
                [
                    r
                    for r in requests
                    if r.path == "/event" and r.data.get("type") == "transfer" and r.data.get("uuid") == uuid
                ]
            )
            == 2
        )
    )
    events = [r.data for r in transfers if r.path == "/event" and r.data.get("type") == "transfer"]
    assert events[0]["conversation_uuid_from"] == room["uuid"]
    assert events[1]["conversation_uuid_from"] == events[0]["conversation_uuid_to"]
    assert list(events[0]) == ["conversation_uuid_from", "conversation_uuid_to", "uuid", "timestamp", "type"]

    client.voice.hangup(uuid)
    assert tls_sandbox.wait_for_status(uuid, "completed")["disconnected_by"] == "platform"
