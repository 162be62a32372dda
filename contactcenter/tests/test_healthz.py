from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_everything_answers() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["mode"] == "scaled"
    assert body["database"] == {"status": "ok", "vendor": "postgresql"}
    assert body["channel_layer"] == {"status": "ok", "backend": "RedisChannelLayer"}
    assert body["broker"] == {"status": "ok", "backend": "redis"}


def test_healthz_is_503_when_redis_is_down() -> None:
    dead = "redis://127.0.0.1:1/0"
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}}}
    from channels.layers import channel_layers

    with override_settings(REDIS_URL=dead, CHANNEL_LAYERS=layers):
        channel_layers.backends.clear()
        try:
            response = Client().get("/healthz")
        finally:
            channel_layers.backends.clear()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "error"
    assert "ConnectionError" in body["broker"]["error"] or "Connect" in body["broker"]["error"]
    assert body["channel_layer"]["status"] == "error"


def test_healthz_refuses_other_methods() -> None:
    assert Client().post("/healthz").status_code == 405
