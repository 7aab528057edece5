"""Per-request behaviour common to every emulated host: call counting, faults, rate limits.

Order: count the call, apply the injected fault (latency, dropped connection, 5xx, 429 storm),
then the provider's own rate limit or quota, then the handler. Admin and health paths pass through.
Outside of all that, a request body too slow to arrive is answered 408 (``slow_body_middleware``).
Every answer, whatever produced it, states the emulator's time in ``Date`` (``stamp_date``).
"""

from __future__ import annotations

import asyncio
from email.utils import formatdate

from aiohttp import web
from aiohttp.typedefs import Handler
from loguru import logger

from pm_provider_emulator.http import errors
from pm_provider_emulator.http.common import (
    API_HOSTS,
    HOST_PROVIDER,
    SlowBody,
    bearer,
    emu,
    json_response,
    request_host,
)
from pm_provider_emulator.http.youtube_api import quota_cost


def route_key(request: web.Request) -> str:
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    return f"{request.method} {path.rstrip('/') or '/'}"


def _limit_key(request: web.Request, provider: str) -> str:
    e = emu(request)
    if provider in ("deezer", "musicbrainz"):
        return request.remote or "local"
    token = e.store.tokens.get(bearer(request) or "")
    if token is not None:
        return token.client_id
    return request.query.get("key") or request.remote or "local"


def _check_limits(
    request: web.Request, provider: str, host: str
) -> tuple[web.Response | None, dict[str, str]]:
    e = emu(request)
    limits = e.limits
    if not e.settings.rate_limits or not limits.enabled.get(provider, False) or host not in API_HOSTS:
        return None, {}
    now = e.clock.now()
    key = _limit_key(request, provider)
    if provider in ("spotify", "deezer"):
        window = limits.spotify if provider == "spotify" else limits.deezer
        d = window.check(key, now)
        return (None if d.allowed else errors.rate_limited(provider, host, d.retry_after)), {}
    if provider == "tidal":
        d = limits.tidal.check(key, now)
        headers = {
            "x-ratelimit-remaining": str(int(d.remaining)),
            "x-ratelimit-burst-capacity": str(int(limits.tidal.capacity)),
            "x-ratelimit-replenish-rate": f"{limits.tidal.refill_per_s:g}",
            "x-ratelimit-requested-tokens": f"{limits.tidal.cost:g}",
        }
        if not d.allowed:
            return errors.tidal_rate_limited(d.retry_after, headers), headers
        return None, headers
    if provider == "musicbrainz":
        d = limits.musicbrainz.check(key, now)
        return (None if d.allowed else errors.musicbrainz(503, errors.MB_RATE_MESSAGE)), {}
    if provider == "youtube":
        bucket, units = quota_cost(request.method, request.path, e.config.youtube_quota_mode)
        quota = limits.youtube_search if bucket == "search" else limits.youtube_units
        d = quota.charge(key, now, units)
        return (None if d.allowed else errors.youtube_quota()), {}
    return None, {}


def _unknown_route(provider: str, host: str, exc: web.HTTPException) -> web.StreamResponse:
    """Paths the emulator does not serve, answered the way the provider answers unknown paths."""
    status = exc.status
    if host == "api.spotify.com":
        return errors.spotify(status, "Service not found" if status == 404 else "Method not allowed")
    if host == "api.deezer.com":
        return errors.deezer(800, "no data")
    if host == "openapi.tidal.com":
        return errors.tidal(status, "Resource not found" if status == 404 else "Method not allowed")
    if host == "api.tidal.com":  # the subset in tidal_v1_api.py; JSON so clients read it as an error
        body = {"status": status, "subStatus": 2001 if status == 404 else 1002, "userMessage": exc.reason}
        return json_response(body, status)
    if host == "musicbrainz.org":
        return errors.musicbrainz(status, "Not Found" if status == 404 else "Method not allowed")
    raise exc


@web.middleware
async def provider_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    host = request_host(request)
    provider = HOST_PROVIDER.get(host)
    if provider is None:
        return await handler(request)
    e = emu(request)
    e.store.calls[route_key(request)] += 1
    decision = e.faults.decide(provider, e.clock.now())
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.action == "drop":
        logger.debug("fault: dropping connection of {} {}", request.method, request.path)
        if request.transport is not None:
            request.transport.close()
        raise ConnectionResetError("connection dropped by fault injection")
    if decision.action == "error":
        return errors.server_error(provider, host, decision.status)
    if decision.action == "rate_limit":
        return errors.rate_limited(provider, host, decision.retry_after, quota=decision.quota)
    refused, headers = _check_limits(request, provider, host)
    if refused is not None:
        return refused
    try:
        response = await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        response = _unknown_route(provider, host, exc)
    for k, v in headers.items():
        response.headers[k] = v
    return response


@web.middleware
async def slow_body_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body that did not arrive within BODY_TIMEOUT_S (common.read_body): 408 as the providers' front
    ends answer it, then the connection closed at once (aiohttp would otherwise go on reading the rest
    of the body, up to 10 s, before closing)."""
    try:
        return await handler(request)
    except SlowBody as slow:
        response = web.Response(status=408, text=f"{slow}\n")
        response.force_close()
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            pass  # the client is gone already
        finally:
            request.protocol.force_close()
        return response


async def stamp_date(request: web.Request, response: web.StreamResponse) -> None:
    """``Date`` from the emulator's clock (RFC 9110 IMF-fixdate) on every answer: real servers state
    their time, and clients learn the providers' clocks from it (a moved clock shows here too).
    Registered as ``on_response_prepare``, so errors, admin answers and streamed ones get it too."""
    response.headers["Date"] = formatdate(emu(request).clock.now(), usegmt=True)
