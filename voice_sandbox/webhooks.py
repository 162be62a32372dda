"""Outgoing webhooks with Vonage's rules: answer/event/fallback URLs, time-outs, retries, signing.

* Answer and other NCCO-bearing requests (input, notify, synchronous connect, transfer URL, onAnswer):
  tried twice on connection errors, time-outs and HTTP 429/503/504; then the application's
  ``fallback_answer_url`` tried twice with ``reason`` and ``original_request`` added. A response that is
  not a valid NCCO skips the retries and goes to the fallback at once, after an ``error`` event.
* Plain events: one more attempt on connection errors, time-outs and 429/5xx (the reference marks the
  retry count of plain events UNVERIFIED; one retry is what the application docs say for time-outs).
* Time-outs are wall-clock (they measure the product, not the simulated network) and come from the
  application's ``connect_timeout``/``socket_timeout``.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from voice_sandbox.clock import iso_now
from voice_sandbox.httpclient import HttpClient, WebhookError
from voice_sandbox.security import sign_webhook
from voice_sandbox.validation import Invalid, validate_ncco

logger = logging.getLogger("voice_sandbox.webhooks")

RETRY_STATUSES_NCCO = {429, 503, 504}
RETRY_STATUSES_EVENT = {429, 500, 502, 503, 504}
MAX_LOGGED_RESPONSE = 4000


@dataclass(frozen=True)
class Hook:
    """Where and how to send one kind of webhook. Time-outs in seconds (wall clock)."""

    url: str
    method: str = "POST"
    connect_timeout: float = 1.0
    socket_timeout: float = 10.0

    def with_url(self, url: str, method: str | None = None) -> Hook:
        return Hook(url, (method or self.method).upper(), self.connect_timeout, self.socket_timeout)


@dataclass
class Delivery:
    status: int | None
    body: bytes
    reason: str | None  # a fallback ``reason`` when the attempt failed

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class NccoOutcome:
    """Result of an NCCO-bearing request: ``ncco`` to run (or None to continue), ``failed`` if nothing answered."""

    ncco: list[dict[str, Any]] | None
    failed: bool


@dataclass(frozen=True)
class Signing:
    secret: str
    api_key: str
    application_id: str | None


LogSink = Callable[[dict[str, Any]], None]
InvalidNcco = Callable[[Invalid], Awaitable[None]]


def encode_query(payload: dict[str, Any]) -> dict[str, str]:
    """Flatten a payload for GET webhooks: objects as JSON, booleans as true/false, nulls left out."""
    out: dict[str, str] = {}
    for key, value in payload.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            out[key] = json.dumps(value, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out


class WebhookClient:
    """Sends webhooks over one shared ``httpx.AsyncClient`` (connection pooling across all calls)."""

    def __init__(self, *, ca_bundle: str | None = None) -> None:
        context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
        self.http = HttpClient(context)
        # httpx stays for occasional media fetches (file lengths); webhooks use the leaner client above.
        # trust_env=False: a developer's HTTP(S)_PROXY must never capture requests to loopback.
        self.client = httpx.AsyncClient(verify=context, trust_env=False, follow_redirects=True)

    async def close(self) -> None:
        await self.http.close()
        await self.client.aclose()

    async def deliver(
        self,
        hook: Hook,
        payload: dict[str, Any],
        *,
        kind: str,
        attempt: int,
        signing: Signing | None,
        log: LogSink,
    ) -> Delivery:
        """One attempt, logged into the leg's webhook log whatever happens."""
        method = hook.method.upper()
        headers = {"User-Agent": "vonage-sandbox/1.0", "Accept": "application/json"}
        body = b""
        params: dict[str, str] | None = None
        if method == "GET":
            params = encode_query(payload)
        else:
            body = json.dumps(payload, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if signing is not None:
            token = sign_webhook(
                body, secret=signing.secret, api_key=signing.api_key, application_id=signing.application_id
            )
            headers["Authorization"] = f"Bearer {token}"
        entry: dict[str, Any] = {
            "kind": kind,
            "method": method,
            "url": hook.url,
            "attempt": attempt,
            "timestamp": iso_now(),
            "payload": payload,
            "signed": signing is not None,
        }
        started = time.monotonic()
        try:
            response = await self.http.request(
                method,
                hook.url,
                headers=headers,
                body=body,
                params=params,
                connect_timeout=hook.connect_timeout,
                read_timeout=hook.socket_timeout,
            )
            delivery = Delivery(response.status, response.body, None)
            if not delivery.ok:
                delivery.reason = "Invalid response code."
        except WebhookError as exc:
            delivery = Delivery(None, b"", exc.reason)
            entry["error"] = exc.reason
            entry["detail"] = str(exc)
        except Exception as exc:  # whatever goes wrong must not crash a running call
            delivery = Delivery(None, b"", "Connection closed.")
            entry["error"] = delivery.reason
            entry["detail"] = f"{type(exc).__name__}: {exc}"
        entry["status"] = delivery.status
        entry["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        if delivery.body:
            entry["response"] = delivery.body[:MAX_LOGGED_RESPONSE].decode("utf-8", "replace")
        log(entry)
        return delivery

    async def send_event(
        self, hook: Hook, payload: dict[str, Any], *, kind: str, signing: Signing | None, log: LogSink
    ) -> Delivery:
        """A plain event: one more attempt after a time-out, connection error, 429 or 5xx."""
        delivery = await self.deliver(hook, payload, kind=kind, attempt=1, signing=signing, log=log)
        if delivery.ok or (delivery.status is not None and delivery.status not in RETRY_STATUSES_EVENT):
            return delivery
        return await self.deliver(hook, payload, kind=kind, attempt=2, signing=signing, log=log)

    async def fetch_ncco(
        self,
        primary: Hook,
        fallback: Hook | None,
        payload: dict[str, Any],
        *,
        kind: str,
        request_type: str,
        signing: Signing | None,
        log: LogSink,
        on_invalid: InvalidNcco,
    ) -> NccoOutcome:
        """An NCCO-bearing request with Vonage's retry and fallback rules.

        ``request_type`` is ``answer`` (an NCCO is required: no valid NCCO means failure) or ``event`` (an
        empty or non-array answer means "carry on with the current NCCO").
        """
        reason: str | None = None
        for attempt in (1, 2):
            delivery = await self.deliver(primary, payload, kind=kind, attempt=attempt, signing=signing, log=log)
            if delivery.ok:
                parsed = await self._parse(delivery, request_type, on_invalid)
                if parsed is not _INVALID:
                    return NccoOutcome(parsed, False)  # type: ignore[arg-type]
                reason = "Invalid NCCO."
                break
            reason = delivery.reason
            if delivery.status is not None and delivery.status not in RETRY_STATUSES_NCCO:
                break
        if fallback is None:
            return NccoOutcome(None, True)
        fallback_payload = dict(payload)
        fallback_payload["reason"] = reason
        fallback_payload["original_request"] = {"url": primary.url, "type": request_type}
        for attempt in (1, 2):
            delivery = await self.deliver(
                fallback, fallback_payload, kind="fallback", attempt=attempt, signing=signing, log=log
            )
            if delivery.ok:
                parsed = await self._parse(delivery, request_type, on_invalid)
                if parsed is _INVALID:
                    return NccoOutcome(None, True)
                return NccoOutcome(parsed, False)  # type: ignore[arg-type]
            if delivery.status is not None and delivery.status not in RETRY_STATUSES_NCCO:
                break
        return NccoOutcome(None, True)

    async def _parse(self, delivery: Delivery, request_type: str, on_invalid: InvalidNcco) -> object:
        body = delivery.body.strip()
        try:
            data = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            data = _NOT_JSON
        if request_type == "event" and not isinstance(data, list):
            return None  # an empty or non-NCCO answer to an event: the current NCCO goes on
        errors = validate_ncco(data) if isinstance(data, list) else [("ncco", "The answer is not an NCCO array")]
        if errors:
            await on_invalid(errors)
            return _INVALID
        return data


_INVALID = object()
_NOT_JSON = object()
