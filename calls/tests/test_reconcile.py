"""Reconciliation: a leg whose events were lost is completed from GET /v1/calls, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from calls.models import Call, CallEvent
from calls.services import call_register_outbound
from calls.tasks import reconcile
from contactcenter.testing.servers import free_port
from contactcenter.voice import get_client
from voice_sandbox.testing import SandboxServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_lost_events_are_recovered_once() -> None:
    dead = f"http://127.0.0.1:{free_port()}/webhooks/event"  # nothing listens: every event is lost
    # Speed 1: the sandbox bills wall-clock seconds, and a billed second marks the leg as answered.
    with SandboxServer(speed=1, cps=1000, rps=1000, ring_seconds=0.2) as sandbox:
        app_id, private_key = sandbox.create_application("reconcile", answer_url=dead, event_url=dead)
        sandbox.buy_number("447700900000", app_id=app_id)
        sandbox.set_phone("447700900777", script=[{"wait": 1.2}, {"hangup": True}])
        with override_settings(
            VONAGE_API_URL=sandbox.url, VONAGE_APPLICATION_ID=app_id, VONAGE_PRIVATE_KEY=private_key,
            VONAGE_PRIVATE_KEY_PATH=None,
        ):  # fmt: skip
            created = get_client().create_call(
                to=[{"type": "phone", "number": "447700900777"}],
                from_number="447700900000",
                ncco=[{"action": "talk", "text": "Hello"}],
                event_url=dead,
            )
            call = call_register_outbound(
                uuid=created["uuid"], conversation_uuid=created["conversation_uuid"], to_number="447700900777",
                from_number="447700900000",
            )  # fmt: skip
            sandbox.wait_for_status(created["uuid"], "completed")
            assert reconcile.apply().get() == 0  # too recent to be stale
            Call.objects.filter(pk=call.pk).update(created_at=timezone.now() - timedelta(minutes=3))

            assert reconcile.apply().get() == 1
            call.refresh_from_db()
            assert (call.status, call.outcome) == ("completed", "answered")
            assert call.duration is not None and call.completed_at is not None
            assert call.price is not None
            events = CallEvent.objects.filter(call=call).count()

            assert reconcile.apply().get() == 0  # nothing left to reconcile, and nothing written twice
            assert CallEvent.objects.filter(call=call).count() == events == 1
