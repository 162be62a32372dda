"""Credentials: Basic auth for account APIs, RS256 application JWTs for the Voice API, HS256 webhook signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from voice_sandbox.http import Request

MAX_TOKEN_LIFETIME = 24 * 3600
DEFAULT_TOKEN_LIFETIME = 15 * 60
CLOCK_LEEWAY = 30


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(key, secret)`` from ``Authorization: Basic``, or from ``api_key``/``api_secret`` parameters."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        key, sep, secret = decoded.partition(":")
        return (key, secret) if sep else None
    form: dict[str, str] = request.form() if request.method in ("POST", "PUT") else {}
    api_key = request.arg("api_key") or form.get("api_key")
    api_secret = request.arg("api_secret") or form.get("api_secret")
    if api_key and api_secret:
        return api_key, api_secret
    return None


def check_basic(request: Request, api_key: str, api_secret: str) -> bool:
    """Constant-time check of the account's key and secret."""
    creds = basic_credentials(request)
    if creds is None:
        return False
    key_ok = hmac.compare_digest(creds[0].encode(), api_key.encode())
    secret_ok = hmac.compare_digest(creds[1].encode(), api_secret.encode())
    return key_ok and secret_ok


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    return header[7:].strip() or None


def unverified_application_id(token: str) -> str | None:
    """The ``application_id`` claim before verification, to pick the public key to verify with."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    app_id = claims.get("application_id")
    return app_id if isinstance(app_id, str) else None


@lru_cache(maxsize=256)
def _public_key(pem: str) -> Any:
    return serialization.load_pem_public_key(pem.encode())


def verify_application_jwt(token: str, public_key_pem: str, application_id: str) -> bool:
    """True when ``token`` is an RS256 JWT of ``application_id`` signed by the key pair of ``public_key_pem``.

    Like Vonage: ``iat`` and ``jti`` are required, an expired token or one living more than 24 h is refused.
    """
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            return False
        claims = jwt.decode(
            token,
            _public_key(public_key_pem),
            algorithms=["RS256"],
            options={"require": ["iat", "jti"], "verify_aud": False},
            leeway=CLOCK_LEEWAY,
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return False
    if claims.get("application_id") != application_id:
        return False
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or iat > time.time() + CLOCK_LEEWAY:
        return False
    exp = claims.get("exp")
    if exp is None:
        # Vonage gives a token without ``exp`` the default lifetime of 15 minutes.
        return time.time() <= iat + DEFAULT_TOKEN_LIFETIME + CLOCK_LEEWAY
    return isinstance(exp, int | float) and exp - iat <= MAX_TOKEN_LIFETIME


def public_key_is_valid(pem: str) -> bool:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        return False
    return isinstance(key, rsa.RSAPublicKey)


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA 2048 key pair as (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def sign_webhook(body: bytes, *, secret: str, api_key: str, application_id: str | None) -> str:
    """The ``Authorization`` bearer token of a signed callback: HS256 with the account's signature secret.

    ``payload_hash`` is the hex SHA-256 of the raw body (of an empty body for GET requests, which Vonage
    leaves unspecified).
    """
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": api_key,
    }
    if application_id:
        claims["application_id"] = application_id
    # Encoded by hand: PyJWT's key preparation (PEM sniffing with regexes) cost more than the HMAC itself
    # and this runs for every webhook. The result is a standard HS256 JWT (tests decode it with PyJWT).
    signing_input = _HS256_HEADER + b"." + _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64(signature)).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_HS256_HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')
