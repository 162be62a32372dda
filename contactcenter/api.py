"""API-wide pieces: the exception handler that turns every input problem into a clear 4xx."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."


class UpstreamUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The Voice API is not answering; try again shortly."


class UpstreamRefused(exceptions.APIException):
    status_code = 502
    default_detail = "The Voice API refused the request."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the domain errors services raise, each mapped to a clear status.

    Django ``ValidationError`` → 400 with its messages; a leg that has ended → 409; Voice API
    failures → 409 (it no longer knows the leg), 503 (transient) or 502 (refused).
    """
    from calls.services import CallEnded
    from contactcenter.voice.errors import VoiceApiError, VoiceApiNotFound

    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, CallEnded):
        exc = Conflict(str(exc))
    elif isinstance(exc, VoiceApiNotFound):
        exc = Conflict("The Voice API no longer knows this call; it has probably ended.")
    elif isinstance(exc, VoiceApiError):
        exc = UpstreamRefused(f"The Voice API refused the request: {exc}") if exc.permanent else UpstreamUnavailable()
    return drf_exception_handler(exc, context)
