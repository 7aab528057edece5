"""The public route table of docs/security.md, as data: path → owning service, authentication, rate class
(per method where a method checks a password), and whether Idempotency-Key is honoured.

Each route is a pattern of path segments; ``{name}`` matches any one segment and a route marked
``prefix`` also matches every path below it (``/api/v1/me`` covers ``/api/v1/me/sessions`` but not
``/api/v1/meow``). The first matching route wins, so specific routes come before their prefixes.
Paths not in the table are not public: the gateway answers 404 without asking anyone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

GATEWAY = "gateway"  # served by the gateway itself

RateClass = Literal["general", "auth", "none"]


class Auth(StrEnum):
    NONE = "none"
    BEARER = "bearer"


@dataclass(frozen=True)
class Route:
    pattern: tuple[str, ...]
    service: str
    auth: Auth
    rate: RateClass
    prefix: bool = False
    # Methods whose rate class is not ``rate``: (method, class) pairs, few and rarely any.
    method_rates: tuple[tuple[str, RateClass], ...] = ()
    # Whether a POST's Idempotency-Key is honoured (its answer kept and replayed). Never on a route whose
    # answers carry credentials: a replay would hand out tokens without their owner's service seeing it.
    idempotent: bool = True
    # The largest body the route takes, when it is not the gateway's MAX_BODY_BYTES: the library's edits
    # carry a whole provider playlist (10,000 described tracks, a few MB).
    max_body: int | None = None
    # How long the service may take to answer, when longer than the gateway's UPSTREAM_TIMEOUT_S: such an
    # edit is seconds of work on a busy machine (docs/benchmarks.md), far past an ordinary call.
    slow_timeout_s: float | None = None

    def body_limit(self, default: int) -> int:
        return self.max_body if self.max_body is not None else default

    def upstream_timeout(self, default: float) -> float:
        """How long to wait for the service's answer: ``default`` (UPSTREAM_TIMEOUT_S), or the route's own
        when that is longer (an operator's longer default still holds for every route)."""
        return max(default, self.slow_timeout_s or 0.0)

    def matches(self, segments: list[str]) -> bool:
        if len(segments) < len(self.pattern) or (not self.prefix and len(segments) != len(self.pattern)):
            return False
        return all(p.startswith("{") or p == s for p, s in zip(self.pattern, segments, strict=False))

    def rate_for(self, method: str) -> RateClass:
        """The rate class of a request with ``method`` (upper case, as aiohttp gives it) on this route."""
        for overridden, rate in self.method_rates:
            if overridden == method:
                return rate
        return self.rate


def _route(
    path: str,
    service: str,
    auth: Auth,
    rate: RateClass = "general",
    prefix: bool = True,
    method_rates: dict[str, RateClass] | None = None,
    max_body: int | None = None,
    slow_timeout_s: float | None = None,
) -> Route:
    return Route(
        tuple(path.strip("/").split("/")),
        service,
        auth,
        rate,
        prefix,
        tuple((method_rates or {}).items()),
        # auth answers with credentials (tokens on login, register and refresh; binding cookies on a
        # link's start): none of its routes keeps an answer for replay.
        idempotent=service != "auth",
        max_body=max_body,
        slow_timeout_s=slow_timeout_s,
    )


BEARER, NONE = Auth.BEARER, Auth.NONE
# The playlist service's own limit for edits (services/playlist: EDIT_MAX_BYTES).
LIBRARY_EDIT_BYTES = 8 << 20
LIBRARY_EDIT_TIMEOUT_S = 60.0
IMPORT_UPLOAD_BYTES = (16 << 20) + (64 << 10)
IMPORT_TIMEOUT_S = 120.0

ROUTES: tuple[Route, ...] = (
    # auth: credentials in the body; the stricter limit against password guessing and mass sign-up.
    _route("/api/v1/auth/register", "auth", NONE, "auth", prefix=False),
    _route("/api/v1/auth/login", "auth", NONE, "auth", prefix=False),
    _route("/api/v1/auth/refresh", "auth", NONE, prefix=False),
    # The OAuth redirect lands here; the single-use `state` authenticates it.
    _route("/api/v1/auth/{provider}/callback", "auth", NONE, prefix=False),
    # A link attempt's authorization_url: opened by the browser (no bearer), binds it with a cookie.
    _route("/api/v1/auth/{provider}/start", "auth", NONE, prefix=False),
    _route("/api/v1/auth", "auth", BEARER),
    # A password check (deleting the account, changing the password) is a password guess as much as a
    # login is: the same limits, per IP and per user (a stolen session must not guess faster).
    _route("/api/v1/me", "auth", BEARER, prefix=False, method_rates={"DELETE": "auth"}),
    _route("/api/v1/me/password", "auth", BEARER, "auth"),
    _route("/api/v1/me", "auth", BEARER),
    _route("/api/v1/sessions", "auth", BEARER),
    _route("/api/v1/providers", "auth", BEARER),
    _route(
        "/api/v1/playlists",
        "playlist",
        BEARER,
        max_body=LIBRARY_EDIT_BYTES,
        slow_timeout_s=LIBRARY_EDIT_TIMEOUT_S,
    ),
    _route("/api/v1/library/imports", "provider-sync", BEARER),
    _route(
        "/api/v1/library",
        "playlist",
        BEARER,
        max_body=LIBRARY_EDIT_BYTES,
        slow_timeout_s=LIBRARY_EDIT_TIMEOUT_S,
    ),
    _route("/api/v1/transfers", "provider-sync", BEARER),
    _route("/api/v1/sync", "provider-sync", BEARER),
    _route("/api/v1/exports", "export", BEARER),
    # A playlist file as multipart (services/export: MAX_UPLOAD_BYTES, with room for the multipart
    # framing); a bigger one goes straight to the object store by a presigned upload.
    _route(
        "/api/v1/imports", "export", BEARER, max_body=IMPORT_UPLOAD_BYTES, slow_timeout_s=IMPORT_TIMEOUT_S
    ),
    # A backup to restore is sent as an import's file is.
    _route(
        "/api/v1/backups", "export", BEARER, max_body=IMPORT_UPLOAD_BYTES, slow_timeout_s=IMPORT_TIMEOUT_S
    ),
    _route("/api/v1/catalog", "enrichment", BEARER),
    _route("/api/v1/enrichment", "enrichment", BEARER),
    _route("/api/v1/jobs/{id}", GATEWAY, BEARER, prefix=False),
    _route("/api/v1/jobs/{id}/events", GATEWAY, BEARER, prefix=False),
    _route("/.well-known/jwks.json", "auth", NONE, prefix=False),
    # The gateway's own unauthenticated, unlimited routes.
    _route("/openapi.json", GATEWAY, NONE, "none", prefix=False),
    _route("/docs", GATEWAY, NONE, "none", prefix=False),
    _route("/health", GATEWAY, NONE, "none"),
    _route("/metrics", GATEWAY, NONE, "none", prefix=False),
)


def longest_upstream_timeout(default: float) -> float:
    """The longest any route waits for its service (an idempotent request's claim must outlive it)."""
    return max(route.upstream_timeout(default) for route in ROUTES)


def segments_of(path: str) -> list[str] | None:
    """The path's segments, or None for a path that must never be routed: empty segments (``//``),
    dot segments (``.``, ``..``: an upstream normalising them could be steered to ``/internal/``),
    backslashes or control characters."""
    if not path.startswith("/"):
        return None
    parts = path[1:].split("/")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # one trailing slash is tolerated
    for part in parts:
        if part in ("", ".", "..") or "\\" in part or any(ord(c) < 0x20 or ord(c) == 0x7F for c in part):
            return None
    return parts


@functools.lru_cache(maxsize=8192)
def resolve(path: str) -> Route | None:
    """The route serving ``path`` (already percent-decoded), or None when it is not public.
    Memoised: clients request the same paths again and again, and the table never changes."""
    segments = segments_of(path)
    if segments is None:
        return None
    for route in ROUTES:
        if route.matches(segments):
            return route
    return None
