"""End to end: the sandbox places real calls against our real webhook endpoints over HTTP.

The product runs as its real ASGI application on a socket; the sandbox signs its callbacks and
we verify them; supervisors' live controls go through the Voice API client to the sandbox.
"""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from calls.answer import NOT_IN_SERVICE
from calls.models import Call
from contactcenter.voice import get_client
from voice_sandbox.testing import SandboxServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

OUR_NUMBER = "447700900000"
CUSTOMER = "447700900123"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(speed=10, cps=1000, rps=1000) as server:
        yield server


@pytest.fixture
def stack(sandbox, asgi_server):
    """Our application in the sandbox, pointed at the live server, and our settings pointed at the sandbox."""
    sandbox.reset(everything=True)
    app_id, private_key = sandbox.create_application(
        "contact center under test",
        answer_url=f"{asgi_server.url}/webhooks/answer",
        event_url=f"{asgi_server.url}/webhooks/event",
        fallback_url=f"{asgi_server.url}/webhooks/fallback",
        signed_callbacks=True,
    )
    sandbox.buy_number(OUR_NUMBER, app_id=app_id)
    with override_settings(
        VONAGE_API_URL=sandbox.url,
        VONAGE_APPLICATION_ID=app_id,
        VONAGE_PRIVATE_KEY=private_key,
        VONAGE_PRIVATE_KEY_PATH=None,
        VONAGE_SIGNATURE_SECRET=sandbox.config.signature_secret,
    ):
        yield {"app_id": app_id, "private_key": private_key, "server": asgi_server}


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def place_outbound(stack, number: str, ncco: list[dict]) -> str:
    """Place a call through our Voice API client, events to our live server; returns the leg uuid."""
    created = get_client().create_call(
        to=[{"type": "phone", "number": number}],
        from_number=OUR_NUMBER,
        ncco=ncco,
        event_url=f"{stack['server'].url}/webhooks/event",
    )
    return created["uuid"]


def record_of(uuid: str, status: str) -> Call:
    return wait_for(lambda: Call.objects.filter(uuid=uuid, status=status).first())


def test_inbound_call_is_answered_and_recorded(sandbox, stack) -> None:
    placed = sandbox.place_inbound(to=OUR_NUMBER, from_=CUSTOMER)
    leg = sandbox.wait_for_status(placed["uuid"], "completed")
    assert [entry.get("text") for entry in leg["heard"] if entry["type"] == "talk"] == [NOT_IN_SERVICE]
    call = wait_for(lambda: Call.objects.filter(uuid=placed["uuid"], status="completed").first())
    assert (call.direction, call.from_number, call.to_number, call.outcome) == (
        "inbound",
        CUSTOMER,
        OUR_NUMBER,
        "answered",
    )
    assert call.conversation_uuid == placed["conversation_uuid"]
    assert call.answered_at is not None and call.completed_at is not None
    assert call.duration is not None
    kinds = sorted(call.events.values_list("kind", "status"))
    assert kinds == sorted([("status", "started"), ("status", "ringing"), ("answer", ""), ("status", "answered"),
                            ("status", "completed")])  # fmt: skip
    assert call.interaction.customer_number == CUSTOMER


def test_outbound_call_placed_with_the_client_is_recorded(sandbox, stack) -> None:
    sandbox.set_phone("447700900777", rings=2, script=[{"wait": 1}, {"hangup": True}])
    uuid = place_outbound(
        stack, "447700900777", [{"action": "talk", "text": "This is a reminder of your appointment tomorrow."}]
    )
    call = record_of(uuid, "completed")
    assert (call.direction, call.to_number, call.outcome, call.disconnected_by) == (
        "outbound", "447700900777", "answered", "user"
    )  # fmt: skip
    assert call.ringing_at is not None and call.answered_at >= call.ringing_at


def test_busy_outbound_call_gets_the_busy_outcome(sandbox, stack) -> None:
    sandbox.set_phone("447700900888", on_ring="busy")
    uuid = place_outbound(stack, "447700900888", [{"action": "talk", "text": "never heard"}])
    call = record_of(uuid, "completed")
    assert call.outcome == "busy"
    assert call.answered_at is None


def test_supervisor_mutes_and_hangs_up_a_live_call(sandbox, stack, supervisor_user, api_client_for) -> None:
    uuid = place_outbound(stack, "447700900999", [{"action": "conversation", "name": "hold-room"}])
    call = record_of(uuid, "answered")
    api = api_client_for(supervisor_user)

    assert api.post(f"/api/v1/calls/{call.pk}/mute/").status_code == 202
    assert sandbox.call(uuid)["muted"] is True
    assert api.post(f"/api/v1/calls/{call.pk}/unmute/").status_code == 202
    assert sandbox.call(uuid)["muted"] is False
    assert api.post(f"/api/v1/calls/{call.pk}/earmuff/").status_code == 202
    assert sandbox.call(uuid)["earmuffed"] is True

    bad = api.post(f"/api/v1/calls/{call.pk}/transfer/", {"ncco": [{"action": "talk"}]}, format="json")
    assert bad.status_code == 400
    assert "ncco" in bad.json()
    assert sandbox.call(uuid)["status"] == "answered"

    assert api.post(f"/api/v1/calls/{call.pk}/hangup/").status_code == 202
    wait_for(lambda: Call.objects.filter(pk=call.pk, status="completed").exists())
    again = api.post(f"/api/v1/calls/{call.pk}/hangup/")
    assert again.status_code == 409


def test_transfer_by_ncco_reaches_the_live_leg(sandbox, stack, supervisor_user, api_client_for) -> None:
    uuid = place_outbound(stack, "447700900998", [{"action": "conversation", "name": "transfer-room"}])
    call = record_of(uuid, "answered")
    ncco = [{"action": "talk", "text": "You are being transferred to our survey."}]
    response = api_client_for(supervisor_user).post(f"/api/v1/calls/{call.pk}/transfer/", {"ncco": ncco}, format="json")
    assert response.status_code == 202
    wait_for(lambda: Call.objects.filter(pk=call.pk, status="completed").exists())
    heard = [entry.get("text") for entry in sandbox.call(uuid)["heard"] if entry["type"] == "talk"]
    assert heard == ["You are being transferred to our survey."]
    assert call.events.filter(kind="transfer").count() == 1
