"""Access tokens (JWS) and refresh tokens."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from pm_auth.domain.tokens import (
    SigningKey,
    new_access_claims,
    new_refresh_token,
    refresh_token_hash,
    sign_eddsa,
    sign_hs256,
    verify_access_token,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
ISSUER = "http://127.0.0.1:3101"


def claims():
    return new_access_claims(uuid.uuid4(), uuid.uuid4(), NOW, timedelta(minutes=15))


def test_eddsa_token_shape_and_verification():
    key = SigningKey.generate()
    c = claims()
    token = sign_eddsa(c, ISSUER, key)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"iss", "aud", "sub", "sid", "iat", "nbf", "exp", "jti"}
    assert payload["exp"] - payload["iat"] == 900 and payload["nbf"] == payload["iat"]
    public_only = SigningKey(key.kid, key.public)
    assert public_only.jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": key.jwk()["x"],
        "kid": key.kid,
        "use": "sig",
        "alg": "EdDSA",
    }
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_access_token(token, ISSUER, [public_only])  # NOW is in the past
    fresh = new_access_claims(c.user_id, c.session_id, datetime.now(UTC), timedelta(minutes=15))
    assert verify_access_token(sign_eddsa(fresh, ISSUER, key), ISSUER, [public_only])["sid"] == str(
        c.session_id
    )


def test_verification_refuses_other_keys_algorithms_and_issuers():
    key, other = SigningKey.generate(), SigningKey.generate()
    fresh = new_access_claims(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC), timedelta(minutes=15))
    token = sign_eddsa(fresh, ISSUER, key)
    with pytest.raises(jwt.InvalidKeyError):
        verify_access_token(token, ISSUER, [other])
    forged = SigningKey(key.kid, other.public)
    with pytest.raises(jwt.InvalidSignatureError):
        verify_access_token(token, ISSUER, [forged])
    with pytest.raises(jwt.InvalidIssuerError):
        verify_access_token(token, "https://elsewhere", [key])
    hs = sign_hs256(fresh, ISSUER, "s" * 40)
    with pytest.raises(jwt.InvalidAlgorithmError):
        verify_access_token(hs, ISSUER, [key])
    assert jwt.decode(hs, "s" * 40, algorithms=["HS256"], audience="playlist-manager")["iss"] == ISSUER


def test_refresh_tokens_are_random_and_hashed():
    a, b = new_refresh_token(), new_refresh_token()
    assert a != b and len(a) == 43
    assert refresh_token_hash(a) != refresh_token_hash(b) and len(refresh_token_hash(a)) == 32
