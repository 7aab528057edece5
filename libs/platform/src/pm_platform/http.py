"""HTTP: middlewares every service uses, and request-body parsing into pydantic models.

Order of the middlewares (outermost first): correlation id → metrics → problems. So every response,
errors included, carries the correlation id and is counted under its route template. Every response is
``Server: playlist-manager`` (:func:`name_the_server`); the answers aiohttp gives before a request
reaches the app are problems too (pm_platform.malformed).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import asyncpg
from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from loguru import logger
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ValidationError

from pm_platform.api import NO_STORE, nul_free, parse_uuid
from pm_platform.correlation import (
    CORRELATION_HEADER,
    accept_correlation_id,
    bind_correlation_id,
    reset_correlation_id,
)
from pm_platform.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    Problem,
    RequestTimeout,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
    problem_from_http_exception,
    problem_response,
)
from pm_platform.metrics import Metrics

if TYPE_CHECKING:
    import uuid

    from pm_platform.jobs import Job

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

CORRELATION_KEY = web.RequestKey("correlation_id", str)

# Every service's Server header: not aiohttp's default, which names the exact aiohttp and Python
# versions (and so which of their parser bugs to try).
SERVER_NAME = "playlist-manager"


@dataclass(frozen=True)
class BodyLimits:
    """How long a request body may take to arrive (BODY_TIMEOUT_S, MIN_BODY_RATE).

    ``timeout_s``: the whole body, from the moment the handler starts reading it. ``min_rate``: once
    ``grace_s`` have passed, the bytes received so far must average at least this many a second
    (0: no minimum). Past either bound :func:`read_body` answers 408 and the connection is closed.
    """

    timeout_s: float = 30.0
    min_rate: int = 500
    grace_s: float = 5.0


# Set by the service chassis (pm_platform.service.create_app) from the settings; the defaults otherwise.
BODY_LIMITS = web.AppKey("body_limits", BodyLimits)
DEFAULT_BODY_LIMITS = BodyLimits()


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
    except RequestTimeout as timeout:
        return await _answer_and_close(request, problem_response(timeout, request.path, correlation_id))
    except Problem as problem:
        return problem_response(problem, request.path, correlation_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem_response(problem_from_http_exception(exc), request.path, correlation_id)
    except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
        # Two writers crossed and the database chose this one to give up: nothing was changed, and the
        # same request a moment later succeeds.
        logger.warning("{} {} lost a lock race; answered 503", request.method, route_label(request))
        busy = ServiceUnavailable(
            "the data was busy; nothing was changed: retry", headers={"Retry-After": "1"}
        )
        return problem_response(busy, request.path, correlation_id)
    except Exception:  # noqa: BLE001 - the last line of defence: a 500 that reveals nothing
        logger.exception("unhandled error on {} {}", request.method, route_label(request))
        return problem_response(Problem(), request.path, correlation_id)


async def _answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response`` with ``Connection: close``, then close the connection at once.

    For a client too slow to send its body: aiohttp would otherwise keep reading the rest of the body
    after the answer (its lingering close, up to 10 s) before closing."""
    response.force_close()
    correlation_id = request.get(CORRELATION_KEY)
    if correlation_id is not None:  # set here: headers added after sending would be lost
        response.headers[CORRELATION_HEADER] = correlation_id
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        pass  # the client is gone already
    finally:
        request.protocol.force_close()
    return response


async def name_the_server(_: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: ``Server: playlist-manager`` on every response (aiohttp only sets its own
    when none is set)."""
    response.headers[hdrs.SERVER] = SERVER_NAME


def standard_middlewares(metrics: Metrics) -> list[Middleware]:
    return [correlation_middleware, metrics_middleware(metrics), problem_middleware]


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole request body, 413 beyond ``max_bytes`` (announced or sent: a lying Content-Length or a
    chunked body is cut off as soon as it passes the limit, never read whole first).

    408 when the body is not all there within the app's :class:`BodyLimits` (``BODY_LIMITS``), or
    arrives slower than their minimum rate; the connection is then closed (``problem_middleware``)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body may be at most {max_bytes} bytes")
    limits = request.config_dict.get(BODY_LIMITS, DEFAULT_BODY_LIMITS)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + limits.timeout_s
    chunks: list[bytes] = []
    size = 0
    while True:
        # The moment to give up if nothing more arrives: the deadline, or when the average rate since
        # the start would fall below the minimum (never before the grace period ends).
        cutoff, too_slow = deadline, False
        if limits.min_rate > 0:
            slow_at = started + max(limits.grace_s, size / limits.min_rate)
            if slow_at < deadline:
                cutoff, too_slow = slow_at, True
        try:
            async with asyncio.timeout_at(cutoff):
                chunk = await request.content.readany()
        except TimeoutError:
            if too_slow:
                raise RequestTimeout(
                    f"the body arrived slower than {limits.min_rate} bytes a second"
                ) from None
            raise RequestTimeout(f"the body did not arrive within {limits.timeout_s:g} s") from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the body may be at most {max_bytes} bytes")
        chunks.append(chunk)


# The JSON reader's bounds: Python's json raises RecursionError for deep nesting (a 500), and converting
# a long digit string to an int costs time quadratic in its length (ValueError past 4300 digits).
JSON_MAX_DEPTH = 64
JSON_MAX_NUMBER_DIGITS = 100


class _JsonLimit(ValueError):
    """A bound of :func:`parse_json` exceeded; the message is the 400's detail."""


def json_nests_deeper_than(value: Any, max_depth: int) -> bool:
    """Whether the arrays and objects of a parsed JSON ``value`` nest more than ``max_depth`` levels.
    Walks level by level, visiting each array and object once, and stops at the first level past it."""
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        level = [
            child
            for container in level
            for child in (container.values() if type(container) is dict else container)
            if type(child) in _CONTAINERS  # exact types: json.loads makes no subclasses; 40% faster
        ]
    return False


_CONTAINERS = (dict, list)


# Every byte to "0" but the ASCII digits, to "1": a run of digits is a run of "1"s (in UTF-8 no byte of a
# multi-byte character is an ASCII digit). Ten times faster than a regular expression's search.
_DIGITS_MARKED = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))


def _holds_digit_run(text: str, length: int) -> bool:
    return b"1" * length in text.encode("utf-8", "surrogatepass").translate(_DIGITS_MARKED)


@lru_cache(maxsize=8)
def _number_parsers(max_digits: int) -> tuple[Callable[[str], int], Callable[[str], float]]:
    """``json.loads``'s hooks for numbers: each number's text is checked for a run of more than
    ``max_digits`` digits (its integer part, fraction or exponent) before it is converted, so a number
    of a million digits never reaches ``int``; a float beyond a double's range is refused too."""
    too_long = re.compile(f"[0-9]{{{max_digits + 1}}}")

    def check(token: str) -> None:
        if len(token) > max_digits and too_long.search(token):
            raise _JsonLimit(f"a number in the body has more than {max_digits} digits")

    def parse_int(token: str) -> int:
        check(token)
        return int(token)

    def parse_float(token: str) -> float:
        check(token)
        value = float(token)
        if not math.isfinite(value):
            raise _JsonLimit(f"the number {token[:20]} in the body is out of range")
        return value

    return parse_int, parse_float


def parse_json(
    raw: bytes, *, max_depth: int = JSON_MAX_DEPTH, max_number_digits: int = JSON_MAX_NUMBER_DIGITS
) -> Any:
    """``raw`` parsed as JSON (UTF-8, or UTF-16/32 as ``json.loads`` detects); BadRequest when it is not
    JSON, nests deeper than ``max_depth``, or holds a number of more than ``max_number_digits`` digits
    or beyond a double's range (NaN and Infinity are not JSON either). Every check costs in proportion
    to the body's size: numbers are checked before conversion, and a nesting deep enough to exhaust
    the parser's recursion is refused as too deep."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    parse_int, parse_float = _number_parsers(max_number_digits)
    # Integers are checked one by one only when the text holds a long run of digits somewhere (in a
    # string, perhaps): a Python call per integer costs five times the parser's own conversion.
    checked_int = parse_int if _holds_digit_run(text, max_number_digits + 1) else int
    try:
        value = json.loads(text, parse_int=checked_int, parse_float=parse_float, parse_constant=_not_a_number)
    except _JsonLimit as exc:
        raise BadRequest(str(exc)) from None
    except RecursionError:
        raise BadRequest(f"the body is nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, and anything else json refuses
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    # Fewer brackets than the limit cannot nest past it (most bodies): no walk.
    if text.count("[") + text.count("{") > max_depth and json_nests_deeper_than(value, max_depth):
        raise BadRequest(f"the body is nested more than {max_depth} levels deep")
    return value


def _not_a_number(token: str) -> NoReturn:
    raise _JsonLimit(f"{token} is not a JSON number")


async def read_json(request: web.Request, model: type[M], max_bytes: int = 1 << 20) -> M:
    """Parse the request body as ``model``: 415 for another media type, 413 when too large, 408 when
    too slow (:func:`read_body`), 400 for malformed JSON or JSON beyond :func:`parse_json`'s bounds,
    422 naming each invalid field (unknown fields are invalid)."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = await read_body(request, max_bytes)
    data = parse_json(raw)
    try:
        return model.model_validate(data, context=nul_free(raw))
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


def job_accepted(service: str, job: Job) -> web.Response:
    """202 with the job as the gateway serves it, and where: ``Location: /api/v1/jobs/{id}``."""
    return web.json_response(
        job.to_event(service).model_dump(mode="json"),
        status=202,
        headers={"Location": f"/api/v1/jobs/{job.id}", **NO_STORE},
    )


def uuid_in_path(request: web.Request, key: str, what: str) -> uuid.UUID:
    """The path's ``key`` as a UUID; anything else is the same 404 as an unknown ``what``."""
    value = parse_uuid(request.match_info[key])
    if value is None:
        raise NotFound(f"no such {what}")
    return value
