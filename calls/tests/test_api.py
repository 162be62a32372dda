"""The calls REST API: who sees what, filters, the event timeline, controls refused before any request."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from calls.models import Call
from calls.tests.fixtures import BUSY, INBOUND, OUTBOUND, inbound_call, outbound_calls

# The webhooks do their database work on worker threads (their own connections), so tests
# must really commit: transactional_db.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls_loaded() -> None:
    client = Client()
    for payload in inbound_call() + outbound_calls():
        assert client.post("/webhooks/event", json.dumps(payload), content_type="application/json").status_code == 200


def test_supervisor_lists_and_filters_calls(calls_loaded, supervisor_user, api_client_for) -> None:
    api = api_client_for(supervisor_user)
    everything = api.get("/api/v1/calls/").json()
    assert everything["count"] == 5
    inbound = api.get("/api/v1/calls/", {"direction": "inbound"}).json()
    assert [c["uuid"] for c in inbound["results"]] == [INBOUND]
    busy = api.get("/api/v1/calls/", {"outcome": "busy"}).json()
    assert [c["uuid"] for c in busy["results"]] == [BUSY]
    by_uuid = api.get("/api/v1/calls/", {"uuid": OUTBOUND}).json()
    assert by_uuid["count"] == 1
    assert by_uuid["results"][0]["price"] == "0.02833333"
    conversation = api.get("/api/v1/calls/", {"conversation_uuid": inbound["results"][0]["conversation_uuid"]}).json()
    assert conversation["count"] == 2
    statuses = api.get("/api/v1/calls/", {"status": ["rejected"]}).json()
    assert statuses["count"] == 1
    later = api.get("/api/v1/calls/", {"created_after": "2999-01-01T00:00:00Z"}).json()
    assert later["count"] == 0


def test_bad_filters_get_400(supervisor_user, api_client_for) -> None:
    api = api_client_for(supervisor_user)
    for query in ({"direction": "sideways"}, {"status": "exploded"}, {"created_after": "last tuesday"}):
        response = api.get("/api/v1/calls/", query)
        assert response.status_code == 400
        assert next(iter(query)) in response.json()


def test_detail_has_the_event_timeline_in_order(calls_loaded, supervisor_user, api_client_for) -> None:
    call = Call.objects.get(uuid=INBOUND)
    detail = api_client_for(supervisor_user).get(f"/api/v1/calls/{call.pk}/").json()
    assert detail["status"] == "completed"
    assert [e["status"] or e["kind"] for e in detail["events"]] == [
        "started",
        "ringing",
        "answered",
        "input",
        "completed",
    ]


def test_agents_see_only_their_own_calls(calls_loaded, agent_user, other_agent_user, api_client_for) -> None:
    mine = Call.objects.get(uuid=INBOUND)
    Call.objects.filter(pk=mine.pk).update(agent=agent_user)
    theirs = Call.objects.get(uuid=OUTBOUND)
    Call.objects.filter(pk=theirs.pk).update(agent=other_agent_user)
    api = api_client_for(agent_user)
    listing = api.get("/api/v1/calls/").json()
    assert [c["uuid"] for c in listing["results"]] == [INBOUND]
    assert api.get(f"/api/v1/calls/{mine.pk}/").status_code == 200
    hidden = api.get(f"/api/v1/calls/{theirs.pk}/")
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": "No such call."}


@pytest.mark.parametrize("action", ["hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer"])
def test_agents_cannot_control_calls(calls_loaded, agent_user, api_client_for, action: str) -> None:
    call = Call.objects.get(uuid=INBOUND)
    Call.objects.filter(pk=call.pk).update(agent=agent_user)
    response = api_client_for(agent_user).post(f"/api/v1/calls/{call.pk}/{action}/", {}, format="json")
    assert response.status_code == 403


def test_controls_on_an_ended_call_are_409_without_a_request(calls_loaded, supervisor_user, api_client_for) -> None:
    call = Call.objects.get(uuid=INBOUND)
    response = api_client_for(supervisor_user).post(f"/api/v1/calls/{call.pk}/hangup/")
    assert response.status_code == 409
    assert response.json() == {"detail": "The call has already ended (completed)."}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Give exactly one of 'ncco' (a list of actions) or 'url'."),
        ({"ncco": [{"action": "talk"}], "url": "https://x.example/ncco"}, "Give exactly one of"),
        ({"url": "not a url"}, "Enter a valid URL."),
    ],
)
def test_bad_transfer_requests_get_400(calls_loaded, supervisor_user, api_client_for, body, message) -> None:
    call = Call.objects.get(uuid=INBOUND)
    Call.objects.filter(pk=call.pk).update(status="answered")
    response = api_client_for(supervisor_user).post(f"/api/v1/calls/{call.pk}/transfer/", body, format="json")
    assert response.status_code == 400
    assert message in json.dumps(response.json())


def test_unknown_call_is_404(supervisor_user, api_client_for) -> None:
    api = api_client_for(supervisor_user)
    assert api.get("/api/v1/calls/424242/").status_code == 404
    assert api.post("/api/v1/calls/424242/hangup/").status_code == 404
