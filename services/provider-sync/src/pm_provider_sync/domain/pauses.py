"""Pausing a job on a provider's refusal (shared by imports and transfers): a revoked link waits for the
user to link again, a used-up quota for its reset, a long Retry-After for its end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pm_contracts.provider_links import waiting_for_link
from pm_contracts.providers import ProviderName
from pm_providers.errors import ProviderError, QuotaExceeded, RateLimited, Unauthorized

PROVIDER_TITLES: dict[ProviderName, str] = {
    ProviderName.SPOTIFY: "Spotify",
    ProviderName.DEEZER: "Deezer",
    ProviderName.TIDAL: "TIDAL",
    ProviderName.YOUTUBE: "YouTube",
}
# A Retry-After up to this long is waited out in the job (a few times); a longer one pauses the job.
RATE_LIMIT_WAIT_IN_PLACE = timedelta(minutes=2)
RATE_LIMIT_WAITS = 3
# A quota resets at its reset time on the provider's clock, converted to ours: start a little later.
QUOTA_RESET_MARGIN = timedelta(seconds=2)
# When a provider says its quota is used up without saying until when.
QUOTA_RESET_UNKNOWN = timedelta(minutes=10)


@dataclass(frozen=True)
class Pause:
    """Why and until when the job pauses (pm_platform's JobPaused)."""

    waiting_for: str
    code: str
    message: str
    resume_at: datetime | None = None


def waits_in_place(error: RateLimited) -> bool:
    """A short Retry-After is waited out in the job; a long one pauses it."""
    return error.retry_after <= RATE_LIMIT_WAIT_IN_PLACE.total_seconds()


def _aware(value: datetime) -> datetime:
    return value if value.utcoffset() is not None else value.replace(tzinfo=UTC)


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pause_for(
    provider: ProviderName, error: ProviderError, now: datetime, job: str = "import"
) -> Pause | None:
    """How a provider's refusal pauses the job (``job``: what the user reads it as), or None when it does
    not (it fails instead):

    - the link is revoked or gone (``ReconsentRequired``, ``Unauthorized``): until the user links the
      provider again (``provider.linked`` resumes it);
    - a quota is used up (``QuotaExceeded``): until its reset, plus a margin;
    - rate limited for longer than the job waits in place (``RateLimited``): until its Retry-After.
    """
    title = PROVIDER_TITLES[provider]
    if isinstance(error, Unauthorized):  # ReconsentRequired and TokenExpired included
        return Pause(
            waiting_for_link(provider),
            "reconsent-required",
            f"{title} has to be linked again: the {job} goes on by itself once it is",
        )
    if isinstance(error, QuotaExceeded):
        resets = _aware(error.resets_at) if error.resets_at is not None else now + QUOTA_RESET_UNKNOWN
        resume_at = max(resets, now) + QUOTA_RESET_MARGIN
        return Pause(
            f"provider-quota:{provider.value}",
            "provider-quota",
            f"{title}'s quota is used up: the {job} goes on by itself at {_when(resume_at)}",
            resume_at,
        )
    if isinstance(error, RateLimited):
        resume_at = now + timedelta(seconds=max(error.retry_after, 0.0))
        return Pause(
            f"provider-rate-limit:{provider.value}",
            "provider-rate-limit",
            f"{title} asks to wait: the {job} goes on by itself at {_when(resume_at)}",
            resume_at,
        )
    return None
