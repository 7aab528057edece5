"""Each provider's answers turned into typed errors (pure: status, headers and body in, error out).

Every answer goes through its classifier, successes included: Deezer reports errors with HTTP 200.
``None`` means success. Resets and retry dates are read on the provider's clock (its ``Date``
header) and handed back on this machine's (:meth:`ProviderResponse.on_our_clock`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pm_providers.domain.calendar import next_pacific_midnight
from pm_providers.domain.responses import ProviderResponse, parse_retry_after
from pm_providers.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    PlaylistTooLarge,
    ProviderError,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
    TokenExpired,
    Unauthorized,
)
from pm_providers.models import ProviderName
from pm_providers.settings import RetryPolicy

YOUTUBE_MAX_PLAYLIST = 5000


def _wait(resp: ProviderResponse) -> float | None:
    """``Retry-After`` in seconds; a date in it is counted from the provider's own ``Date``."""
    said = resp.provider_time
    return parse_retry_after(resp.headers.get("Retry-After"), now=said.timestamp() if said else None)


def _retry_after(resp: ProviderResponse, policy: RetryPolicy) -> float:
    value = _wait(resp)
    return policy.default_retry_after_s if value is None else value


def _generic(
    provider: ProviderName,
    status: int,
    message: str,
    code: str | None,
    policy: RetryPolicy,
    resp: ProviderResponse,
) -> ProviderError:
    if status == 401:
        kind = TokenExpired if "expire" in message.lower() else Unauthorized
        return kind(message, provider=provider, status=status, code=code)
    if status == 403:
        return Forbidden(message, provider=provider, status=status, code=code)
    if status == 404:
        return NotFound(message, provider=provider, status=status, code=code)
    if status == 429:
        return RateLimited(
            message, retry_after=_retry_after(resp, policy), provider=provider, status=status, code=code
        )
    if status >= 500:
        return ProviderUnavailable(message, provider=provider, status=status, code=code)
    return InvalidRequest(message, provider=provider, status=status, code=code)


def classify_spotify(resp: ProviderResponse, policy: RetryPolicy) -> ProviderError | None:
    """``{"error": {"status", "message", "reason"?}}``; 429 with ``reason: QUOTA_EXCEEDED`` is the
    2026 per-developer quota (not waited out in line)."""
    if 200 <= resp.status < 300:
        return None
    err = resp.json_object.get("error")
    message, reason = f"HTTP {resp.status}", None
    if isinstance(err, dict):
        message = str(err.get("message") or message)
        reason = err.get("reason")
    elif isinstance(err, str):
        message = str(resp.json_object.get("error_description") or err)
    p = ProviderName.SPOTIFY
    if resp.status == 429 and reason == "QUOTA_EXCEEDED":
        wait = _wait(resp)
        resets = resp.received_at + timedelta(seconds=wait) if wait is not None else None
        return QuotaExceeded(message, resets_at=resets, provider=p, status=429, code="QUOTA_EXCEEDED")
    return _generic(p, resp.status, message, reason if isinstance(reason, str) else None, policy, resp)


# Deezer error codes (https://developers.deezer.com/api/errors), all sent with HTTP 200.
DEEZER_QUOTA = 4
DEEZER_ITEMS_LIMIT = 100
DEEZER_PERMISSION = 200
DEEZER_TOKEN_INVALID = 300
DEEZER_SERVICE_BUSY = 700
DEEZER_NOT_FOUND = 800


def deezer_error(body: Any) -> tuple[int, str, str] | None:
    """(code, type, message) of a Deezer error object, or None."""
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if not isinstance(err, dict):
        return None
    try:
        code = int(err.get("code", 0))
    except (TypeError, ValueError):
        code = 0
    return code, str(err.get("type") or "Exception"), str(err.get("message") or "error")


def classify_deezer(resp: ProviderResponse, policy: RetryPolicy) -> ProviderError | None:
    p = ProviderName.DEEZER
    found = deezer_error(resp.body)
    if found is None:
        if 200 <= resp.status < 300:
            return None
        return _generic(p, resp.status, f"HTTP {resp.status}", None, policy, resp)
    code, kind, message = found
    c = str(code)
    if code == DEEZER_QUOTA:
        # No Retry-After: wait the documented window, then escalate to QuotaExceeded if it persists.
        return RateLimited(
            message, retry_after=policy.deezer_quota_wait_s, escalates=True, provider=p, code=c
        )
    if code == DEEZER_TOKEN_INVALID:
        return TokenExpired(message, provider=p, status=resp.status, code=c)
    if code in (DEEZER_PERMISSION, 901):
        return Forbidden(message, provider=p, status=resp.status, code=c)
    if code == DEEZER_NOT_FOUND:
        return NotFound(message, provider=p, status=resp.status, code=c)
    if code == DEEZER_SERVICE_BUSY or resp.status >= 500:
        # Busy: the call was not carried out, so even a write may be sent again.
        return ProviderUnavailable(message, provider=p, status=503, code=c)
    return InvalidRequest(f"{message} ({kind})", provider=p, status=resp.status, code=c)


def classify_tidal(resp: ProviderResponse, policy: RetryPolicy) -> ProviderError | None:
    """JSON:API ``{"errors": [{"status", "code", "detail", "source"}]}``."""
    if 200 <= resp.status < 300:
        return None
    errors = resp.json_object.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    message = str(first.get("detail") or f"HTTP {resp.status}")
    code = first.get("code")
    p = ProviderName.TIDAL
    if resp.status == 409:  # the same Idempotency-Key is still being processed
        return RateLimited(message, retry_after=_retry_after(resp, policy), provider=p, status=409)
    return _generic(p, resp.status, message, code if isinstance(code, str) else None, policy, resp)


def youtube_reason(body: Any) -> tuple[str | None, str]:
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None, "error"
    err = body["error"]
    message = str(err.get("message") or "error")
    items = err.get("errors")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return (str(items[0].get("reason")) if items[0].get("reason") else None), message
    return None, message


def classify_youtube(resp: ProviderResponse, policy: RetryPolicy) -> ProviderError | None:
    if 200 <= resp.status < 300:
        return None
    reason, message = youtube_reason(resp.body)
    p = ProviderName.YOUTUBE
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        # The day ends at midnight Pacific by YouTube's clock; the caller waits by ours.
        said = resp.provider_time or resp.received_at
        return QuotaExceeded(
            message,
            resets_at=resp.on_our_clock(next_pacific_midnight(said)),
            provider=p,
            status=resp.status,
            code="provider_quota",
        )
    if reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        return RateLimited(
            message, retry_after=_retry_after(resp, policy), provider=p, status=resp.status, code=reason
        )
    if reason == "playlistContainsMaximumNumberOfVideos":
        return PlaylistTooLarge(message, limit=YOUTUBE_MAX_PLAYLIST, provider=p)
    return _generic(p, resp.status, message, reason, policy, resp)
