"""Pure pieces of the provider-linking flow: PKCE (RFC 7636, S256), the ``state`` value, attempts.

``state`` is 256 random bits, stored only as its SHA-256, single-use and valid for 10 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

STATE_TTL = timedelta(minutes=10)
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

AttemptMode = Literal["redirect", "poll"]
AttemptStatus = Literal["pending", "succeeded", "failed", "expired"]


def new_code_verifier() -> str:
    """64 characters of the unreserved alphabet (RFC 7636 allows 43-128)."""
    return secrets.token_urlsafe(48)


def code_challenge_s256(verifier: str) -> str:
    if not VERIFIER_RE.match(verifier):
        raise ValueError("a PKCE code verifier is 43-128 characters of [A-Za-z0-9-._~]")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def attempt_status(stored: str, expires_at: datetime, now: datetime) -> AttemptStatus:
    """A pending attempt past its deadline reads as expired."""
    if stored == "pending" and now >= expires_at:
        return "expired"
    return stored  # type: ignore[return-value]


def safe_return_to(value: str, allowed_origins: list[str]) -> bool:
    """Whether a redirect-flow ``return_to`` is ours: a path on this site, or an allowed origin.

    Refuses everything else (open redirects): other hosts, ``//host`` paths, non-http schemes.
    """
    if len(value) > 2000 or any(c in value for c in "\r\n\\"):
        return False
    if value.startswith("/"):
        return not value.startswith("//")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return origin in {o.lower() for o in allowed_origins}


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
