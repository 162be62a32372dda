"""Application JWTs (RS256) that authenticate every Voice API request and recording download.

Vonage requires ``application_id``, ``iat`` and a unique ``jti``; ``exp`` defaults to 15 minutes
after issue and must lie between 30 seconds and 24 hours after it (voice-api.md 2.1). Tokens are
minted per request, so a retried request never replays a ``jti``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from contactcenter.voice.errors import VoiceApiConfigError

DEFAULT_TTL = 900
MIN_TTL = 30
MAX_TTL = 24 * 3600
_RESERVED = frozenset({"application_id", "iat", "jti", "exp"})

PrivateKey = str | bytes | RSAPrivateKey


def load_private_key(private_key_pem: str | bytes) -> RSAPrivateKey:
    """Parse a PEM RSA private key once, so signing each request does not re-parse it.

    Raises ``VoiceApiConfigError`` when the text is not an unencrypted RSA private key.
    """
    data = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    # Settings often carry the key in one environment variable with literal "\n" sequences.
    data = data.replace(b"\\n", b"\n").strip()
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise VoiceApiConfigError(f"The Vonage private key is not a readable unencrypted PEM key: {exc}") from None
    if not isinstance(key, RSAPrivateKey):
        raise VoiceApiConfigError("The Vonage private key must be an RSA key (application JWTs are RS256)")
    return key


def application_jwt(
    application_id: str,
    private_key_pem: PrivateKey,
    *,
    ttl: int = DEFAULT_TTL,
    now: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """An RS256 application JWT: ``application_id``, ``iat``, a fresh uuid4 ``jti``, ``exp = iat + ttl``.

    ``private_key_pem`` is PEM text/bytes or an already loaded key (see ``load_private_key``).
    ``extra`` claims are merged in but may not override the four standard ones. ``now`` (Unix
    seconds) exists for tests. Pure: no cache, no clock other than ``now`` or ``time.time()``.
    """
    if not application_id:
        raise VoiceApiConfigError("No Vonage application id is configured")
    if not MIN_TTL <= ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between {MIN_TTL} and {MAX_TTL} seconds, got {ttl}")
    if extra and _RESERVED & extra.keys():
        raise ValueError(f"extra claims may not override {sorted(_RESERVED & extra.keys())}")
    key = private_key_pem if isinstance(private_key_pem, RSAPrivateKey) else load_private_key(private_key_pem)
    iat = int(time.time() if now is None else now)
    claims: dict[str, Any] = {**(extra or {}), "application_id": application_id, "iat": iat, "jti": str(uuid.uuid4())}
    claims["exp"] = iat + ttl
    return pyjwt.encode(claims, key, algorithm="RS256", headers={"typ": "JWT"})
