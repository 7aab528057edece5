"""What every endpoint of the API shares: how timestamps are written, how ids are read."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from pm_auth.domain.api import iso, parse_uuid


def test_timestamps_are_utc_with_a_z():
    paris = timezone(timedelta(hours=1))
    assert iso(datetime(2026, 5, 1, 13, 0, 5, tzinfo=paris)) == "2026-05-01T12:00:05Z"
    assert iso(datetime(2026, 5, 1, 12, 0, tzinfo=UTC)) == "2026-05-01T12:00:00Z"
    assert iso(None) is None


def test_anything_but_a_uuid_names_nothing():
    some = uuid.uuid4()
    assert parse_uuid(str(some)) == some
    assert parse_uuid("not-a-uuid") is None
    assert parse_uuid("") is None
