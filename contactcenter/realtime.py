"""Channels group names and the one helper that pushes events to them.

Group names are built here and only here; consumers never take a group name from a client.
Pushes are sent after the surrounding transaction commits, so a page never hears about a
row it cannot yet read (and never about one that was rolled back).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
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


def send_now(groups: list[str], event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` to ``groups`` immediately (for code already outside a transaction)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "push", "event": event, "payload": payload}
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a dead layer must not break the write that triggered the push
            logger.exception("push of %s to %s failed", event, group)


def push(groups: list[str], event: str, payload: dict[str, Any]) -> None:
    """Send ``event`` (``<entity>.<past_tense>``) with a small, already-serialised payload after commit."""
    transaction.on_commit(lambda: send_now(groups, event, payload))
