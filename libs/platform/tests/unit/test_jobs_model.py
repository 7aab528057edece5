"""The exceptions a job handler raises to pause: a timed pause needs an aware time."""

from datetime import UTC, datetime

import pytest

from pm_platform.jobs import JobPaused


def test_a_timed_pause_needs_an_aware_time():
    at = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    paused = JobPaused("provider-quota:youtube", "provider-quota", "until 08:00 UTC", resume_at=at)
    assert (paused.resume_at, paused.error.code, paused.error.retryable) == (at, "provider-quota", True)
    assert JobPaused("provider-link:spotify", "reconsent-required", "link again").resume_at is None
    with pytest.raises(ValueError, match="aware"):
        JobPaused("provider-quota:youtube", "provider-quota", "until", resume_at=datetime(2026, 12, 4, 8, 0))
