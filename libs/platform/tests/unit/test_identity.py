import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

import jwt
import pytest

from pm_platform.errors import Forbidden, Unauthorized
from pm_platform.identity import (
    Identity,
    IdentitySigner,
    IdentityVerifier,
    identity_key_id,
    raw_public_key,
    service_credential,
)
from pm_platform.testing import insider_assertion

TOKEN = "service-token-for-tests-0123456789"


def _pair() -> tuple[IdentitySigner, bytes]:
    private = secrets.token_bytes(32)
    return IdentitySigner(private), raw_public_key(private)


def _who() -> Identity:
    return Identity(uuid.uuid4(), uuid.uuid4())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip_and_key_id():
    signer, public = _pair()
    who = _who()
    assertion = signer.sign(who)
    assert jwt.get_unverified_header(assertion) == {"alg": "EdDSA", "kid": signer.kid, "typ": "JWT"}
    assert signer.kid == hashlib.sha256(public).hexdigest()[:16] == identity_key_id(public)
    assert IdentityVerifier([public]).verify(assertion) == who


def test_rejects_another_key():
    signer, _ = _pair()
    _, other_public = _pair()
    with pytest.raises(Unauthorized):
        IdentityVerifier([other_public]).verify(signer.sign(_who()))


def test_rejects_a_forged_kid_under_another_key():
    signer, public = _pair()
    impostor = IdentitySigner(secrets.token_bytes(32))
    impostor.kid = signer.kid  # claims the trusted key id, signed with another key
    with pytest.raises(Unauthorized):
        IdentityVerifier([public]).verify(impostor.sign(_who()))


def test_rejects_hs256_assertions_keyed_from_the_service_token():
    _, public = _pair()
    verifier = IdentityVerifier([public])
    with pytest.raises(Unauthorized):
        verifier.verify(insider_assertion(_who(), TOKEN))
    # Also with a trusted kid, and with the public key itself as the HMAC secret (algorithm confusion).
    now = int(time.time())
    claims = {"iss": "pm-gateway", "aud": "pm-internal", "sub": str(uuid.uuid4()), "sid": str(uuid.uuid4())}
    claims |= {"iat": now, "exp": now + 60}
    header = {"alg": "HS256", "kid": identity_key_id(public), "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    for key in (public, base64.b64encode(public)):
        mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(Unauthorized):
            verifier.verify(f"{signing_input}.{_b64(mac)}")


def test_rejects_alg_none_unknown_kid_and_garbage():
    signer, public = _pair()
    verifier = IdentityVerifier([public])
    who = _who()
    unsigned = jwt.encode(
        {"iss": "pm-gateway", "aud": "pm-internal", "sub": str(who.user_id), "sid": str(who.session_id)},
        key=None,
        algorithm="none",
        headers={"kid": signer.kid},
    )
    with pytest.raises(Unauthorized):
        verifier.verify(unsigned)
    _, payload, signature = signer.sign(who).split(".")
    for kid in ("unknown-kid", None):
        header = _b64(json.dumps({"alg": "EdDSA", "kid": kid}).encode())
        with pytest.raises(Unauthorized):
            verifier.verify(f"{header}.{payload}.{signature}")
    for junk in ("garbage", "", "a.b.c"):
        with pytest.raises(Unauthorized):
            verifier.verify(junk)


def test_rejects_expired_and_wrong_audience_or_issuer():
    signer, public = _pair()
    verifier = IdentityVerifier([public])
    with pytest.raises(Unauthorized):
        verifier.verify(signer.sign(_who(), now=time.time() - 600))
    key = signer._key  # the same key, other claims
    now = int(time.time())
    base = {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "iat": now, "exp": now + 60}
    for claims in (
        base | {"iss": "pm-gateway", "aud": "playlist-manager"},
        base | {"iss": "somebody-else", "aud": "pm-internal"},
        {k: v for k, v in (base | {"iss": "pm-gateway", "aud": "pm-internal"}).items() if k != "exp"},
    ):
        with pytest.raises(Unauthorized):
            verifier.verify(jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": signer.kid}))


def test_rotation_accepts_every_listed_key():
    old, old_public = _pair()
    new, new_public = _pair()
    during = IdentityVerifier([old_public, new_public])
    who = _who()
    assert during.verify(old.sign(who)) == who
    assert during.verify(new.sign(who)) == who
    after = IdentityVerifier([new_public])
    with pytest.raises(Unauthorized):
        after.verify(old.sign(who))
    assert after.key_ids == {new.kid}


def test_verified_assertions_are_cached_until_expiry_and_bounded(monkeypatch):
    signer, public = _pair()
    verifier = IdentityVerifier([public], cache_size=2)
    who = _who()
    issued = time.time()
    assertion = signer.sign(who, now=issued)
    assert verifier.verify(assertion) == who
    # A cached assertion skips the signature check ...
    calls = 0
    real_decode = jwt.decode

    def counting_decode(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    assert verifier.verify(assertion) == who
    assert calls == 0
    # ... but never outlives its exp (plus the 5 s leeway).
    with pytest.raises(Unauthorized):
        verifier.verify(assertion, now=issued + 60 + 6)
    # The cache holds at most cache_size assertions.
    for _ in range(5):
        verifier.verify(signer.sign(_who()))
    assert len(verifier._cache) == 2


def test_needs_a_public_key():
    with pytest.raises(ValueError, match="at least one"):
        IdentityVerifier([])


def test_service_credential_is_derived_not_the_token():
    credential = service_credential(TOKEN)
    assert TOKEN not in credential
    assert credential.startswith("Service ")
    assert credential == service_credential(TOKEN)
    assert credential != service_credential(TOKEN + "x")
    assert Forbidden.status == 403
