"""Errors whose type says what the caller does next.

| type | what happened | next |
|---|---|---|
| :class:`Unauthorized` | 401 (or Deezer 300) and the one refresh did not help | ask auth / the user |
| :class:`ReconsentRequired` | the refresh token is dead (``invalid_grant``, Spotify's 6-month expiry) | user links again |
| :class:`RateLimited` | 429 whose wait exceeds what the pipeline waits in line | retry after ``retry_after`` s |
| :class:`QuotaExceeded` | a daily/app quota (YouTube, Spotify ``QUOTA_EXCEEDED``, Deezer code 4 that persists) | retry at ``resets_at`` |
| :class:`NotFound` / :class:`Forbidden` / :class:`InvalidRequest` | the request is wrong for this provider | do not retry |
| :class:`PlaylistTooLarge` | the provider's playlist cap | do not retry; split the playlist |
| :class:`ProviderUnavailable` | 5xx / network after the bounded retries | retry later (backoff) |
| :class:`PartialWrite` | a multi-batch write stopped part-way | resume from ``remaining``; check ``uncertain_batch`` |

Messages never contain tokens or URLs with query strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pm_providers.models import ProviderName


class ProviderError(Exception):
    """Base of every adapter error. ``retryable``: whether the same call may succeed later."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: ProviderName | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code

    def __str__(self) -> str:
        where = f"{self.provider.value}: " if self.provider else ""
        extra = f" (status {self.status})" if self.status is not None else ""
        return f"{where}{self.message}{extra}"


class Unauthorized(ProviderError):
    """The access token is refused; the pipeline already refreshed once."""


class TokenExpired(Unauthorized):
    """The provider says the access token expired (refreshing is the answer)."""


class ReconsentRequired(Unauthorized):
    """The refresh token is revoked or expired: the user has to link the account again."""


class Forbidden(ProviderError):
    """Not allowed: scope, development-mode restriction, not the owner, Premium required."""


class NotFound(ProviderError):
    pass


class InvalidRequest(ProviderError):
    """The provider rejected the request's content (bad id, too many items, duplicate)."""


class PlaylistTooLarge(InvalidRequest):
    """The playlist would exceed the provider's maximum size."""

    def __init__(
        self, message: str, *, limit: int | None = None, provider: ProviderName | None = None
    ) -> None:
        super().__init__(message, provider=provider, code="playlist_too_large")
        self.limit = limit


class RateLimited(ProviderError):
    """Too many requests: retry after ``retry_after`` seconds.

    ``escalates`` marks answers that become :class:`QuotaExceeded` when they persist after the
    bounded waits (Deezer's code 4 has no Retry-After and no other way to tell a quota apart).
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        escalates: bool = False,
        provider: ProviderName | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.retry_after = retry_after
        self.escalates = escalates


class QuotaExceeded(ProviderError):
    """A quota is used up until ``resets_at`` (None: unknown). Not retried in line.

    ``resets_at`` is on this machine's clock (aware, UTC): a reset the provider names by its own
    clock (YouTube's midnight Pacific, a Retry-After) is translated by the offset its ``Date``
    headers showed, so the caller simply waits ``resets_at - datetime.now(UTC)``.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        resets_at: datetime | None = None,
        provider: ProviderName | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.resets_at = resets_at


class ProviderUnavailable(ProviderError):
    """5xx or network failure after the bounded retries.

    ``uncertain``: the request may have been applied (a non-idempotent write whose answer was lost).
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        uncertain: bool = False,
        provider: ProviderName | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.uncertain = uncertain


class PartialWrite(ProviderError):
    """A batched write stopped part-way (failure or cooperative cancellation).

    ``written``: items confirmed written, in order; ``remaining``: items not sent; ``uncertain_batch``:
    items of the batch in flight whose outcome is unknown (check the playlist before resending them);
    ``cause``: the error that stopped it (None when cancelled).
    """

    def __init__(
        self,
        message: str,
        *,
        written: Sequence[str],
        remaining: Sequence[str],
        uncertain_batch: Sequence[str] = (),
        cause: ProviderError | None = None,
        provider: ProviderName | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=cause.code if cause else "partial_write")
        self.written = tuple(written)
        self.remaining = tuple(remaining)
        self.uncertain_batch = tuple(uncertain_batch)
        self.cause = cause
        self.retryable = cause.retryable if cause is not None else True
