"""Access-token verification: only the configured algorithm, a known key, the right issuer and audience,
inside its validity window."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pm_gateway.domain.tokens import (
    TokenPolicy,
    TokenRejected,
    TokenVerifier,
    UnknownKey,
    keys_from_jwks,
    verify_access_token,
)

ISSUER = "http://127.0.0.1:3101"
SECRET = b"s" * 40
NOW = 1_800_000_000.0
POLICY = TokenPolicy("EdDSA", ISSUER, leeway_s=30)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signing_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def jwks(signing_key):
    raw = signing_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "keys": [{"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": "k1", "use": "sig", "alg": "EdDSA"}]
    }


@pytest.fixture(scope="module")
def keys(jwks):
    return keys_from_jwks(jwks)


def _claims(**overrides):
    claims = {
        "iss": ISSUER,
        "aud": "playlist-manager",
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": int(NOW),
        "nbf": int(NOW),
        "exp": int(NOW) + 900,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256_by_hand(claims, key: bytes, kid="k1") -> str:
    """An HS256 JWS built without PyJWT (which refuses public keys as HMAC secrets): the attacker's."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _eddsa(signing_key, kid="k1", **claims):
    headers = {"kid": kid} if kid else {}
    return jwt.encode(_claims(**claims), signing_key, algorithm="EdDSA", headers=headers)


def test_a_valid_token(signing_key, keys):
    user = uuid.uuid4()
    claims = verify_access_token(_eddsa(signing_key, sub=str(user)), keys, POLICY, NOW)
    assert claims.user_id == user
    assert claims.expires_at == NOW + 900


def test_alg_none_is_refused(keys):
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "k1"}).encode())
    token = f"{header}.{_b64(json.dumps(_claims()).encode())}."
    with pytest.raises(TokenRejected, match="algorithm 'none'"):
        verify_access_token(token, keys, POLICY, NOW)


def test_algorithm_confusion_is_refused(jwks, keys):
    # HS256 "signed" with the public key, as an attacker who read the JWKS would do.
    for public in (json.dumps(jwks["keys"][0]).encode(), jwks["keys"][0]["x"].encode()):
        token = _hs256_by_hand(_claims(), public)
        with pytest.raises(TokenRejected, match="algorithm 'HS256'"):
            verify_access_token(token, keys, POLICY, NOW)
    # ...and HS256 with the right secret is refused too while EdDSA is the configured algorithm.
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    with pytest.raises(TokenRejected, match="algorithm"):
        verify_access_token(token, keys, POLICY, NOW, hs256_secret=SECRET)


def test_hs256_fallback_when_configured():
    policy = TokenPolicy("HS256", ISSUER)
    token = jwt.encode(_claims(), SECRET, algorithm="HS256")
    assert verify_access_token(token, {}, policy, NOW, hs256_secret=SECRET)
    with pytest.raises(TokenRejected, match="signature"):
        verify_access_token(jwt.encode(_claims(), b"x" * 40, algorithm="HS256"), {}, policy, NOW, SECRET)


def test_tampered_payload_and_signature(signing_key, keys):
    token = _eddsa(signing_key)
    header, payload, signature = token.split(".")
    forged = _b64(json.dumps(_claims(sub=str(uuid.uuid4()))).encode())
    with pytest.raises(TokenRejected, match="signature"):
        verify_access_token(f"{header}.{forged}.{signature}", keys, POLICY, NOW)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(TokenRejected):
        verify_access_token(f"{header}.{payload}.{flipped}", keys, POLICY, NOW)
    with pytest.raises(TokenRejected, match="malformed"):
        verify_access_token("not-a-token", keys, POLICY, NOW)


def test_signed_by_another_key(keys):
    other = Ed25519PrivateKey.generate()
    with pytest.raises(TokenRejected, match="signature"):
        verify_access_token(_eddsa(other), keys, POLICY, NOW)


def test_kid_is_required_and_must_be_known(signing_key, keys):
    with pytest.raises(TokenRejected, match="kid"):
        verify_access_token(_eddsa(signing_key, kid=None), keys, POLICY, NOW)
    with pytest.raises(UnknownKey) as unknown:
        verify_access_token(_eddsa(signing_key, kid="k2"), keys, POLICY, NOW)
    assert unknown.value.kid == "k2"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"aud": ["x", "y"]}, "audience"),
        ({"exp": int(NOW) - 31}, "expired"),
        ({"exp": None}, "no exp"),
        ({"iat": None}, "no iat"),
        ({"nbf": int(NOW) + 31}, "not valid yet"),
        ({"iat": int(NOW) + 31}, "not valid yet"),
        ({"sub": "not-a-uuid"}, "user and session"),
        ({"sid": None}, "user and session"),
        ({"exp": "soon"}, "not a number"),
    ],
)
def test_claims_are_checked(signing_key, keys, claims, reason):
    with pytest.raises(TokenRejected, match=reason):
        verify_access_token(_eddsa(signing_key, **claims), keys, POLICY, NOW)


def test_leeway(signing_key, keys):
    assert verify_access_token(_eddsa(signing_key, exp=int(NOW) - 29), keys, POLICY, NOW)
    assert verify_access_token(_eddsa(signing_key, aud=["x", "playlist-manager"]), keys, POLICY, NOW)


def test_jwks_parsing_skips_what_is_not_an_ed25519_signing_key(jwks):
    document = {
        "keys": [
            *jwks["keys"],
            {"kty": "RSA", "kid": "rsa", "n": "x", "e": "AQAB"},
            {**jwks["keys"][0], "kid": "enc", "use": "enc"},
            {**jwks["keys"][0], "kid": "priv", "d": "secret"},
        ]
    }
    assert set(keys_from_jwks(document)) == {"k1"}
    with pytest.raises(ValueError, match="JWKS"):
        keys_from_jwks({"nokeys": []})


def test_verifier_caches_until_expiry_and_forgets_on_key_change(signing_key, keys):
    verifier = TokenVerifier(POLICY)
    verifier.set_keys(keys)
    token = _eddsa(signing_key, exp=int(NOW) + 60)
    assert verifier.verify(token, NOW).expires_at == NOW + 60
    assert verifier.verify(token, NOW + 89)  # from the cache, within the leeway
    with pytest.raises(TokenRejected, match="expired"):
        verifier.verify(token, NOW + 91)
    fresh = _eddsa(signing_key)
    verifier.verify(fresh, NOW)
    verifier.set_keys({})  # the key was retired: nothing signed by it is accepted any more
    with pytest.raises(UnknownKey):
        verifier.verify(fresh, NOW)


def test_real_clock_tokens(signing_key, keys):
    # The same path with tokens stamped by the real clock, as auth issues them.
    now = time.time()
    token = _eddsa(signing_key, iat=int(now), nbf=int(now), exp=int(now) + 900)
    assert verify_access_token(token, keys, POLICY, now)
