from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from django.test import Client

from contactcenter import realtime

pytestmark = [pytest.mark.django_db(transaction=True)]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def _recv(ws, timeout: float = 5.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def test_supervisor_receives_pushes_for_the_supervisors_group(asgi_server, supervisor_user) -> None:
    cookie = session_cookie(supervisor_user)

    async def scenario() -> list[dict]:
        async with websockets.connect(
            f"{asgi_server.ws_url}/ws/events/", additional_headers={"Cookie": cookie, "Origin": asgi_server.url}
        ) as ws:
            hello = await _recv(ws)
            await asyncio.to_thread(realtime.send_now, [realtime.supervisors_group()], "call.answered", {"id": 7})
            pushed = await _recv(ws)
            await ws.send(json.dumps({"type": "ping"}))
            pong = await _recv(ws)
            return [hello, pushed, pong]

    hello, pushed, pong = asyncio.run(scenario())
    assert hello == {"type": "hello", "groups": 2}
    assert pushed == {"type": "call.answered", "data": {"id": 7}}
    assert pong == {"type": "pong"}


def test_agent_does_not_hear_supervisor_pushes(asgi_server, agent_user) -> None:
    cookie = session_cookie(agent_user)

    async def scenario() -> tuple[dict, dict]:
        async with websockets.connect(
            f"{asgi_server.ws_url}/ws/events/", additional_headers={"Cookie": cookie, "Origin": asgi_server.url}
        ) as ws:
            hello = await _recv(ws)
            await asyncio.to_thread(realtime.send_now, [realtime.supervisors_group()], "call.answered", {"id": 1})
            await asyncio.to_thread(
                realtime.send_now, [realtime.user_group(agent_user.pk)], "agent.state_changed", {"state": "ready"}
            )
            return hello, await _recv(ws)

    hello, first = asyncio.run(scenario())
    assert hello == {"type": "hello", "groups": 1}
    assert first == {"type": "agent.state_changed", "data": {"state": "ready"}}


def test_anonymous_websocket_is_closed_with_4401(asgi_server) -> None:
    async def scenario() -> int:
        async with websockets.connect(
            f"{asgi_server.ws_url}/ws/events/", additional_headers={"Origin": asgi_server.url}
        ) as ws:
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1
            return 0

    try:
        code = asyncio.run(scenario())
    except websockets.InvalidStatus as refused:  # closed before accept: the handshake is refused
        code = refused.response.status_code
    assert code in (4401, 403)


def test_foreign_origin_is_refused(asgi_server, supervisor_user) -> None:
    cookie = session_cookie(supervisor_user)

    async def scenario() -> None:
        async with websockets.connect(
            f"{asgi_server.ws_url}/ws/events/", additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}
        ):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(scenario())
    assert refused.value.response.status_code == 403


def test_bad_messages_get_a_clear_error(asgi_server, agent_user) -> None:
    cookie = session_cookie(agent_user)

    async def scenario() -> list[dict]:
        async with websockets.connect(
            f"{asgi_server.ws_url}/ws/events/", additional_headers={"Cookie": cookie, "Origin": asgi_server.url}
        ) as ws:
            await _recv(ws)
            replies = []
            for message in ["{not json", "[1, 2]", json.dumps({"type": "join", "group": "supervisors"}), b"\x00\x01"]:
                await ws.send(message)
                replies.append(await _recv(ws))
            await ws.send(json.dumps({"type": "ping"}))
            replies.append(await _recv(ws))
            return replies

    replies = asyncio.run(scenario())
    assert replies == [
        {"type": "error", "message": "Message is not valid JSON."},
        {"type": "error", "message": 'Messages must be objects with a string "type".'},
        {"type": "error", "message": "Unknown message type 'join'."},
        {"type": "error", "message": "Only JSON text messages are accepted."},
        {"type": "pong"},
    ]


def test_push_is_sent_only_after_commit(asgi_server, supervisor_user) -> None:
    from django.db import transaction

    cookie = session_cookie(supervisor_user)

    async def scenario() -> dict:
        async with websockets.connect(
            f"{asgi_server.ws_url}/ws/events/", additional_headers={"Cookie": cookie, "Origin": asgi_server.url}
        ) as ws:
            await _recv(ws)

            def rolled_back_then_committed() -> None:
                try:
                    with transaction.atomic():
                        realtime.push([realtime.supervisors_group()], "call.ringing", {"id": 1})
                        raise RuntimeError("roll back")
                except RuntimeError:
                    pass
                with transaction.atomic():
                    realtime.push([realtime.supervisors_group()], "call.completed", {"id": 2})

            await asyncio.to_thread(rolled_back_then_committed)
            return await _recv(ws)

    assert asyncio.run(scenario()) == {"type": "call.completed", "data": {"id": 2}}
