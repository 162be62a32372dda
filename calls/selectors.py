"""Reads about calls, and who may see which."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.selectors import user_can_supervise
from calls.models import Call, CallEvent


def call_list(*, actor: Any) -> QuerySet[Call]:
    """Legs ``actor`` may see: every leg for supervisors and admins, their own legs for agents."""
    calls = Call.objects.select_related("interaction", "agent")
    if user_can_supervise(user=actor):
        return calls
    if getattr(actor, "is_authenticated", False):
        return calls.filter(agent=actor)
    return calls.none()


def access_call(*, actor: Any, call_id: int) -> Call:
    """The leg ``call_id`` if ``actor`` may see it; ``Call.DoesNotExist`` otherwise (no existence leak)."""
    return call_list(actor=actor).get(pk=call_id)


def call_events(*, call: Call) -> QuerySet[CallEvent]:
    """The leg's events in the order they happened (then in the order they arrived)."""
    return call.events.order_by("timestamp", "id")
