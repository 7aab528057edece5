"""Each provider's error bodies (as the emulator reproduces them) become the right typed error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pm_providers.domain.calendar import next_pacific_midnight, pacific_day
from pm_providers.domain.classify import classify_deezer, classify_spotify, classify_tidal, classify_youtube
from pm_providers.domain.responses import ProviderResponse, parse_retry_after
from pm_providers.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    PlaylistTooLarge,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    TokenExpired,
    Unauthorized,
)
from pm_providers.settings import RetryPolicy

POLICY = RetryPolicy(deezer_quota_wait_s=5.0, default_retry_after_s=1.5)


def resp(status: int, body: object = None, **headers: str) -> ProviderResponse:
    return ProviderResponse(status, headers, body)


def spotify_err(status: int, message: str, reason: str | None = None) -> dict[str, object]:
    err: dict[str, object] = {"status": status, "message": message}
    if reason:
        err["reason"] = reason
    return {"error": err}


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (401, "The access token expired", TokenExpired),
        (401, "Invalid access token", Unauthorized),
        (403, "Insufficient client scope", Forbidden),
        (404, "Resource not found", NotFound),
        (400, "Invalid limit", InvalidRequest),
        (500, "Server error", ProviderUnavailable),
        (503, "Service unavailable", ProviderUnavailable),
    ],
)
def test_spotify(status: int, message: str, kind: type[Exception]) -> None:
    err = classify_spotify(resp(status, spotify_err(status, message)), POLICY)
    assert type(err) is kind
    assert err is not None and err.message == message


def test_spotify_success_and_rate_limits() -> None:
    assert classify_spotify(resp(201, {"snapshot_id": "x"}), POLICY) is None
    limited = classify_spotify(
        resp(429, spotify_err(429, "API rate limit exceeded"), **{"Retry-After": "7"}), POLICY
    )
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    no_header = classify_spotify(resp(429, spotify_err(429, "x")), POLICY)
    assert isinstance(no_header, RateLimited) and no_header.retry_after == 1.5
    quota = classify_spotify(
        resp(429, spotify_err(429, "quota", "QUOTA_EXCEEDED"), **{"Retry-After": "60"}), POLICY
    )
    assert isinstance(quota, QuotaExceeded) and quota.resets_at is not None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (4, RateLimited),
        (100, InvalidRequest),
        (200, Forbidden),
        (300, TokenExpired),
        (500, InvalidRequest),
        (501, InvalidRequest),
        (600, InvalidRequest),
        (700, ProviderUnavailable),
        (800, NotFound),
    ],
)
def test_deezer_errors_come_with_http_200(code: int, kind: type[Exception]) -> None:
    body = {"error": {"type": "Exception", "message": "m", "code": code}}
    err = classify_deezer(resp(200, body), POLICY)
    assert type(err) is kind


def test_deezer_quota_waits_then_escalates_and_busy_is_resendable() -> None:
    quota = classify_deezer(
        resp(200, {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}), POLICY
    )
    assert isinstance(quota, RateLimited) and quota.escalates and quota.retry_after == 5.0
    busy = classify_deezer(
        resp(200, {"error": {"type": "Exception", "message": "busy", "code": 700}}), POLICY
    )
    assert isinstance(busy, ProviderUnavailable) and busy.status == 503


def test_deezer_success_bodies() -> None:
    assert classify_deezer(resp(200, True), POLICY) is None
    assert classify_deezer(resp(200, {"id": 1}), POLICY) is None
    assert classify_deezer(resp(200, {"data": [], "total": 0}), POLICY) is None
    assert isinstance(classify_deezer(resp(502, "<html>"), POLICY), ProviderUnavailable)


def test_tidal() -> None:
    def body(status: int, detail: str) -> dict[str, object]:
        return {"errors": [{"id": "x", "status": str(status), "code": "C", "detail": detail}]}

    assert classify_tidal(resp(204), POLICY) is None
    assert isinstance(classify_tidal(resp(401, body(401, "Access token expired")), POLICY), TokenExpired)
    assert isinstance(classify_tidal(resp(404, body(404, "Playlist not found")), POLICY), NotFound)
    limited = classify_tidal(
        resp(429, {"errors": [{"status": "429", "detail": "Rate limit exceeded"}]}, **{"Retry-After": "2"}),
        POLICY,
    )
    assert isinstance(limited, RateLimited) and limited.retry_after == 2
    assert isinstance(classify_tidal(resp(409, body(409, "in progress")), POLICY), RateLimited)
    assert isinstance(classify_tidal(resp(422, body(422, "payload differs")), POLICY), InvalidRequest)


def yt(status: int, reason: str) -> dict[str, object]:
    return {
        "error": {
            "code": status,
            "message": "m",
            "errors": [{"message": "m", "domain": "d", "reason": reason}],
        }
    }


def test_youtube() -> None:
    quota = classify_youtube(resp(403, yt(403, "quotaExceeded")), POLICY)
    assert isinstance(quota, QuotaExceeded) and quota.code == "provider_quota" and quota.resets_at is not None
    assert isinstance(classify_youtube(resp(429, yt(429, "rateLimitExceeded")), POLICY), RateLimited)
    full = classify_youtube(resp(403, yt(403, "playlistContainsMaximumNumberOfVideos")), POLICY)
    assert isinstance(full, PlaylistTooLarge) and full.limit == 5000
    assert isinstance(classify_youtube(resp(403, yt(403, "insufficientPermissions")), POLICY), Forbidden)
    assert isinstance(classify_youtube(resp(404, yt(404, "playlistNotFound")), POLICY), NotFound)
    assert isinstance(classify_youtube(resp(401, yt(401, "authError")), POLICY), Unauthorized)
    assert isinstance(classify_youtube(resp(503, yt(503, "backendError")), POLICY), ProviderUnavailable)


def test_retry_after() -> None:
    assert parse_retry_after("3") == 3
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert (
        parse_retry_after(
            "Wed, 21 Oct 2015 07:28:10 GMT", now=datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()
        )
        == 10
    )


def test_pacific_quota_day_and_reset() -> None:
    # 07:59 UTC on 2026-03-08 is 23:59 PST on 03-07; midnight after is 08:00 UTC (still PST then).
    now = datetime(2026, 3, 8, 7, 59, tzinfo=UTC)
    assert pacific_day(now) == "2026-03-07"
    assert next_pacific_midnight(now) == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)
    # In summer (PDT, UTC-7) midnight is 07:00 UTC.
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert next_pacific_midnight(summer) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
