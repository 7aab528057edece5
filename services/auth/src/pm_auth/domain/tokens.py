"""Access tokens (JWS, EdDSA by default) and refresh tokens (opaque, stored as SHA-256). Pure.

Access token: header ``alg`` (EdDSA, or HS256 as the documented fallback), ``typ: JWT``, ``kid``;
claims ``iss``, ``aud`` = ``playlist-manager``, ``sub`` (user id), ``sid`` (session id), ``iat``,
``nbf``, ``exp`` = ``iat`` + the access lifetime, ``jti``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

AUDIENCE = "playlist-manager"
HS256_KID = "hs256"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 signing key. ``private`` is the 32-byte raw private key (None: verify/publish only)."""

    kid: str
    public: bytes
    private: bytes | None = None

    @classmethod
    def generate(cls) -> SigningKey:
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        # The kid names the key by its public half: stable, unique, reveals nothing.
        return cls(kid=_b64url(hashlib.sha256(public).digest()[:12]), public=public, private=private)

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(self.public),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid})"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime
    token_id: str


def new_access_claims(
    user_id: uuid.UUID, session_id: uuid.UUID, now: datetime, ttl: timedelta
) -> AccessClaims:
    issued = now.replace(microsecond=0)
    return AccessClaims(user_id, session_id, issued, issued + ttl, secrets.token_urlsafe(16))


def _payload(claims: AccessClaims, issuer: str) -> dict[str, Any]:
    iat = int(claims.issued_at.timestamp())
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": str(claims.user_id),
        "sid": str(claims.session_id),
        "iat": iat,
        "nbf": iat,
        "exp": int(claims.expires_at.timestamp()),
        "jti": claims.token_id,
    }


def sign_eddsa(claims: AccessClaims, issuer: str, key: SigningKey) -> str:
    if key.private is None:
        raise ValueError("this signing key has no private half")
    private = Ed25519PrivateKey.from_private_bytes(key.private)
    return jwt.encode(
        _payload(claims, issuer), private, algorithm="EdDSA", headers={"kid": key.kid, "typ": "JWT"}
    )


def sign_hs256(claims: AccessClaims, issuer: str, secret: str) -> str:
    return jwt.encode(
        _payload(claims, issuer), secret, algorithm="HS256", headers={"kid": HS256_KID, "typ": "JWT"}
    )


def verify_access_token(token: str, issuer: str, keys: list[SigningKey]) -> dict[str, Any]:
    """Verify an EdDSA access token against published keys (what the gateway does; used by tests/tools)."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "EdDSA":
        raise jwt.InvalidAlgorithmError("only EdDSA is accepted")
    match = next((k for k in keys if k.kid == header.get("kid")), None)
    if match is None:
        raise jwt.InvalidKeyError("unknown kid")
    public = Ed25519PublicKey.from_public_bytes(match.public)
    return jwt.decode(
        token,
        public,
        algorithms=["EdDSA"],
        audience=AUDIENCE,
        issuer=issuer,
        options={"require": ["exp", "iat", "nbf", "sub", "sid", "jti"]},
    )


def new_refresh_token() -> str:
    """256 random bits, base64url."""
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
