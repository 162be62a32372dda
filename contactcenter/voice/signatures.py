"""Signed webhooks (voice-api.md 4.10): verify Vonage's HS256 JWT and the hash of the raw body.

Vonage sends ``Authorization: Bearer <JWT>`` signed with the account's *signature secret*
(not the API secret, not the application key) and carrying ``payload_hash``, the hex SHA-256
of the raw request body. Checking only the JWT would let anyone replay a captured token with
a different body, so the hash is always compared, in constant time, against the bytes received.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any

import jwt as pyjwt

from contactcenter.voice.errors import InvalidSignature, VoiceApiConfigError

__all__ = ["InvalidSignature", "body_hash", "sign_request", "verify_signed_request"]

ALGORITHM = "HS256"
DEFAULT_MAX_SKEW_SECONDS = 300


def body_hash(body: bytes) -> str:
    """The ``payload_hash`` Vonage puts in the JWT: lower-case hex SHA-256 of the raw body."""
    return hashlib.sha256(body).hexdigest()


def _bearer_token(authorization_header: str | None) -> str:
    if not authorization_header or not authorization_header.strip():
        raise InvalidSignature("missing Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSignature("Authorization header is not a Bearer token")
    return token.strip()


def verify_signed_request(
    authorization_header: str | None,
    body: bytes,
    secret: str,
    *,
    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify a signed webhook and return its claims; raise ``InvalidSignature(reason)`` otherwise.

    Checks, in order: a Bearer token is present and well formed; its header says HS256 (``none``
    and RS256 are refused before any key is used, so no algorithm confusion); the HMAC matches
    ``secret`` (PyJWT compares in constant time); ``iat`` is a number within ``max_skew_seconds``
    of ``now`` either way (bounded clock skew, and a limit on replays); ``exp``, if present, has
    not passed; ``payload_hash`` equals the SHA-256 of ``body`` (``hmac.compare_digest``).
    A token without ``payload_hash`` is accepted only for an empty body (GET answer webhooks,
    whose hashing Vonage does not document). ``body`` must be the raw bytes, before any parsing.
    An empty ``secret`` is a configuration error, not a verdict on the request.
    """
    if not secret:
        raise VoiceApiConfigError("No Vonage signature secret is configured; signed webhooks cannot be verified")
    token = _bearer_token(authorization_header)
    try:
        header = pyjwt.get_unverified_header(token)
    except pyjwt.InvalidTokenError as exc:
        raise InvalidSignature(f"garbled token: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidSignature(f"algorithm {header.get('alg')!r} is not allowed; only {ALGORITHM} is")
    try:
        claims: dict[str, Any] = pyjwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Time claims are checked below against ``now`` so the skew rule is ours and testable.
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except pyjwt.InvalidSignatureError:
        raise InvalidSignature("signature does not match the signature secret") from None
    except pyjwt.InvalidTokenError as exc:
        raise InvalidSignature(f"garbled token: {exc}") from None

    current = time.time() if now is None else now
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidSignature("iat claim is missing or not a number")
    if abs(current - iat) > max_skew_seconds:
        raise InvalidSignature(f"iat is {int(current - iat)} s away from now; at most {max_skew_seconds:g} s allowed")
    exp = claims.get("exp")
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise InvalidSignature("exp claim is not a number")
        if exp < current:
            raise InvalidSignature("token has expired")

    expected = body_hash(body)
    received = claims.get("payload_hash")
    if received is None:
        if body:
            raise InvalidSignature("payload_hash claim is missing")
    elif not isinstance(received, str) or not hmac.compare_digest(received.lower().encode(), expected.encode()):
        raise InvalidSignature("payload_hash does not match the request body")
    return claims


def sign_request(
    body: bytes,
    secret: str,
    *,
    api_key: str = "",
    application_id: str | None = None,
    now: float | None = None,
) -> str:
    """The JWT Vonage would send with ``body`` (the header is ``f"Bearer {token}"``).

    Claims: ``iat``, a uuid4 ``jti``, ``iss: "Vonage"``, ``payload_hash``, ``api_key`` and, when given,
    ``application_id``. Used by tests and by anything of ours that signs webhooks the same way.
    """
    if not secret:
        raise VoiceApiConfigError("A signature secret is needed to sign a request")
    claims: dict[str, Any] = {
        "iat": int(time.time() if now is None else now),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": body_hash(body),
        "api_key": api_key,
    }
    if application_id:
        claims["application_id"] = application_id
    return pyjwt.encode(claims, secret, algorithm=ALGORITHM, headers={"typ": "JWT"})
