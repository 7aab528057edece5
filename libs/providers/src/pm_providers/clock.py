"""Each provider's clock, learned from the ``Date`` header of its answers (:class:`ProviderClocks`).

Why: YouTube's daily quota resets at midnight Pacific *by YouTube's clock*. This machine's clock may
be off, and in tests the emulator's clock is moved on purpose, so the quota day is judged by the
provider's time (our time + the offset learned here), and a reset the provider names is handed to
callers on our clock again (see :class:`~pm_providers.errors.QuotaExceeded`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pm_platform.logging import logger
from pm_providers.domain.responses import parse_http_date
from pm_providers.models import ProviderName

Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# A Date further than this from our clock is a broken answer, not a clock's error: believing it could put
# quota days out of the calendar's range (an overflow before any call, so no answer would ever correct it).
# Anything nearer is learned, and the next answer corrects it (tests move the emulator by months).
MAX_BELIEVED_OFFSET = timedelta(days=3650)


class ProviderClocks:
    """The offset of each provider's clock from this machine's, for this process.

    ``offset(provider)`` is the provider's time minus ours (zero until an answer says otherwise). An
    answer moves it only when it is more than ``tolerance_s`` away from the kept value: ``Date`` has
    one-second resolution and the answer takes a while to arrive, so smaller differences are noise.
    Answers without a ``Date``, or with one that does not parse, are ignored. Kept in memory, per
    process (:class:`~pm_providers.client.Providers` owns one): the error is this machine's clock's.
    """

    def __init__(self, *, now: Now = _utcnow, tolerance_s: float = 2.0) -> None:
        """``now`` is this machine's clock (tests may pass their own)."""
        self.now = now
        self._tolerance = timedelta(seconds=tolerance_s)
        self._offsets: dict[ProviderName, timedelta] = {}

    def offset(self, provider: ProviderName) -> timedelta:
        return self._offsets.get(provider, timedelta(0))

    def provider_now(self, provider: ProviderName) -> datetime:
        """The provider's time now, as far as its answers told us."""
        return self.now() + self.offset(provider)

    def observe(self, provider: ProviderName, date: str | None, received_at: datetime) -> None:
        """Learn from one answer: its ``Date`` header and when it arrived (on our clock)."""
        said = parse_http_date(date)
        if said is None:
            return
        if abs(said - self.now()) > MAX_BELIEVED_OFFSET:  # a broken or hostile Date: no clock is that far off
            return
        measured = said - received_at
        if abs(measured - self.offset(provider)) > self._tolerance:
            self._offsets[provider] = measured
            logger.bind(provider=provider.value).info(
                "provider clock is {:+.1f}s from ours", measured.total_seconds()
            )
