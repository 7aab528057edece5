"""Who is calling: the user identity the gateway vouches for, and service-to-service credentials.

Two separate trusts (docs/security.md, "Identity inside the system"):

- **Users.** The gateway verifies the public access token, then passes the identity on to a service as a
  short-lived assertion in ``X-PM-Identity``: a compact JWS (EdDSA, Ed25519) over the user id and session
  id. Only the gateway holds the private key (IDENTITY_SIGNING_KEY); every service verifies with the
  public keys in IDENTITY_PUBLIC_KEYS, so no other service can mint an assertion. A header sent from
  outside is worthless (and the gateway drops any incoming one).
- **Services.** Internal endpoints (``/internal/...``, never routed by the gateway) require
  ``Authorization: Service <credential>`` derived from SERVICE_TOKEN, a secret every service shares.
- **The client's address.** The gateway vouches for the address it identified in ``X-PM-Client-IP``,
  sealed with a MAC keyed from SERVICE_TOKEN (:func:`seal_client_ip`); a service believes only a valid,
  fresh seal (:func:`open_client_ip`), so a caller reaching a service's port directly cannot choose it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import ipaddress
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from loguru import logger

from pm_platform.errors import Forbidden, Unauthorized
from pm_platform.settings import decode_ed25519_key, parse_identity_public_keys

IDENTITY_HEADER = "X-PM-Identity"
CLIENT_IP_HEADER = "X-PM-Client-IP"
SERVICE_AUTH_SCHEME = "Service"
IDENTITY_ALG = "EdDSA"
_ISSUER = "pm-gateway"
_AUDIENCE = "pm-internal"
_LIFETIME_S = 60
_LEEWAY_S = 5
# How long a sealed client address (X-PM-Client-IP) is believed: a replay's window.
_SEALED_IP_LIFETIME_S = 60
# Verified assertions remembered until they expire; the gateway reuses one per session for 30 s, so a
# busy service pays the Ed25519 verification about once per session per 30 s.
_VERIFIED_CACHE_SIZE = 10_000
# A sealed address: "<ip> <unix seconds> <mac>"; the longest IPv6 text is 45 characters, so anything
# longer than this is not one and is refused before it is split.
_SEALED_IP_MAX_CHARS = 128
_SEAL_MAC_HEX_CHARS = 32  # 128 bits of HMAC-SHA256: plenty for a value that lives 60 s


@dataclass(frozen=True)
class Identity:
    user_id: uuid.UUID
    session_id: uuid.UUID


def identity_key_id(public_key: bytes) -> str:
    """The ``kid`` of an identity key: the first 16 hex characters of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def raw_public_key(private_key: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a raw 32-byte private key."""
    public = Ed25519PrivateKey.from_private_bytes(private_key).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


class IdentitySigner:
    """The gateway's side: signs assertions with the one private identity key. Pure CPU, never blocks."""

    def __init__(self, private_key: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        self.kid = identity_key_id(raw_public_key(private_key))

    def sign(self, identity: Identity, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": _ISSUER,
            "aud": _AUDIENCE,
            "sub": str(identity.user_id),
            "sid": str(identity.session_id),
            "iat": issued,
            "exp": issued + _LIFETIME_S,
        }
        return jwt.encode(claims, self._key, algorithm=IDENTITY_ALG, headers={"kid": self.kid})


class IdentityVerifier:
    """Every service's side: accepts only EdDSA assertions under one of the configured public keys.

    Several keys are accepted at once (rotation). A verified assertion is remembered (bounded, least
    recently used first out) until its ``exp`` plus the leeway, so a repeated one skips the signature check.
    """

    def __init__(self, public_keys: Iterable[bytes], cache_size: int = _VERIFIED_CACHE_SIZE) -> None:
        self._keys = self._decoded(public_keys)
        self._cache: OrderedDict[str, tuple[float, Identity]] = OrderedDict()
        self._cache_size = cache_size

    @staticmethod
    def _decoded(public_keys: Iterable[bytes]) -> dict[str, Ed25519PublicKey]:
        keys = {identity_key_id(raw): Ed25519PublicKey.from_public_bytes(raw) for raw in public_keys}
        if not keys:
            raise ValueError("at least one identity public key is needed")
        return keys

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def replace_keys(self, public_keys: Iterable[bytes]) -> None:
        """Verify with ``public_keys`` from now on (key rotation). Atomic for the event loop: a request
        sees the old set or the new one. The verified assertions are forgotten, so none signed by a key
        no longer listed is accepted from the cache. ValueError (keys unchanged) for an empty list."""
        keys = self._decoded(public_keys)
        self._keys, self._cache = keys, OrderedDict()

    def verify(self, assertion: str, now: float | None = None) -> Identity:
        """Raise Unauthorized unless the gateway signed the assertion and it has not expired."""
        at = now if now is not None else time.time()
        cached = self._cache.get(assertion)
        if cached is not None:
            if at <= cached[0]:
                self._cache.move_to_end(assertion)
                return cached[1]
            del self._cache[assertion]
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("alg") != IDENTITY_ALG:
                raise Unauthorized("missing or invalid identity")
            key = self._keys.get(header.get("kid", ""))
            if key is None:
                raise Unauthorized("missing or invalid identity")
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[IDENTITY_ALG],
                audience=_AUDIENCE,
                issuer=_ISSUER,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "sid"]},
            )
            identity = Identity(uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]))
            expires = float(claims["exp"]) + _LEEWAY_S
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            raise Unauthorized("missing or invalid identity") from None
        if at > expires:  # jwt checked the clock; this also holds for a caller-supplied time
            raise Unauthorized("missing or invalid identity")
        self._cache[assertion] = (expires, identity)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return identity


class IdentityKeys:
    """The identity keys a running process holds, for ``/health`` (``checks.identity_keys``) and their
    reloads (pm_platform.reloading): the verifier's public keys, re-read from IDENTITY_PUBLIC_KEYS_FILE
    by :meth:`reload_public_keys`, and in the gateway the id of the key it signs with.

    A refused reload keeps the keys in use and is reported as ``reload_error`` until the same source
    reloads successfully (a warning: the keys in use still work, readiness stays up).
    """

    def __init__(self, verifier: IdentityVerifier) -> None:
        self.verifier = verifier
        self.signing_key_id: str | None = None  # the gateway's (set by it); None elsewhere
        self._errors: dict[str, str] = {}

    def report(self, source: str, error: str | None) -> None:
        """The outcome of the last reload of ``source`` (a variable name): an error, or None when fine."""
        if error is None:
            self._errors.pop(source, None)
        else:
            self._errors[source] = error[:1000]

    @property
    def reload_error(self) -> str | None:
        return "; ".join(self._errors[source] for source in sorted(self._errors)) or None

    async def reload_public_keys(self, path: str) -> bool:
        """Re-read the public keys from ``path`` (IDENTITY_PUBLIC_KEYS_FILE); swap the verifier's keys when
        they changed. Keeps the keys in use on an unreadable or invalid file. True when they changed."""
        source = "IDENTITY_PUBLIC_KEYS_FILE"
        try:
            text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
            keys = [decode_ed25519_key(key) for key in parse_identity_public_keys(text)]
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.report(source, f"{source}: cannot use {path}: {reason}")
            logger.error(
                "identity public keys not reloaded, keeping {}: {}", sorted(self.verifier.key_ids), reason
            )
            return False
        fresh = frozenset(identity_key_id(key) for key in keys)
        changed = fresh != self.verifier.key_ids
        if changed:
            self.verifier.replace_keys(keys)
        self.report(source, None)
        logger.info(
            "identity public keys {}: {}", "reloaded" if changed else "re-read (unchanged)", sorted(fresh)
        )
        return changed

    def describe(self) -> dict[str, object]:
        report: dict[str, object] = {"verify_key_ids": sorted(self.verifier.key_ids)}
        if self.signing_key_id is not None:
            report["signing_key_id"] = self.signing_key_id
        report["reload_error"] = self.reload_error
        return report


def require_identity(request: web.Request, verifier: IdentityVerifier) -> Identity:
    """The calling user, as vouched for by the gateway (``Runtime.identities`` is the verifier)."""
    assertion = request.headers.get(IDENTITY_HEADER)
    if not assertion:
        raise Unauthorized("authentication required")
    return verifier.verify(assertion)


@functools.lru_cache(maxsize=16)
def _derive(service_token: str, purpose: str) -> bytes:
    # A key per purpose, so the credential on the wire is never SERVICE_TOKEN itself. Remembered: the
    # gateway seals every request it forwards, with the one token it has.
    return hmac.new(service_token.encode(), purpose.encode(), hashlib.sha256).digest()


def service_credential(service_token: str) -> str:
    """The value of ``Authorization`` for calls to another service's internal endpoints."""
    return f"{SERVICE_AUTH_SCHEME} {_derive(service_token, 'service').hex()}"


def require_service(request: web.Request, service_token: str) -> None:
    """Internal endpoints: only other services of this deployment (holders of SERVICE_TOKEN) may call."""
    presented = request.headers.get("Authorization", "")
    if not presented:
        raise Unauthorized("service credential required")
    if not hmac.compare_digest(presented.encode(), service_credential(service_token).encode()):
        raise Forbidden("invalid service credential")


@functools.lru_cache(maxsize=4096)  # a busy client's requests within one second share their seal
def _client_ip_mac(service_token: str, ip: str, issued: int) -> str:
    mac = hmac.new(_derive(service_token, "client-ip"), f"{ip} {issued}".encode(), hashlib.sha256)
    return mac.hexdigest()[:_SEAL_MAC_HEX_CHARS]


def seal_client_ip(ip: str, service_token: str, now: float | None = None) -> str:
    """The value of ``X-PM-Client-IP`` the gateway sends upstream: ``"<ip> <unix seconds> <mac>"``.

    Only holders of SERVICE_TOKEN (the services of this deployment: the trust of internal endpoints)
    can make one, so a caller reaching a service directly cannot claim an address; the time limits a
    replayed value to 60 s. Pure CPU (one HMAC), never blocks. ``ip`` should be an IP address: anything
    else is sealed but never opened.
    """
    issued = int(now if now is not None else time.time())
    return f"{ip} {issued} {_client_ip_mac(service_token, ip, issued)}"


def open_client_ip(value: str | None, service_token: str, now: float | None = None) -> str | None:
    """The client's address a service may believe (normalised), from a ``X-PM-Client-IP`` value sealed
    by :func:`seal_client_ip` with the same SERVICE_TOKEN, issued at most 60 s ago (5 s leeway either
    way for clocks); None for anything else: absent, malformed, forged, tampered with, stale.

    Parsing is bounded (the value is whatever a caller sent): at most 128 ASCII characters, exactly three
    parts, a decimal time, an IP address without an IPv6 zone (``%``: free text).
    """
    if not value or len(value) > _SEALED_IP_MAX_CHARS or not value.isascii():
        return None
    parts = value.split(" ")
    if len(parts) != 3:
        return None
    ip, issued_text, mac = parts
    # Canonical digits only ("0…" would be a second spelling of one seal), and "%": an IPv6 zone.
    if (
        not (issued_text.isascii() and issued_text.isdigit())
        or issued_text != str(int(issued_text))
        or "%" in ip
    ):
        return None
    # Fresh first (the time is no secret): a stale or invented value costs no HMAC.
    age = (now if now is not None else time.time()) - int(issued_text)
    if not -_LEEWAY_S <= age <= _SEALED_IP_LIFETIME_S + _LEEWAY_S:
        return None
    expected = _client_ip_mac(service_token, ip, int(issued_text))
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None
