"""Application JWTs: RS256 with application_id, iat, a unique jti and exp = iat + 15 min."""

from __future__ import annotations

import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from contactcenter.voice.errors import VoiceApiConfigError
from contactcenter.voice.jwt import application_jwt

APPLICATION_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
NOW = 1_790_000_000


def test_claims_and_header(rsa_key: rsa.RSAPrivateKey, private_key_pem: bytes) -> None:
    token = application_jwt(APPLICATION_ID, private_key_pem, now=NOW)

    claims = jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    assert claims == {"application_id": APPLICATION_ID, "iat": NOW, "jti": claims["jti"], "exp": NOW + 900}
    assert uuid.UUID(claims["jti"]).version == 4


def test_each_token_has_its_own_jti(private_key_pem: bytes) -> None:
    jtis = {
        jwt.decode(application_jwt(APPLICATION_ID, private_key_pem), options={"verify_signature": False})["jti"]
        for _ in range(20)
    }

    assert len(jtis) == 20


def test_pem_text_with_escaped_newlines_and_loaded_keys_are_accepted(
    rsa_key: rsa.RSAPrivateKey, private_key_pem: bytes
) -> None:
    escaped = private_key_pem.decode().replace("\n", "\\n")

    for key in (escaped, rsa_key):
        token = application_jwt(APPLICATION_ID, key, now=NOW, ttl=60)
        claims = jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
        assert claims["exp"] == NOW + 60


def test_extra_claims_are_merged_but_cannot_override(private_key_pem: bytes) -> None:
    token = application_jwt(APPLICATION_ID, private_key_pem, now=NOW, extra={"sub": "alice", "acl": {"paths": {}}})
    claims = jwt.decode(token, options={"verify_signature": False})

    assert claims["sub"] == "alice"
    assert claims["acl"] == {"paths": {}}
    with pytest.raises(ValueError):
        application_jwt(APPLICATION_ID, private_key_pem, extra={"exp": NOW + 10**6})


@pytest.mark.parametrize("ttl", [29, 86401])
def test_ttl_outside_vonage_limits_is_refused(private_key_pem: bytes, ttl: int) -> None:
    with pytest.raises(ValueError):
        application_jwt(APPLICATION_ID, private_key_pem, ttl=ttl)


def test_missing_application_id_or_bad_key_is_a_config_error(private_key_pem: bytes) -> None:
    with pytest.raises(VoiceApiConfigError):
        application_jwt("", private_key_pem)
    with pytest.raises(VoiceApiConfigError):
        application_jwt(APPLICATION_ID, "not a key")
    ec_key = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2
OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r
1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G
-----END PRIVATE KEY-----
"""
    with pytest.raises(VoiceApiConfigError) as caught:
        application_jwt(APPLICATION_ID, ec_key)
    assert str(caught.value) == "The Vonage private key must be an RSA key (application JWTs are RS256)"
