"""What every endpoint of the API shares: how timestamps are written, how ids are read."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from pm_platform.api import RequestBody, iso, nul_free, parse_uuid, whole_number
from pm_platform.errors import ValidationFailed
from pm_platform.http import parse_json


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


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_nul_in_a_parsed_body_is_refused_whatever_the_encoding(encoding, ensure_ascii):
    """Read from the wire (read_json), the walk of every string is skipped only when the body's bytes
    cannot hold a NUL; a NUL written any way JSON allows is still found."""

    class Body(RequestBody):
        name: str
        tags: list[str] = []

    for document, has_nul in (
        ({"name": "ok", "tags": ["a", "\\u0000"]}, False),  # a backslash, then "u0000": no NUL
        ({"name": "ok", "tags": ["a", "b\x00"]}, True),
        ({"name": "ok", "\x00": "x"}, True),
    ):
        raw = json.dumps(document, ensure_ascii=ensure_ascii).encode(encoding)
        context = nul_free(raw)
        if has_nul:
            assert not next(iter(context.values()))
            with pytest.raises(ValidationError):
                Body.model_validate(parse_json(raw), context=context)
        else:
            assert Body.model_validate(parse_json(raw), context=context).tags[1] == "\\u0000"


@pytest.mark.parametrize("raw", ["²", "-1", "1e3", " 1", "", "9" * 30, "11"])
def test_a_whole_number_is_ascii_digits_in_range(raw):
    with pytest.raises(ValidationFailed):
        whole_number(raw, "limit", 1, 10, 5)


def test_a_whole_number_in_range_or_its_default():
    assert whole_number("7", "limit", 1, 10, 5) == 7
    assert whole_number(None, "limit", 1, 10, 5) == 5
