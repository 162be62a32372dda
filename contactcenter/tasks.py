"""Tasks of the platform itself (not of a domain app)."""

from __future__ import annotations

import os
import socket
import time

from celery import shared_task
from django.core.cache import cache

HEARTBEAT_KEY = "system:worker-heartbeat"


@shared_task(name="system.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Record that a worker is alive and consuming, for ``/healthz``.

    Idempotent: it only overwrites one cache key with the time and the worker's identity.
    """
    cache.set(HEARTBEAT_KEY, {"at": time.time(), "worker": f"{socket.gethostname()}:{os.getpid()}"}, timeout=300)
