"""Signed webhooks: HS256 JWT over the signature secret plus the SHA-256 of the raw body."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from contactcenter.voice.errors import VoiceApiConfigError
from contactcenter.voice.jwt import application_jwt
from contactcenter.voice.signatures import InvalidSignature, sign_request, verify_signed_request

SECRET = "signature-secret-0123456789abcdef0123456789"
NOW = 1_790_000_000
BODY = json.dumps({"uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356", "status": "answered"}).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(claims: dict[str, object], secret: str = SECRET) -> str:
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


def _claims(**overrides: object) -> dict[str, object]:
    return {
        "iat": NOW,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(BODY).hexdigest(),
        "api_key": "abcd1234",
        **overrides,
    }


def test_a_signed_request_verifies_and_returns_its_claims() -> None:
    token = sign_request(BODY, SECRET, api_key="abcd1234", application_id="app-1", now=NOW)
    header = f"Bearer {token}"

    claims = verify_signed_request(header, BODY, SECRET, now=NOW + 10)

    assert set(claims) == {"iat", "jti", "iss", "payload_hash", "api_key", "application_id"}
    assert claims["iat"] == NOW
    assert claims["iss"] == "Vonage"
    assert claims["api_key"] == "abcd1234"
    assert claims["application_id"] == "app-1"
    assert claims["payload_hash"] == hashlib.sha256(BODY).hexdigest()
    assert uuid.UUID(str(claims["jti"])).version == 4
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_clock_skew_within_the_bound_is_accepted() -> None:
    header = f"Bearer {sign_request(BODY, SECRET, now=NOW)}"

    assert verify_signed_request(header, BODY, SECRET, now=NOW - 300)["iat"] == NOW
    assert verify_signed_request(header, BODY, SECRET, now=NOW + 300)["iat"] == NOW


def test_empty_body_without_payload_hash_is_accepted() -> None:
    claims = _claims()
    del claims["payload_hash"]

    assert verify_signed_request(_token(claims), b"", SECRET, now=NOW)["iat"] == NOW


def _alg_none_token() -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"Bearer {header}.{_b64(json.dumps(_claims()).encode())}."


def _rs256_token(key: rsa.RSAPrivateKey) -> str:
    return "Bearer " + jwt.encode(_claims(), key, algorithm="RS256")


def _hs256_header_with_forged_signature() -> str:
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    head, payload, _ = token.split(".")
    return f"Bearer {head}.{payload}.{_b64(b'x' * 32)}"


@pytest.mark.parametrize(
    ("header", "body", "reason"),
    [
        (None, BODY, "missing Authorization header"),
        ("", BODY, "missing Authorization header"),
        ("Basic YWJjOmRlZg==", BODY, "Authorization header is not a Bearer token"),
        ("Bearer", BODY, "Authorization header is not a Bearer token"),
        ("Bearer not-a-jwt", BODY, "garbled token: Not enough segments"),
        (
            _token(_claims(), secret="another-secret-0123456789abcdef012345"),
            BODY,
            "signature does not match the signature secret",
        ),
        (_hs256_header_with_forged_signature(), BODY, "signature does not match the signature secret"),
        (_token(_claims()), BODY + b" ", "payload_hash does not match the request body"),
        (_token(_claims()), BODY.replace(b"answered", b"completed"), "payload_hash does not match the request body"),
        (_token(_claims(payload_hash=123)), BODY, "payload_hash does not match the request body"),
        (_token({k: v for k, v in _claims().items() if k != "payload_hash"}), BODY, "payload_hash claim is missing"),
        (_alg_none_token(), BODY, "algorithm 'none' is not allowed; only HS256 is"),
        (_token(_claims(iat=NOW - 301)), BODY, "iat is 301 s away from now; at most 300 s allowed"),
        (_token(_claims(iat=NOW + 301)), BODY, "iat is -301 s away from now; at most 300 s allowed"),
        (_token({k: v for k, v in _claims().items() if k != "iat"}), BODY, "iat claim is missing or not a number"),
        (_token(_claims(iat="yesterday")), BODY, "iat claim is missing or not a number"),
        (_token(_claims(exp=NOW - 1)), BODY, "token has expired"),
    ],
)
def test_bad_signatures_are_rejected_with_a_reason(header: str | None, body: bytes, reason: str) -> None:
    with pytest.raises(InvalidSignature) as caught:
        verify_signed_request(header, body, SECRET, now=NOW)

    assert caught.value.reason == reason
    assert str(caught.value) == reason


def test_rs256_tokens_are_rejected_even_when_validly_signed() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidSignature) as caught:
        verify_signed_request(_rs256_token(key), BODY, SECRET, now=NOW)

    assert caught.value.reason == "algorithm 'RS256' is not allowed; only HS256 is"


def test_an_application_jwt_is_not_a_webhook_signature() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = application_jwt("app-1", key, now=NOW)

    with pytest.raises(InvalidSignature) as caught:
        verify_signed_request(f"Bearer {token}", BODY, SECRET, now=NOW)

    assert caught.value.reason == "algorithm 'RS256' is not allowed; only HS256 is"


def test_hs256_signed_with_the_public_key_text_is_rejected() -> None:
    # Algorithm confusion: a token HMAC-signed with something public must not pass under our secret.
    with pytest.raises(InvalidSignature) as caught:
        verify_signed_request(
            _token(_claims(), secret="-----BEGIN PUBLIC KEY-----0123456789abcdef"), BODY, SECRET, now=NOW
        )

    assert caught.value.reason == "signature does not match the signature secret"


def test_a_custom_skew_bound_is_applied() -> None:
    header = f"Bearer {sign_request(BODY, SECRET, now=NOW)}"

    assert verify_signed_request(header, BODY, SECRET, max_skew_seconds=60, now=NOW + 60)["iat"] == NOW
    with pytest.raises(InvalidSignature):
        verify_signed_request(header, BODY, SECRET, max_skew_seconds=60, now=NOW + 61)


def test_an_empty_secret_is_a_configuration_error() -> None:
    header = f"Bearer {sign_request(BODY, SECRET, now=NOW)}"

    with pytest.raises(VoiceApiConfigError):
        verify_signed_request(header, BODY, "", now=NOW)
    with pytest.raises(VoiceApiConfigError):
        sign_request(BODY, "")
