"""Requests aiohttp answers before they reach the app, answered like every other error.

aiohttp's request parser refuses some requests itself (a bare CR in a header, bytes not allowed in a
method, a path or a header name, a line too long, …), and an exception that escapes every middleware
ends in the same place: ``RequestHandler.handle_error``, which answers in plain text naming the parser's
complaint and echoing the offending bytes, with ``Server: Python/3.x aiohttp/3.x``. No middleware and no
``on_response_prepare`` handler sees those answers (aio-libs/aiohttp#3287 asks for a hook; there is none
yet). Here they become problem+json (the status aiohttp chose, a generic detail that repeats nothing of
the request) with a correlation id, which aiohttp's own log line of the error then carries too, and the
service's usual headers through ``decorate``.

The hook is the one place where an application's server is made, ``Application._make_handler`` (what
``web.run_app``, ``AppRunner`` and the test server all call): the server it returns makes connections
handled by a ``RequestHandler`` whose ``handle_error`` answers this way. Nothing else changes, and only
refused requests pay anything. Depends on nothing of the gateway: it is meant for ``pm_platform.http``.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_request import BaseRequest
from loguru import logger

from pm_platform.correlation import (
    CORRELATION_HEADER,
    bind_correlation_id,
    new_correlation_id,
    reset_correlation_id,
)
from pm_platform.errors import BadRequest, Problem, problem_response

# Adds the service's own headers (Server, security headers, …) to such an answer. It gets no request:
# a refused request has no usable path or headers, and no application to look anything up in.
RefusalHeaders = Callable[[web.StreamResponse], None]


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


def answer_malformed_requests(app: web.Application, decorate: RefusalHeaders | None = None) -> None:
    """From now on, the server made for ``app`` answers the requests aiohttp refuses (and errors that
    escaped every middleware) as problem+json, with ``decorate``'s headers. Call before the app starts."""

    class ProblemRequestHandler(web.RequestHandler):
        __slots__ = ()

        def handle_error(
            self,
            request: BaseRequest,
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
            response = problem_response(refusal_problem(status), None, correlation_id)
            response.headers[CORRELATION_HEADER] = correlation_id
            if decorate is not None:
                decorate(response)
            response.force_close()
            return response

    class ProblemServer(web.Server):
        def __call__(self) -> web.RequestHandler:
            return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)

    make_handler = app._make_handler

    def make_problem_handler(**kwargs: Any) -> web.Server:
        server = make_handler(**kwargs)
        if type(server) is web.Server:
            # The same server (handler, request factory, settings), handing connections to the handler above.
            server.__class__ = ProblemServer
        else:  # another hook got there first: leave it, and say so
            logger.warning("aiohttp's server is a {}: its own error answers stay", type(server).__name__)
        return server

    app._make_handler = make_problem_handler  # type: ignore[method-assign]
