from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import transaction

from contactcenter.tasks import HEARTBEAT_KEY, heartbeat

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_real_worker_runs_tasks_enqueued_after_commit(celery_worker) -> None:
    cache.delete(HEARTBEAT_KEY)
    with transaction.atomic():
        transaction.on_commit(heartbeat.delay)
        assert cache.get(HEARTBEAT_KEY) is None
    deadline = time.monotonic() + 20
    while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    beat = cache.get(HEARTBEAT_KEY)
    assert beat is not None, "\n".join(celery_worker.log[-30:])
    assert beat["worker"].split(":")[1] != "" and int(beat["worker"].split(":")[1]) != __import__("os").getpid()


def test_celery_is_configured_for_idempotent_tasks() -> None:
    from contactcenter.celery import app

    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit
