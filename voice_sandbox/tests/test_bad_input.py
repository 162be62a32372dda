"""Malformed requests get Vonage's status codes and bodies, and change nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from voice_sandbox.security import generate_key_pair
from voice_sandbox.testing import SandboxServer, application_jwt
from voice_sandbox.tests.conftest import Reply, Setup, WebhookReceiver, fresh_number

TYPE_REASON = "Invalid type parameter provided"


def _call_body(setup: Setup, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": [{"type": "phone", "number": "447700900999"}],
        "from": {"type": "phone", "number": setup.number},
        "ncco": [{"action": "talk", "text": "Hello"}],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _count(setup: Setup) -> int:
    return int(setup.voice.request("GET", "/v1/calls").json()["count"])


def _problem(response: Any, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["title"] == title
    assert isinstance(body["instance"], str) and body["instance"]
    return body


def test_missing_garbage_and_foreign_jwts_get_401(setup: Setup) -> None:
    before = _count(setup)
    private_pem, _public = generate_key_pair()
    forged = application_jwt(setup.app_id, private_pem)  # right application id, wrong key
    expired = application_jwt(setup.app_id, setup.voice.private_key, lifetime=-120)
    too_long = application_jwt(setup.app_id, setup.voice.private_key, lifetime=3 * 24 * 3600)
    for headers in (
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {too_long}"},
        {"Authorization": f"Basic {setup.sandbox.api_key}"},
    ):
        response = setup.sandbox.client.post("/v1/calls", json=_call_body(setup), headers=headers, auth=None)
        body = _problem(response, 401, "Unauthorized")
        assert body["type"] == "https://developer.nexmo.com/api-errors#unauthorized"
        assert body["detail"] == "You did not provide correct credentials."
    assert _count(setup) == before


def test_calls_are_scoped_to_their_application(setup: Setup, sandbox: SandboxServer, receiver: WebhookReceiver) -> None:
    call = setup.outbound("447700900998", [{"action": "talk", "text": "Mine", "loop": 0}])
    other = Setup(sandbox, receiver)
    for method, path, body in (
        ("GET", f"/v1/calls/{call['uuid']}", None),
        ("PUT", f"/v1/calls/{call['uuid']}", {"action": "hangup"}),
        ("PUT", f"/v1/calls/{call['uuid']}/talk", {"text": "Intruder"}),
    ):
        response = other.voice.request(method, path, json=body)
        assert _problem(response, 404, "Not Found")["detail"] == f"Call {call['uuid']} doesn't exist."
    assert other.voice.request("GET", "/v1/calls").json()["count"] == 0
    assert setup.sandbox.wait_for_status(call["uuid"], "answered")["heard"][0]["text"] == "Mine"
    setup.voice.request("PUT", f"/v1/calls/{call['uuid']}", json={"action": "hangup"})
    assert setup.sandbox.wait_for_status(call["uuid"], "completed")["disconnected_by"] == "platform"


@pytest.mark.parametrize(
    ("changes", "invalid"),
    [
        ({"answer_url": "https://example.test/answer", "ncco": None}, [("answer_url", TYPE_REASON)]),
        ({"event_url": "https://example.test/event"}, [("event_url", TYPE_REASON)]),
        (
            {"to": {"type": "phone", "number": "447700900999"}},
            [("to", "Must be an array holding exactly one endpoint")],
        ),
        ({"to": [{"type": "phone", "number": 447700900999}]}, [("to[0].number", TYPE_REASON)]),
        (
            {"to": [{"type": "fax", "number": "447700900999"}]},
            [("to[0].type", "Must be one of: app, phone, sip, vbc, websocket")],
        ),
        ({"from": None}, [("from", "Missing required parameter")]),
        ({"ncco": [{"action": "dance"}]}, [("ncco[0].action", "Unknown action")]),
        ({"ncco": []}, [("ncco", "NCCO must be a non-empty array of actions")]),
        ({"ncco": [{"action": "talk"}]}, [("ncco[0].text", "Missing required parameter")]),
        (
            {"ncco": [{"action": "talk", "text": "x", "bargeIn": True}]},
            [("ncco[0].bargeIn", "bargeIn requires a following input action")],
        ),
        (
            {"ncco": [{"action": "input", "type": ["dtmf"], "dtmf": {"maxDigits": 50}}]},
            [("ncco[0].dtmf.maxDigits", "Must be between 1 and 20")],
        ),
        (
            {"ncco": [{"action": "stream", "streamUrl": "https://example.test/a.mp3"}]},
            [("ncco[0].streamUrl", TYPE_REASON)],
        ),
        ({"ringing_timer": 500}, [("ringing_timer", "Must be between 1 and 120")]),
        ({"length_timer": "60"}, [("length_timer", TYPE_REASON)]),
        ({"machine_detection": "maybe"}, [("machine_detection", "Must be one of: continue, hangup")]),
    ],
)
def test_bad_create_call_bodies_get_400_with_invalid_parameters(
    setup: Setup, changes: dict[str, Any], invalid: list[tuple[str, str]]
) -> None:
    before = _count(setup)
    response = setup.voice.request("POST", "/v1/calls", json=_call_body(setup, **changes))
    body = _problem(response, 400, "Bad Request")
    assert body["type"] == "https://developer.nexmo.com/api-errors#bad-request"
    assert [(p["name"], p["reason"]) for p in body["invalid_parameters"]] == invalid
    assert _count(setup) == before


def test_body_that_is_not_json_gets_400(setup: Setup) -> None:
    before = _count(setup)
    response = setup.voice.request(
        "POST", "/v1/calls", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert _problem(response, 400, "Bad Request")["detail"] == "Invalid JSON body"
    assert _count(setup) == before


def test_unknown_uuids_get_404_everywhere(setup: Setup) -> None:
    missing = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    for method, path, body in (
        ("GET", f"/v1/calls/{missing}", None),
        ("PUT", f"/v1/calls/{missing}", {"action": "mute"}),
        ("PUT", f"/v1/calls/{missing}/stream", {"stream_url": ["https://example.test/a.mp3"]}),
        ("DELETE", f"/v1/calls/{missing}/stream", None),
        ("PUT", f"/v1/calls/{missing}/talk", {"text": "hi"}),
        ("DELETE", f"/v1/calls/{missing}/talk", None),
        ("PUT", f"/v1/calls/{missing}/dtmf", {"digits": "1"}),
        ("GET", f"/v1/files/{missing}", None),
    ):
        response = setup.voice.request(method, path, json=body)
        assert _problem(response, 404, "Not Found")["type"] == "https://developer.nexmo.com/api-errors#not-found"
    assert _problem(setup.sandbox.request("GET", f"/_sandbox/calls/{missing}"), 404, "Not Found")


def test_bad_modifications_and_media_on_an_unanswered_leg_get_400(setup: Setup) -> None:
    callee = fresh_number()
    setup.sandbox.set_phone(callee, on_ring="answer", rings=50)
    call = setup.outbound(callee)
    uuid = call["uuid"]
    for path, body, name, reason in (
        ("", {"action": "explode"}, "action", "Must be one of: earmuff, hangup, mute, transfer, unearmuff, unmute"),
        (
            "",
            {"action": "transfer", "destination": {"type": "url", "url": ["https://x.test"]}},
            "destination.type",
            "Must be one of: ncco",
        ),
        (
            "",
            {"action": "transfer", "destination": {"type": "ncco", "ncco": [{"action": "jump"}]}},
            "destination.ncco[0].action",
            "Unknown action",
        ),
        (
            "",
            {"action": "transfer", "destination": {"type": "ncco", "ncco": [{"action": "talk", "text": "x"}]}},
            "uuid",
            "The call is not answered",
        ),
        ("/talk", {"text": "Too early"}, "uuid", "The call is not answered"),
        ("/stream", {"stream_url": ["https://example.test/a.mp3"]}, "uuid", "The call is not answered"),
        ("/dtmf", {"digits": "12"}, "uuid", "The call is not answered"),
    ):
        response = setup.voice.request("PUT", f"/v1/calls/{uuid}{path}", json=body)
        body_out = _problem(response, 400, "Bad Request")
        assert [(p["name"], p["reason"]) for p in body_out["invalid_parameters"]] == [(name, reason)]
    leg = setup.sandbox.call(uuid)
    assert (leg["status"], leg["heard"], leg["muted"]) == ("ringing", [], False)
    setup.voice.request("PUT", f"/v1/calls/{uuid}", json={"action": "hangup"})
    setup.receiver.wait_status(uuid, "completed")
    assert setup.receiver.statuses(uuid) == ["started", "ringing", "cancelled", "completed"]
    response = setup.voice.request("PUT", f"/v1/calls/{uuid}", json={"action": "mute"})
    assert _problem(response, 400, "Bad Request")["detail"] == "Call is not in progress"


def test_rate_limits_answer_429(sandbox: SandboxServer, setup: Setup) -> None:
    sandbox.set_limits(cps=2, rps=3)
    try:
        time.sleep(1.05)  # a fresh one-second window
        before = sandbox.calls()
        statuses = [setup.voice.request("POST", "/v1/calls", json=_call_body(setup)).status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        rps = [setup.voice.request("GET", "/v1/calls").status_code for _ in range(4)]
        assert rps == [200, 200, 200, 429]
        response = setup.voice.request("GET", "/v1/calls")
        body = _problem(response, 429, "Rate Limit Hit")
        assert body["type"] == "https://developer.vonage.com/api-errors#rate-limit"
        assert body["detail"] == "Please wait, then retry your request"
        assert len(sandbox.calls()) == len(before) + 2
    finally:
        sandbox.set_limits(cps=1000, rps=1000)


def test_applications_api_rejects_bad_credentials_and_payloads(sandbox: SandboxServer) -> None:
    before = sandbox.request("GET", "/v2/applications", params={"page_size": 100}).json()["total_items"]
    response = sandbox.client.get("/v2/applications", auth=("sandbox", "wrong"))
    _problem(response, 401, "Unauthorized")
    response = sandbox.request(
        "POST",
        "/v2/applications",
        json={
            "capabilities": {
                "voice": {
                    "webhooks": {
                        "answer_url": {"address": "https://x.test/a", "http_method": "PATCH", "socket_timeout": 99999}
                    }
                }
            },
            "keys": {"public_key": "not a key"},
        },
    )
    body = _problem(response, 400, "Bad Request")
    assert body["type"] == "https://developer.nexmo.com/api-errors/application#payload-validation"
    assert [(p["name"], p["reason"]) for p in body["invalid_parameters"]] == [
        ("name", "Missing required parameter"),
        ("keys.public_key", "Must be a PEM encoded RSA public key"),
        ("capabilities.voice.webhooks.answer_url.http_method", "Must be one of: GET, POST"),
        ("capabilities.voice.webhooks.answer_url.socket_timeout", "Must be between 1000 and 5000"),
    ]
    missing = sandbox.request("GET", "/v2/applications/00000000-0000-0000-0000-000000000000")
    _problem(missing, 404, "Not Found")
    assert sandbox.request("GET", "/v2/applications", params={"page_size": 100}).json()["total_items"] == before


def test_numbers_api_errors_use_its_own_shape(sandbox: SandboxServer) -> None:
    response = sandbox.client.get("/account/numbers", auth=("sandbox", "wrong"))
    assert (response.status_code, response.json()) == (
        401,
        {"error-code": "401", "error-code-label": "authentication failed"},
    )
    number = fresh_number()
    sandbox.buy_number(number)
    again = sandbox.request("POST", "/number/buy", data={"country": "GB", "msisdn": number})
    assert (again.status_code, again.json()) == (420, {"error-code": "420", "error-code-label": "method failed"})
    unknown_app = sandbox.request("POST", "/number/update", data={"country": "GB", "msisdn": number, "app_id": "nope"})
    assert unknown_app.status_code == 420
    owned = sandbox.request("GET", "/account/numbers", params={"pattern": number, "size": 100}).json()
    assert owned == {
        "count": 1,
        "numbers": [{"country": "GB", "msisdn": number, "type": "mobile-lvn", "features": ["VOICE", "SMS"]}],
    }


def test_control_api_rejects_bad_scripts_and_needs_credentials(sandbox: SandboxServer) -> None:
    number = fresh_number()
    response = sandbox.request(
        "PUT", f"/_sandbox/phones/{number}", json={"on_ring": "explode", "script": [{"dance": 1}]}
    )
    body = _problem(response, 400, "Bad Request")
    assert [(p["name"], p["reason"]) for p in body["invalid_parameters"]] == [
        ("on_ring", "Must be one of: answer, busy, fail, reject, unanswered"),
        ("script[0]", "Each step is one of wait, dtmf, say, hangup, wait_for"),
    ]
    assert sandbox.request("GET", f"/_sandbox/phones/{number}").json() == {
        "number": number,
        "on_ring": "answer",
        "rings": 1,
        "machine": False,
        "script": [],
    }
    assert sandbox.client.post("/_sandbox/clock", json={"speed": 5}, auth=("x", "y")).status_code == 401
    assert _problem(sandbox.request("POST", "/_sandbox/clock", json={"speed": "fast"}), 400, "Bad Request")
    assert sandbox.request("GET", "/_sandbox/clock").json() == {"speed": 20.0}
    unlinked = sandbox.request("POST", "/_sandbox/calls", json={"from": "447700900111", "to": "15550000000"})
    assert (
        _problem(unlinked, 404, "Not Found")["detail"]
        == "Number 15550000000 is not linked to an application of this account"
    )


def test_an_invalid_ncco_from_an_input_webhook_does_not_crash_the_call(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {
                "action": "input",
                "type": ["dtmf"],
                "dtmf": {"maxDigits": 1},
                "eventUrl": [f"{setup.receiver.url}/input"],
            },
            {"action": "talk", "text": "Still here"},
        ]
    )
    setup.receiver.replies["/input"] = Reply(body=[{"action": "talk", "text": 42}])
    call = setup.sandbox.place_inbound(
        from_="447700900401", to=setup.number, script=[{"wait_for": "input"}, {"dtmf": "1"}]
    )
    setup.receiver.wait_status(call["uuid"], "completed")
    errors = [r.json for r in setup.receiver.at("/event") if "reason" in r.json]
    assert [e["reason"] for e in errors] == ["Syntax error in NCCO. Invalid value type or action."]
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["Still here"]


def test_a_token_without_exp_lives_fifteen_minutes(setup: Setup) -> None:
    import uuid

    import jwt

    def token(iat: int) -> str:
        claims = {"application_id": setup.app_id, "iat": iat, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, setup.voice.private_key, algorithm="RS256")

    fresh = setup.sandbox.client.get(
        "/v1/calls", headers={"Authorization": f"Bearer {token(int(time.time()))}"}, auth=None
    )
    stale = setup.sandbox.client.get(
        "/v1/calls", headers={"Authorization": f"Bearer {token(int(time.time()) - 16 * 60)}"}, auth=None
    )
    assert (fresh.status_code, stale.status_code) == (200, 401)
