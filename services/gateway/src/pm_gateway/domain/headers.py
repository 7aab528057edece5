"""Which headers cross the gateway, in each direction, and the security headers of every response."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from pm_gateway.domain import idempotency
from pm_platform.identity import CLIENT_IP_HEADER, IDENTITY_HEADER

# RFC 9110 §7.6.1 connection-specific fields, and the older ones proxies also drop (RFC 2616 §13.5.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded upstream: the client's credential (replaced by X-PM-Identity), anything claiming an
# identity, an address or a forwarding chain (the gateway writes its own: CLIENT_IP_HEADER is the
# client's address as domain/clients.py identified it, sealed, the one a service may believe), and what
# the HTTP client sets itself.
_NOT_FORWARDED_UP = frozenset(
    {
        "authorization",
        IDENTITY_HEADER.lower(),
        CLIENT_IP_HEADER.lower(),
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-real-ip",
        "forwarded",
        "host",
        "content-length",
        "x-correlation-id",
        # The gateway has answered any 100-continue itself and read the whole body already.
        "expect",
    }
)
# Never passed down from an upstream: what aiohttp computes for the client connection itself, and what
# would reveal internals.
_NOT_FORWARDED_DOWN = frozenset(
    {
        "content-length",
        "server",
        "date",
        "x-correlation-id",
        IDENTITY_HEADER.lower(),
        CLIENT_IP_HEADER.lower(),
    }
)
# Dropped on a route that does not honour Idempotency-Key (auth's): its service must see the request as
# if it had none, never believe the gateway kept an answer for it.
_NOT_HONOURED_UP = _NOT_FORWARDED_UP | {idempotency.HEADER.lower()}


def connection_tokens(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Header names listed in Connection (they are hop-by-hop too)."""
    names: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            names.update(t.strip().lower() for t in value.split(",") if t.strip())
    return frozenset(names)


def _filtered(headers: Iterable[tuple[str, str]], drop: frozenset[str]) -> list[tuple[str, str]]:
    items = list(headers)
    dropped = HOP_BY_HOP | drop | connection_tokens(items)
    return [(name, value) for name, value in items if name.lower() not in dropped]


def upstream_request_headers(
    incoming: Iterable[tuple[str, str]],
    *,
    correlation_id: str,
    sealed_client_ip: str,
    forwarded_for: str,
    forwarded_proto: str,
    identity: str | None,
    idempotency_key_honoured: bool,
) -> list[tuple[str, str]]:
    """The headers the gateway sends upstream for a client request: ``sealed_client_ip`` is the
    client's address sealed for the services (pm_platform.identity.seal_client_ip), ``identity`` the
    assertion of the caller, if any. Idempotency-Key goes on only where the route honours it."""
    headers = _filtered(incoming, _NOT_FORWARDED_UP if idempotency_key_honoured else _NOT_HONOURED_UP)
    headers += [
        ("X-Correlation-ID", correlation_id),
        (CLIENT_IP_HEADER, sealed_client_ip),
        ("X-Forwarded-For", forwarded_for),
        ("X-Forwarded-Proto", forwarded_proto),
    ]
    if identity is not None:
        headers.append((IDENTITY_HEADER, identity))
    return headers


def client_response_headers(upstream: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of an upstream response the client gets."""
    return _filtered(upstream, _NOT_FORWARDED_DOWN)


def script_hash(script: str) -> str:
    """A CSP source for one inline script or style: 'sha256-<base64>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def docs_csp(script_sources: Iterable[str], style_sources: Iterable[str]) -> str:
    """The relaxed policy of /docs only: its own inline script and style (by hash), and fetching
    /openapi.json from this origin; nothing from elsewhere."""
    return (
        f"default-src 'none'; script-src {' '.join(script_sources)}; style-src {' '.join(style_sources)}; "
        "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


@functools.lru_cache(maxsize=8)
def _security_headers(docs: bool, https: bool, docs_policy: str) -> Mapping[str, str]:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Content-Security-Policy": docs_policy if docs else API_CSP,
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return MappingProxyType(headers)


def security_headers(path: str, *, https: bool, docs_policy: str) -> Mapping[str, str]:
    """Headers every response carries (they replace anything an upstream said)."""
    return _security_headers(path == "/docs", https, docs_policy)
