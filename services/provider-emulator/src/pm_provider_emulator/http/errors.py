"""Each provider's way of saying no: status codes and error bodies as the real services send them."""

from __future__ import annotations

import uuid

from aiohttp import web

from pm_provider_emulator.http.common import json_response

SPOTIFY_REASONS = {
    400: "Bad request",
    401: "Invalid access token",
    403: "Forbidden",
    404: "Not found",
    429: "API rate limit exceeded",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def spotify(
    status: int, message: str | None = None, headers: dict[str, str] | None = None, reason: str | None = None
) -> web.Response:
    err: dict[str, object] = {"status": status, "message": message or SPOTIFY_REASONS.get(status, "Error")}
    if reason:
        err["reason"] = reason
    return json_response({"error": err}, status, headers)


def spotify_oauth(error: str, description: str, status: int = 400) -> web.Response:
    return json_response({"error": error, "error_description": description}, status)


DEEZER_TYPES = {
    4: "Exception",
    100: "Exception",
    200: "OAuthException",
    300: "OAuthException",
    500: "ParameterException",
    501: "MissingParameterException",
    600: "InvalidQueryException",
    700: "Exception",
    800: "DataException",
    901: "Exception",
}


def deezer(code: int, message: str, status: int = 200) -> web.Response:
    """Deezer answers errors with HTTP 200 and an error object (only real outages are 5xx)."""
    return json_response(
        {"error": {"type": DEEZER_TYPES.get(code, "Exception"), "message": message, "code": code}}, status
    )


def deezer_not_found() -> web.Response:
    return deezer(800, "no data")


TIDAL_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "UNPROCESSABLE_ENTITY",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
}
JSONAPI = "application/vnd.api+json"


def tidal(
    status: int,
    detail: str,
    *,
    parameter: str | None = None,
    pointer: str | None = None,
    header: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    err: dict[str, object] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"tidal-error:{status}:{detail}")),
        "status": str(status),
        "code": code or TIDAL_CODES.get(status, "ERROR"),
        "detail": detail,
    }
    if parameter:
        err["source"] = {"parameter": parameter}
    elif pointer:
        err["source"] = {"pointer": pointer}
    elif header:
        err["source"] = {"header": header}
    return json_response({"errors": [err]}, status, headers, content_type=JSONAPI)


def tidal_rate_limited(retry_after: int, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(
        {"errors": [{"status": "429", "detail": "Rate limit exceeded"}]},
        429,
        {**(headers or {}), "Retry-After": str(retry_after)},
        content_type=JSONAPI,
    )


def tidal_oauth(error: str, description: str, status: int = 400, sub_status: int = 1002) -> web.Response:
    return json_response(
        {"status": status, "error": error, "sub_status": sub_status, "error_description": description}, status
    )


GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def youtube(
    status: int,
    message: str,
    reason: str,
    domain: str = "youtube.api",
    *,
    location: str | None = None,
    location_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    item: dict[str, str] = {"message": message, "domain": domain, "reason": reason}
    if location:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [item],
            "status": GOOGLE_STATUS.get(status, "UNKNOWN"),
        }
    }
    return json_response(body, status, headers)


QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">'
    "quota</a>."
)


def youtube_quota(retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return youtube(403, QUOTA_MESSAGE, "quotaExceeded", "youtube.quota", headers=headers)


def youtube_unauthorized() -> web.Response:
    return youtube(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
        "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "authError",
        "global",
        location="Authorization",
        location_type="header",
    )


def google_oauth(error: str, description: str, status: int = 400) -> web.Response:
    return json_response({"error": error, "error_description": description}, status)


MB_RATE_MESSAGE = (
    "Your requests are exceeding the allowable rate limit. Please see "
    "https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting for more information."
)


def musicbrainz(status: int, message: str) -> web.Response:
    return json_response(
        {"error": message, "help": "For usage, please see: https://musicbrainz.org/development/mmd"}, status
    )


def server_error(provider: str, host: str, status: int) -> web.Response:
    """A 5xx in the provider's own format (injected faults)."""
    if provider == "spotify" and host == "api.spotify.com":
        return spotify(status)
    if provider == "deezer" and host == "api.deezer.com":
        return deezer(700, "Service busy", status)
    if provider == "tidal" and host == "openapi.tidal.com":
        return tidal(status, "Service unavailable" if status == 503 else "Internal server error")
    if provider == "youtube" and host.endswith("googleapis.com") and not host.startswith("oauth2"):
        return youtube(
            status,
            "The service is currently unavailable." if status == 503 else "Backend Error",
            "backendError",
            "global",
        )
    if provider == "musicbrainz":
        return musicbrainz(status, "Service temporarily unavailable")
    return web.Response(
        status=status, text="<html><body><h1>Server error</h1></body></html>", content_type="text/html"
    )


def rate_limited(provider: str, host: str, retry_after: int, *, quota: bool = False) -> web.Response:
    """The provider's answer to too many requests (an injected storm or its real limit)."""
    ra = str(max(retry_after, 0))
    if provider == "spotify":
        return spotify(
            429, "API rate limit exceeded", {"Retry-After": ra}, "QUOTA_EXCEEDED" if quota else None
        )
    if provider == "deezer":
        return deezer(4, "Quota limit exceeded")
    if provider == "tidal" and host == "api.tidal.com":  # the apps' private API (body unverified)
        body = {"status": 429, "subStatus": 1002, "userMessage": "Rate limit exceeded"}
        return json_response(body, 429, {"Retry-After": ra})
    if provider == "tidal":
        return tidal_rate_limited(retry_after)
    if provider == "youtube":
        return youtube(
            429,
            "Resource has been exhausted (e.g. check quota).",
            "rateLimitExceeded",
            "global",
            headers={"Retry-After": ra},
        )
    return musicbrainz(503, MB_RATE_MESSAGE)
