"""The sandbox as one ASGI application: ``Sandbox(config)`` is what uvicorn serves.

Start-up (ASGI lifespan) opens the SQLite store, the webhook client and the ``Network``; a flusher task
writes changed call legs every 250 ms; shut-down flushes once more and closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from voice_sandbox.api import Api
from voice_sandbox.config import SandboxConfig
from voice_sandbox.engine import Network
from voice_sandbox.http import ApiError, Request, Response, error_response, read_body, send_response
from voice_sandbox.media_backend import MediaBackend
from voice_sandbox.phone import Phone
from voice_sandbox.store import Store
from voice_sandbox.webhooks import WebhookClient

logger = logging.getLogger("voice_sandbox")

FLUSH_EVERY = 0.25

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Sandbox:
    """ASGI callable. ``media_factory`` lets part 2 plug a real-audio ``MediaBackend`` subclass in."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        media_factory: Callable[[Network], MediaBackend] | None = None,
    ) -> None:
        self.config = config
        self.media_factory = media_factory
        self.network: Network | None = None
        self.api: Api | None = None
        self.phone: Phone | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._webhooks: WebhookClient | None = None
        self._store: Store | None = None

    async def startup(self) -> None:
        self._store = Store(self.config.database_path)
        self._webhooks = WebhookClient(ca_bundle=self.config.webhook_ca_bundle)
        network = Network(self.config, self._store, self._webhooks)
        if self.media_factory is not None:
            network.media = self.media_factory(network)
        self.network = network
        self.api = Api(network)
        self.phone = Phone(network, self.config)
        self.phone.install(self.api.router)
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def shutdown(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self.network is not None:
            for leg in list(self.network.legs.values()):
                for task in list(leg.tasks):
                    task.cancel()
            self.network.flush()
        if self._webhooks is not None:
            await self._webhooks.close()
        if self._store is not None:
            self._store.close()

    async def _flush_loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            ticks += 1
            try:
                assert self.network is not None
                self.network.flush()
                if ticks % 40 == 0:
                    self.network.evict()
            except Exception:
                logger.exception("could not persist call legs")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] not in ("http", "websocket"):
            return
        if self.api is None:
            await self.startup()  # served without lifespan (lifespan="off"): start lazily
        if scope["type"] == "websocket":
            assert self.phone is not None
            await self.phone.websocket(scope, receive, send)  # the browser phone is the only websocket
            return
        assert self.api is not None
        try:
            body = await read_body(receive)
            request = Request(
                method=scope["method"],
                path=scope["path"],
                query=_parse_query(scope.get("query_string", b"")),
                headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])},
                body=body,
                client=(scope.get("client") or ("", 0))[0],
            )
            handler, params = self.api.router.resolve(request.method, request.path)
            request.params = params
            response = await handler(request)
        except ApiError as error:
            response = error_response(error)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            response = Response(
                500,
                {"type": "https://developer.vonage.com/api-errors", "title": "Internal Server Error"},
            )
        await send_response(send, response)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _parse_query(raw: bytes) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(raw.decode("latin-1"), keep_blank_values=True)
