"""A deliberately small ASGI toolkit: request parsing, JSON responses, a regex router, RFC 7807 errors.

The sandbox needs no more than this, and keeping it in-house keeps the sandbox installable as its own
package with only uvicorn, httpx, PyJWT and cryptography.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

MAX_BODY = 2 * 1024 * 1024
ERRORS_BASE = "https://developer.nexmo.com/api-errors"


class ApiError(Exception):
    """An error answered as Vonage does: status code plus an RFC 7807 body (or a custom one)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        invalid_parameters: list[dict[str, str]] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.invalid_parameters = invalid_parameters
        self.custom_body = body
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        if self.custom_body is not None:
            return self.custom_body
        out: dict[str, Any] = {"type": self.type or ERRORS_BASE, "title": self.title}
        if self.detail is not None:
            out["detail"] = self.detail
        out["instance"] = str(uuid.uuid4())
        if self.invalid_parameters:
            out["invalid_parameters"] = self.invalid_parameters
        return out


def bad_request(
    invalid: list[tuple[str, str]], detail: str = "The request failed due to validation errors", type_: str = ""
) -> ApiError:
    """400 with ``invalid_parameters`` (``[(name, reason), ...]``)."""
    return ApiError(
        400,
        "Bad Request",
        detail,
        type_=type_ or f"{ERRORS_BASE}#bad-request",
        invalid_parameters=[{"name": name, "reason": reason} for name, reason in invalid],
    )


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "Unauthorized",
        "You did not provide correct credentials.",
        type_=f"{ERRORS_BASE}#unauthorized",
    )


def not_found(detail: str) -> ApiError:
    return ApiError(404, "Not Found", detail, type_=f"{ERRORS_BASE}#not-found")


def rate_limited() -> ApiError:
    return ApiError(
        429,
        "Rate Limit Hit",
        "Please wait, then retry your request",
        type_="https://developer.vonage.com/api-errors#rate-limit",
    )


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    client: str = ""

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        """The JSON body; a body that is not JSON is a 400 like Vonage's."""
        if not self.body:
            raise bad_request([("body", "A JSON body is required")], "Invalid JSON body")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request([("body", "Malformed JSON")], "Invalid JSON body") from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise bad_request([("body", "Must be a JSON object")], "Invalid JSON body")
        return data

    def form(self) -> dict[str, str]:
        """Form fields (urlencoded body) merged over query parameters: the Numbers API takes either."""
        merged = {key: values[-1] for key, values in self.query.items() if values}
        if self.body.lstrip().startswith(b"{"):
            # Some clients (the Python SDK among them) label form bodies as JSON and vice versa: sniff.
            try:
                data = json.loads(self.body)
            except ValueError:
                data = None
            if isinstance(data, dict):
                merged.update({str(k): str(v) for k, v in data.items() if v is not None})
        elif self.body:
            parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
            merged.update({key: values[-1] for key, values in parsed.items() if values})
        return merged


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Awaitable[Response]]


class Router:
    """Routes ``(method, path regex)`` to handlers; named groups become ``request.params``."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.routes.append((method, regex, handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        path_matched = False
        for route_method, regex, handler in self.routes:
            match = regex.match(path)
            if match:
                path_matched = True
                if route_method == method:
                    return handler, match.groupdict()
        if path_matched:
            raise ApiError(405, "Method Not Allowed", f"{method} is not allowed on {path}", type_=ERRORS_BASE)
        raise not_found(f"No resource at {path}")


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "Payload Too Large", "The request body is too large", type_=ERRORS_BASE)
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def send_response(send: Callable[[dict[str, Any]], Awaitable[None]], response: Response) -> None:
    body = response.encoded()
    headers = [(b"content-length", str(len(body)).encode())]
    if body or response.status not in (204, 304):
        headers.append((b"content-type", response.content_type.encode()))
    headers.extend((k.lower().encode(), v.encode()) for k, v in response.headers.items())
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_response(error: ApiError) -> Response:
    return Response(error.status, error.body(), dict(error.headers))
