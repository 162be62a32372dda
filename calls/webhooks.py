"""The Voice API's webhooks: answer, event and fallback.

Fixed order in each: verify the signature (when a signature secret is configured) → parse and
validate → store the raw event under its dedupe key → apply it → answer fast. Nothing here
makes an outbound HTTP request: Vonage waits on us while the caller hears silence.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from calls import services, state
from calls.answer import answer_ncco
from contactcenter.db import run_db
from contactcenter.voice.signatures import InvalidSignature, verify_signed_request

logger = logging.getLogger(__name__)

# Voice API webhooks are a few hundred bytes; anything near this is not one.
MAX_BODY_BYTES = 64 * 1024


class WebhookError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        too_big = int(declared) > MAX_BODY_BYTES
    except ValueError:
        raise WebhookError(400, "Content-Length is not a number.") from None
    if too_big:
        raise WebhookError(413, f"The body is larger than {MAX_BODY_BYTES} bytes; Voice API webhooks are small.")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise WebhookError(413, f"The body is larger than {MAX_BODY_BYTES} bytes; Voice API webhooks are small.")
    return body


def _verify(request: HttpRequest, body: bytes) -> None:
    secret = settings.VONAGE_SIGNATURE_SECRET
    if not secret:
        return
    try:
        verify_signed_request(request.headers.get("Authorization"), body, secret)
    except InvalidSignature as exc:
        raise WebhookError(401, f"Signature check failed: {exc}") from None


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _payload(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """The webhook's fields: the JSON body of a POST, the query string of a GET."""
    payload = _parse(request, body)
    # PostgreSQL cannot store NUL in text or JSON; no Voice API field ever holds one.
    if _has_nul(payload):
        raise WebhookError(400, "The payload contains a NUL character, which no Voice API field holds.")
    return payload


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON (and PostgreSQL's jsonb) does not.
    raise ValueError(f"{name} is not JSON")


def _parse(request: HttpRequest, body: bytes) -> dict[str, Any]:
    if request.method == "GET":
        return {key: request.GET.get(key) for key in request.GET}
    if not body:
        raise WebhookError(400, "The body is empty; a JSON object was expected.")
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise WebhookError(400, "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "The body must be a JSON object.")
    return payload


def _prepare(request: HttpRequest) -> dict[str, Any]:
    body = _body(request)
    _verify(request, body)
    return _payload(request, body)


def _answer_fields(payload: dict[str, Any]) -> dict[str, Any]:
    def text(name: str, limit: int) -> str:
        value = payload.get(name)
        if value is None:
            return ""
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise WebhookError(400, f"'{name}' must be a string.")
        if len(str(value)) > limit:
            raise WebhookError(400, f"'{name}' is longer than {limit} characters.")
        return str(value)

    uuid = text("uuid", 64)
    if not uuid:
        raise WebhookError(400, "'uuid' is required.")
    return {
        "uuid": uuid,
        "conversation_uuid": text("conversation_uuid", 64),
        "from_number": text("from", 255) or text("from_user", 255),
        "to_number": text("to", 255),
        "endpoint_type": text("endpoint_type", 20),
    }


def _answer_sync(fields: dict[str, Any], payload: dict[str, Any]) -> list[dict[str, Any]]:
    call = services.call_answer_record(**fields, payload=payload)
    return answer_ncco(call)


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def answer(request: HttpRequest) -> HttpResponse:
    """Answer webhook: record the leg and return its NCCO, from the database only."""
    try:
        payload = _prepare(request)
        fields = _answer_fields(payload)  # validated before touching the database
        ncco = await run_db(_answer_sync, fields, payload)
    except WebhookError as exc:
        return _error(exc.status, exc.message)
    return JsonResponse(ncco, safe=False)


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def event(request: HttpRequest) -> HttpResponse:
    """Event webhook: store the event once and move the leg's state forward."""
    try:
        payload = _prepare(request)
        parsed = state.parse_event(payload)
    except WebhookError as exc:
        return _error(exc.status, exc.message)
    except state.EventError as exc:
        return _error(400, str(exc))
    await run_db(services.call_event_ingest, event=parsed)
    # 200 for duplicates and unknown legs alike: anything else would only make Vonage retry.
    return HttpResponse(status=200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def fallback(request: HttpRequest) -> HttpResponse:
    """Fallback URL: Vonage could not get an NCCO from the answer or an event URL.

    For an answer we decide exactly as the answer webhook would; for an event we record it (under
    the dedupe key of the original, so a late original is a duplicate) and let the flow continue.
    """
    try:
        payload = _prepare(request)
        original = payload.get("original_request")
        kind = original.get("type") if isinstance(original, dict) else "answer"
        logger.warning("fallback for %s: %s", kind, str(payload.get("reason"))[:100])
        stripped = {k: v for k, v in payload.items() if k not in ("reason", "original_request")}
        if kind == "event":
            parsed = state.parse_event(stripped)
            await run_db(services.call_event_ingest, event=parsed)
            return HttpResponse(status=204)
        ncco = await run_db(_answer_sync, _answer_fields(stripped), stripped)
    except WebhookError as exc:
        return _error(exc.status, exc.message)
    except state.EventError as exc:
        return _error(400, str(exc))
    return JsonResponse(ncco, safe=False)
