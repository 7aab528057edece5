"""A provider's answer as the pipeline hands it to classifiers and parsers (pure)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    status: int
    headers: Mapping[str, str]
    body: Any = None  # parsed JSON, the text when not JSON, None when empty
    # When the answer arrived, on this machine's clock (the pipeline stamps it).
    received_at: datetime = field(default_factory=_utcnow)

    @property
    def json_object(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def provider_time(self) -> datetime | None:
        """The provider's clock when it answered (its ``Date`` header), None when absent or bad."""
        return parse_http_date(self.headers.get("Date"))

    def on_our_clock(self, provider_moment: datetime) -> datetime:
        """A moment the provider names on its clock (a reset, a retry date), on this machine's clock:
        the time until it by the provider's ``Date``, added to when the answer arrived. Without a
        usable ``Date`` the two clocks are taken to agree."""
        said = self.provider_time
        return self.received_at + (provider_moment - (said or self.received_at))


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (RFC 9110: IMF-fixdate, or the obsolete forms) as an aware UTC datetime; None
    when absent or unparseable."""
    if value is None or not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# The longest wait an answer is believed about (Spotify has asked for 22 hours): anything longer, or not
# a finite number, is a broken or hostile answer, and no wait is known.
MAX_BELIEVED_WAIT_S = 48 * 3600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent, bad, or
    beyond MAX_BELIEVED_WAIT_S ("inf", "1e300").

    An HTTP date is counted from ``now`` (epoch seconds; default this machine's clock): pass the
    answer's own ``Date`` so that a skewed local clock does not change the wait."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        seconds = max(0.0, seconds)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
    return seconds if seconds <= MAX_BELIEVED_WAIT_S else None
