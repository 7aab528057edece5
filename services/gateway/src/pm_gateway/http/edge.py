"""What every request meets at the edge, in order: CORS preflight, the route table (unknown → 404),
token verification, rate limits (with the session's revocation in the same Redis round trip), and
Idempotency-Key on POST. Every response, errors included, then gets the security, CORS and RateLimit
headers (``on_response_prepare``, so the chassis' problem responses get them too).

Runs inside the chassis' middlewares (correlation id → metrics → problem+json), so a Problem raised
here leaves as problem+json with the correlation id.
"""

from __future__ import annotations

import time

import redis.exceptions
from aiohttp import web
from loguru import logger

from pm_gateway.domain import idempotency
from pm_gateway.domain.clients import Client, identify_client, rate_limit_subject
from pm_gateway.domain.headers import security_headers
from pm_gateway.domain.ratelimit import Decision, rate_limit_headers
from pm_gateway.domain.routes import Auth, Route, resolve
from pm_gateway.domain.tokens import AccessClaims, TokenRejected, UnknownKey
from pm_gateway.http.context import EDGE, Edge, edge
from pm_gateway.http.docs import DOCS_CSP
from pm_gateway.storage.ratelimit import Bucket
from pm_platform.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Problem,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from pm_platform.http import Handler
from pm_platform.identity import Identity
from pm_platform.service import RUNTIME

CLIENT = web.RequestKey("client", Client)
ROUTE = web.RequestKey("route", Route)
IDENTITY = web.RequestKey("identity", Identity)
RATE = web.RequestKey("rate_decision", Decision)
BODY = web.RequestKey("body", bytes)
BUFFER_RESPONSE = web.RequestKey("buffer_response", bool)

_REALM = 'Bearer realm="playlist-manager"'


def _unauthorized(detail: str, invalid: bool = True) -> Unauthorized:
    challenge = f'{_REALM}, error="invalid_token"' if invalid else _REALM
    return Unauthorized(detail, headers={"WWW-Authenticate": challenge})


def _bearer_token(request: web.Request) -> str:
    value = request.headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if not value:
        raise _unauthorized("authentication required: send an access token as 'Authorization: Bearer'", False)
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("send the access token as 'Authorization: Bearer <token>'")
    return token.strip()


async def authenticate(state: Edge, request: web.Request) -> AccessClaims:
    """The verified claims of the request's access token (revocation is checked by the caller)."""
    token = _bearer_token(request)
    try:
        return state.verifier.verify(token, time.time())
    except UnknownKey as unknown:
        if await state.jwks.refetch_for_unknown_key(unknown.kid):
            try:
                return state.verifier.verify(token, time.time())
            except TokenRejected as exc:
                raise _unauthorized(str(exc)) from None
        raise _unauthorized(str(unknown)) from None
    except TokenRejected as exc:
        raise _unauthorized(str(exc)) from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes (413 beyond); read once per request."""
    if BODY in request:
        return request[BODY]
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body may be at most {limit} bytes")
    chunks, size = [], 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body may be at most {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request[BODY] = body
    return body


async def _rate_limit(state: Edge, request: web.Request, route: Route, claims: AccessClaims | None) -> bool:
    """Count the request against its buckets; raise 429 when refused. Returns whether the session is
    revoked (asked in the same round trip)."""
    limit = state.rate_limits[route.rate]
    client = request[CLIENT]
    buckets = [Bucket(state.bucket_key(route.rate, "ip", rate_limit_subject(client.address)), limit)]
    revoked_key = None
    if claims is not None:
        buckets.append(Bucket(state.bucket_key(route.rate, "user", str(claims.user_id)), limit))
        revoked_key = state.revoked.key(claims.session_id)
    try:
        decision, revoked = await state.limiter.hit(buckets, revoked_key)
    except (redis.exceptions.RedisError, OSError) as exc:
        # Without Redis neither limits nor revocations can be enforced: refuse rather than guess.
        logger.warning("rate limiter unavailable: {}", exc)
        raise ServiceUnavailable(
            "the gateway cannot serve requests right now", headers={"Retry-After": "5"}
        ) from None
    request[RATE] = decision
    if not decision.allowed:
        raise TooManyRequests(
            f"rate limit exceeded; retry in {rate_limit_headers(decision)['Retry-After']} s",
            headers=rate_limit_headers(decision),
        )
    return revoked


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = edge(request.app[RUNTIME])
    client = identify_client(
        request.remote,
        request.headers.get("X-Forwarded-For"),
        request.headers.get("X-Forwarded-Proto"),
        request.scheme,
        state.trusted_proxies,
    )
    request[CLIENT] = client
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS" and origin and "Access-Control-Request-Method" in request.headers:
        headers = state.cors.preflight_headers(
            origin,
            request.headers["Access-Control-Request-Method"],
            request.headers.get("Access-Control-Request-Headers", ""),
        )
        if headers is None:
            raise Forbidden("cross-origin request not allowed")
        return web.Response(status=204, headers=headers)

    route = resolve(request.path)
    if route is None:
        raise NotFound("no such resource")
    request[ROUTE] = route
    if route.rate == "none":
        return await handler(request)

    claims: AccessClaims | None = None
    auth_error: Unauthorized | None = None
    if route.auth is Auth.BEARER:
        try:
            claims = await authenticate(state, request)
        except Unauthorized as exc:
            auth_error = exc
    revoked = await _rate_limit(state, request, route, claims)
    if auth_error is not None:
        raise auth_error
    if revoked:
        raise _unauthorized("the session has been revoked")
    if claims is not None:
        request[IDENTITY] = Identity(claims.user_id, claims.session_id)

    key = request.headers.get(idempotency.HEADER)
    if key is not None and request.method == "POST" and request.path.startswith("/api/v1/"):
        return await _idempotent(state, request, handler, key)
    return await handler(request)


async def _idempotent(state: Edge, request: web.Request, handler: Handler, key: str) -> web.StreamResponse:
    if not idempotency.valid_key(key):
        raise BadRequest(f"{idempotency.HEADER} must be 1 to 255 visible ASCII characters")
    identity = request.get(IDENTITY)
    scope = f"user:{identity.user_id}" if identity else f"ip:{request[CLIENT].address}"
    storage_id = idempotency.storage_id(scope, request.method, request.path, key)
    body = await read_body(request, state.settings.max_body_bytes)
    fingerprint = idempotency.fingerprint(body)
    existing = await state.idempotency.claim(storage_id, fingerprint)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise Problem(
                f"this {idempotency.HEADER} was used with another request body",
                status=422,
                code="idempotency-key-reused",
                title="Idempotency key reused",
            )
        if existing.response is None:
            raise Conflict(
                f"a request with this {idempotency.HEADER} is still being processed",
                headers={"Retry-After": "1"},
            )
        stored = existing.response
        response = web.Response(status=stored.status, body=stored.body, headers=stored.headers)
        response.headers[idempotency.REPLAYED_HEADER] = "true"
        return response

    request[BUFFER_RESPONSE] = True
    try:
        outcome = await handler(request)
    except BaseException:
        await state.idempotency.release(storage_id)
        raise
    body_out = outcome.body if isinstance(outcome, web.Response) else None
    if isinstance(body_out, bytes) and idempotency.worth_storing(outcome.status):
        record = idempotency.Record(
            fingerprint,
            idempotency.StoredResponse(
                outcome.status, idempotency.replayable_headers(list(outcome.headers.items())), body_out
            ),
        )
        await state.idempotency.complete(storage_id, record)
    else:
        await state.idempotency.release(storage_id)
    return outcome


async def decorate_response(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers every response of the gateway carries."""
    runtime = request.app[RUNTIME]
    if EDGE not in runtime:
        return
    state = runtime[EDGE]
    headers = response.headers
    headers["Server"] = "playlist-manager"  # not aiohttp's name and version
    headers.update(security_headers(request.path, https=state.settings.is_https, docs_policy=DOCS_CSP))
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    if "Access-Control-Allow-Origin" not in headers:
        for name, value in state.cors.response_headers(request.headers.get("Origin")).items():
            if name == "Vary" and "Vary" in headers:
                if "origin" not in headers["Vary"].lower():
                    headers["Vary"] = f"{headers['Vary']}, {value}"
            else:
                headers[name] = value
    decision = request.get(RATE)
    if decision is not None:
        headers.update(rate_limit_headers(decision))
