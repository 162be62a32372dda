"""``/healthz``: is each backing service reachable from this process?"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from contactcenter.tasks import HEARTBEAT_KEY

CHECK_TIMEOUT = 3.0


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"status": "ok", "vendor": connection.vendor}
    finally:
        connection.close()


async def _channel_layer() -> dict[str, Any]:
    layer = get_channel_layer()
    if layer is None:
        return {"status": "error", "error": "no channel layer configured"}
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "healthz.ping":
        return {"status": "error", "error": "channel layer returned another message"}
    return {"status": "ok", "backend": type(layer).__name__}


async def _broker() -> dict[str, Any]:
    if settings.EMBEDDED:
        return {"status": "ok", "backend": "embedded (tasks run in the web process)"}
    import redis.asyncio as aioredis

    client = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return {"status": "ok", "backend": "redis"}


def _worker() -> dict[str, Any]:
    beat = cache.get(HEARTBEAT_KEY)
    if not beat:
        return {"status": "unknown", "detail": "no heartbeat from a worker yet"}
    return {"status": "ok", "last_seen_seconds": round(time.time() - beat["at"], 1), "worker": beat["worker"]}


async def _guard(check: Any) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(check, timeout=CHECK_TIMEOUT)
    except TimeoutError:
        return {"status": "error", "error": f"no answer within {CHECK_TIMEOUT:.0f} s"}
    except Exception as exc:  # a health check reports failures; it must never raise them
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}


@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the channel layer and the broker all answer, 503 otherwise."""
    database, layer, broker = await asyncio.gather(
        _guard(sync_to_async(_database, thread_sensitive=False)()),
        _guard(_channel_layer()),
        _guard(_broker()),
    )
    checks = {"database": database, "channel_layer": layer, "broker": broker}
    healthy = all(check["status"] == "ok" for check in checks.values())
    worker = await _guard(sync_to_async(_worker, thread_sensitive=False)())
    body = {
        "status": "ok" if healthy else "error",
        "mode": "embedded" if settings.EMBEDDED else "scaled",
        **checks,
        "worker": worker,
    }
    return JsonResponse(body, status=200 if healthy else 503)
