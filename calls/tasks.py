"""Tasks of the calls app."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from calls import services
from calls.models import Call
from contactcenter.voice.errors import VoiceApiConfigError, VoiceApiNotFound, VoiceApiTransientError

logger = logging.getLogger(__name__)

# Legs older than this without a final status are asked about; newer ones may simply still ring.
STALE_AFTER = timedelta(minutes=2)
BATCH = 50


@shared_task(
    name="calls.reconcile",
    bind=True,
    autoretry_for=(VoiceApiTransientError,),
    retry_backoff=True,
    max_retries=3,
    ignore_result=True,
)
def reconcile(self: object, limit: int = BATCH) -> int:
    """Ask the Voice API about legs whose final event never arrived, and apply what it says.

    Vonage retries an event webhook once at most: an event lost to an outage is gone. This task
    fetches each stale leg (``GET /v1/calls/{uuid}``) and feeds the answer through the same
    idempotent ingestion as a webhook, so running it twice, or alongside a late webhook, has one
    effect. Returns how many legs changed. Only transient Voice API errors are retried.
    """
    if not settings.VONAGE_APPLICATION_ID:
        return 0
    from contactcenter.voice import get_client

    try:
        client = get_client(max_retries=1)
    except VoiceApiConfigError:
        logger.warning("calls.reconcile: the Voice API client is not configured")
        return 0
    stale = (
        Call.objects.exclude(status__in=services.FINAL_STATUSES)
        .filter(created_at__lt=timezone.now() - STALE_AFTER)
        .order_by("last_event_at", "id")
        .values_list("uuid", flat=True)[:limit]
    )
    changed = 0
    for uuid in stale:
        try:
            remote = client.get_call(uuid)
        except VoiceApiNotFound:
            continue
        if services.call_reconcile(remote=remote).changed:
            changed += 1
    return changed
