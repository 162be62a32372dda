"""Writes about calls: webhook ingestion, answer decisions and supervisor actions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from calls import state
from calls.models import Call, CallEvent, Direction, Interaction
from contactcenter import realtime

logger = logging.getLogger(__name__)

CALL_FIELDS = (
    "status",
    "outcome",
    "direction",
    "from_number",
    "to_number",
    "endpoint_type",
    "conversation_uuid",
    "started_at",
    "ringing_at",
    "answered_at",
    "completed_at",
    "duration",
    "rate",
    "price",
    "network",
    "disconnected_by",
    "detail",
    "sip_code",
    "machine_detection",
    "machine_sub_state",
    "last_event_at",
)


FINAL_STATUSES = ("completed", "rejected")
LEG_EVENT_KINDS = frozenset({"status", "machine", "input", "recording", "transfer", "other"})
INTERACTION_FIELDS = frozenset({"started_at", "completed_at", "direction", "from_number", "to_number"})


@dataclass(frozen=True)
class IngestResult:
    duplicate: bool
    call_id: int | None
    changed: tuple[str, ...] = ()


def _insert_event(event: state.ParsedEvent, call_id: int | None = None) -> int | None:
    """INSERT the raw event unless its dedupe key is known; the new id, or None for a duplicate.

    One statement instead of get_or_create: no race between the check and the insert, and no
    savepoint on the hot path.
    """
    table = CallEvent._meta.db_table
    sql = (
        f"INSERT INTO {table} (dedupe_key, kind, status, uuid, conversation_uuid, timestamp, payload, received_at, "  # noqa: S608
        "call_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
    )
    payload_field = CallEvent._meta.get_field("payload")
    params = [
        event.dedupe_key,
        event.kind,
        event.status,
        event.uuid,
        event.conversation_uuid,
        event.timestamp,
        payload_field.get_db_prep_value(event.payload, connection),
        timezone.now(),
        call_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _interaction_for(*, conversation_uuid: str, direction: str, from_number: str, to_number: str) -> Interaction:
    if conversation_uuid:
        sibling = (
            Call.objects.filter(conversation_uuid=conversation_uuid)
            .select_related("interaction")
            .order_by("id")
            .first()
        )
        if sibling is not None:
            return sibling.interaction
    customer = from_number if direction == Direction.INBOUND else to_number if direction else ""
    return Interaction.objects.create(direction=direction, customer_number=customer)


def _lock_or_create_call(
    *,
    uuid: str,
    conversation_uuid: str,
    direction: str,
    from_number: str,
    to_number: str,
    interaction: Interaction | None = None,
) -> tuple[Call, bool]:
    """The leg ``uuid``, locked for this transaction, created if unknown.

    Two events for a new leg can arrive at once; the unique uuid makes one insert win and the
    other fall back to locking the winner's row.
    """
    call = Call.objects.select_for_update(of=("self",)).select_related("interaction").filter(uuid=uuid).first()
    if call is not None:
        return call, False
    try:
        with transaction.atomic():
            interaction = interaction or _interaction_for(
                conversation_uuid=conversation_uuid, direction=direction, from_number=from_number, to_number=to_number
            )
            call = Call.objects.create(
                uuid=uuid,
                interaction=interaction,
                conversation_uuid=conversation_uuid,
                direction=direction,
                from_number=from_number,
                to_number=to_number,
            )
        return call, True
    except IntegrityError:
        return Call.objects.select_for_update(of=("self",)).select_related("interaction").get(uuid=uuid), False


def call_payload(call: Call) -> dict[str, Any]:
    """The small, serialised view of a leg pushed to pages."""
    return {
        "id": call.pk,
        "uuid": call.uuid,
        "interaction": call.interaction_id,
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        "status": call.status,
        "outcome": call.outcome,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "completed_at": call.completed_at.isoformat() if call.completed_at else None,
        "agent": call.agent_id,
    }


def _push_call(call: Call, event_name: str) -> None:
    groups = [realtime.call_group(call.pk), realtime.supervisors_group()]
    if call.agent_id:
        groups.append(realtime.user_group(call.agent_id))
    realtime.push(groups, event_name, call_payload(call))


def _update_interaction(call: Call) -> None:
    """Widen the interaction's times and settle its direction and customer.

    Order-independent: an inbound leg always makes the contact inbound with its caller as the
    customer; otherwise the first leg whose direction is known decides.
    """
    updates: dict[str, Any] = {}
    interaction = call.interaction
    if call.direction == Direction.INBOUND and (
        interaction.direction != Direction.INBOUND or interaction.customer_number != call.from_number
    ):
        updates.update(direction=Direction.INBOUND, customer_number=call.from_number)
    elif call.direction == Direction.OUTBOUND and not interaction.direction:
        updates.update(direction=Direction.OUTBOUND, customer_number=call.to_number)
    if call.started_at and (interaction.started_at is None or call.started_at < interaction.started_at):
        updates["started_at"] = call.started_at
    if call.completed_at and (interaction.ended_at is None or call.completed_at > interaction.ended_at):
        updates["ended_at"] = call.completed_at
    if updates:
        Interaction.objects.filter(pk=interaction.pk).update(**updates)


def call_event_ingest(*, event: state.ParsedEvent) -> IngestResult:
    """Store one validated event webhook and apply it to its leg.

    Idempotent: a redelivered event (same dedupe key) changes nothing. Events for unknown legs
    create the leg, so nothing Vonage reports is dropped. Pushes ``call.<status>`` after commit
    to the call's, the agent's and the supervisors' groups when the leg's state changed.
    """
    with transaction.atomic():
        if not event.uuid or event.kind not in LEG_EVENT_KINDS:
            duplicate = _insert_event(event) is None
            return IngestResult(duplicate=duplicate, call_id=None)
        # Lock (or create) the leg first, so the event row is written once, already linked; a
        # duplicate only costs the lock, which the rollback-free early return releases at commit.
        call, created = _lock_or_create_call(
            uuid=event.uuid,
            conversation_uuid=event.conversation_uuid,
            direction=event.fields.get("direction", ""),
            from_number=event.fields.get("from_number", ""),
            to_number=event.fields.get("to_number", ""),
        )
        if _insert_event(event, call.pk) is None:
            return IngestResult(duplicate=True, call_id=call.pk)
        current = {name: getattr(call, name) for name in CALL_FIELDS}
        changes = state.merge(current, event) if event.kind in ("status", "machine") else {}
        if changes:
            for name, value in changes.items():
                setattr(call, name, value)
            call.save(update_fields=[*changes, "updated_at"])
            if INTERACTION_FIELDS & changes.keys():
                _update_interaction(call)
        if created or {"status", "outcome", "machine_detection"} & changes.keys():
            name = call.machine_detection if "machine_detection" in changes else call.status
            _push_call(call, f"call.{name}")
        return IngestResult(duplicate=False, call_id=call.pk, changed=tuple(changes))


def call_answer_record(
    *, uuid: str, conversation_uuid: str, from_number: str, to_number: str, endpoint_type: str, payload: dict[str, Any]
) -> Call:
    """Record that a leg's answer webhook arrived (idempotent per uuid) and return the leg.

    An inbound leg we have not heard of yet is created here; a leg we placed already exists.
    """
    event = state.ParsedEvent(
        kind=CallEvent.Kind.ANSWER,
        status="",
        uuid=uuid,
        conversation_uuid=conversation_uuid,
        timestamp=timezone.now(),
        payload=payload,
        dedupe_key=state.dedupe_key({"answer": uuid}),
    )
    with transaction.atomic():
        call, created = _lock_or_create_call(
            uuid=uuid,
            conversation_uuid=conversation_uuid,
            direction=Direction.INBOUND,
            from_number=from_number,
            to_number=to_number,
        )
        _insert_event(event, call.pk)
        updates = {}
        if endpoint_type and not call.endpoint_type:
            updates["endpoint_type"] = endpoint_type[:20]
        if conversation_uuid and not call.conversation_uuid:
            updates["conversation_uuid"] = conversation_uuid
        if updates:
            for name, value in updates.items():
                setattr(call, name, value)
            call.save(update_fields=[*updates, "updated_at"])
        if created:
            _push_call(call, "call.started")
    return call


def call_register_outbound(
    *,
    uuid: str,
    conversation_uuid: str,
    to_number: str,
    from_number: str,
    answer_ncco: list[dict[str, Any]] | None = None,
    agent: Any = None,
    interaction: Interaction | None = None,
) -> Call:
    """Record a leg we created through the Voice API (idempotent per uuid)."""
    with transaction.atomic():
        call, created = _lock_or_create_call(
            uuid=uuid,
            conversation_uuid=conversation_uuid,
            direction=Direction.OUTBOUND,
            from_number=from_number,
            to_number=to_number,
            interaction=interaction,
        )
        if created:
            call.answer_ncco = answer_ncco
            call.agent = agent
            call.save(update_fields=["answer_ncco", "agent", "updated_at"])
            _push_call(call, "call.started")
    return call


def call_reconcile(*, remote: dict[str, Any]) -> IngestResult:
    """Apply a leg as ``GET /v1/calls/{uuid}`` reports it, as if its status event had arrived.

    The synthesized event has a stable body (so a second reconciliation is a duplicate) and goes
    through ``call_event_ingest``, so it merges with real webhooks in any order.
    """
    status = remote.get("status")
    if status not in state.CALL_STATUSES or not remote.get("uuid"):
        return IngestResult(duplicate=True, call_id=None)
    endpoint = remote.get("to") if isinstance(remote.get("to"), dict) else {}
    caller = remote.get("from") if isinstance(remote.get("from"), dict) else {}
    payload: dict[str, Any] = {
        "uuid": remote["uuid"],
        "conversation_uuid": remote.get("conversation_uuid", ""),
        "status": status,
        "direction": remote.get("direction", ""),
        "to": endpoint,
        "from": caller,
        "timestamp": remote.get("end_time") or remote.get("start_time"),
        "reconciled": True,
    }
    for name in ("start_time", "end_time", "duration", "rate", "price", "network"):
        if remote.get(name) not in (None, ""):
            payload[name] = remote[name]
    return call_event_ingest(event=state.parse_event(payload))


LIVE_ACTIONS = ("hangup", "mute", "unmute", "earmuff", "unearmuff", "transfer")


def call_control(
    *, actor: Any, call: Call, action: str, ncco: list[dict[str, Any]] | None = None, url: str | None = None
) -> None:
    """Apply a supervisor's live control to a leg through the Voice API.

    Refuses legs that have ended (409) and NCCOs the official models reject (400) before any
    request is made; Voice API failures surface as typed errors the API layer turns into 4xx/5xx.
    """
    from django.core.exceptions import PermissionDenied, ValidationError

    from accounts.selectors import user_can_supervise

    if not user_can_supervise(user=actor):
        raise PermissionDenied("Only supervisors and admins can control live calls.")
    if action not in LIVE_ACTIONS:
        raise ValidationError({"action": [f"Unknown action {action!r}."]})
    if call.status in (Call.Status.COMPLETED, *state.FAILURE_STATUSES):
        raise CallEnded(f"The call has already ended ({call.status}).")
    from contactcenter.voice import get_client
    from contactcenter.voice.ncco import NccoError, validate

    client = get_client()
    if action == "transfer":
        if ncco is not None:
            try:
                validate(ncco)
            except NccoError as exc:
                raise ValidationError({"ncco": [str(exc)]}) from None
            client.transfer_ncco(call.uuid, ncco)
        else:
            client.transfer_url(call.uuid, url or "")
        return
    getattr(client, action)(call.uuid)


class CallEnded(Exception):
    """The leg is no longer live; controls make no sense."""
