"""OAuth 2 building blocks shared by the emulated authorization servers (pure functions).

PKCE per RFC 7636: ``S256`` and ``plain``; verifiers of 43-128 characters of ``[A-Za-z0-9-._~]``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class OAuthError(Exception):
    """A token or authorize error: ``error`` is the RFC 6749 code, ``status`` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_pkce(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    """True when ``verifier`` matches the ``challenge`` sent to the authorize endpoint."""
    if challenge is None:
        return verifier is None
    if verifier is None or not VERIFIER_RE.match(verifier):
        return False
    expected = s256(verifier) if (method or "plain") == "S256" else verifier
    return hmac.compare_digest(expected, challenge)


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None


def is_loopback_http(uri: str) -> bool:
    """Spotify's 2025 rule: ``http://`` only for loopback IP literals (``localhost`` is refused)."""
    parts = urlsplit(uri)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return parts.scheme not in ("http", "https", "")  # custom schemes (app://callback) are allowed
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` appended to its query string (existing ones kept)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


@dataclass(slots=True)
class Client:
    """A registered OAuth client (app) of one provider.

    ``client_secret`` None: a public client (RFC 6749 §2.1), which can only use the PKCE flow.
    """

    provider: str
    client_id: str
    client_secret: str | None
    redirect_uris: list[str] = field(default_factory=list)  # empty: any redirect URI is accepted

    @property
    def public(self) -> bool:
        return self.client_secret is None

    def redirect_allowed(self, uri: str) -> bool:
        return not self.redirect_uris or uri in self.redirect_uris


@dataclass(slots=True)
class AuthCode:
    code: str
    provider: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user_id: str
    challenge: str | None
    challenge_method: str | None
    expires_at: float
    access_type: str = "online"
    used: bool = False


@dataclass(slots=True)
class AccessToken:
    token: str
    provider: str
    client_id: str
    user_id: str | None  # None: client-credentials token
    scopes: frozenset[str]
    expires_at: float | None  # None: never expires (Deezer offline_access)


@dataclass(slots=True)
class RefreshToken:
    token: str
    provider: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    consented_at: float
    expires_at: float | None
    rotates: bool = False
