"""The reverse proxy: a public request to the owning service, and its answer back to the client.

Upstream requests carry the gateway's own X-PM-Identity (never the client's Authorization or any
X-PM-Identity from outside), X-PM-Client-IP (the client's address as the edge identified it, the one
its rate limits use, sealed with SERVICE_TOKEN so that a service believes no other; never one from
outside), X-Correlation-ID and X-Forwarded-For/-Proto, without hop-by-hop headers, and without
Idempotency-Key on a route that does not honour it (auth's: it must see such a request as if it had none).
Answers pass through as they are (status, headers less hop-by-hop, body), with these exceptions that
keep internals from leaking: an upstream 5xx that is not problem+json becomes a generic 502 problem;
no connection (refused, or none within 3 s) → 503; no answer within UPSTREAM_TIMEOUT_S (the library's
routes: 60 s when that is longer, Route.upstream_timeout) → 504. Small bodies are relayed in one piece,
larger ones (or of unknown length) streamed as they arrive.
"""

from __future__ import annotations

from aiohttp import web
from loguru import logger
from multidict import CIMultiDict

from pm_gateway.clients.upstream_client import (
    UpstreamBroken,
    UpstreamError,
    UpstreamResponse,
    UpstreamUnavailable,
)
from pm_gateway.domain.headers import client_response_headers, upstream_request_headers
from pm_gateway.domain.routes import GATEWAY
from pm_gateway.resources import BUFFER_RESPONSE, CLIENT, EDGE, IDENTITY, ROUTE, UPSTREAM_POOL, request_body
from pm_platform.errors import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    ServiceUnavailable,
    UpstreamFailed,
    UpstreamTimeout,
)
from pm_platform.http import CORRELATION_KEY
from pm_platform.identity import seal_client_ip
from pm_platform.service import RUNTIME

BUFFER_LIMIT = 256 * 1024
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


async def proxy(request: web.Request) -> web.StreamResponse:
    """Forward the request to the service owning its route (see domain/routes.py)."""
    rt = request.app[RUNTIME]
    state = rt[EDGE]
    route = request[ROUTE]
    if route.service == GATEWAY:
        raise Problem(
            status=405, code="method-not-allowed", title="Method not allowed", headers={"Allow": "GET"}
        )
    body: bytes | None = None
    if request.method not in _BODYLESS or request.body_exists:
        body = await request_body(request, route.body_limit(state.settings.max_body_bytes))
    identity = request.get(IDENTITY)
    client = request[CLIENT]
    headers = upstream_request_headers(
        request.headers.items(),
        correlation_id=request[CORRELATION_KEY],
        # An HMAC (remembered for a client within one second: pm_platform.identity).
        sealed_client_ip=seal_client_ip(client.address, state.settings.service_token.get_secret_value()),
        forwarded_for=client.forwarded_for,
        forwarded_proto=client.forwarded_proto,
        identity=state.assertions.for_identity(identity) if identity is not None else None,
        idempotency_key_honoured=route.idempotent,
    )
    origin = state.upstreams[route.service]
    try:
        async with await rt[UPSTREAM_POOL].request(
            origin,
            request.method,
            request.rel_url.raw_path_qs,
            headers,
            body,
            route.upstream_timeout(state.settings.upstream_timeout_s),
        ) as upstream:
            return await _relay(request, upstream, route.service)
    except TimeoutError:
        logger.warning("{} did not answer {} {} in time", route.service, request.method, request.path)
        raise UpstreamTimeout() from None
    except UpstreamUnavailable as exc:
        logger.warning("cannot reach {}: {}", route.service, exc)
        raise ServiceUnavailable(
            "a service needed for this request is unavailable", headers={"Retry-After": "5"}
        ) from None
    except UpstreamError as exc:
        logger.warning("{} failed on {} {}: {}", route.service, request.method, request.path, exc)
        raise UpstreamFailed() from None


async def _relay(request: web.Request, upstream: UpstreamResponse, service: str) -> web.StreamResponse:
    status = upstream.status
    if status >= 500 and upstream.content_type != PROBLEM_CONTENT_TYPE:
        logger.warning(
            "{} answered {} {} with {} ({})",
            service,
            request.method,
            request.path,
            status,
            upstream.content_type,
        )
        raise UpstreamFailed()
    headers = CIMultiDict(client_response_headers(upstream.headers))
    length = upstream.content_length
    if (
        request.get(BUFFER_RESPONSE)
        or request.method == "HEAD"
        or (length is not None and length <= BUFFER_LIMIT)
    ):
        body = await upstream.read()
        return web.Response(status=status, reason=upstream.reason, body=body, headers=headers)
    response = web.StreamResponse(status=status, reason=upstream.reason, headers=headers)
    await response.prepare(request)
    try:
        async for chunk in upstream.chunks():
            await response.write(chunk)
    except (UpstreamBroken, TimeoutError) as exc:
        # The status line is gone already: all that is left is to cut the response short (closing the
        # connection without the last chunk tells the client it is incomplete).
        logger.warning(
            "{} broke off a streamed answer to {} {}: {}", service, request.method, request.path, exc
        )
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response
