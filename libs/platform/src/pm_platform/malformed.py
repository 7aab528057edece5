"""Requests aiohttp answers before they reach the app, answered like every other error.

aiohttp's request parser refuses some requests itself (a bare CR in a header, bytes not allowed in a
method, a path or a header name, Content-Length with Transfer-Encoding, a line too long, …), and an
exception that escapes every middleware ends in the same place: ``RequestHandler.handle_error``, which
answers in plain text naming the parser's complaint and echoing the offending bytes, with
``Server: Python/3.x aiohttp/3.x``. No middleware and no ``on_response_prepare`` handler sees those
answers (aio-libs/aiohttp#3287 asks for a hook; there is none yet). Here they become problem+json (the
status aiohttp chose, a generic detail that repeats nothing of the request) with a correlation id, which
aiohttp's own log line of the error then carries too, ``Server: playlist-manager``, and the service's
own headers (``decorate``). The chassis installs this for every service (``service.create_app``).

aiohttp internals relied on (read in aiohttp 3.14.5; libs/platform/tests/unit/test_malformed.py fails
when an upgrade changes one of them):

1. ``Application._make_handler(**kwargs) -> web.Server`` (private) is the one place an application's
   server is made: ``AppRunner`` calls it, and ``web.run_app`` and the test server use ``AppRunner``.
   It is replaced on the application instance only.
2. ``web.Server.__call__() -> web.RequestHandler`` is the protocol factory: one handler per connection.
3. ``web.RequestHandler.handle_error(request, status, exc, message) -> StreamResponse`` (public name,
   undocumented) makes the answer to a refused request, to a handler's timeout (504) and to an
   exception that escaped every middleware (500); aiohttp then sends it and closes the connection.
4. ``__class__`` assignment: the server and each handler are aiohttp's own objects, made by aiohttp
   with its own arguments, switched to a subclass that only overrides a method (``RequestHandler`` has
   ``__slots__``; the subclass adds none, so the layouts match). Nothing else of them changes: a new
   connection pays one class switch, and only refused requests pay more.

When 1 is gone, installing raises at start-up; when the server or a handler is not aiohttp's own class
(another hook got there first), aiohttp's own answers stay and a warning says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import hdrs, web
from loguru import logger

from pm_platform.correlation import (
    CORRELATION_HEADER,
    bind_correlation_id,
    new_correlation_id,
    reset_correlation_id,
)
from pm_platform.errors import BadRequest, Problem, problem_response
from pm_platform.http import SERVER_NAME

# Adds a service's own headers (security headers, …) to such an answer. It gets no request: a refused
# request has no usable path or headers, and no application to look anything up in.
RefusalHeaders = Callable[[web.StreamResponse], None]

# The decorations of an application's refusals; present once its server answers them as problems.
_REFUSAL_HEADERS = web.AppKey[list[RefusalHeaders]]("refusal_headers")


def refusal_problem(status: int) -> Problem:
    """The problem for an answer aiohttp gives itself: its status, and nothing taken from the request."""
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest("the request is not valid HTTP/1.1 and was not processed")
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        return Problem()  # internal-error, no detail
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    return Problem(status=status, code=phrase.lower().replace(" ", "-"), title=phrase)


def refusal_response(
    status: int, correlation_id: str, decorations: Sequence[RefusalHeaders] = ()
) -> web.Response:
    """The problem+json answer to a request aiohttp refused with ``status``: the correlation id (in the
    body and the header), ``Server: playlist-manager``, each decoration's headers, then closed."""
    response = problem_response(refusal_problem(status), None, correlation_id)
    response.headers[CORRELATION_HEADER] = correlation_id
    response.headers[hdrs.SERVER] = SERVER_NAME
    for decorate in decorations:
        try:
            decorate(response)
        except Exception:  # noqa: BLE001 - better the answer without a service's headers than none
            logger.exception("adding the service's headers to a refusal failed; answered without them")
    response.force_close()
    return response


def answer_malformed_requests(app: web.Application, decorate: RefusalHeaders | None = None) -> None:
    """From now on, the server made for ``app`` answers the requests aiohttp refuses (and errors that
    escaped every middleware) with :func:`refusal_response`. Each call adds ``decorate`` (when given)
    to the headers of those answers; the hook itself is installed by the first call only. Call before
    the app starts: the chassis does for every service, a service again for its own headers."""
    if app.frozen:
        raise RuntimeError("answer_malformed_requests: the application has started already")
    if _REFUSAL_HEADERS in app:
        if decorate is not None:
            app[_REFUSAL_HEADERS].append(decorate)
        return
    decorations = [decorate] if decorate is not None else []
    app[_REFUSAL_HEADERS] = decorations
    _install(app, decorations)


def _install(app: web.Application, decorations: Sequence[RefusalHeaders]) -> None:
    """The part that relies on aiohttp internals (all four of the module docstring)."""
    make_handler = getattr(app, "_make_handler", None)
    if not callable(make_handler):  # internal 1: fail at start-up, never silently answer in plain text
        raise RuntimeError(
            f"aiohttp {aiohttp.__version__} has no Application._make_handler: update pm_platform.malformed"
        )
    warned: list[str] = []  # once per kind and application, not once per connection

    class ProblemRequestHandler(web.RequestHandler):
        __slots__ = ()

        def handle_error(
            self,
            request: web.BaseRequest,
            status: int = 500,
            exc: BaseException | None = None,
            message: str | None = None,
        ) -> web.StreamResponse:
            correlation_id = new_correlation_id()
            token = bind_correlation_id(correlation_id)
            try:
                # aiohttp's log line (now with the correlation id), and its refusal to answer twice
                # (ConnectionError once part of a response is out); its plain-text answer is dropped.
                super().handle_error(request, status, exc, message)
            finally:
                reset_correlation_id(token)
            return refusal_response(status, correlation_id, decorations)

    class ProblemServer(web.Server):
        def __call__(self) -> web.RequestHandler:
            handler = super().__call__()
            if type(handler) is web.RequestHandler:
                handler.__class__ = ProblemRequestHandler
            else:  # not aiohttp's own handler: leave it, and say so
                _warn_unchanged("request handler", handler, warned)
            return handler

    def make_problem_handler(**kwargs: Any) -> web.Server:
        server: web.Server = make_handler(**kwargs)
        if type(server) is web.Server:
            server.__class__ = ProblemServer
        else:  # another hook got there first: leave it, and say so
            _warn_unchanged("server", server, warned)
        return server

    app._make_handler = make_problem_handler  # type: ignore[method-assign]


def _warn_unchanged(what: str, found: object, warned: list[str]) -> None:
    if what in warned:
        return
    warned.append(what)
    logger.warning("aiohttp's {} is a {}: its own error answers stay", what, type(found).__name__)
