"""VoiceClient against the Voice API sandbox over real HTTP: the whole life of a call, end to end.

The sandbox plays Vonage; a scripted loopback server plays our webhook endpoints.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from contactcenter.voice import ncco
from contactcenter.voice.client import VoiceClient
from contactcenter.voice.errors import VoiceApiAuthError
from voice_sandbox.testing import SandboxServer

from .conftest import Recorded, Reply, ScriptedServer

VIRTUAL_NUMBER = "447700900001"
CUSTOMER = "447700900123"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(speed=20) as running:
        yield running


def _wait_for(server: ScriptedServer, path: str, timeout: float = 15.0) -> Recorded:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in server.requests:
            if request.path == path:
                return request
        time.sleep(0.02)
    raise AssertionError(f"no webhook on {path} within {timeout} s")


def test_a_call_from_creation_to_recording_download(sandbox: SandboxServer, server: ScriptedServer) -> None:
    server.script("POST", "/webhooks/event", Reply(json={}))
    server.script("POST", "/webhooks/record", Reply(json={}))
    boot = VoiceClient(sandbox.url, None, None, api_key=sandbox.api_key, api_secret=sandbox.api_secret)
    app = boot.create_application(
        {
            "name": "contact center",
            "capabilities": {
                "voice": {
                    "webhooks": {"event_url": {"address": f"{server.url}/webhooks/event", "http_method": "POST"}},
                }
            },
        }
    )
    other = boot.create_application({"name": "someone else"})
    boot.buy_number("GB", VIRTUAL_NUMBER)
    boot.update_number("GB", VIRTUAL_NUMBER, app_id=app["id"])
    sandbox.set_phone(CUSTOMER, on_ring="answer", rings=1)
    client = VoiceClient(sandbox.url, app["id"], app["keys"]["private_key"])
    stranger = VoiceClient(sandbox.url, other["id"], other["keys"]["private_key"])

    assert sorted(a["id"] for a in boot.list_applications(page_size=1)) == sorted([app["id"], other["id"]])
    assert [n["app_id"] for n in boot.list_owned_numbers()] == [app["id"]]

    created = client.create_call(
        to=[ncco.PhoneEndpoint(CUSTOMER)],
        ncco=[
            ncco.Record(event_url=f"{server.url}/webhooks/record", format="mp3"),
            ncco.Talk("Thank you for calling"),
            ncco.Wait(60),
        ],
        from_number=VIRTUAL_NUMBER,
    )
    assert created["status"] == "started"
    assert created["direction"] == "outbound"
    sandbox.wait_for_status(created["uuid"], "answered")

    leg = client.get_call(created["uuid"])
    assert (leg["uuid"], leg["status"], leg["to"], leg["from"]) == (
        created["uuid"],
        "answered",
        {"type": "phone", "number": CUSTOMER},
        {"type": "phone", "number": VIRTUAL_NUMBER},
    )
    assert client.send_dtmf(created["uuid"], "12") == {"message": "DTMF sent", "uuid": created["uuid"]}
    client.mute(created["uuid"])
    client.unmute(created["uuid"])
    assert [c["uuid"] for c in client.list_calls(conversation_uuid=created["conversation_uuid"])] == [created["uuid"]]
    client.hangup(created["uuid"])
    sandbox.wait_for_status(created["uuid"], "completed")

    recording_url = _wait_for(server, "/webhooks/record").json["recording_url"]
    buffer = io.BytesIO()
    size = client.download_recording(recording_url, buffer)
    direct = sandbox.voice(app["id"], app["keys"]["private_key"]).request("GET", recording_url)
    assert direct.status_code == 200
    assert buffer.getvalue() == direct.content
    assert size == len(direct.content) > 0

    # Recordings belong to the application that made them: another application's JWT gets 401, as on Vonage.
    with pytest.raises(VoiceApiAuthError):
        stranger.download_recording(recording_url, io.BytesIO())

    for each in (boot, client, stranger):
        each.close()


def test_list_calls_pages_through_the_sandbox(sandbox: SandboxServer, server: ScriptedServer) -> None:
    server.script("POST", "/webhooks/event", Reply(json={}))
    boot = VoiceClient(sandbox.url, None, None, api_key=sandbox.api_key, api_secret=sandbox.api_secret)
    app = boot.create_application({"name": "contact center"})
    boot.buy_number("GB", VIRTUAL_NUMBER)
    boot.update_number("GB", VIRTUAL_NUMBER, app_id=app["id"])
    sandbox.set_phone(CUSTOMER, on_ring="reject")
    client = VoiceClient(sandbox.url, app["id"], app["keys"]["private_key"], backoff_base=0.5)
    uuids = []
    for _ in range(3):
        created = client.create_call(
            to=[ncco.PhoneEndpoint(CUSTOMER)],
            ncco=[ncco.Talk("Hello")],
            from_number=VIRTUAL_NUMBER,
            event_url=f"{server.url}/webhooks/event",
        )
        uuids.append(created["uuid"])

    listed = [call["uuid"] for call in client.list_calls(page_size=1, order="asc")]

    assert listed == uuids
    boot.close()
    client.close()
