"""HTTP: middlewares every service uses, and request-body parsing into pydantic models.

Order of the middlewares (outermost first): correlation id → metrics → problems. So every response,
errors included, carries the correlation id and is counted under its route template.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware
from loguru import logger
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError

from pm_platform.correlation import (
    CORRELATION_HEADER,
    accept_correlation_id,
    bind_correlation_id,
    reset_correlation_id,
)
from pm_platform.errors import (
    BadRequest,
    PayloadTooLarge,
    Problem,
    UnsupportedMediaType,
    ValidationFailed,
    problem_from_http_exception,
    problem_response,
)
from pm_platform.metrics import Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

CORRELATION_KEY = web.RequestKey("correlation_id", str)


def route_label(request: web.Request) -> str:
    """The route template, never the raw path (keeps metric cardinality bounded)."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    correlation_id = accept_correlation_id(request.headers.get(CORRELATION_HEADER))
    request[CORRELATION_KEY] = correlation_id
    token = bind_correlation_id(correlation_id)
    try:
        response = await handler(request)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response
    except web.HTTPException as exc:
        exc.headers[CORRELATION_HEADER] = correlation_id
        raise
    finally:
        reset_correlation_id(token)


def metrics_middleware(metrics: Metrics) -> Middleware:
    # The labelled children, looked up once per (method, route, status): labels() takes a lock and
    # builds its key on every call. Bounded as the labels are (route templates, not paths).
    children: dict[tuple[str, str, int], tuple[Counter, Histogram] | None] = {}

    def series(method: str, route: str, status: int) -> tuple[Counter, Histogram] | None:
        key = (method, route, status)
        try:
            return children[key]
        except KeyError:
            pass
        child: tuple[Counter, Histogram] | None = None
        if not route.startswith("/metrics"):
            labels = (method, route, str(status))
            child = (metrics.http_requests.labels(*labels), metrics.http_latency.labels(*labels))
        children[key] = child
        return child

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            child = series(request.method, route_label(request), status)
            if child is not None:
                child[0].inc()
                child[1].observe(time.perf_counter() - started)

    return middleware


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json; unexpected ones as a 500 that reveals nothing internal."""
    correlation_id = request.get(CORRELATION_KEY)
    try:
        return await handler(request)
    except Problem as problem:
        return problem_response(problem, request.path, correlation_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(problem_from_http_exception(exc), request.path, correlation_id)
    except Exception:  # noqa: BLE001 - the last line of defence: a 500 that reveals nothing
        logger.exception("unhandled error on {} {}", request.method, route_label(request))
        return problem_response(Problem(), request.path, correlation_id)


def standard_middlewares(metrics: Metrics) -> list[Middleware]:
    return [correlation_middleware, metrics_middleware(metrics), problem_middleware]


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole request body, 413 beyond ``max_bytes`` (announced or sent: a lying Content-Length or a
    chunked body is cut off as soon as it passes the limit, never read whole first)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body may be at most {max_bytes} bytes")
    chunks, size = [], 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the body may be at most {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, model: type[M], max_bytes: int = 1 << 20) -> M:
    """Parse the request body as ``model``: 415 for another media type, 413 when too large,
    400 for malformed JSON, 422 naming each invalid field (unknown fields are invalid)."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = await read_body(request, max_bytes)
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ())) or "(body)",
                "message": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed(f"{len(errors)} invalid field(s)", errors=errors) from None
