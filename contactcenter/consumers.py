"""The realtime websocket every signed-in page connects to."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from contactcenter import realtime


@database_sync_to_async
def _groups_for(user: Any) -> list[str]:
    from accounts.selectors import user_realtime_groups

    return user_realtime_groups(user=user)


class EventsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes live events to a signed-in user.

    Authenticates from the session on connect (4401 close for anonymous users) and joins
    only the groups the user's role allows; clients may send ``{"type": "ping"}`` and get
    ``{"type": "pong"}``; anything else gets an ``error`` message and changes nothing.
    """

    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.groups_joined = await _groups_for(user)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "groups": len(self.groups_joined)})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self.send_json({"type": "error", "message": "Only JSON text messages are accepted."})
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_json({"type": "error", "message": "Message is not valid JSON."})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_json({"type": "error", "message": 'Messages must be objects with a string "type".'})
            return
        if content["type"] == "ping":
            await self.send_json({"type": "pong"})
            return
        await self.send_json({"type": "error", "message": f"Unknown message type {content['type'][:50]!r}."})

    async def push(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": message["event"], "data": message["payload"]})


__all__ = ["EventsConsumer", "realtime"]
