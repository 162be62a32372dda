"""ASGI entry point: Django over HTTP, Channels websockets with session auth and origin checks."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (Django must be set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from contactcenter import realtime  # noqa: E402
from contactcenter.routing import websocket_urlpatterns  # noqa: E402

if settings.EMBEDDED:
    from contactcenter import embedded

    embedded.start_scheduler()

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The router, after noting the server's event loop for realtime pushes."""
    realtime.register_server_loop()
    await router(scope, receive, send)
