"""Typed errors of the Voice API client: every failure says whether retrying can help.

Callers (services, Celery tasks, the API exception handler) branch on the class or on
``permanent``: a transient error is worth retrying later with back-off, a permanent one
is recorded and surfaced, never retried.
"""

from __future__ import annotations

from typing import Any


class VoiceApiError(Exception):
    """A Voice API request failed.

    ``status`` is the HTTP status (``None`` when no response arrived), ``detail`` the provider's
    explanation (RFC 7807 ``detail``/``title`` or a legacy equivalent), ``body`` the parsed error
    body (dict, text or ``None``). ``retry_after`` is the server's ``Retry-After`` in seconds when
    it asked for a longer pause than the client is willing to block for.
    """

    permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.body = body
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps status/detail/body/retry_after across pickling (multiprocessing, some result backends).
        return (_rebuild, (type(self), str(self), self.status, self.detail, self.body, self.retry_after))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r}, permanent={self.permanent!r})"


def _rebuild(
    cls: type[VoiceApiError], message: str, status: int | None, detail: str | None, body: Any, retry_after: float | None
) -> VoiceApiError:
    return cls(message, status=status, detail=detail, body=body, retry_after=retry_after)


class VoiceApiTransientError(VoiceApiError):
    """429, 5xx, connection failure or time-out: the same request may succeed later."""

    permanent = False


class VoiceApiPermanentError(VoiceApiError):
    """A 4xx (other than 429) or a request refused locally: repeating it will fail the same way."""

    permanent = True


class VoiceApiAuthError(VoiceApiPermanentError):
    """401/403: wrong application id, key pair, API key/secret, or a missing permission."""


class VoiceApiNotFound(VoiceApiPermanentError):
    """404: the leg, application or number is unknown (or lives in another region)."""


class VoiceApiConfigError(VoiceApiPermanentError):
    """The client is not configured: no application id, private key, or API key/secret."""


class NccoError(ValueError):
    """An NCCO action has an option the Voice API would reject; the message names the option."""


class InvalidSignature(Exception):
    """A signed webhook failed verification; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
