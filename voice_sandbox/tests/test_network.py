"""Persistence across restarts, app users, websockets, async DTMF, and the standalone command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.server import ServerConnection, serve

from voice_sandbox.testing import SandboxServer, free_port
from voice_sandbox.tests.conftest import Reply, Setup, WebhookReceiver, fresh_number

BASE_DIR = Path(__file__).resolve().parents[2]


def test_applications_numbers_scripts_and_call_records_survive_a_restart(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    receiver.replies["/answer"] = Reply(body=[{"action": "talk", "text": "Persisted"}])
    with SandboxServer(speed=20, data_dir=tmp_path, cps=100, rps=100) as first:
        setup = Setup(first, receiver)
        first.set_phone("447700900555", on_ring="busy")
        call = first.place_inbound(from_="447700900501", to=setup.number)
        first.wait_for_status(call["uuid"], "completed")
        live = setup.outbound("447700900502", [{"action": "talk", "text": "Cut by the restart", "loop": 0}])
        first.wait_for_status(live["uuid"], "answered")
        before = first.wait_until(call["uuid"], lambda leg: len(leg["webhooks"]) == 5)
        api_record = setup.voice.request("GET", f"/v1/calls/{call['uuid']}").json()
    assert (tmp_path / "sandbox.sqlite3").is_file()

    with SandboxServer(speed=20, data_dir=tmp_path) as second:
        voice = second.voice(setup.app_id, setup.voice.private_key)
        assert voice.request("GET", f"/v1/calls/{call['uuid']}").json() == api_record
        after = second.call(call["uuid"])
        assert (after["heard"], after["webhooks"]) == (before["heard"], before["webhooks"])
        cut = voice.request("GET", f"/v1/calls/{live['uuid']}").json()
        assert (cut["status"], cut["duration"] is not None) == ("completed", True)
        owned = second.request("GET", "/account/numbers", params={"application_id": setup.app_id}).json()
        assert [n["msisdn"] for n in owned["numbers"]] == [setup.number]
        assert second.request("GET", "/_sandbox/phones/447700900555").json()["on_ring"] == "busy"
        assert second.request("GET", f"/v2/applications/{setup.app_id}").json()["name"] == "events"


def test_app_users_are_scripted_like_phones(setup: Setup) -> None:
    setup.sandbox.set_user(
        "agent.alice", on_ring="answer", rings=2, script=[{"say": "Alice speaking"}, {"hangup": True}]
    )
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "connect", "endpoint": [{"type": "app", "user": "agent.alice"}]},
            {"action": "talk", "text": "Alice has gone"},
        ]
    )
    call = setup.sandbox.place_inbound(from_="447700900503", to=setup.number)
    setup.receiver.wait_status(call["uuid"], "completed")
    agent_events = [r.data for r in setup.receiver.at("/event") if r.data.get("to") == "agent.alice"]
    assert [e["status"] for e in agent_events] == ["started", "ringing", "answered", "completed"]
    alice = agent_events[0]["uuid"]
    assert setup.sandbox.call(call["uuid"])["heard"] == [
        {"type": "speech", "text": "Alice speaking", "from": alice},
        {"type": "talk", "text": "Alice has gone", "language": "en-US"},
    ]
    assert setup.sandbox.call(alice)["to_endpoint"] == {"type": "app", "user": "agent.alice"}


def test_outbound_call_to_an_app_user_who_does_not_answer(setup: Setup) -> None:
    setup.sandbox.set_user("agent.bob", on_ring="unanswered", rings=2)
    body = {
        "to": [{"type": "app", "user": "agent.bob"}],
        "from": {"type": "phone", "number": setup.number},
        "ncco": [{"action": "talk", "text": "Hi Bob"}],
    }
    call = setup.voice.create_call(body)
    setup.receiver.wait_status(call["uuid"], "completed")
    assert setup.receiver.statuses(call["uuid"]) == ["started", "ringing", "unanswered", "completed"]


class WsServer:
    """A websockets server in a thread that records messages and closes after ``close_after`` seconds."""

    def __init__(self, close_after: float) -> None:
        self.port = free_port()
        self.messages: list[Any] = []
        self.headers: dict[str, str] = {}
        self.close_after = close_after
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)

    async def handler(self, connection: ServerConnection) -> None:
        self.headers = dict(connection.request.headers) if connection.request else {}
        self.messages.append(json.loads(await connection.recv()))
        await asyncio.sleep(self.close_after)
        await connection.close()

    async def main(self) -> None:
        self.stop_event = asyncio.Event()
        async with serve(self.handler, "127.0.0.1", self.port):
            self.ready.set()
            await self.stop_event.wait()

    def __enter__(self) -> WsServer:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(5)


def test_websocket_endpoint_connects_and_a_close_sends_disconnected(setup: Setup) -> None:
    with WsServer(close_after=0.3) as ws:
        setup.receiver.replies["/answer"] = Reply(
            body=[
                {
                    "action": "connect",
                    "eventType": "synchronous",
                    "eventUrl": [f"{setup.receiver.url}/ws-event"],
                    "endpoint": [
                        {
                            "type": "websocket",
                            "uri": f"ws://127.0.0.1:{ws.port}/socket",
                            "content-type": "audio/l16;rate=16000",
                            "headers": {"caller": "447700900504", "lang": "en"},
                            "authorization": {"type": "custom", "value": "Token abc"},
                        }
                    ],
                },
                {"action": "talk", "text": "Replaced"},
            ]
        )
        setup.receiver.replies["/ws-event"] = lambda request: Reply(
            body=[{"action": "talk", "text": "The bot hung up"}]
            if request.json.get("status") == "disconnected"
            else None
        )
        call = setup.sandbox.place_inbound(from_="447700900504", to=setup.number)
        setup.receiver.wait_status(call["uuid"], "completed")
        assert ws.messages == [
            {
                "event": "websocket:connected",
                "content-type": "audio/l16;rate=16000",
                "caller": "447700900504",
                "lang": "en",
            }
        ]
        assert ws.headers["authorization"] == "Token abc"
    events = [r.json for r in setup.receiver.at("/ws-event")]
    assert [e["status"] for e in events] == ["started", "answered", "disconnected", "completed"]
    disconnected = events[2]
    assert "direction" not in disconnected
    assert disconnected["headers"] == {"caller": "447700900504", "lang": "en"}
    assert disconnected["to"] == f"ws://127.0.0.1:{ws.port}/socket"
    assert [h["text"] for h in setup.sandbox.call(call["uuid"])["heard"]] == ["The bot hung up"]


def test_asynchronous_input_sends_one_webhook_per_digit_and_the_listener_gets_them_too(setup: Setup) -> None:
    setup.receiver.replies["/answer"] = Reply(
        body=[
            {"action": "input", "type": ["dtmf"], "mode": "asynchronous", "eventUrl": [f"{setup.receiver.url}/async"]},
            {"action": "conversation", "name": "async-room"},
        ]
    )
    call = setup.sandbox.place_inbound(from_="447700900505", to=setup.number)
    setup.sandbox.wait_for_status(call["uuid"], "answered")
    setup.sandbox.wait_until(call["uuid"], lambda leg: (leg.get("conversation") or {}).get("name") == "async-room")
    response = setup.voice.request(
        "PUT", f"/v1/calls/{call['uuid']}/input/dtmf", json={"event_url": [f"{setup.receiver.url}/listener"]}
    )
    assert response.json() == {"message": "DTMF listener registered", "uuid": call["uuid"]}
    setup.sandbox.run_script(call["uuid"], [{"dtmf": "7*"}])
    setup.receiver.wait_for(lambda _: len(setup.receiver.at("/listener")) == 2)
    assert [r.json["dtmf"] for r in setup.receiver.at("/async")] == [
        {"digits": "7", "timed_out": False},
        {"digits": "*", "timed_out": False},
    ]
    assert [r.json["dtmf"]["digits"] for r in setup.receiver.at("/listener")] == ["7", "*"]
    assert setup.voice.request("DELETE", f"/v1/calls/{call['uuid']}/input/dtmf").status_code == 200
    setup.voice.request("PUT", f"/v1/calls/{call['uuid']}", json={"action": "hangup"})
    setup.receiver.wait_status(call["uuid"], "completed")


def test_list_calls_pages_with_hal_links(setup: Setup) -> None:
    uuids = [setup.outbound(fresh_number(), [{"action": "talk", "text": str(i)}])["uuid"] for i in range(3)]
    first = setup.voice.request("GET", "/v1/calls", params={"page_size": 2}).json()
    assert (first["count"], first["page_size"], first["record_index"]) == (3, 2, 0)
    assert [c["uuid"] for c in first["_embedded"]["calls"]] == uuids[:2]
    assert first["_links"] == {
        "self": {"href": "/v1/calls?page_size=2"},
        "first": {"href": "/v1/calls?page_size=2"},
        "last": {"href": "/v1/calls?page_size=2&record_index=2"},
        "next": {"href": "/v1/calls?page_size=2&record_index=2"},
    }
    second = setup.voice.request("GET", "/v1/calls", params={"page_size": 2, "record_index": 2}).json()
    assert [c["uuid"] for c in second["_embedded"]["calls"]] == uuids[2:]
    assert "next" not in second["_links"]
    assert second["_links"]["prev"] == {"href": "/v1/calls?page_size=2"}
    desc = setup.voice.request("GET", "/v1/calls", params={"order": "desc"}).json()
    assert [c["uuid"] for c in desc["_embedded"]["calls"]] == uuids[::-1]
    assert second["_embedded"]["calls"][0]["_links"] == {"self": {"href": f"/v1/calls/{uuids[2]}"}}


@pytest.fixture
def command(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env = dict(os.environ, SANDBOX_API_KEY="cmdkey", SANDBOX_API_SECRET="cmdsecret", SANDBOX_CPS="7")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", str(port), "--speed", "5", "--data-dir", str(tmp_path)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_manage_py_sandbox_serves_and_prints_the_credentials(command: tuple[subprocess.Popen[str], int]) -> None:
    process, port = command
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1, trust_env=False)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)
    assert response.json() == {"status": "ok", "live_calls": 0, "speed": 5.0}
    limits = httpx.get(f"http://127.0.0.1:{port}/_sandbox/limits", auth=("cmdkey", "cmdsecret"), trust_env=False)
    assert limits.json() == {"cps": 7.0, "rps": 15.0}
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=10)
    assert f"Vonage Voice API sandbox on http://127.0.0.1:{port}" in output
    assert "SANDBOX_API_KEY=cmdkey" in output
    assert "SANDBOX_API_SECRET=cmdsecret" in output


def test_websockets_library_is_available_for_the_websocket_endpoint() -> None:
    # uvicorn[standard] brings websockets at run time; the sandbox uses it as the websocket client.
    assert websockets.__version__


def test_v2_calls_beta_answers_202_and_places_the_call(setup: Setup) -> None:
    body = {
        "to": [{"type": "app", "user": "agent.carol"}],
        "from": {"type": "phone", "number": setup.number},
        "ncco": [{"action": "talk", "text": "Hi Carol"}],
    }
    response = setup.voice.request("POST", "/v2/calls", json=body)
    assert (response.status_code, response.json()) == (202, {})
    events = setup.receiver.wait_for(
        lambda rs: any(r.path == "/event" and r.data.get("status") == "completed" for r in rs)
    )
    statuses = [r.data["status"] for r in events if r.path == "/event"]
    assert statuses == ["started", "ringing", "answered", "completed"]
    count = setup.voice.request("GET", "/v1/calls").json()["count"]
    missing_from = setup.voice.request("POST", "/v2/calls", json={**body, "from": None, "random_from_number": True})
    assert missing_from.status_code == 400
    assert [(p["name"], p["reason"]) for p in missing_from.json()["invalid_parameters"]] == [
        ("from", "Missing required parameter")
    ]
    assert setup.voice.request("GET", "/v1/calls").json()["count"] == count == 1


def test_ensure_application_is_idempotent_and_survives_a_lost_sandbox(tmp_path: Path) -> None:
    from voice_sandbox.bootstrap import BootstrapError, ensure_application, wait_for_sandbox

    keys = tmp_path / "keys"
    with pytest.raises(BootstrapError):
        wait_for_sandbox(f"http://127.0.0.1:{free_port()}", timeout=0.3)
    with SandboxServer(speed=20, data_dir=tmp_path / "data") as server:
        wait_for_sandbox(server.url)
        options = {
            "base_url": server.url,
            "api_key": server.api_key,
            "api_secret": server.api_secret,
            "name": "contact center",
            "answer_url": "http://127.0.0.1:8000/webhooks/answer",
            "event_url": "http://127.0.0.1:8000/webhooks/event",
            "fallback_url": "http://127.0.0.1:8000/webhooks/fallback",
            "numbers": ("447700900000", "447700900001"),
            "key_dir": keys,
        }
        first = ensure_application(**options)
        again = ensure_application(**{**options, "event_url": "http://127.0.0.1:8000/webhooks/events"})
        assert again.application_id == first.application_id
        assert oct((keys / "sandbox-private.key").stat().st_mode & 0o777) == "0o600"
        app = server.request("GET", f"/v2/applications/{first.application_id}", expect=200).json()
        assert (
            app["capabilities"]["voice"]["webhooks"]["event_url"]["address"] == "http://127.0.0.1:8000/webhooks/events"
        )
        assert app["capabilities"]["voice"]["signed_callbacks"] is True
        owned = server.request("GET", "/account/numbers", params={"application_id": first.application_id}).json()
        assert [n["msisdn"] for n in owned["numbers"]] == ["447700900000", "447700900001"]
        assert server.request("GET", "/v2/applications").json()["total_items"] == 1
        voice = server.voice(first.application_id, first.private_key)
        assert voice.request("GET", "/v1/calls").json()["count"] == 0
    with SandboxServer(speed=20, data_dir=tmp_path / "fresh") as fresh:
        recreated = ensure_application(**{**options, "base_url": fresh.url})
        assert recreated.application_id != first.application_id
        assert (
            fresh.voice(recreated.application_id, recreated.private_key).request("GET", "/v1/calls").status_code == 200
        )


def test_finished_legs_become_records_and_still_answer(setup: Setup) -> None:
    call = setup.outbound(fresh_number(), [{"action": "talk", "text": "Short"}])
    setup.receiver.wait_status(call["uuid"], "completed")
    leg = setup.sandbox.wait_until(call["uuid"], lambda leg: len(leg["webhooks"]) == 4)
    network = setup.sandbox.app.network
    assert network is not None
    network.flush()
    assert network.evict(older_than=0) >= 1
    assert call["uuid"] not in network.legs
    record = setup.sandbox.call(call["uuid"])
    assert (record["status"], record["heard"], record["webhooks"]) == ("completed", leg["heard"], leg["webhooks"])
    assert setup.voice.request("GET", f"/v1/calls/{call['uuid']}").json()["status"] == "completed"
    hangup = setup.voice.request("PUT", f"/v1/calls/{call['uuid']}", json={"action": "hangup"})
    assert (hangup.status_code, hangup.json()["detail"]) == (400, "Call is not in progress")


def test_reset_hangs_up_and_forgets_calls_and_scripts(tmp_path: Path, receiver: WebhookReceiver) -> None:
    with SandboxServer(speed=20, data_dir=tmp_path, cps=100, rps=100) as server:
        setup = Setup(server, receiver)
        server.set_phone("447700900777", on_ring="answer")
        call = setup.outbound("447700900777", [{"action": "talk", "text": "Long", "loop": 0}])
        server.wait_for_status(call["uuid"], "answered")
        response = server.request("POST", "/_sandbox/reset", json={}, expect=200)
        assert response.json() == {"hung_up": 1, "applications": 1, "numbers": 1}
        receiver.wait_status(call["uuid"], "completed")
        assert server.calls() == []
        assert server.request("GET", "/_sandbox/phones").json() == {"phones": {}}
        assert setup.voice.request("GET", f"/v1/calls/{call['uuid']}").status_code == 404
        server.reset(everything=True)
        assert server.request("GET", "/v2/applications").json()["total_items"] == 0
        assert server.request("GET", "/account/numbers").json() == {"count": 0, "numbers": []}
    with SandboxServer(speed=20, data_dir=tmp_path) as again:
        assert again.calls() == []
        assert again.request("GET", "/v2/applications").json()["total_items"] == 0


def test_a_media_backend_plugged_in_sees_every_sound_and_topology_change(receiver: WebhookReceiver) -> None:
    from voice_sandbox.engine import Conversation, Leg, Network
    from voice_sandbox.media_backend import MediaBackend

    seen: list[tuple[str, str]] = []

    class Recording(MediaBackend):
        async def talk(self, leg: Leg, *, text: str, language: str, style: int, level: float, loop: int) -> None:
            seen.append(("talk", text))
            await super().talk(leg, text=text, language=language, style=style, level=level, loop=loop)

        def conversation_changed(self, conversation: Conversation) -> None:
            seen.append(("conversation", f"{conversation.name}:{len(conversation.members)}"))

        def leg_ended(self, leg: Leg) -> None:
            seen.append(("ended", leg.direction))

    def factory(network: Network) -> MediaBackend:
        return Recording(network.clock, network.webhooks.client)

    with SandboxServer(speed=20, media_factory=factory) as server:
        setup = Setup(server, receiver)
        receiver.replies["/answer"] = Reply(
            body=[{"action": "talk", "text": "Plugged"}, {"action": "conversation", "name": "p"}]
        )
        call = server.place_inbound(from_="447700900901", to=setup.number)
        server.wait_until(call["uuid"], lambda leg: (leg.get("conversation") or {}).get("name") == "p")
        assert setup.voice.request("PUT", f"/v1/calls/{call['uuid']}", json={"action": "mute"}).status_code == 204
        assert setup.voice.request("PUT", f"/v1/calls/{call['uuid']}", json={"action": "hangup"}).status_code == 204
        receiver.wait_status(call["uuid"], "completed")
    assert seen == [
        ("talk", "Plugged"),
        ("conversation", "None:0"),  # the call's own conversation, left for "p"
        ("conversation", "p:1"),  # joined
        ("conversation", "p:1"),  # started (startOnEnter)
        ("conversation", "p:1"),  # muted
        ("conversation", "p:0"),  # hung up
        ("ended", "inbound"),
    ]
