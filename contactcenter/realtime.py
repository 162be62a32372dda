"""Channels group names and the one helper that pushes events to them.

Group names are built here and only here; consumers never take a group name from a client.
Pushes are sent after the surrounding transaction commits, so a page never hears about a row
it cannot yet read (and never about one that was rolled back).

Sending never blocks the write that caused it: messages go onto a queue drained in order by
one task on the web server's event loop (registered by the ASGI application on its first
request; the in-memory layer of the embedded mode only works from that loop), or on a
background event loop of the process when there is no server (Celery workers, commands). Delivery is at
most once either way, as with any channel layer, so pages resync from the database after a
reconnect and never rely on pushed deltas alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user.{int(user_id)}"


def agent_group(agent_id: int) -> str:
    return f"agent.{int(agent_id)}"


def queue_group(queue_id: int) -> str:
    return f"queue.{int(queue_id)}"


def call_group(call_id: int) -> str:
    return f"call.{int(call_id)}"


def supervisors_group() -> str:
    return "supervisors"


Message = tuple[list[str], dict[str, Any]]


class _Sender:
    """Drains one loop's queue of pushes, in order, on that loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Message] = asyncio.Queue()
        self.task = loop.create_task(self._drain())

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            groups, message = await self.queue.get()
            for group in groups:
                try:
                    await layer.group_send(group, message)
                except Exception:  # a dead layer must not stop later pushes
                    logger.exception("push of %s to %s failed", message.get("event"), group)
            self.queue.task_done()


_senders: dict[int, _Sender] = {}
_lock = threading.Lock()
_background: tuple[int, asyncio.AbstractEventLoop] | None = None
_server_loop: tuple[int, asyncio.AbstractEventLoop] | None = None


def register_server_loop() -> None:
    """Remember the running loop as this process's web server loop (called by the ASGI app)."""
    global _server_loop
    loop = asyncio.get_running_loop()
    if _server_loop is None or _server_loop[1] is not loop:
        _server_loop = (os.getpid(), loop)


def _background_loop() -> asyncio.AbstractEventLoop:
    """A process-wide event loop thread for pushes from code that runs outside any server loop."""
    global _background
    with _lock:
        if _background is None or _background[0] != os.getpid():  # a forked worker needs its own
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-push", daemon=True).start()
            _background = (os.getpid(), loop)
        return _background[1]


def _target_loop() -> asyncio.AbstractEventLoop:
    # Never a short-lived loop (async_to_sync, test clients): it would die with queued pushes.
    if _server_loop is not None and _server_loop[0] == os.getpid() and _server_loop[1].is_running():
        return _server_loop[1]
    return _background_loop()


def _enqueue(loop: asyncio.AbstractEventLoop, item: Message) -> None:
    sender = _senders.get(id(loop))
    if sender is None or sender.loop is not loop:
        sender = _senders[id(loop)] = _Sender(loop)
    sender.queue.put_nowait(item)


def send_now(groups: list[str], event: str, payload: dict[str, Any]) -> None:
    """Queue ``event`` for ``groups`` without waiting (for code already outside a transaction)."""
    if get_channel_layer() is None:
        return
    item: Message = (list(groups), {"type": "push", "event": event, "payload": payload})
    loop = _target_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _enqueue(loop, item)
    else:
        loop.call_soon_threadsafe(_enqueue, loop, item)


def push(groups: list[str], event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` (``<entity>.<past_tense>``) with a small, already-serialised payload after commit."""
    transaction.on_commit(lambda: send_now(groups, event, payload))


async def flush(timeout: float = 5.0) -> None:
    """Wait until this loop's queued pushes are sent (tests, graceful shutdown)."""
    sender = _senders.get(id(asyncio.get_running_loop()))
    if sender is not None:
        await asyncio.wait_for(sender.queue.join(), timeout)
