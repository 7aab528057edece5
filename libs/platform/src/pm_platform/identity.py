"""Who is calling: the user identity the gateway vouches for, and service-to-service credentials.

The gateway verifies the public access token, then passes the identity on to a service as a short-lived
assertion in ``X-PM-Identity``: a compact JWS (HS256) over the user id and session id, signed with a key
derived from SERVICE_TOKEN. Each service verifies it itself, so a header sent from outside is worthless
(and the gateway drops any incoming one). Internal endpoints (``/internal/...``, never routed by the
gateway) require ``Authorization: Service <token>`` with a credential derived from SERVICE_TOKEN.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import jwt
from aiohttp import web

from pm_platform.errors import Forbidden, Unauthorized

IDENTITY_HEADER = "X-PM-Identity"
SERVICE_AUTH_SCHEME = "Service"
_ISSUER = "pm-gateway"
_AUDIENCE = "pm-internal"
_LIFETIME_S = 60
_LEEWAY_S = 5


def _derive(service_token: str, purpose: str) -> bytes:
    # Separate keys per purpose, so the identity key is never the service credential itself.
    return hmac.new(service_token.encode(), purpose.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Identity:
    user_id: uuid.UUID
    session_id: uuid.UUID


def sign_identity(identity: Identity, service_token: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": _ISSUER,
        "aud": _AUDIENCE,
        "sub": str(identity.user_id),
        "sid": str(identity.session_id),
        "iat": issued,
        "exp": issued + _LIFETIME_S,
    }
    return jwt.encode(claims, _derive(service_token, "identity"), algorithm="HS256")


def verify_identity(assertion: str, service_token: str) -> Identity:
    """Raise Unauthorized unless the assertion is one the gateway signed within the last minute."""
    try:
        claims = jwt.decode(
            assertion,
            _derive(service_token, "identity"),
            algorithms=["HS256"],
            audience=_AUDIENCE,
            issuer=_ISSUER,
            leeway=_LEEWAY_S,
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
        return Identity(uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]))
    except (jwt.PyJWTError, ValueError, KeyError):
        raise Unauthorized("missing or invalid identity") from None


def require_identity(request: web.Request, service_token: str) -> Identity:
    """The calling user, as vouched for by the gateway."""
    assertion = request.headers.get(IDENTITY_HEADER)
    if not assertion:
        raise Unauthorized("authentication required")
    return verify_identity(assertion, service_token)


def service_credential(service_token: str) -> str:
    """The value of ``Authorization`` for calls to another service's internal endpoints."""
    return f"{SERVICE_AUTH_SCHEME} {_derive(service_token, 'service').hex()}"


def require_service(request: web.Request, service_token: str) -> None:
    """Internal endpoints: only other services of this deployment may call."""
    presented = request.headers.get("Authorization", "")
    if not presented:
        raise Unauthorized("service credential required")
    if not hmac.compare_digest(presented.encode(), service_credential(service_token).encode()):
        raise Forbidden("invalid service credential")
