"""What every request meets at the edge, in order: CORS preflight, the route table (unknown → 404),
token verification, rate limits (with the session's revocation in the same Redis round trip), and
Idempotency-Key on POST (where the route honours it). Every response, errors included, then gets the
security, CORS and RateLimit headers (``on_response_prepare``, so the chassis' problem responses get
them too; ``decorate_refusal`` gives the answers to requests aiohttp refused the same headers).

Runs inside the chassis' middlewares (correlation id → metrics → problem+json), so a Problem raised
here leaves as problem+json with the correlation id.
"""

from __future__ import annotations

import time

from aiohttp import web

from pm_gateway.domain import idempotency
from pm_gateway.domain.clients import identify_client
from pm_gateway.domain.docs import DOCS_CSP
from pm_gateway.domain.headers import security_headers
from pm_gateway.domain.idempotency import StoredResponse
from pm_gateway.domain.ratelimit import rate_limit_headers
from pm_gateway.domain.routes import Auth, resolve
from pm_gateway.domain.tokens import AccessClaims, TokenRejected, UnknownKey
from pm_gateway.resources import BUFFER_RESPONSE, CLIENT, EDGE, IDENTITY, RATE, ROUTE, Edge, request_body
from pm_gateway.settings import gateway_settings
from pm_platform.errors import BadRequest, Forbidden, NotFound, TooManyRequests, Unauthorized
from pm_platform.http import Handler
from pm_platform.identity import Identity
from pm_platform.service import RUNTIME, Runtime

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


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[RUNTIME][EDGE]
    client = identify_client(
        request.remote,
        # Every line, in order: a proxy may add its own line after the client's.
        request.headers.getall("X-Forwarded-For", None),
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
    rate = route.rate_for(request.method)
    # Counted even when the token was refused: guessing tokens costs the same as using one.
    decision, revoked = await state.admission.admit(rate, client.address, claims)
    request[RATE] = decision
    if not decision.allowed:
        raise TooManyRequests(
            f"rate limit exceeded; retry in {rate_limit_headers(decision)['Retry-After']} s",
            headers=rate_limit_headers(decision),
        )
    if auth_error is not None:
        raise auth_error
    if revoked:
        raise _unauthorized("the session has been revoked")
    if claims is not None:
        request[IDENTITY] = Identity(claims.user_id, claims.session_id)

    key = request.headers.get(idempotency.HEADER)
    # Not honoured where answers carry credentials (route.idempotent): dropped before it goes upstream
    # (domain/headers.py), never stored.
    if (
        key is not None
        and request.method == "POST"
        and route.idempotent
        and request.path.startswith("/api/v1/")
    ):
        return await _idempotent(state, request, handler, key)
    return await handler(request)


async def _idempotent(state: Edge, request: web.Request, handler: Handler, key: str) -> web.StreamResponse:
    if not idempotency.valid_key(key):
        raise BadRequest(f"{idempotency.HEADER} must be 1 to 255 visible ASCII characters")
    identity = request.get(IDENTITY)
    scope = f"user:{identity.user_id}" if identity else f"ip:{request[CLIENT].address}"
    body = await request_body(request, request[ROUTE].body_limit(state.settings.max_body_bytes))
    claim = await state.idempotency.claim(scope, request.method, request.path, key, body)
    if isinstance(claim, StoredResponse):
        response = web.Response(status=claim.status, body=claim.body, headers=claim.headers)
        response.headers[idempotency.REPLAYED_HEADER] = "true"
        return response

    request[BUFFER_RESPONSE] = True
    try:
        outcome = await handler(request)
    except BaseException:
        await state.idempotency.release(claim)
        raise
    body_out = outcome.body if isinstance(outcome, web.Response) else None
    await state.idempotency.finish(
        claim,
        outcome.status,
        list(outcome.headers.items()),
        body_out if isinstance(body_out, bytes) else None,
    )
    return outcome


def decorate_refusal(rt: Runtime, response: web.StreamResponse) -> None:
    """The headers of ``decorate_response`` on an answer aiohttp gives before a request reaches the
    gateway (one its parser refused, pm_platform.malformed): no path, origin or rate decision to go by.
    (``Server`` is the chassis's, on every answer of every service.)"""
    headers = response.headers
    headers.update(security_headers("", https=gateway_settings(rt).is_https, docs_policy=DOCS_CSP))
    headers["Cache-Control"] = "no-store"
    if EDGE in rt:
        headers.update(rt[EDGE].cors.response_headers(None))


async def decorate_response(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers every response of the gateway carries."""
    runtime = request.app[RUNTIME]
    if EDGE not in runtime:
        return
    state = runtime[EDGE]
    headers = response.headers
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
