"""Pure logic of call events: validate a webhook payload, and merge it into a leg's state.

The merge is commutative and idempotent: events arrive out of order and more than once, and
whatever the order, the same set of events must give the same record. Each field therefore
follows a rule that does not depend on arrival order (max by rank, earliest/latest time,
failure beats answer, fill-if-empty for values every event repeats).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

CALL_STATUSES = (
    "started",
    "ringing",
    "answered",
    "busy",
    "cancelled",
    "failed",
    "rejected",
    "timeout",
    "unanswered",
    "completed",
)
FAILURE_STATUSES = frozenset({"busy", "cancelled", "failed", "rejected", "timeout", "unanswered"})
MACHINE_STATUSES = frozenset({"human", "machine"})
OTHER_STATUSES = frozenset({"disconnected", "transcribed", "transfer"})
RANK = {"started": 1, "ringing": 2, "answered": 3, **dict.fromkeys(FAILURE_STATUSES, 4), "completed": 5}
MAX_STRING = 255


class EventError(ValueError):
    """The payload is not a Voice API event we can accept; the message says why."""


@dataclass(frozen=True)
class ParsedEvent:
    kind: str
    status: str
    uuid: str
    conversation_uuid: str
    timestamp: datetime | None
    payload: dict[str, Any]
    dedupe_key: str
    fields: dict[str, Any] = field(default_factory=dict)


def dedupe_key(payload: dict[str, Any]) -> str:
    """Same body, same key: Vonage redelivers byte-identical events (timestamp included)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _string(payload: dict[str, Any], name: str, *, required: bool = False, limit: int = MAX_STRING) -> str:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise EventError(f"'{name}' is required.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise EventError(f"'{name}' must be a string.")
    text = str(value)
    if len(text) > limit:
        raise EventError(f"'{name}' is longer than {limit} characters.")
    return text


def _time(payload: dict[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise EventError(f"'{name}' must be an ISO 8601 date-time string.")
    try:
        parsed: datetime | None = parse_datetime(value.replace(" ", "T", 1) if "T" not in value else value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise EventError(f"'{name}' is not an ISO 8601 date-time: {value[:40]!r}.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _decimal(payload: dict[str, Any], name: str) -> Decimal | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventError(f"'{name}' must be a decimal number.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise EventError(f"'{name}' is not a number: {str(value)[:40]!r}.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e6"):
        raise EventError(f"'{name}' is out of range.")
    return number.quantize(Decimal("0.00000001"))


def _integer(payload: dict[str, Any], name: str, *, maximum: int) -> int | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise EventError(f"'{name}' must be a whole number.")
    try:
        number = int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        raise EventError(f"'{name}' must be a whole number.") from None
    if not 0 <= number <= maximum:
        raise EventError(f"'{name}' must be between 0 and {maximum}.")
    return number


def _classify(payload: dict[str, Any]) -> tuple[str, str]:
    status = payload.get("status")
    if status is not None and not isinstance(status, str):
        raise EventError("'status' must be a string.")
    if status in CALL_STATUSES:
        return "status", status
    if status in MACHINE_STATUSES:
        return "machine", status
    if status == "transcribed":
        return "transcription", status
    if status == "transfer" or payload.get("type") == "transfer":
        return "transfer", "transfer"
    if status == "disconnected":
        return "other", status
    if status:
        raise EventError(f"Unknown status {status[:40]!r}.")
    if "recording_url" in payload:
        return "recording", ""
    if "dtmf" in payload or "speech" in payload:
        return "input", ""
    if "reason" in payload:
        return "error", ""
    raise EventError("This is not a Voice API event: it has no status, recording, input, transfer or error fields.")


def parse_event(payload: Any) -> ParsedEvent:
    """Validate an event webhook body and extract what the call record needs."""
    if not isinstance(payload, dict):
        raise EventError("The body must be a JSON object.")
    kind, status = _classify(payload)
    uuid_field = "call_uuid" if kind == "machine" else "uuid"
    uuid = _string(payload, uuid_field, required=kind in {"status", "machine"}, limit=64)
    if kind == "machine" and not uuid:
        uuid = _string(payload, "uuid", limit=64)
    conversation_uuid = _string(payload, "conversation_uuid", limit=64)
    if kind == "transfer":
        conversation_uuid = conversation_uuid or _string(payload, "conversation_uuid_to", limit=64)
    timestamp = _time(payload, "timestamp")
    direction = _string(payload, "direction")
    if direction and direction not in ("inbound", "outbound"):
        raise EventError(f"'direction' must be inbound or outbound, not {direction[:20]!r}.")
    fields: dict[str, Any] = {
        "direction": direction,
        "from_number": _endpoint_text(payload, "from"),
        "to_number": _endpoint_text(payload, "to"),
        "endpoint_type": _string(payload, "endpoint_type", limit=20),
    }
    if kind == "status":
        fields.update(
            detail=_string(payload, "detail", limit=50),
            sip_code=_integer(payload, "sip_code", maximum=999),
        )
        if status == "completed":
            fields.update(
                duration=_integer(payload, "duration", maximum=10_000_000),
                rate=_decimal(payload, "rate"),
                price=_decimal(payload, "price"),
                network=_string(payload, "network", limit=50),
                disconnected_by=_string(payload, "disconnected_by", limit=20),
                start_time=_time(payload, "start_time"),
                end_time=_time(payload, "end_time"),
            )
    if kind == "machine":
        fields["sub_state"] = _string(payload, "sub_state", limit=20)
    return ParsedEvent(
        kind=kind,
        status=status,
        uuid=uuid,
        conversation_uuid=conversation_uuid,
        timestamp=timestamp,
        payload=payload,
        dedupe_key=dedupe_key(payload),
        fields=fields,
    )


def _endpoint_text(payload: dict[str, Any], name: str) -> str:
    # ``from``/``to`` are numbers in most events but endpoint objects in some (apps, websockets).
    value = payload.get(name)
    if isinstance(value, dict):
        for key in ("number", "uri", "user", "extension"):
            text = value.get(key)
            if isinstance(text, str):
                return text[:MAX_STRING]
        return ""
    return _string(payload, name)


def _earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    if new is None:
        return current
    return new if current is None or new < current else current


def _latest(current: datetime | None, new: datetime | None) -> datetime | None:
    if new is None:
        return current
    return new if current is None or new > current else current


def merge(state: dict[str, Any], event: ParsedEvent) -> dict[str, Any]:
    """Return the fields of ``state`` that ``event`` changes (empty when it changes nothing)."""
    new = dict(state)
    for name in ("direction", "from_number", "to_number", "endpoint_type", "conversation_uuid"):
        value = event.conversation_uuid if name == "conversation_uuid" else event.fields.get(name)
        if value and not new.get(name):
            new[name] = value
    new["last_event_at"] = _latest(new.get("last_event_at"), event.timestamp)

    if event.kind == "machine":
        if event.status > (new.get("machine_detection") or ""):
            new["machine_detection"] = event.status
        sub_state = event.fields.get("sub_state") or ""
        if sub_state > (new.get("machine_sub_state") or ""):
            new["machine_sub_state"] = sub_state
    elif event.kind == "status":
        _merge_status(new, event)
    return {name: value for name, value in new.items() if state.get(name) != value}


def _merge_status(new: dict[str, Any], event: ParsedEvent) -> None:
    status, fields, at = event.status, event.fields, event.timestamp
    current = new.get("status") or ""
    if (RANK[status], status) > (RANK.get(current, 0), current):
        new["status"] = status
    if status == "started":
        new["started_at"] = _earliest(new.get("started_at"), at)
    elif status == "ringing":
        new["ringing_at"] = _earliest(new.get("ringing_at"), at)
    elif status == "answered":
        new["answered_at"] = _earliest(new.get("answered_at"), at)
        if new.get("outcome") in ("", None, "ended_unanswered"):
            new["outcome"] = "answered"
    elif status in FAILURE_STATUSES:
        outcome = new.get("outcome") or ""
        if outcome not in FAILURE_STATUSES or status > outcome:
            new["outcome"] = status
        # A failure's own detail and SIP code are the most specific; they win when present.
        if fields.get("detail"):
            new["detail"] = fields["detail"]
        if fields.get("sip_code") is not None:
            new["sip_code"] = fields["sip_code"]
        if status == "rejected":  # terminal: no completed follows a rejection
            new["completed_at"] = _latest(new.get("completed_at"), at)
    elif status == "completed":
        # Billed seconds mean the leg was answered, even when its answered event never came.
        if (fields.get("duration") or 0) > 0 and new.get("outcome") in ("", None, "ended_unanswered"):
            new["outcome"] = "answered"
        elif not new.get("outcome"):
            new["outcome"] = "ended_unanswered"
        new["completed_at"] = _latest(new.get("completed_at"), fields.get("end_time") or at)
        new["started_at"] = _earliest(new.get("started_at"), fields.get("start_time"))
        for name in ("duration", "rate", "price", "network", "disconnected_by"):
            if fields.get(name) not in (None, ""):
                new[name] = fields[name]
        # Only fill in: a failure event's detail and SIP code take precedence.
        if fields.get("detail") and not new.get("detail"):
            new["detail"] = fields["detail"]
        if fields.get("sip_code") is not None and new.get("sip_code") is None:
            new["sip_code"] = fields["sip_code"]
