"""``VoiceClient``: the synchronous HTTP client for the Voice, Applications and Numbers APIs.

Every request has explicit connect/read time-outs, a fresh application JWT (Voice API) or Basic
auth (Applications and Numbers APIs), and ends either in a parsed result or in a typed error from
``contactcenter.voice.errors`` that says whether retrying can help.

Retries (bounded by ``max_retries``, full-jitter exponential back-off capped at ``backoff_max``,
``Retry-After`` honoured) happen on 429, 500, 502, 503, 504, connection failures and time-outs,
but only when repeating the request cannot double its effect:

- GET/PUT/DELETE that set state (get, list, hangup, mute, transfer, stop_*...) are retried on all of them.
- Requests whose repetition would act twice (POST /v1/calls places a call, POST /v2/applications
  creates an application, /number/buy buys, PUT /dtmf sends the digits again, PUT /talk and
  /stream start playback again) are retried only when the server provably did not act: 429
  (rate limited before processing), 503 (not accepted for processing) and failures to connect.
  After a read time-out, a reset connection, 500, 502 or 504 the call may already be ringing;
  placing it again would ring the customer twice, so the error goes back to the caller, whose
  reconciliation (the event webhooks, or ``list_calls``) decides.

A ``Retry-After`` longer than ``retry_after_max`` is not slept through: the client raises a
transient error carrying ``retry_after`` so a Celery task can reschedule instead of blocking a
worker. Worst-case time of one method call is therefore bounded by
``(max_retries + 1) * (connect_timeout + read_timeout) + max_retries * retry_after_max``.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import logging
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, TypedDict
from urllib.parse import quote, urlsplit

import httpx

from contactcenter.voice.errors import (
    VoiceApiAuthError,
    VoiceApiConfigError,
    VoiceApiError,
    VoiceApiNotFound,
    VoiceApiPermanentError,
    VoiceApiTransientError,
)
from contactcenter.voice.jwt import application_jwt, load_private_key
from contactcenter.voice.ncco import Action, AdvancedMachineDetection, Endpoint, build, validate

logger = logging.getLogger("contactcenter.voice")

__all__ = ["CallMessage", "CreatedCall", "VoiceClient", "get_client"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses after which the server has provably not acted, so even a non-idempotent request may be repeated.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
# A server's Retry-After is slept through up to this multiple of backoff_max; beyond it the caller reschedules.
RETRY_AFTER_CAP_FACTOR = 4
VONAGE_API_HOST = "api.nexmo.com"
VONAGE_REST_URL = "https://rest.nexmo.com"
RECORDING_HOST_SUFFIXES = (".nexmo.com", ".vonage.com")
CALL_STATUSES = (
    "started",
    "ringing",
    "answered",
    "machine",
    "completed",
    "busy",
    "cancelled",
    "failed",
    "rejected",
    "timeout",
    "unanswered",
)
_DTMF = re.compile(r"^[0-9#*p]+$")
_PHONE = re.compile(r"^[1-9]\d{6,14}$")
_HTTP_URL = re.compile(r"^https?://[^\s/]+\S*$")
_DOWNLOAD_CHUNK = 64 * 1024

AuthKind = Literal["jwt", "basic"]
HttpMethod = Literal["GET", "POST"]


class CreatedCall(TypedDict):
    """The 201 body of POST /v1/calls."""

    uuid: str
    status: str
    direction: str
    conversation_uuid: str


class CallMessage(TypedDict):
    """The 200 body of the stream/talk/dtmf endpoints: ``{"message": "Talk started", "uuid": ...}``."""

    message: str
    uuid: str


def _parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _error_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        text = response.text.strip()
        return text[:500] if text else None


def _describe(body: Any) -> tuple[str | None, str]:
    """``(detail, summary)`` from any of Vonage's error shapes (RFC 7807, legacy Voice, Numbers)."""
    if not isinstance(body, Mapping):
        return (str(body) if body else None), (str(body) if body else "")
    title = body.get("title") or body.get("error_title") or body.get("error-code-label")
    detail = body.get("detail")
    parts = [str(part) for part in (title, detail) if part]
    invalid = body.get("invalid_parameters")
    if isinstance(invalid, list) and invalid:
        described = ", ".join(
            f"{item.get('name')}: {item.get('reason')}" if isinstance(item, Mapping) else str(item) for item in invalid
        )
        parts.append(f"invalid parameters: {described}")
    if body.get("instance"):
        parts.append(f"instance {body['instance']}")
    summary = "; ".join(parts)
    return (str(detail) if detail else (str(title) if title else None)), summary


def _error_for_status(status: int, message: str, *, detail: str | None, body: Any) -> VoiceApiError:
    cls: type[VoiceApiError]
    if status in (401, 403):
        cls = VoiceApiAuthError
    elif status == 404:
        cls = VoiceApiNotFound
    elif status == 429 or status >= 500:
        cls = VoiceApiTransientError
    else:
        cls = VoiceApiPermanentError
    return cls(message, status=status, detail=detail, body=body)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _path(uuid: str) -> str:
    if not isinstance(uuid, str) or not uuid.strip():
        raise ValueError(f"a call uuid is required, got {uuid!r}")
    # The uuid comes from webhooks; quoting keeps it one path segment whatever it holds.
    return quote(uuid.strip(), safe="")


def _check_http_url(name: str, url: str) -> str:
    if not isinstance(url, str) or not _HTTP_URL.match(url):
        raise ValueError(f"{name} must be an absolute http:// or https:// URL, got {url!r}")
    return url


def _isoformat(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("date filters must be timezone-aware datetimes")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VoiceClient:
    """Client of the Voice API (JWT) and the Applications/Numbers APIs (Basic auth).

    ``base_url`` is the Voice API origin (``https://api.nexmo.com``, a regional host, or the
    sandbox); ``rest_base_url`` the Numbers API origin, by default ``https://rest.nexmo.com`` for
    Vonage's own hosts and ``base_url`` otherwise (the sandbox serves both). ``application_id`` and
    ``private_key_pem`` may be ``None`` for a client used only to bootstrap (create the application,
    buy numbers): JWT requests then raise ``VoiceApiConfigError``. Thread-safe; reuses connections.
    """

    def __init__(
        self,
        base_url: str,
        application_id: str | None,
        private_key_pem: str | bytes | None,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        rest_base_url: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.25,
        backoff_max: float = 5.0,
        retry_after_max: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        scheme, host, _ = _origin(base_url)
        if scheme not in ("http", "https") or not host:
            raise VoiceApiConfigError(f"The Voice API URL must be an absolute http(s) URL, got {base_url!r}")
        if max_retries < 0 or backoff_base < 0 or backoff_max < 0 or connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("time-outs must be positive; max_retries and back-off must not be negative")
        self.base_url = base_url.rstrip("/")
        if rest_base_url is None:
            vonage_host = host == VONAGE_API_HOST or host.endswith(RECORDING_HOST_SUFFIXES)
            rest_base_url = VONAGE_REST_URL if vonage_host else self.base_url
        self.rest_base_url = rest_base_url.rstrip("/")
        self.application_id = application_id or None
        self._private_key = load_private_key(private_key_pem) if private_key_pem else None
        self.api_key = api_key or None
        self._api_secret = api_secret or None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = backoff_max * RETRY_AFTER_CAP_FACTOR if retry_after_max is None else retry_after_max
        self._transport = transport
        self._regions: dict[str, VoiceClient] = {}
        self._regions_lock = threading.Lock()
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout),
            follow_redirects=False,  # a redirect would carry our JWT or API secret to another host
            headers={"Accept": "application/json", "User-Agent": "contactcenter-voice/1.0"},
        )

    # --- plumbing -------------------------------------------------------------------------------------

    def for_region(self, region_url: str | None) -> VoiceClient:
        """The client to control a live call through the host its answer webhook named in ``region_url``.

        A call lives in one region and another region's host answers 404 (pitfall 4). Returns ``self``
        for ``None`` or the configured origin; otherwise a client (cached, same credentials and
        settings) for that origin, which must be https on *.nexmo.com or *.vonage.com because the
        value comes from a webhook and will receive our JWT.
        """
        if not region_url or _origin(region_url) == _origin(self.base_url):
            return self
        if not self.recording_url_allowed(region_url) or urlsplit(region_url).path.strip("/"):
            raise VoiceApiPermanentError(f"refusing region_url {region_url!r}: not an https Vonage host")
        origin = region_url.rstrip("/")
        with self._regions_lock:
            client = self._regions.get(origin)
            if client is None:
                client = VoiceClient(
                    origin,
                    self.application_id,
                    None,
                    api_key=self.api_key,
                    api_secret=self._api_secret,
                    rest_base_url=self.rest_base_url,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                    max_retries=self.max_retries,
                    backoff_base=self.backoff_base,
                    backoff_max=self.backoff_max,
                    retry_after_max=self.retry_after_max,
                    transport=self._transport,
                )
                client._private_key = self._private_key
                self._regions[origin] = client
        return client

    def close(self) -> None:
        """Close pooled connections (of the regional clients too)."""
        for client in self._regions.values():
            client.close()
        self._http.close()

    def __enter__(self) -> VoiceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _authorization(self, auth: AuthKind) -> str:
        if auth == "jwt":
            if not self.application_id or self._private_key is None:
                raise VoiceApiConfigError(
                    "The Voice API needs VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY (or VONAGE_PRIVATE_KEY_PATH)"
                )
            return "Bearer " + application_jwt(self.application_id, self._private_key)
        if not self.api_key or not self._api_secret:
            raise VoiceApiConfigError("The Applications and Numbers APIs need VONAGE_API_KEY and VONAGE_API_SECRET")
        token = base64.b64encode(f"{self.api_key}:{self._api_secret}".encode()).decode()
        return f"Basic {token}"

    def _backoff(self, attempt: int) -> float:
        # Full jitter (uniform between 0 and the exponential cap) spreads retries of many workers.
        return random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))

    def _send(
        self,
        method: str,
        url: str,
        *,
        auth: AuthKind,
        idempotent: bool,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One logical request with bounded retries; returns a 2xx response or raises a typed error.

        With ``stream=True`` the returned response is open and the caller must close it.
        """
        label = f"{method} {urlsplit(url).path}"
        attempt = 0
        while True:
            retry_after: float | None = None
            request = self._http.build_request(
                method,
                url,
                json=json,
                data=data,
                params={k: v for k, v in (params or {}).items() if v is not None} or None,
                headers={"Authorization": self._authorization(auth)},  # fresh JWT (new jti) per attempt
            )
            try:
                response = self._http.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server: safe to repeat whatever the method.
                error: VoiceApiError = VoiceApiTransientError(
                    f"{label}: could not connect ({type(exc).__name__}: {exc})"
                )
                retryable = True
            except httpx.TimeoutException as exc:
                error = VoiceApiTransientError(
                    f"{label}: no response within {self.read_timeout:g} s ({type(exc).__name__})"
                )
                retryable = idempotent
            except httpx.UnsupportedProtocol as exc:
                raise VoiceApiConfigError(f"{label}: unsupported URL ({exc})") from None
            except httpx.TransportError as exc:
                error = VoiceApiTransientError(f"{label}: connection failed mid-request ({type(exc).__name__}: {exc})")
                retryable = idempotent
            else:
                if response.is_success:
                    return response
                if stream:
                    response.read()
                    response.close()
                body = _error_body(response)
                detail, summary = _describe(body)
                message = f"{label} failed with HTTP {response.status_code}" + (f": {summary}" if summary else "")
                error = _error_for_status(response.status_code, message, detail=detail, body=body)
                status = response.status_code
                retryable = status in RETRY_STATUSES and (idempotent or status in NOT_PROCESSED_STATUSES)
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if not retryable or attempt >= self.max_retries:
                raise error
            if retry_after is not None and retry_after > self.retry_after_max:
                error.retry_after = retry_after
                raise error
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            attempt += 1
            logger.warning("%s; retry %d of %d in %.2f s", error, attempt, self.max_retries, delay)
            time.sleep(delay)

    def _json(self, response: httpx.Response, label: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise VoiceApiPermanentError(
                f"{label}: expected JSON, got {response.headers.get('Content-Type')!r}",
                status=response.status_code,
                body=response.text[:500],
            ) from None

    def _voice(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None, idempotent: bool
    ) -> Any:
        response = self._send(
            method, f"{self.base_url}{path}", auth="jwt", json=json, params=params, idempotent=idempotent
        )
        if response.status_code == 204 or not response.content:
            return None
        return self._json(response, f"{method} {path}")

    def _same_origin_link(self, base: str, href: str) -> str:
        """Absolute URL of a HAL ``href``, refused if it points anywhere but ``base``'s origin."""
        if href.startswith("/"):
            prefix = urlsplit(base).path.rstrip("/")
            # Vonage's hrefs are absolute paths; keep a sandbox's mount prefix if the href lacks it.
            path = href if not prefix or href.startswith(prefix + "/") else prefix + href
            scheme, netloc = urlsplit(base)[:2]
            return f"{scheme}://{netloc}{path}"
        if _origin(href) != _origin(base):
            raise VoiceApiPermanentError(f"refusing to follow a pagination link to another host: {href!r}")
        return href

    def _paginate(
        self, base: str, path: str, params: Mapping[str, Any], embedded: str, auth: AuthKind
    ) -> Iterator[Any]:
        url: str | None = f"{base}{path}"
        query: Mapping[str, Any] | None = params
        seen: set[str] = set()
        while url is not None:
            response = self._send("GET", url, auth=auth, params=query, idempotent=True)
            page = self._json(response, f"GET {path}")
            yield from (page.get("_embedded") or {}).get(embedded) or []
            href = ((page.get("_links") or {}).get("next") or {}).get("href")
            if not href:
                return
            url, query = self._same_origin_link(base, href), None  # the href already carries the query
            if url in seen:
                raise VoiceApiPermanentError(f"GET {path}: pagination loops back to {href!r}")
            seen.add(url)

    # --- Voice API: calls ------------------------------------------------------------------------------

    def create_call(
        self,
        *,
        to: Sequence[Endpoint | Mapping[str, Any]],
        ncco: Sequence[Action | Mapping[str, Any]] | None = None,
        answer_url: str | None = None,
        answer_method: HttpMethod | None = None,
        from_number: str | None = None,
        random_from_number: bool = False,
        event_url: str | None = None,
        event_method: HttpMethod | None = None,
        machine_detection: Literal["continue", "hangup"] | None = None,
        advanced_machine_detection: AdvancedMachineDetection | Mapping[str, Any] | None = None,
        length_timer: int | None = None,
        ringing_timer: int | None = None,
    ) -> CreatedCall:
        """Place an outbound call (POST /v1/calls); return ``uuid``, ``status``, ``direction``, ``conversation_uuid``.

        Exactly one of ``ncco``/``answer_url`` and exactly one of ``from_number``/``random_from_number``.
        The NCCO is validated locally first (``NccoError``). Not retried once the request may have
        reached Vonage (see the module docstring): a ``VoiceApiTransientError`` from here may mean the
        call was placed anyway.
        """
        if (ncco is None) == (answer_url is None):
            raise ValueError("pass exactly one of ncco and answer_url")
        if (from_number is None) == (not random_from_number):
            raise ValueError("pass exactly one of from_number and random_from_number=True")
        if from_number is not None and not _PHONE.match(from_number):
            raise ValueError(f"from_number must be 7-15 digits without '+', got {from_number!r}")
        if machine_detection is not None and advanced_machine_detection is not None:
            raise ValueError("machine_detection and advanced_machine_detection are mutually exclusive")
        if length_timer is not None and not 1 <= length_timer <= 86400:
            raise ValueError(f"length_timer must be between 1 and 86400 seconds, got {length_timer}")
        if ringing_timer is not None and not 1 <= ringing_timer <= 120:
            raise ValueError(f"ringing_timer must be between 1 and 120 seconds, got {ringing_timer}")
        if not to:
            raise ValueError("to needs at least one endpoint")
        body: dict[str, Any] = {
            "to": [item.to_rest_dict() if isinstance(item, Endpoint) else dict(item) for item in to],
        }
        if ncco is not None:
            body["ncco"] = self._ncco_json(ncco)
        else:
            body["answer_url"] = [_check_http_url("answer_url", answer_url or "")]
            if answer_method:
                body["answer_method"] = answer_method
        if from_number is not None:
            body["from"] = {"type": "phone", "number": from_number}
        else:
            body["random_from_number"] = True
        if event_url is not None:
            body["event_url"] = [_check_http_url("event_url", event_url)]
        optional: dict[str, Any] = {
            "event_method": event_method,
            "machine_detection": machine_detection,
            "length_timer": length_timer,
            "ringing_timer": ringing_timer,
        }
        if isinstance(advanced_machine_detection, AdvancedMachineDetection):
            optional["advanced_machine_detection"] = advanced_machine_detection.to_dict()
        elif advanced_machine_detection is not None:
            optional["advanced_machine_detection"] = dict(advanced_machine_detection)
        body.update({key: value for key, value in optional.items() if value is not None})
        result = self._voice("POST", "/v1/calls", json=body, idempotent=False)
        return result  # type: ignore[no-any-return]

    @staticmethod
    def _ncco_json(ncco: Sequence[Action | Mapping[str, Any]]) -> list[dict[str, Any]]:
        if ncco and all(isinstance(item, Action) for item in ncco):
            return build(*ncco)  # type: ignore[arg-type]
        return validate([item.to_dict() if isinstance(item, Action) else item for item in ncco])

    def get_call(self, uuid: str) -> dict[str, Any]:
        """One leg (GET /v1/calls/{uuid}); ``VoiceApiNotFound`` if unknown here (or in another region)."""
        return self._voice("GET", f"/v1/calls/{_path(uuid)}", idempotent=True)  # type: ignore[no-any-return]

    def list_calls(
        self,
        *,
        status: str | None = None,
        date_start: datetime | str | None = None,
        date_end: datetime | str | None = None,
        conversation_uuid: str | None = None,
        page_size: int = 100,
        order: Literal["asc", "desc"] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching leg, lazily, following ``_links.next.href`` page by page (GET /v1/calls).

        The next link is used as given rather than computed (pitfall 16: the official SDK's
        ``record_index + 1`` skips records when ``page_size > 1``); links to another host are refused.
        """
        if status is not None and status not in CALL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(CALL_STATUSES)}; got {status!r}")
        if not 1 <= page_size <= 100:
            raise ValueError(f"page_size must be between 1 and 100, got {page_size}")
        params = {
            "status": status,
            "date_start": _isoformat(date_start),
            "date_end": _isoformat(date_end),
            "conversation_uuid": conversation_uuid,
            "page_size": page_size,
            "order": order,
        }
        return self._paginate(self.base_url, "/v1/calls", params, "calls", "jwt")

    def _modify(self, uuid: str, body: dict[str, Any]) -> None:
        self._voice("PUT", f"/v1/calls/{_path(uuid)}", json=body, idempotent=True)

    def hangup(self, uuid: str) -> None:
        """End the leg (PUT action=hangup). A leg that already ended answers 404 (``VoiceApiNotFound``)."""
        self._modify(uuid, {"action": "hangup"})

    def mute(self, uuid: str) -> None:
        """Stop sending the leg's audio to the conversation."""
        self._modify(uuid, {"action": "mute"})

    def unmute(self, uuid: str) -> None:
        """Undo ``mute``."""
        self._modify(uuid, {"action": "unmute"})

    def earmuff(self, uuid: str) -> None:
        """Stop the leg from hearing the conversation."""
        self._modify(uuid, {"action": "earmuff"})

    def unearmuff(self, uuid: str) -> None:
        """Undo ``earmuff``."""
        self._modify(uuid, {"action": "unearmuff"})

    def transfer_ncco(self, uuid: str, ncco: Sequence[Action | Mapping[str, Any]]) -> None:
        """Replace the leg's NCCO with ``ncco`` (validated locally first; ``NccoError`` if invalid)."""
        destination = {"type": "ncco", "ncco": self._ncco_json(ncco)}
        self._modify(uuid, {"action": "transfer", "destination": destination})

    def transfer_url(self, uuid: str, url: str) -> None:
        """Replace the leg's NCCO with the one served at ``url`` (``destination.type`` is ``ncco`` here too)."""
        destination = {"type": "ncco", "url": [_check_http_url("url", url)]}
        self._modify(uuid, {"action": "transfer", "destination": destination})

    # --- Voice API: media into a live leg ------------------------------------------------------------------

    def play_stream(
        self, uuid: str, stream_url: str, *, loop: int | None = None, level: float | None = None
    ) -> CallMessage:
        """Play an audio file into an answered leg (PUT /stream); ``loop=0`` repeats until stopped."""
        if loop is not None and loop < 0:
            raise ValueError(f"loop must be 0 (forever) or more, got {loop}")
        if level is not None and not -1 <= level <= 1:
            raise ValueError(f"level must be between -1 and 1, got {level}")
        body = {"stream_url": [_check_http_url("stream_url", stream_url)], "loop": loop, "level": level}
        return self._voice(  # type: ignore[no-any-return]
            "PUT", f"/v1/calls/{_path(uuid)}/stream", json=_without_none(body), idempotent=False
        )

    def stop_stream(self, uuid: str) -> CallMessage:
        """Stop the audio started by ``play_stream``."""
        return self._voice("DELETE", f"/v1/calls/{_path(uuid)}/stream", idempotent=True)  # type: ignore[no-any-return]

    def play_talk(
        self,
        uuid: str,
        text: str,
        *,
        language: str | None = None,
        style: int | None = None,
        premium: bool | None = None,
        loop: int | None = None,
        level: float | None = None,
    ) -> CallMessage:
        """Speak ``text`` (≤1500 characters) into an answered leg (PUT /talk)."""
        if not text or len(text) > 1500:
            raise ValueError(f"text must hold 1 to 1500 characters, got {len(text or '')}")
        if loop is not None and loop < 0:
            raise ValueError(f"loop must be 0 (forever) or more, got {loop}")
        if level is not None and not -1 <= level <= 1:
            raise ValueError(f"level must be between -1 and 1, got {level}")
        body = {"text": text, "language": language, "style": style, "premium": premium, "loop": loop, "level": level}
        return self._voice(  # type: ignore[no-any-return]
            "PUT", f"/v1/calls/{_path(uuid)}/talk", json=_without_none(body), idempotent=False
        )

    def stop_talk(self, uuid: str) -> CallMessage:
        """Stop the speech started by ``play_talk``."""
        return self._voice("DELETE", f"/v1/calls/{_path(uuid)}/talk", idempotent=True)  # type: ignore[no-any-return]

    def send_dtmf(self, uuid: str, digits: str) -> CallMessage:
        """Send DTMF tones (``0-9 * #``, ``p`` = 500 ms pause) into an answered leg; never repeated blindly."""
        if not isinstance(digits, str) or not _DTMF.match(digits):
            raise ValueError(f"digits may hold only 0-9, *, # and p, got {digits!r}")
        return self._voice(  # type: ignore[no-any-return]
            "PUT", f"/v1/calls/{_path(uuid)}/dtmf", json={"digits": digits}, idempotent=False
        )

    def start_dtmf_listener(self, uuid: str, event_url: str) -> None:
        """Send each digit of an asynchronous ``input`` to ``event_url`` as it is pressed (PUT /input/dtmf)."""
        body = {"event_url": [_check_http_url("event_url", event_url)]}
        self._voice("PUT", f"/v1/calls/{_path(uuid)}/input/dtmf", json=body, idempotent=True)

    def stop_dtmf_listener(self, uuid: str) -> None:
        """Remove the listener set by ``start_dtmf_listener``."""
        self._voice("DELETE", f"/v1/calls/{_path(uuid)}/input/dtmf", idempotent=True)

    # --- recordings ---------------------------------------------------------------------------------------------

    def recording_url_allowed(self, url: str) -> bool:
        """Whether ``url`` may get our JWT: the configured Voice API origin, or https on *.nexmo.com/*.vonage.com."""
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            return False
        if _origin(url) == _origin(self.base_url):
            return True
        host = (parts.hostname or "").lower()
        return parts.scheme == "https" and host.endswith(RECORDING_HOST_SUFFIXES)

    def download_recording(self, url: str, dest: IO[bytes] | str | os.PathLike[str]) -> int:
        """Stream the recording at ``url`` into ``dest`` (a binary file object or a path); return the byte count.

        ``url`` comes from a webhook, i.e. from whoever can reach our webhook URL, so it is refused
        (``VoiceApiPermanentError``) unless it is on an allowed host: otherwise our JWT would be handed
        to that host. A path is written to a temporary file beside it and renamed into place, so a
        failed download never leaves a partial file. Failures while the body streams raise
        ``VoiceApiTransientError`` without a retry here (the destination may hold part of the body).
        """
        if not self.recording_url_allowed(url):
            raise VoiceApiPermanentError(
                f"refusing to download a recording from {url!r}: only the Voice API host, "
                "*.nexmo.com and *.vonage.com (over https) receive our credentials"
            )
        if isinstance(dest, str | os.PathLike):
            target = Path(dest)
            handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
            try:
                with os.fdopen(handle, "wb") as tmp:
                    written = self._download_to(url, tmp)
                os.replace(tmp_name, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
                raise
            return written
        return self._download_to(url, dest)

    def _download_to(self, url: str, out: IO[bytes]) -> int:
        response = self._send("GET", url, auth="jwt", idempotent=True, stream=True)
        written = 0
        try:
            for chunk in response.iter_bytes(_DOWNLOAD_CHUNK):
                out.write(chunk)
                written += len(chunk)
        except httpx.TransportError as exc:
            raise VoiceApiTransientError(
                f"GET {urlsplit(url).path}: download broke off after {written} bytes ({type(exc).__name__})"
            ) from None
        finally:
            response.close()
        return written

    # --- Applications API v2 (Basic auth) -----------------------------------------------------------------------

    def _apps(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None, idempotent: bool
    ) -> Any:
        response = self._send(
            method, f"{self.base_url}{path}", auth="basic", json=json, params=params, idempotent=idempotent
        )
        if response.status_code == 204 or not response.content:
            return None
        return self._json(response, f"{method} {path}")

    def list_applications(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every application of the account, following ``_links.next.href``."""
        if not 1 <= page_size <= 100:
            raise ValueError(f"page_size must be between 1 and 100, got {page_size}")
        return self._paginate(self.base_url, "/v2/applications", {"page_size": page_size}, "applications", "basic")

    def get_application(self, application_id: str) -> dict[str, Any]:
        """One application; ``VoiceApiNotFound`` if unknown."""
        return self._apps("GET", f"/v2/applications/{_path(application_id)}", idempotent=True)  # type: ignore[no-any-return]

    def create_application(self, application: Mapping[str, Any]) -> dict[str, Any]:
        """Create an application (``name`` required); the result holds ``keys.private_key`` if Vonage made the pair.

        Not repeated after a time-out: a second POST would create a second application.
        """
        if not application.get("name"):
            raise ValueError("an application needs a name")
        return self._apps("POST", "/v2/applications", json=dict(application), idempotent=False)  # type: ignore[no-any-return]

    def update_application(self, application_id: str, application: Mapping[str, Any]) -> dict[str, Any]:
        """Replace an application (PUT takes the full object, ``name`` included)."""
        if not application.get("name"):
            raise ValueError("an application needs a name")
        return self._apps(  # type: ignore[no-any-return]
            "PUT", f"/v2/applications/{_path(application_id)}", json=dict(application), idempotent=True
        )

    def delete_application(self, application_id: str) -> None:
        """Delete an application (204)."""
        self._apps("DELETE", f"/v2/applications/{_path(application_id)}", idempotent=True)

    # --- Numbers API (Basic auth, form posts) ---------------------------------------------------------------------

    def _numbers(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, data: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        form = {k: v for k, v in (data or {}).items() if v is not None} if data is not None else None
        response = self._send(
            method,
            f"{self.rest_base_url}{path}",
            auth="basic",
            params=params,
            data=form,
            idempotent=method == "GET" or path == "/number/update",
        )
        body = self._json(response, f"{method} {path}")
        # The Numbers API can report failure in a 200 body: {"error-code": "420", "error-code-label": ...}.
        code = body.get("error-code") if isinstance(body, Mapping) else None
        if code is not None and str(code) != "200":
            _, summary = _describe(body)
            raise VoiceApiPermanentError(
                f"{method} {path} failed with error-code {code}: {summary}", status=response.status_code, body=body
            )
        return body  # type: ignore[no-any-return]

    def list_owned_numbers(
        self,
        *,
        application_id: str | None = None,
        has_application: bool | None = None,
        country: str | None = None,
        pattern: str | None = None,
        search_pattern: Literal[0, 1, 2] | None = None,
        size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every number the account owns (GET /account/numbers), page by page; ``index`` is a 1-based page number."""
        if not 1 <= size <= 100:
            raise ValueError(f"size must be between 1 and 100, got {size}")
        params: dict[str, Any] = {
            "application_id": application_id,
            "has_application": None if has_application is None else str(has_application).lower(),
            "country": country,
            "pattern": pattern,
            "search_pattern": search_pattern,
            "size": size,
        }
        return self._owned_numbers(params)

    def _owned_numbers(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        index, seen = 1, 0
        while True:
            page = self._numbers("GET", "/account/numbers", params={**params, "index": index})
            numbers = page.get("numbers") or []
            yield from numbers
            seen += len(numbers)
            if not numbers or seen >= int(page.get("count") or 0):
                return
            index += 1

    def search_numbers(
        self,
        country: str,
        *,
        type: Literal["landline", "mobile-lvn", "landline-toll-free"] | None = None,
        pattern: str | None = None,
        search_pattern: Literal[0, 1, 2] | None = None,
        features: str | None = None,
        size: int | None = None,
        index: int | None = None,
    ) -> dict[str, Any]:
        """Numbers available to buy (GET /number/search): ``{"count": n, "numbers": [...]}``, one page."""
        params = {
            "country": country,
            "type": type,
            "pattern": pattern,
            "search_pattern": search_pattern,
            "features": features,
            "size": size,
            "index": index,
        }
        return self._numbers("GET", "/number/search", params=params)

    def buy_number(self, country: str, msisdn: str, *, target_api_key: str | None = None) -> dict[str, Any]:
        """Buy ``msisdn`` (POST /number/buy); not repeated after a time-out (it may have been bought)."""
        data = {"country": country, "msisdn": msisdn, "target_api_key": target_api_key}
        return self._numbers("POST", "/number/buy", data=data)

    def cancel_number(self, country: str, msisdn: str, *, target_api_key: str | None = None) -> dict[str, Any]:
        """Give ``msisdn`` back (POST /number/cancel)."""
        data = {"country": country, "msisdn": msisdn, "target_api_key": target_api_key}
        return self._numbers("POST", "/number/cancel", data=data)

    def update_number(
        self,
        country: str,
        msisdn: str,
        *,
        app_id: str | None = None,
        voice_callback_type: Literal["sip", "tel", "app"] | None = None,
        voice_callback_value: str | None = None,
        voice_status_callback: str | None = None,
        mo_http_url: str | None = None,
    ) -> dict[str, Any]:
        """Configure a number (POST /number/update); ``app_id`` links it so inbound calls reach that application.

        Retried like an idempotent request: setting the same values twice has one effect.
        """
        data = {
            "country": country,
            "msisdn": msisdn,
            "app_id": app_id,
            "voiceCallbackType": voice_callback_type,
            "voiceCallbackValue": voice_callback_value,
            "voiceStatusCallback": voice_status_callback,
            "moHttpUrl": mo_http_url,
        }
        return self._numbers("POST", "/number/update", data=data)


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


_clients: dict[tuple[Any, ...], VoiceClient] = {}
_clients_lock = threading.Lock()


def get_client(*, require_application: bool = True, **overrides: Any) -> VoiceClient:
    """The process's ``VoiceClient`` built from Django settings (one per process and configuration).

    Reads ``VONAGE_API_URL``, ``VONAGE_APPLICATION_ID``, ``VONAGE_PRIVATE_KEY`` or
    ``VONAGE_PRIVATE_KEY_PATH``, ``VONAGE_API_KEY``, ``VONAGE_API_SECRET`` and, if set,
    ``VONAGE_REST_URL``. Raises ``VoiceApiConfigError`` naming what is missing; with
    ``require_application=False`` (bootstrap: creating the application, buying numbers) only the
    API key and secret are needed, checked when used. ``overrides`` are ``VoiceClient`` keyword
    arguments (``max_retries=0`` for request paths that must not wait).
    """
    from django.conf import settings

    base_url = getattr(settings, "VONAGE_API_URL", None) or f"https://{VONAGE_API_HOST}"
    application_id = getattr(settings, "VONAGE_APPLICATION_ID", None)
    private_key: str | bytes | None = getattr(settings, "VONAGE_PRIVATE_KEY", None)
    key_path = getattr(settings, "VONAGE_PRIVATE_KEY_PATH", None)
    if not private_key and key_path:
        try:
            private_key = Path(key_path).read_bytes()
        except OSError as exc:
            raise VoiceApiConfigError(f"VONAGE_PRIVATE_KEY_PATH {key_path!r} cannot be read: {exc}") from None
    if require_application:
        missing = [
            name
            for name, value in (
                ("VONAGE_APPLICATION_ID", application_id),
                ("VONAGE_PRIVATE_KEY or VONAGE_PRIVATE_KEY_PATH", private_key),
            )
            if not value
        ]
        if missing:
            raise VoiceApiConfigError(f"The Voice API client is not configured: set {' and '.join(missing)}")
    options: dict[str, Any] = {
        "api_key": getattr(settings, "VONAGE_API_KEY", None),
        "api_secret": getattr(settings, "VONAGE_API_SECRET", None),
        "rest_base_url": getattr(settings, "VONAGE_REST_URL", None),
        **overrides,
    }
    key = (os.getpid(), base_url, application_id, private_key, *sorted(options.items()))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            # Keyed by pid too: a client inherited through fork (Celery prefork) must not share sockets.
            client = _clients[key] = VoiceClient(base_url, application_id, private_key, **options)
    return client
