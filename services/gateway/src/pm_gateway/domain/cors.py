"""CORS for browsers: an allowlist of exact origins, no credentials (tokens travel in Authorization)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "idempotency-key",
    "x-correlation-id",
    "accept",
    "last-event-id",
)
EXPOSED_HEADERS = (
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Correlation-ID",
    "Idempotent-Replayed",
)
PREFLIGHT_MAX_AGE_S = 600
_VARY_ONLY: Mapping[str, str] = MappingProxyType({"Vary": "Origin"})


def parse_origins(spec: str) -> frozenset[str]:
    """``CORS_ORIGINS``: comma-separated exact origins (``scheme://host[:port]``, no path, no ``*``)."""
    origins = set()
    for part in spec.split(","):
        origin = part.strip().rstrip("/")
        if not origin:
            continue
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str]

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.lower() in self.origins

    def preflight_headers(
        self, origin: str, requested_method: str, requested_headers: str
    ) -> dict[str, str] | None:
        """Headers answering a preflight, or None to refuse it (origin, method or a header not allowed)."""
        if not self.allows(origin) or requested_method.upper() not in ALLOWED_METHODS:
            return None
        asked = [h.strip().lower() for h in requested_headers.split(",") if h.strip()]
        if any(h not in ALLOWED_HEADERS for h in asked):
            return None
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        }
        if asked:
            headers["Access-Control-Allow-Headers"] = ", ".join(asked)
        return headers

    def response_headers(self, origin: str | None) -> Mapping[str, str]:
        """Headers for an actual (non-preflight) response. ``Vary: Origin`` always: caches must not
        hand one origin's answer to another."""
        if not self.allows(origin):
            return _VARY_ONLY
        assert origin is not None
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
            "Vary": "Origin",
        }
