"""Pure pieces of the provider-linking flow: PKCE (RFC 7636, S256), the ``state`` value, attempts.

``state`` is 256 random bits, stored only as its SHA-256, single-use and valid for 10 minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
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


def new_binding_nonce() -> str:
    """The browser-binding nonce: 256 random bits, sent only in an HttpOnly cookie, stored as SHA-256."""
    return secrets.token_urlsafe(32)


def binding_hash(nonce: str) -> bytes:
    return hashlib.sha256(b"pm-auth:link-binding:" + nonce.encode()).digest()


def binding_cookie_name(attempt_id: uuid.UUID) -> str:
    """One cookie per attempt, so two link attempts in one browser do not overwrite each other."""
    return f"pm_link_{attempt_id.hex}"


def binding_matches(cookie: str | None, stored: bytes | None) -> bool:
    """Whether the callback's browser is the one that opened the attempt's start URL (constant time)."""
    if not cookie or stored is None or len(cookie) > 200:
        return False
    return hmac.compare_digest(binding_hash(cookie), stored)


def attempt_status(stored: str, expires_at: datetime, now: datetime) -> AttemptStatus:
    """A pending attempt past its deadline reads as expired."""
    if stored == "pending" and now >= expires_at:
        return "expired"
    return stored  # type: ignore[return-value]


def _has_control_or_space(value: str) -> bool:
    """Any C0 control character, space or DEL (ord < 0x21 or 0x7f): URL parsers strip or split on them."""
    return any(ord(c) < 0x21 or ord(c) == 0x7F for c in value)


def safe_return_to(value: str, allowed_origins: list[str]) -> bool:
    """Whether a redirect-flow ``return_to`` is ours: a path on this site, or an allowed origin.

    Refuses everything else (open redirects): other hosts, ``//host`` paths, non-http schemes, and any
    control character, whitespace or backslash (browsers and URL rebuilding drop or reinterpret them:
    ``/\\t/evil.example`` becomes ``//evil.example``). The check is made on the URL as it will be
    rebuilt (``urlsplit`` → ``urlunsplit``), so what is validated is what ends up in ``Location``.
    """
    if not value or len(value) > 2000 or _has_control_or_space(value) or "\\" in value:
        return False
    if value.startswith("//"):
        return False
    try:
        parts = urlsplit(value)
        normalised = urlunsplit(parts)
    except ValueError:
        return False
    if _has_control_or_space(normalised) or "\\" in normalised or normalised.startswith("//"):
        return False
    parts = urlsplit(normalised)
    if not parts.scheme and not parts.netloc:
        return normalised.startswith("/") and not normalised.startswith("//")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return origin in {o.lower() for o in allowed_origins}


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


# What the provider's redirect back may carry (RFC 6749 section 4.1.2 and appendix A), bounded: the
# state and code are visible ASCII (VSCHAR without space); the error code, its description and
# Deezer's error_reason are printable ASCII without '"' and '\\'. Anything else is no provider's answer
# (a NUL byte, which PostgreSQL refuses, a line break, a megabyte of text): the attempt fails with
# INVALID_CALLBACK, and nothing of it is stored or echoed.
INVALID_CALLBACK = "invalid_callback"
# Why an attempt failed when the provider account is linked to another user (one provider account, one
# user: unlink it there first).
ACCOUNT_ALREADY_LINKED = "account_already_linked"
MAX_STATE = 200
MAX_CODE = 2048
MAX_ERROR = 100
MAX_ERROR_DESCRIPTION = 1000
_VISIBLE = re.compile(r"[\x21-\x7e]+")
_ERROR_TEXT = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")


@dataclass(frozen=True)
class CallbackParams:
    """The OAuth callback's query as the use case may trust it."""

    state: str | None  # None: missing or malformed, so it names no attempt
    code: str | None
    error: str | None  # the provider's error code, INVALID_CALLBACK, or None


def _valid(value: str | None, pattern: re.Pattern[str], limit: int) -> bool:
    return value is None or (0 < len(value) <= limit and pattern.fullmatch(value) is not None)


def parse_callback(query: Mapping[str, str]) -> CallbackParams:
    """Check the callback's ``state``, ``code``, ``error``, ``error_description`` and ``error_reason``."""
    state = query.get("state")
    if state is None or not _valid(state, _VISIBLE, MAX_STATE):
        state = None
    code, error = query.get("code"), query.get("error")
    description, reason = query.get("error_description"), query.get("error_reason")
    if not (
        _valid(code, _VISIBLE, MAX_CODE)
        and _valid(error, _ERROR_TEXT, MAX_ERROR)
        and _valid(reason, _ERROR_TEXT, MAX_ERROR)
        and _valid(description, _ERROR_TEXT, MAX_ERROR_DESCRIPTION)
    ):
        return CallbackParams(state, None, INVALID_CALLBACK)
    return CallbackParams(state, code, error or reason)


def failure_message(error: str | None, provider: str) -> str:
    """What the page of a failed link attempt tells the user (never who else has the account)."""
    if error == ACCOUNT_ALREADY_LINKED:
        return (
            f"This {provider} account is already linked to another Playlist Manager account. "
            "Unlink it there first (Settings, linked accounts), then link it here again."
        )
    if error == INVALID_CALLBACK:
        return f"The answer from {provider} was not valid ({INVALID_CALLBACK}). Try again."
    return f"The provider did not link the account ({error}). Try again."
