"""Call records: one ``Call`` per Vonage leg, grouped into an ``Interaction`` per customer contact."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Interaction(models.Model):
    """One customer contact: the legs of a call (caller, agents, transfers) belong to one interaction."""

    # Blank until a leg's event says which way it goes (events can arrive in any order).
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    customer_number = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} contact {self.customer_number or self.pk}"


class Call(models.Model):
    """One leg as Vonage reports it; state only moves forward (see ``calls.state``)."""

    class Status(models.TextChoices):
        STARTED = "started"
        RINGING = "ringing"
        ANSWERED = "answered"
        BUSY = "busy"
        CANCELLED = "cancelled"
        FAILED = "failed"
        REJECTED = "rejected"
        TIMEOUT = "timeout"
        UNANSWERED = "unanswered"
        COMPLETED = "completed"

    class Outcome(models.TextChoices):
        NONE = "", "In progress"
        ANSWERED = "answered"
        BUSY = "busy"
        CANCELLED = "cancelled"
        FAILED = "failed"
        REJECTED = "rejected"
        TIMEOUT = "timeout"
        UNANSWERED = "unanswered"
        ENDED_UNANSWERED = "ended_unanswered", "Ended before answer"

    class Machine(models.TextChoices):
        UNKNOWN = "", "Not detected"
        HUMAN = "human"
        MACHINE = "machine"

    interaction = models.ForeignKey(Interaction, on_delete=models.PROTECT, related_name="calls")
    uuid = models.CharField(max_length=64, unique=True, help_text="Vonage leg uuid")
    conversation_uuid = models.CharField(max_length=64, blank=True, db_index=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    from_number = models.CharField(max_length=255, blank=True)
    to_number = models.CharField(max_length=255, blank=True)
    endpoint_type = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.STARTED, db_index=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ringing_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="Seconds, as Vonage bills them")
    rate = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True, help_text="EUR per minute")
    price = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True, help_text="EUR")
    network = models.CharField(max_length=50, blank=True)
    disconnected_by = models.CharField(max_length=20, blank=True)
    detail = models.CharField(max_length=50, blank=True)
    sip_code = models.PositiveIntegerField(null=True, blank=True)
    machine_detection = models.CharField(max_length=10, choices=Machine.choices, blank=True, default="")
    machine_sub_state = models.CharField(max_length=20, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    answer_ncco = models.JSONField(
        null=True, blank=True, help_text="NCCO to serve when this leg's answer webhook arrives (calls we place)."
    )
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.from_number} → {self.to_number} [{self.status}]"


class CallEvent(models.Model):
    """Every webhook as received, once: ``dedupe_key`` makes redelivery a no-op."""

    class Kind(models.TextChoices):
        STATUS = "status"
        MACHINE = "machine"
        INPUT = "input"
        RECORDING = "recording"
        TRANSCRIPTION = "transcription"
        TRANSFER = "transfer"
        NOTIFY = "notify"
        ERROR = "error"
        ANSWER = "answer"
        OTHER = "other"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    dedupe_key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, blank=True)
    uuid = models.CharField(max_length=64, blank=True, db_index=True)
    conversation_uuid = models.CharField(max_length=64, blank=True, db_index=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["timestamp", "id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.status or '-'} {self.uuid}"
