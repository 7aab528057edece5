"""Errors that decide behaviour, and their HTTP form: RFC 9457 problem+json.

Domain code raises a :class:`Problem` subclass; the HTTP middleware renders it. Anything else that
escapes a handler becomes a 500 whose body names only the correlation id, never internals.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://playlist-manager.dev/problems/"


class Problem(Exception):
    """An expected failure with an HTTP status. ``code`` names the problem type."""

    status: int = 500
    code: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or self.title)
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if title is not None:
            self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def to_dict(self, instance: str | None = None, correlation_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if correlation_id:
            body["correlation_id"] = correlation_id
        body.update(self.extensions)
        return body


class BadRequest(Problem):
    status, code, title = 400, "bad-request", "Bad request"


class ValidationFailed(Problem):
    status, code, title = 422, "validation-failed", "Request validation failed"


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    status, code, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class RequestTimeout(Problem):
    """The request body did not arrive in time; the connection is closed after the answer."""

    status, code, title = 408, "request-timeout", "Request timeout"


class PayloadTooLarge(Problem):
    status, code, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(Problem):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class TooManyRequests(Problem):
    status, code, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(Problem):
    status, code, title = 503, "service-unavailable", "Service unavailable"


class UpstreamFailed(Problem):
    status, code, title = 502, "upstream-failed", "An upstream service failed"


class UpstreamTimeout(Problem):
    status, code, title = 504, "upstream-timeout", "An upstream service did not answer in time"


_HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    408: ("request-timeout", "Request timeout"),
    411: ("length-required", "Length required"),
    413: ("payload-too-large", "Request body too large"),
    414: ("uri-too-long", "URI too long"),
    415: ("unsupported-media-type", "Unsupported media type"),
    431: ("headers-too-large", "Request header fields too large"),
}


def problem_from_http_exception(exc: web.HTTPException) -> Problem:
    code, title = _HTTP_TITLES.get(exc.status, ("http-error", exc.reason or "HTTP error"))
    headers = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    detail = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else None
    return Problem(detail, status=exc.status, code=code, title=title, headers=headers)


def problem_response(
    problem: Problem, instance: str | None = None, correlation_id: str | None = None
) -> web.Response:
    return web.Response(
        status=problem.status,
        body=json.dumps(problem.to_dict(instance, correlation_id)).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=problem.headers,
    )
