"""Verification of public access tokens (docs/security.md), pure: no clock, no network.

The verifier accepts exactly one algorithm (EdDSA, or HS256 when configured as the fallback) and
refuses everything else before looking at a key, so ``alg: none`` and algorithm confusion (an HS256
token "signed" with the public key) fail the same way as any other algorithm. Keys come from the JWKS
(kept current by clients/jwks.py); a token naming a key id the verifier does not know raises
:class:`UnknownKey`, so the caller can refetch the JWKS once and retry.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import OKPAlgorithm

AUDIENCE = "playlist-manager"
_VERIFIED_CACHE_SIZE = 10_000


class TokenRejected(Exception):
    """The token is not acceptable; the message says why (safe to show the client)."""


class UnknownKey(TokenRejected):
    def __init__(self, kid: str) -> None:
        super().__init__("the token's signing key is unknown")
        self.kid = kid


@dataclass(frozen=True)
class TokenPolicy:
    algorithm: str  # "EdDSA" or "HS256"
    issuer: str
    audience: str = AUDIENCE
    leeway_s: int = 30


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: float


def keys_from_jwks(document: Any) -> dict[str, Any]:
    """``kid → public key`` for every Ed25519 signing key of a JWKS document; others are skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, Any] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") != "EdDSA" or not jwk.get("kid"):
            continue
        if "d" in jwk:
            continue  # a private key has no business in a JWKS; never use it
        keys[str(jwk["kid"])] = OKPAlgorithm.from_jwk(json.dumps(jwk))
    return keys


def _claim_time(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise TokenRejected(f"the token has no {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"the token's {name} is not a number")
    return float(value)


def verify_access_token(
    token: str, keys: Mapping[str, Any], policy: TokenPolicy, now: float, hs256_secret: bytes | None = None
) -> AccessClaims:
    """The claims of a valid access token; raises TokenRejected (or UnknownKey) otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("the token is malformed") from None
    alg = header.get("alg")
    if alg != policy.algorithm:
        raise TokenRejected(f"the token's algorithm {alg!r} is not accepted")
    if header.get("typ") not in (None, "JWT", "at+jwt") or "crit" in header:
        raise TokenRejected("the token's header is not accepted")
    kid = header.get("kid")
    key: Any
    if alg == "HS256":
        if hs256_secret is None:
            raise TokenRejected("the token's algorithm 'HS256' is not accepted")
        key = hs256_secret
    else:
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token names no signing key (kid)")
        key = keys.get(kid)
        if key is None:
            raise UnknownKey(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[policy.algorithm],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected("the token's signature is invalid") from None
    except jwt.PyJWTError:
        raise TokenRejected("the token is malformed") from None
    return _check_claims(claims, policy, now)


def _check_claims(claims: dict[str, Any], policy: TokenPolicy, now: float) -> AccessClaims:
    if claims.get("iss") != policy.issuer:
        raise TokenRejected("the token's issuer is not accepted")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if policy.audience not in audiences:
        raise TokenRejected("the token's audience is not accepted")
    leeway = policy.leeway_s
    exp = _claim_time(claims, "exp", required=True)
    iat = _claim_time(claims, "iat", required=True)
    nbf = _claim_time(claims, "nbf", required=False)
    assert exp is not None and iat is not None
    if now > exp + leeway:
        raise TokenRejected("the token has expired")
    if (nbf is not None and now + leeway < nbf) or now + leeway < iat:
        raise TokenRejected("the token is not valid yet")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
        session_id = uuid.UUID(str(claims["sid"]))
    except (KeyError, ValueError):
        raise TokenRejected("the token does not name a user and session") from None
    return AccessClaims(user_id, session_id, exp)


class TokenVerifier:
    """Verifies access tokens against the current keys, remembering tokens it has already verified
    (signature and claims) until they expire: the signature check is the costly part and a client
    sends the same token for up to 15 minutes. Revocation is not cached here; the caller checks it
    on every request. Not thread-safe; one per event loop."""

    def __init__(
        self, policy: TokenPolicy, hs256_secret: bytes | None = None, cache_size: int = _VERIFIED_CACHE_SIZE
    ):
        self.policy = policy
        self._secret = hs256_secret
        self._keys: dict[str, Any] = {}
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()
        self._cache_size = cache_size

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def set_keys(self, keys: dict[str, Any]) -> None:
        """Replace the keys; tokens verified under a key that is gone are forgotten."""
        if set(keys) != set(self._keys):
            self._verified.clear()
        self._keys = dict(keys)

    def verify(self, token: str, now: float) -> AccessClaims:
        cached = self._verified.get(token)
        if cached is not None:
            if now <= cached.expires_at + self.policy.leeway_s:
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
            raise TokenRejected("the token has expired")
        claims = verify_access_token(token, self._keys, self.policy, now, self._secret)
        self._verified[token] = claims
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return claims
