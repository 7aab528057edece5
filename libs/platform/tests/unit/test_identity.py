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
    CLIENT_IP_HEADER,
    Identity,
    IdentityKeys,
    IdentitySigner,
    IdentityVerifier,
    identity_key_id,
    open_client_ip,
    raw_public_key,
    seal_client_ip,
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


def _key_text(public: bytes) -> str:
    """A public key as IDENTITY_PUBLIC_KEYS lists it: standard base64 of the raw key."""
    return base64.b64encode(public).decode()


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


def test_replacing_the_keys_takes_effect_at_once_and_forgets_what_was_verified():
    old, old_public = _pair()
    new, new_public = _pair()
    verifier = IdentityVerifier([old_public])
    who = _who()
    cached = old.sign(who)
    assert verifier.verify(cached) == who
    verifier.replace_keys([old_public, new_public])
    assert verifier.key_ids == {old.kid, new.kid}
    assert verifier.verify(new.sign(who)) == who
    verifier.replace_keys([new_public])
    # Even the assertion verified (and cached) under the old key is refused now.
    with pytest.raises(Unauthorized):
        verifier.verify(cached)
    with pytest.raises(ValueError, match="at least one"):
        verifier.replace_keys([])
    assert verifier.key_ids == {new.kid}


async def test_identity_keys_reload_from_the_file(tmp_path):
    old, old_public = _pair()
    new, new_public = _pair()
    keys = IdentityKeys(IdentityVerifier([old_public]))
    path = tmp_path / "identity_public_keys"
    path.write_text(f"{_key_text(old_public)}, {_key_text(new_public)}\n")
    assert await keys.reload_public_keys(str(path)) is True
    assert keys.describe() == {"verify_key_ids": sorted([old.kid, new.kid]), "reload_error": None}
    assert await keys.reload_public_keys(str(path)) is False  # unchanged
    path.write_text(_key_text(new_public) + "\n")
    assert await keys.reload_public_keys(str(path)) is True
    assert keys.verifier.key_ids == {new.kid}
    with pytest.raises(Unauthorized):
        keys.verifier.verify(old.sign(_who()))


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "must list at least one base64 Ed25519 public key"),
        ("not base64!", "key 1: must be base64"),
        (None, "No such file or directory"),
    ],
)
async def test_an_invalid_key_file_keeps_the_keys_in_use_and_is_reported(tmp_path, content, error):
    signer, public = _pair()
    keys = IdentityKeys(IdentityVerifier([public]))
    path = tmp_path / "identity_public_keys"
    if content is not None:
        path.write_text(content)
    assert await keys.reload_public_keys(str(path)) is False
    assert keys.verifier.key_ids == {signer.kid}
    assert keys.verifier.verify(signer.sign(_who()))
    report = keys.describe()
    assert report["verify_key_ids"] == [signer.kid]
    assert isinstance(report["reload_error"], str)
    assert report["reload_error"].startswith(f"IDENTITY_PUBLIC_KEYS_FILE: cannot use {path}: ")
    assert error in report["reload_error"]
    # A good reload clears the warning.
    path.write_text(_key_text(public))
    await keys.reload_public_keys(str(path))
    assert keys.describe()["reload_error"] is None


def test_identity_keys_report_the_signing_key_only_where_there_is_one():
    signer, public = _pair()
    keys = IdentityKeys(IdentityVerifier([public]))
    assert "signing_key_id" not in keys.describe()
    keys.signing_key_id = signer.kid
    keys.report("IDENTITY_SIGNING_KEY_FILE", "refused")
    keys.report("IDENTITY_PUBLIC_KEYS_FILE", "unreadable")
    assert keys.describe() == {
        "verify_key_ids": [signer.kid],
        "signing_key_id": signer.kid,
        "reload_error": "unreadable; refused",
    }
    keys.report("IDENTITY_PUBLIC_KEYS_FILE", None)
    assert keys.reload_error == "refused"


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


NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("ip", "opened"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("2001:DB8:0:0::7", "2001:db8::7"),  # one spelling of an address
    ],
)
def test_a_sealed_client_ip_opens_to_the_address(ip, opened):
    sealed = seal_client_ip(ip, TOKEN, now=NOW)
    assert CLIENT_IP_HEADER == "X-PM-Client-IP"
    assert sealed.startswith(f"{ip} {int(NOW)} ")
    assert TOKEN not in sealed
    assert open_client_ip(sealed, TOKEN, now=NOW) == opened
    assert open_client_ip(sealed, TOKEN, now=NOW + 65) == opened  # the lifetime and its leeway
    assert open_client_ip(sealed, TOKEN, now=NOW - 5) == opened  # a clock a little behind
    assert open_client_ip(seal_client_ip(ip, TOKEN), TOKEN) == opened  # the clock's own time


def test_only_the_same_service_token_opens_a_seal():
    assert open_client_ip(seal_client_ip("198.51.100.7", TOKEN + "x", now=NOW), TOKEN, now=NOW) is None


def test_a_tampered_seal_does_not_open():
    ip, issued, mac = seal_client_ip("198.51.100.7", TOKEN, now=NOW).split(" ")
    flipped = ("0" if mac[0] != "0" else "1") + mac[1:]
    for forged in (
        f"6.6.6.6 {issued} {mac}",  # another address under the same MAC
        f"{ip} {int(issued) + 1} {mac}",  # another time
        f"{ip} {issued} {flipped}",
        f"{ip} {issued} {mac[:-1]}",
        f"{ip} {issued} {mac.upper()}",
        f"{ip} {issued} {hmac.new(b'guess', b'x', hashlib.sha256).hexdigest()[:32]}",
    ):
        assert open_client_ip(forged, TOKEN, now=NOW) is None, forged


def test_a_stale_or_future_seal_does_not_open():
    sealed = seal_client_ip("198.51.100.7", TOKEN, now=NOW)
    assert open_client_ip(sealed, TOKEN, now=NOW + 66) is None  # replayed after its lifetime
    assert open_client_ip(sealed, TOKEN, now=NOW + 3600) is None
    assert open_client_ip(sealed, TOKEN, now=NOW - 6) is None  # from beyond the leeway in the future


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "198.51.100.7",  # the bare address, as before the seal
        "198.51.100.7 1750000000",
        "198.51.100.7  1750000000 {mac}",
        "198.51.100.7 1750000000 {mac} extra",
        " 198.51.100.7 1750000000 {mac}",
        "198.51.100.7 -1750000000 {mac}",
        "198.51.100.7 1750000000.0 {mac}",
        "198.51.100.7 \u0661750000000 {mac}",  # a non-ASCII digit
        "198.51.100.7\x00 1750000000 {mac}",
        "x" * 200,
        "198.51.100.7," * 20 + " 1750000000 {mac}",
    ],
)
def test_a_malformed_client_ip_value_does_not_open(value):
    if value is not None:
        value = value.format(mac=seal_client_ip("198.51.100.7", TOKEN, now=NOW).split(" ")[2])
    assert open_client_ip(value, TOKEN, now=NOW) is None


@pytest.mark.parametrize(
    "ip",
    [
        "fe80::1%eth0",  # an IPv6 zone: free text
        "fe80::1%\x00",
        "not-an-address",
        "unknown",  # what the gateway calls an unreadable peer
        "203.0.113.1,10.0.0.1",
        "[2001:db8::7]",
        "198.51.100.7:443",
        "x" * 90,
    ],
)
def test_only_an_ip_address_opens_even_when_sealed(ip):
    assert open_client_ip(seal_client_ip(ip, TOKEN, now=NOW), TOKEN, now=NOW) is None


def test_a_seal_has_one_spelling():
    """Leading zeros on the time would be a second value for one seal (and another memo entry)."""
    ip, issued, mac = seal_client_ip("198.51.100.7", TOKEN, now=NOW).split(" ")
    assert open_client_ip(f"{ip} {issued} {mac}", TOKEN, now=NOW) == "198.51.100.7"
    assert open_client_ip(f"{ip} 0{issued} {mac}", TOKEN, now=NOW) is None
