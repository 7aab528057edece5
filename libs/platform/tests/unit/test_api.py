"""What every endpoint of the API shares: how timestamps are written, how ids are read."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from pm_platform.api import RequestBody, iso, parse_uuid, whole_number
from pm_platform.errors import ValidationFailed


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


def test_a_nul_character_anywhere_in_a_body_is_refused():
    class Body(RequestBody):
        name: str
        tags: list[str] = []

    assert Body.model_validate({"name": "ok", "tags": ["a"]}).name == "ok"
    for bad in ({"name": "a\x00b"}, {"name": "ok", "tags": ["\x00"]}, {"name": "ok", "\x00": 1}):
        with pytest.raises(ValidationError):
            Body.model_validate(bad)


@pytest.mark.parametrize("raw", ["²", "-1", "1e3", " 1", "", "9" * 30, "11"])
def test_a_whole_number_is_ascii_digits_in_range(raw):
    with pytest.raises(ValidationFailed):
        whole_number(raw, "limit", 1, 10, 5)


def test_a_whole_number_in_range_or_its_default():
    assert whole_number("7", "limit", 1, 10, 5) == 7
    assert whole_number(None, "limit", 1, 10, 5) == 5
